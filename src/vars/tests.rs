//! The validating walk and the index, at the edges the vectors do not reach.

use super::index::INDEXED;
use super::*;
use crate::error::Field;
use crate::magic::MagicPolicy;
use alloc::vec::Vec;

fn kv(k: &[u8], v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u16::try_from(k.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(k);
    out.extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(v);
    out
}

/// Owned copies of the pairs, in order.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn indexed_vars(block: &[u8], rules: &VarsRules) -> Result<Pairs, Error> {
    let vars = Vars::validate(block, rules)?;
    Ok(vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
}

#[test]
fn one_trailing_byte_is_a_truncated_key_length() {
    let mut block = kv(b"A", b"b");
    block.push(0);
    assert_eq!(
        Vars::parse(&block),
        Err(Error::TruncatedLength {
            field: Field::Key,
            offset: 10
        })
    );
}

#[test]
fn key_ending_at_block_end_lacks_its_value_length() {
    assert_eq!(
        Vars::parse(b"\x01\x00K"),
        Err(Error::TruncatedLength {
            field: Field::Value,
            offset: 7
        })
    );
}

#[test]
fn pairs_past_the_index_are_walked_and_read_in_order() {
    let names: Vec<Vec<u8>> = (0..INDEXED + 9)
        .map(|i| alloc::format!("K{i}").into_bytes())
        .collect();
    let block: Vec<u8> = names.iter().flat_map(|k| kv(k, k)).collect();
    let pairs = indexed_vars(&block, &VarsRules::DEFAULT).unwrap_or_default();
    assert_eq!(pairs.len(), INDEXED + 9);
    for (name, (k, v)) in names.iter().zip(&pairs) {
        assert_eq!((k, v), (name, name));
    }
    let Ok(vars) = Vars::parse(&block) else {
        panic!("a valid block")
    };
    assert_eq!(vars.get("K40"), Some(&b"K40"[..]));
    assert_eq!(vars.iter().count(), INDEXED + 9);
    assert_eq!(vars.iter().len(), INDEXED + 9);
    let indexed: Vec<_> = vars.iter_with_offsets().collect();
    let mut walk = vars.into_walk();
    let walked: Vec<_> = core::iter::from_fn(|| walk.next_at()).collect();
    assert_eq!(indexed, walked);
}

#[test]
fn pair_limit_counts_the_first_excess_pair() {
    let block = [kv(b"A", b""), kv(b"B", b""), kv(b"C", b"")].concat();
    let rules = |max| VarsRules::new(Some(max), MagicPolicy::Allow);
    assert_eq!(
        indexed_vars(&block, &rules(2)),
        Err(Error::TooManyVars { max: 2, offset: 14 })
    );
    assert_eq!(indexed_vars(&block, &rules(3)).map(|v| v.len()), Ok(3));
}

const REFUSE_MAGIC: VarsRules = VarsRules::new(None, MagicPolicy::Refuse);

#[test]
fn refused_magic_points_at_its_pair() {
    let block = [kv(b"PATH_INFO", b"/"), kv(b"UWSGI_FILE", b"exec://x")].concat();
    assert_eq!(
        indexed_vars(&block, &REFUSE_MAGIC),
        Err(Error::MagicVar { offset: 18 })
    );
}

#[test]
fn the_first_fault_in_wire_order_wins() {
    // A refused magic var before a bad length: the magic var is named.
    let mut block = [kv(b"UWSGI_FILE", b"x"), kv(b"A", b"")].concat();
    block.push(7);
    assert_eq!(
        indexed_vars(&block, &REFUSE_MAGIC),
        Err(Error::MagicVar { offset: 4 })
    );
}

#[test]
fn the_body_length_reads_the_framing_var_once_twice_or_not_at_all() {
    let once = [kv(b"A", b""), kv(b"CONTENT_LENGTH", b"12"), kv(b"B", b"")].concat();
    assert_eq!(Vars::parse(&once).and_then(|v| v.content_length()), Ok(12));
    let twice = [kv(b"CONTENT_LENGTH", b"3"), kv(b"CONTENT_LENGTH", b"03")].concat();
    assert_eq!(
        Vars::parse(&twice).and_then(|v| v.content_length()),
        Err(Error::ConflictingContentLength {
            first: 3,
            second: 3,
            offset: 23
        })
    );
    let none = kv(b"CONTENT_TYPE", b"x");
    assert_eq!(Vars::parse(&none).and_then(|v| v.content_length()), Ok(0));
    let size = [kv(b"size", b"9"), kv(b"CONTENT_LENGTH", b"4")].concat();
    assert_eq!(
        Vars::parse(&size).and_then(|v| v.length_var(b"size")),
        Ok(9)
    );
    let bad = kv(b"CONTENT_LENGTH", b"4x");
    assert_eq!(
        Vars::parse(&bad).and_then(|v| v.content_length()),
        Err(Error::InvalidContentLength {
            offset: 23,
            reason: crate::ContentLengthFault::NotDigit
        })
    );
}

#[test]
fn offsets_follow_the_pairs() {
    let block = [kv(b"A", b"xy"), kv(b"B", b"")].concat();
    let offsets: Vec<usize> = Vars::parse(&block)
        .map(|v| v.iter_with_offsets().map(|(o, _, _)| o).collect())
        .unwrap_or_default();
    assert_eq!(offsets, [4, 11]);
}
