//! `vars_array`: the input as a bare block through `Vars::parse` and `Array::parse`.
//!
//! Invariants (PROTOCOL.md §2.2, §2.3, §4.3, §4.4, §5):
//! - on success, iterating yields exactly `len()` entries whose encoded sizes sum to the block
//!   length, `iter_with_offsets` walks the same pairs at the right offsets;
//! - `get` is the last of `get_all`, `get_first` its first (V10); `Array::get(i)` is the i-th item;
//! - a vars block is exactly an array of even length whose even-indexed items are non-empty
//!   (§2.3), with the same bytes;
//! - the body length helpers (`content_length`, `length_var`) never panic and follow C1–C3;
//! - errors point inside the block (offset from a virtual header at 0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{Array, Error, Vars};
use uwsgi_codec_fuzz::{describe, reference};

fuzz_target!(|data: &[u8]| {
    let vars = Vars::parse(data);
    let array = Array::parse(data);
    let end = 4 + data.len();

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

    if let Ok(array) = &array {
        let items: Vec<&[u8]> = array.iter().collect();
        assert_eq!(items.len(), array.len());
        assert_eq!(array.is_empty(), items.is_empty());
        assert_eq!(items.iter().map(|i| 2 + i.len()).sum::<usize>(), data.len());
        for (i, item) in items.iter().enumerate().take(64) {
            assert_eq!(array.get(i), Some(*item));
        }
        assert_eq!(array.get(items.len()), None);
        assert_eq!(array.as_bytes(), data);
        let _ = format!("{array:?}");

        // §2.3: a vars block is an array of even length with non-empty even-indexed items.
        let vars_shaped =
            items.len().is_multiple_of(2) && items.iter().step_by(2).all(|key| !key.is_empty());
        match &vars {
            Ok(vars) => {
                assert!(vars_shaped, "vars accepted a block that is not vars-shaped");
                let pairs: Vec<(&[u8], &[u8])> = vars.iter().collect();
                let expected: Vec<(&[u8], &[u8])> =
                    items.chunks(2).map(|kv| (kv[0], kv[1])).collect();
                assert_eq!(pairs, expected);
            }
            Err(err) => assert!(
                !vars_shaped,
                "vars refused a vars-shaped array ({} items): {err:?}",
                items.len()
            ),
        }
    } else {
        assert!(vars.is_err(), "a valid vars block is always a valid array");
    }

    if let Ok(vars) = &vars {
        let pairs: Vec<(&[u8], &[u8])> = vars.iter().collect();
        assert_eq!(pairs.len(), vars.len());
        assert_eq!(vars.is_empty(), pairs.is_empty());
        assert_eq!(
            pairs
                .iter()
                .map(|(k, v)| 4 + k.len() + v.len())
                .sum::<usize>(),
            data.len()
        );
        assert_eq!(vars.as_bytes(), data);
        let mut at = 4;
        for ((offset, k, v), (k2, v2)) in vars.iter_with_offsets().zip(&pairs) {
            assert_eq!((offset, k, v), (at, *k2, *v2));
            at += 4 + k.len() + v.len();
        }
        assert_eq!(vars.iter_with_offsets().count(), pairs.len());
        for (key, _) in pairs.iter().take(32) {
            let all: Vec<&[u8]> = vars.get_all(key).collect();
            assert!(!all.is_empty());
            assert_eq!(vars.get(key), all.last().copied(), "V10: get is the last");
            assert_eq!(vars.get_first(key), all.first().copied());
            let wanted: Vec<&[u8]> = pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(all, wanted);
            let _ = vars.get_utf8(key);
        }
        let absent = b"\xff\xfe-absent-\x00";
        let last = pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == absent)
            .map(|(_, v)| *v);
        assert_eq!(vars.get(absent), last);
        let _ = format!("{vars:?}");

        // C1–C3 for CONTENT_LENGTH and the cache's `size`, against the reference model.
        for (key, got) in [
            (&b"CONTENT_LENGTH"[..], vars.content_length()),
            (b"size", vars.length_var(b"size")),
            (b"CONTENT_LENGTH", vars.length_var(b"CONTENT_LENGTH")),
        ] {
            let want = reference::length_of(&pairs, key);
            assert_eq!(convert(&got), want, "body length by {key:?}");
        }
    }
});

fn convert(got: &Result<u64, Error>) -> Result<u64, reference::Fault> {
    use reference::Fault;
    match got {
        Ok(n) => Ok(*n),
        Err(Error::InvalidContentLength { offset, reason }) => Err(Fault::InvalidContentLength {
            offset: *offset,
            not_digit: *reason == uwsgi_codec::ContentLengthFault::NotDigit,
        }),
        Err(Error::ConflictingContentLength {
            first,
            second,
            offset,
        }) => Err(Fault::ConflictingContentLength {
            first: *first,
            second: *second,
            offset: *offset,
        }),
        Err(err) => panic!("a body length cannot fail with {}", describe(err)),
    }
}
