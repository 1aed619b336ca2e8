//! The builder's edges: placeholders, the two ways to give pairs, the framed body length.

use super::*;

#[test]
fn empty_placeholder_stays_empty_for_an_empty_body() {
    let builder = PacketBuilder::new(0)
        .var("CONTENT_LENGTH", "")
        .with_body_len(0);
    let wire = builder.to_vec().unwrap_or_default();
    assert_eq!(wire.len(), 22);
    assert_eq!(builder.encoded_len(), Ok(22));
    assert!(wire.ends_with(b"CONTENT_LENGTH\x00\x00"));
}

#[test]
fn a_borrowed_slice_and_a_list_write_the_same_bytes() {
    let pairs: [Pair<'_>; 3] = [(b"A", b"1"), (b"CONTENT_LENGTH", b""), (b"B", b"")];
    let borrowed = PacketBuilder::new(0).with_vars(&pairs).with_body_len(12);
    let listed = PacketBuilder::new(0)
        .extend_vars(pairs.iter().copied())
        .with_body_len(12);
    assert_eq!(borrowed.to_vec(), listed.to_vec());
    let mut added = PacketBuilder::new(0).with_vars(&pairs[..1]);
    added = added.with_vars(&pairs[1..]).with_body_len(12);
    assert_eq!(added.to_vec(), listed.to_vec());
}
