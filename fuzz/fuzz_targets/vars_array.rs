//! `vars_array`: the input as a bare block through `Vars::parse` and `Array::parse`, against
//! the reference model's `vars` and `array` (PROTOCOL.md §2.2, §2.3, §4.3, §4.4, §5).
//!
//! Invariants:
//! - `Vars::parse` and `Array::parse` give exactly the model's outcome: the same pairs / items,
//!   or the same error with every number (offsets from a virtual header at 0);
//! - on success every accessor reads the model's pairs (`check_vars`: `iter` by `next` and by
//!   `fold`, partial iteration, `get` = last of `get_all`, `get_first`, `get_many`,
//!   `iter_with_offsets`, `content_length` / `length_var` against C1–C3) and items
//!   (`Array::get(i)` is the i-th);
//! - a vars block is exactly an array of even length whose even-indexed items are non-empty
//!   (§2.3), with the same bytes;
//! - the same block behind 1, 31, 32 or 33 filler pairs (`kv("F","")`, 5 bytes each; the last
//!   byte picks how many), which moves its pairs across the 32-pair index of the validating walk:
//!   the same answer, pairs after the fillers, an error 5 bytes later per filler.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{Array, Error, Vars};
use uwsgi_codec_fuzz::{INDEXED, check_vars, fault, fillers, reference};

fuzz_target!(|data: &[u8]| {
    let vars = check_block(data);
    if data.len() <= 256
        && let Ok(vars) = Vars::parse(data)
    {
        let _ = format!("{vars:?}");
    }
    // One shift per input, which the input picks: the fuzzer steers it.
    let count =
        [1, INDEXED - 1, INDEXED, INDEXED + 1][data.last().map_or(0, |b| usize::from(b % 4))];
    if data.len() + 5 * count <= 65535 {
        let mut block = fillers(count);
        block.extend_from_slice(data);
        let shifted = check_block(&block);
        match (&vars, &shifted) {
            (Ok(n), Ok(m)) => assert_eq!(n + count, *m, "pairs behind {count} fillers"),
            (Err(a), Err(b)) => assert_eq!(shift(a, 5 * count), *b, "behind {count} fillers"),
            (a, b) => panic!("alone {a:?}, behind {count} fillers {b:?}"),
        }
    }
});

/// Both parses of `data` against the model; the vars outcome (pair count or error).
fn check_block(data: &[u8]) -> Result<usize, Error> {
    let vars = Vars::parse(data);
    let array = Array::parse(data);
    let model_vars = reference::vars(data, &reference::Config::default());
    let model_array = reference::array(data);
    let end = 4 + data.len();

    match (&vars, &model_vars) {
        (Ok(vars), Ok(pairs)) => check_vars(vars, data, pairs),
        (Err(err), Err(want)) => assert_eq!(fault(err, "a bare block"), *want, "Vars::parse"),
        (got, want) => panic!("Vars::parse {got:?}, model {want:?}"),
    }
    match (&array, &model_array) {
        (Ok(array), Ok(items)) => {
            assert_eq!(array.iter().collect::<Vec<_>>(), *items, "Array::iter");
            assert_eq!(array.len(), items.len());
            assert_eq!(array.is_empty(), items.is_empty());
            assert_eq!(array.as_bytes(), data);
            for (i, item) in items.iter().enumerate().take(64) {
                assert_eq!(array.get(i), Some(*item));
            }
            assert_eq!(array.get(items.len()), None);
            if data.len() <= 256 {
                let _ = format!("{array:?}");
            }
        }
        (Err(err), Err(want)) => assert_eq!(fault(err, "a bare block"), *want, "Array::parse"),
        (got, want) => panic!("Array::parse {got:?}, model {want:?}"),
    }
    for err in [vars.as_ref().err(), array.as_ref().err()]
        .into_iter()
        .flatten()
    {
        let offset = err.offset().expect("block errors carry an offset");
        assert!(
            (4..=end).contains(&offset),
            "{err:?} outside a block ending at {end}"
        );
    }

    // §2.3: a vars block is an array of even length with non-empty even-indexed items.
    match (&array, &vars) {
        (Ok(array), vars) => {
            let items: Vec<&[u8]> = array.iter().collect();
            let vars_shaped =
                items.len().is_multiple_of(2) && items.iter().step_by(2).all(|k| !k.is_empty());
            match vars {
                Ok(vars) => {
                    assert!(vars_shaped, "vars accepted a block that is not vars-shaped");
                    let expected: Vec<(&[u8], &[u8])> =
                        items.chunks(2).map(|kv| (kv[0], kv[1])).collect();
                    assert!(
                        vars.iter().eq(expected),
                        "vars differ from the array's items"
                    );
                }
                Err(err) => assert!(!vars_shaped, "vars refused a vars-shaped array: {err:?}"),
            }
        }
        (Err(_), vars) => assert!(vars.is_err(), "a valid vars block is always a valid array"),
    }
    vars.map(|vars| vars.len())
}

/// A block error `by` bytes later.
fn shift(err: &Error, by: usize) -> Error {
    match *err {
        Error::TruncatedLength { field, offset } => Error::TruncatedLength {
            field,
            offset: offset + by,
        },
        Error::Overrun {
            field,
            offset,
            len,
            available,
        } => Error::Overrun {
            field,
            offset: offset + by,
            len,
            available,
        },
        Error::EmptyKey { offset } => Error::EmptyKey {
            offset: offset + by,
        },
        ref other => panic!("a bare block cannot fail with {other:?}"),
    }
}
