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

#[cfg(feature = "codec")]
#[test]
fn framed_body_len_reads_the_caller_s_content_length() {
    use crate::body::CONTENT_LENGTH;
    let pairs: [Pair<'_>; 2] = [(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"5")];
    let builder = PacketBuilder::new(0).with_vars(&pairs);
    assert_eq!(builder.framed_body_len(CONTENT_LENGTH), Ok(5));
    assert_eq!(
        builder
            .clone()
            .with_body_len(7)
            .framed_body_len(CONTENT_LENGTH),
        Ok(7)
    );
    // A kind framed by `size` is framed by its `size` var, not by the CONTENT_LENGTH that
    // `with_body_len` writes.
    let cache = PacketBuilder::new(111).var("size", "4").with_body_len(9);
    assert_eq!(cache.framed_body_len(b"size"), Ok(4));
    assert_eq!(cache.framed_body_len(CONTENT_LENGTH), Ok(9));
    let pairs: [Pair<'_>; 2] = [(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"6")];
    assert_eq!(
        PacketBuilder::new(0)
            .with_vars(&pairs)
            .framed_body_len(CONTENT_LENGTH),
        Err(Error::ConflictingContentLength {
            first: 5,
            second: 6,
            offset: 23
        })
    );
}

#[test]
fn borrowed_pairs_at_the_field_limits_name_the_field() {
    use crate::error::Field;
    let key = vec![b'k'; 65536];
    let pairs: [Pair<'_>; 1] = [(&key, b"")];
    let overflow = Error::LengthOverflow {
        field: Field::Key,
        len: 65536,
    };
    assert_eq!(
        PacketBuilder::new(0).with_vars(&pairs).encoded_len(),
        Err(overflow)
    );
    let value = vec![b'v'; 65536];
    let pairs: [Pair<'_>; 2] = [(b"A", b"1"), (b"K", &value)];
    let overflow = Error::LengthOverflow {
        field: Field::Value,
        len: 65536,
    };
    assert_eq!(
        PacketBuilder::new(0).with_vars(&pairs).encoded_len(),
        Err(overflow)
    );
    // The largest block there is: 4 + 1 + 65530 bytes.
    let value = vec![b'v'; 65530];
    let pairs: [Pair<'_>; 1] = [(b"K", &value)];
    assert_eq!(
        PacketBuilder::new(0).with_vars(&pairs).encoded_len(),
        Ok(4 + 65535)
    );
}

#[test]
fn borrowed_content_lengths_are_filled_and_checked_as_listed_ones() {
    let cases: [&[Pair<'_>]; 5] = [
        &[(b"CONTENT_LENGTH", b""), (b"A", b"1")],
        &[(b"A", b"1"), (b"CONTENT_LENGTH", b"12")],
        &[(b"CONTENT_LENGTH", b""), (b"CONTENT_LENGTH", b"")],
        &[
            (b"CONTENT_LENGTH", b"12"),
            (b"B", b""),
            (b"CONTENT_LENGTH", b""),
        ],
        &[(b"CONTENT_LENGTH", b"12"), (b"CONTENT_LENGTH", b"7")],
    ];
    for pairs in cases {
        for len in [0, 12] {
            let borrowed = PacketBuilder::new(0).with_vars(pairs).with_body_len(len);
            let listed = PacketBuilder::new(0)
                .extend_vars(pairs.iter().copied())
                .with_body_len(len);
            assert_eq!(borrowed.to_vec(), listed.to_vec(), "{pairs:?}, {len}");
            assert_eq!(borrowed.encoded_len(), listed.encoded_len(), "{pairs:?}");
        }
    }
    // Two placeholders are both filled: the decoder sees two equal CONTENT_LENGTHs.
    let pairs: [Pair<'_>; 2] = [(b"CONTENT_LENGTH", b""), (b"CONTENT_LENGTH", b"")];
    let wire = PacketBuilder::new(0)
        .with_vars(&pairs)
        .with_body_len(12)
        .to_vec();
    let wire = wire.unwrap_or_default();
    assert_eq!(wire.len(), 4 + 2 * (4 + 14 + 2));
    assert!(wire.ends_with(b"CONTENT_LENGTH\x02\x0012"));
}
