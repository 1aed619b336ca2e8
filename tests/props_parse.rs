//! Properties of decoding (STYLE.md §5), public API only:
//!
//! 1. parse → encode is the identity, and a packet consumes exactly `wire_len()` bytes (E5, H5);
//! 2. arbitrary bytes never panic any entry point, error offsets stay inside the input,
//!    `Incomplete` counts are exact (H1, H4), and every entry point agrees with `Parser::parse`;
//! 3. every split of a valid packet is `Incomplete(exact)` then the same packet (S1), and every
//!    split of an invalid one is `Incomplete(exact)` or the same error (S2);
//! 4. the index: the pairs read through `PacketRef::vars()` (the first 32 from the index the
//!    validating walk made, the rest walked) are those of a naive walk, for 0 to 100 pairs, and
//!    so are `get`, `get_first`, `get_all`, `get_many`, `iter_with_offsets` and `len`;
//! 5. `Parser::parse_into` agrees with `Parser::parse`;
//! 6. `Parser::parse_pairs` agrees with `Parser::parse` with the storage as a pair limit.

mod common;

use bytes::Bytes;
use common::props::{
    Pair, Spec, always_vars, borrowed, check_vars, complete, config, key, length_value, missing_of,
    spec, validated_spec, value,
};
use common::{h, kv, packet, prefixed};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use uwsgi_codec::{
    Array, Block, BlockKind, Direction, EMPTY_PAIR, Error, Field, HEADER_LEN, Header, MagicPolicy,
    Packet, PacketRef, Parser, Status, Vars, parse_length, sniff,
};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Parsers with every setting moved.
fn parser() -> impl Strategy<Value = Parser> {
    let policy = prop_oneof![
        Just(MagicPolicy::Allow),
        Just(MagicPolicy::RoutingOnly),
        Just(MagicPolicy::Refuse),
        Just(MagicPolicy::AllowOnly(vec![b"UWSGI_SCHEME".to_vec()])),
    ];
    let direction = prop_oneof![Just(Direction::Request), Just(Direction::Reply)];
    (
        prop_oneof![3 => Just(65535usize), 1 => 0usize..64, 1 => 0usize..70_000],
        any::<bool>(),
        prop::option::of(0usize..4),
        policy,
        direction,
        any::<bool>(),
    )
        .prop_map(|(max, foreign, max_vars, policy, direction, forced)| {
            let parser = Parser::new()
                .with_max_datasize(max)
                .with_foreign_check(foreign)
                .with_max_vars(max_vars)
                .with_magic_policy(policy)
                .with_direction(direction);
            if forced {
                parser.with_kind_fn(always_vars)
            } else {
                parser
            }
        })
}

/// A well-formed piece of a block: a pair, a length pair (`CONTENT_LENGTH`, `size`), an item.
fn good_chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (key(true), value()).prop_map(|(k, v)| kv(&k, &v)),
        2 => (select(vec!["CONTENT_LENGTH", "size"]), length_value())
            .prop_map(|(k, v)| kv(k.as_bytes(), &v)),
        1 => vec(any::<u8>(), 0..12).prop_map(|item| prefixed(&item)),
    ]
}

/// A piece of a block that is likely to be almost valid.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0u16..8).prop_map(|n| n.to_le_bytes().to_vec()),
        1 => any::<u16>().prop_map(|n| n.to_le_bytes().to_vec()),
        4 => vec(any::<u8>(), 0..8),
        1 => Just(vec![0]),
        4 => good_chunk(),
    ]
}

/// A valid header with a small datasize in front of block bytes that are well-formed half of
/// the time: the block is exactly datasize bytes most of the time, sometimes a few bytes off,
/// sometimes cut short.
fn near_packet() -> impl Strategy<Value = Vec<u8>> {
    let modifiers = prop_oneof![
        3 => (Just(0u8), prop_oneof![Just(0u8), any::<u8>()]),
        3 => select(vec![(173u8, 0u8), (173, 5), (111, 17), (111, 1), (111, 3), (17, 0), (100, 0), (224, 0)]),
        2 => (any::<u8>(), any::<u8>()),
    ];
    let block = prop_oneof![vec(good_chunk(), 0..8), vec(chunk(), 0..8)];
    let delta = prop_oneof![4 => Just(0i64), 1 => -4i64..=4];
    let cut = prop::option::weighted(0.2, any::<Index>());
    (modifiers, block, delta, vec(any::<u8>(), 0..6), cut).prop_map(
        |((m1, m2), chunks, delta, trailing, cut)| {
            let block = chunks.concat();
            let datasize = (block.len() as i64 + delta).clamp(0, 65535);
            let datasize = usize::try_from(datasize).expect("clamped");
            let mut input = h(m1, datasize, m2).to_vec();
            input.extend_from_slice(&block);
            input.extend_from_slice(&trailing);
            if let Some(cut) = cut {
                input.truncate(cut.index(input.len() + 1));
            }
            input
        },
    )
}

/// Arbitrary bytes, or bytes shaped like a packet.
fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => vec(any::<u8>(), 0..300), 2 => near_packet()]
}

/// A key from a few (so that keys repeat) or any short one, and a short value.
fn index_pair() -> impl Strategy<Value = Pair> {
    let key = prop_oneof![
        2 => select(vec!["A", "B", "PATH_INFO", "CONTENT_LENGTH"]).prop_map(|k| k.as_bytes().to_vec()),
        3 => vec(any::<u8>(), 1..6),
    ];
    (key, vec(any::<u8>(), 0..8))
}

/// 0 to 100 pairs, often right around the 32 pairs the index holds.
fn index_pairs() -> impl Strategy<Value = Vec<Pair>> {
    prop_oneof![
        2 => vec(index_pair(), 0..=100),
        1 => vec(index_pair(), 30..=34),
    ]
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

fn check_offset(error: &Error, limit: usize, what: &str) -> Result<(), TestCaseError> {
    if let Some(offset) = error.offset() {
        prop_assert!(
            offset <= limit,
            "{}: {:?} points at offset {}, past {}",
            what,
            error,
            offset,
            limit
        );
    }
    Ok(())
}

/// A complete packet is a prefix of the input, re-encodes as itself, and reads without
/// surprise: its block fills datasize exactly and its body length follows C1 to C3.
fn check_packet(
    parser: &Parser,
    input: &[u8],
    packet: &PacketRef<'_>,
) -> Result<(), TestCaseError> {
    let len = packet.wire_len();
    prop_assert!(
        len <= input.len(),
        "wire_len {} > input {}",
        len,
        input.len()
    );
    prop_assert_eq!(
        len,
        HEADER_LEN + usize::from(packet.datasize()),
        "wire_len = 4 + datasize"
    );
    prop_assert_eq!(
        packet.as_bytes(),
        &input[..len],
        "the packet is the input's prefix"
    );
    let (m1, datasize, m2) = (packet.modifier1().0, packet.datasize(), packet.modifier2());
    prop_assert_eq!(
        packet.header().to_bytes(),
        h(m1, datasize.into(), m2),
        "header accessors"
    );
    prop_assert_eq!(
        &packet.header().to_bytes()[..],
        &input[..4],
        "the header as received"
    );
    prop_assert_eq!(packet.block_bytes(), &input[4..len], "block bytes");
    prop_assert_eq!(
        packet.kind(),
        parser.kind_of(&packet.header()),
        "the parser's kind"
    );
    let mut out = Vec::new();
    packet.encode(&mut out);
    prop_assert_eq!(&out[..], &input[..len], "encode writes the packet's bytes");

    match packet.block() {
        Block::Vars(vars) => {
            let rebuilt: Vec<u8> = vars.iter().flat_map(|(k, v)| kv(k, v)).collect();
            prop_assert_eq!(
                &rebuilt[..],
                packet.block_bytes(),
                "the pairs fill the block"
            );
            prop_assert_eq!(vars.iter().count(), vars.len(), "len counts the pairs");
            prop_assert!(vars.iter().all(|(k, _)| !k.is_empty()), "no empty key (V2)");
        }
        Block::Array(array) => {
            let rebuilt: Vec<u8> = array.iter().flat_map(prefixed).collect();
            prop_assert_eq!(
                &rebuilt[..],
                packet.block_bytes(),
                "the items fill the block"
            );
            prop_assert_eq!(array.iter().count(), array.len(), "len counts the items");
        }
        Block::Raw(raw) => prop_assert_eq!(*raw, packet.block_bytes(), "raw block"),
    }

    let length_vars = match (packet.kind().body.length_key(), packet.vars()) {
        (Some(key), Some(vars)) => Some((key, vars)),
        _ => None,
    };
    match (packet.body_len(), length_vars) {
        (Ok(n), None) => prop_assert_eq!(n, 0, "no length var, no body"),
        (Ok(n), Some((key, vars))) => {
            match vars.get_first(key).map(|v| parse_length(v, 0)) {
                None => prop_assert_eq!(n, 0, "no length var, no body (C1)"),
                Some(Ok(first)) => prop_assert_eq!(n, first, "body_len is the length var"),
                Some(Err(e)) => {
                    prop_assert!(false, "body_len {} from an invalid value: {:?}", n, e)
                }
            }
            for value in vars.get_all(key) {
                prop_assert_eq!(Some(value), vars.get_first(key), "duplicates agree (C3)");
            }
        }
        (Err(e), vars) => {
            prop_assert!(
                vars.is_some(),
                "a body_len error without a length var: {:?}",
                e
            );
            prop_assert!(
                matches!(
                    e,
                    Error::InvalidContentLength { .. } | Error::ConflictingContentLength { .. }
                ),
                "body_len fails only on the length var: {:?}",
                e
            );
            check_offset(&e, len, "body_len")?;
        }
    }
    Ok(())
}

/// `parse`, `parse_eof`, `parse_datagram`, `parse_into` and `parse_bytes` on one input.
fn check_decoders(parser: &Parser, input: &[u8]) -> Result<(), TestCaseError> {
    let parsed = parser.parse(input);
    let header = Header::parse(input).complete();
    match &parsed {
        Ok(Status::Incomplete(n)) => {
            prop_assert!(*n >= 1, "Incomplete(0)");
            let wire_len = header.map_or(HEADER_LEN, |h| h.packet_len());
            prop_assert!(
                input.len() < wire_len,
                "Incomplete with the whole packet present"
            );
            prop_assert_eq!(
                *n,
                missing_of(input.len(), wire_len),
                "Incomplete counts exactly"
            );
        }
        Ok(Status::Complete(packet)) => check_packet(parser, input, packet)?,
        Err(e) => {
            check_offset(e, input.len(), "parse")?;
            prop_assert!(
                header.is_some(),
                "an error before the header is complete: {:?}",
                e
            );
        }
    }

    match (&parsed, parser.parse_eof(input)) {
        (Ok(Status::Complete(a)), Ok(Some(b))) => prop_assert_eq!(*a, b, "parse_eof = parse"),
        (Ok(Status::Incomplete(_)), Ok(None)) => {
            prop_assert!(
                input.is_empty(),
                "parse_eof: a clean end needs no bytes at all (H7)"
            );
        }
        (Ok(Status::Incomplete(n)), Err(Error::UnexpectedEof { offset, needed })) => {
            prop_assert!(
                !input.is_empty(),
                "parse_eof: an empty input is a clean end (H7)"
            );
            prop_assert_eq!(offset, input.len(), "UnexpectedEof offset = bytes received");
            prop_assert_eq!(needed, *n, "UnexpectedEof needed = Incomplete count");
        }
        (Err(a), Err(b)) => prop_assert_eq!(a, &b, "parse_eof error = parse error"),
        (a, b) => prop_assert!(false, "parse {:?} but parse_eof {:?}", a, b),
    }

    match parser.parse_datagram(input) {
        Ok(packet) => {
            prop_assert_eq!(
                packet.wire_len(),
                input.len(),
                "a datagram is one packet (H8)"
            );
            let whole = complete(parser.parse(input), "parse of an accepted datagram")?;
            prop_assert_eq!(packet, whole, "parse_datagram = parse");
        }
        Err(Error::DatagramLength { datasize, len }) => {
            prop_assert_eq!(len, input.len(), "DatagramLength len");
            prop_assert_eq!(
                Some(datasize),
                header.map(|h| usize::from(h.datasize)),
                "datasize"
            );
            prop_assert_ne!(
                HEADER_LEN + datasize,
                len,
                "DatagramLength on an exact datagram"
            );
        }
        Err(e) => {
            check_offset(&e, input.len(), "parse_datagram")?;
            if let Error::UnexpectedEof { needed, .. } = e {
                prop_assert!(needed >= 1, "UnexpectedEof needs nothing");
            }
        }
    }

    check_parse_into(parser, input, &PacketRef::empty())?;

    let bytes = Bytes::copy_from_slice(input);
    let default_parsed = PacketRef::parse(input);
    for (what, owned, borrowed) in [
        ("parse_bytes", parser.parse_bytes(&bytes), &parsed),
        ("Packet::parse", Packet::parse(&bytes), &default_parsed),
    ] {
        match (owned, borrowed) {
            (Ok(Status::Complete(owned)), Ok(Status::Complete(borrowed))) => {
                prop_assert_eq!(&owned.as_bytes()[..], borrowed.as_bytes(), "{} bytes", what);
                prop_assert_eq!(owned.view(), *borrowed, "{} view", what);
                prop_assert_eq!(owned.header(), borrowed.header(), "{} header", what);
                prop_assert_eq!(owned.body_len(), borrowed.body_len(), "{} body_len", what);
                let pairs: Vec<(Bytes, Bytes)> = owned.vars_bytes().collect();
                let want: Vec<(&[u8], &[u8])> = borrowed
                    .vars()
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let got: Vec<(&[u8], &[u8])> =
                    pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                prop_assert_eq!(got, want, "{} vars_bytes", what);
                let items: Vec<Bytes> = owned.items_bytes().collect();
                let want: Vec<&[u8]> = borrowed
                    .array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                let got: Vec<&[u8]> = items.iter().map(|i| &i[..]).collect();
                prop_assert_eq!(got, want, "{} items_bytes", what);
            }
            (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) => {
                prop_assert_eq!(a, *b, "{} Incomplete count", what);
            }
            (Err(a), Err(b)) => prop_assert_eq!(&a, b, "{} error", what),
            (a, b) => prop_assert!(false, "{} gave {:?}, the borrowed parse {:?}", what, a, b),
        }
    }
    if let Ok(Status::Complete(packet)) = &default_parsed {
        check_packet(&Parser::new(), input, packet)?;
    }
    if let Err(e) = &default_parsed {
        check_offset(e, input.len(), "PacketRef::parse")?;
    }
    Ok(())
}

/// `parse_into` into a `PacketRef` that holds `start` gives what `parse` gives: the packet
/// and its length when complete; otherwise the same outcome, and a fresh (`empty()`) start
/// stays empty.
fn check_parse_into<'a>(
    parser: &Parser,
    input: &'a [u8],
    start: &PacketRef<'a>,
) -> Result<(), TestCaseError> {
    let mut into = *start;
    let got = parser.parse_into(input, &mut into);
    let completed = matches!(got, Ok(Status::Complete(_)));
    match (got, parser.parse(input)) {
        (Ok(Status::Complete(len)), Ok(Status::Complete(packet))) => {
            prop_assert_eq!(len, packet.wire_len(), "parse_into returns the wire length");
            prop_assert_eq!(into, packet, "parse_into = parse");
        }
        (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) => {
            prop_assert_eq!(a, b, "parse_into's Incomplete count");
        }
        (Err(a), Err(b)) => prop_assert_eq!(a, b, "parse_into's error"),
        (a, b) => prop_assert!(false, "parse_into {:?}, parse {:?}", a, b),
    }
    if *start == PacketRef::empty() && !completed {
        prop_assert_eq!(into, PacketRef::empty(), "an empty PacketRef stays empty");
    }
    Ok(())
}

/// Offsets of every length-prefix byte of a vars or array packet.
fn length_prefix_bytes(packet: &PacketRef<'_>) -> Vec<usize> {
    let mut offsets = Vec::new();
    match packet.block() {
        Block::Vars(vars) => {
            for (at, key, _) in vars.iter_with_offsets() {
                let value_at = at + 2 + key.len();
                offsets.extend([at, at + 1, value_at, value_at + 1]);
            }
        }
        Block::Array(array) => {
            let mut at = HEADER_LEN;
            for item in array.iter() {
                offsets.extend([at, at + 1]);
                at += 2 + item.len();
            }
        }
        Block::Raw(_) => {}
    }
    offsets
}

/// With the default parser and the whole packet present, the packet parses exactly as its
/// bare block does with `Vars::parse` / `Array::parse` (the same one-pass rules).
fn check_block_agrees(input: &[u8]) -> Result<(), TestCaseError> {
    let Some(header) = Header::parse(input).complete() else {
        return Ok(());
    };
    if input.len() < header.packet_len() || sniff(input).is_some() {
        return Ok(());
    }
    let block = &input[HEADER_LEN..header.packet_len()];
    let bare = match Parser::new().kind_of(&header).block {
        BlockKind::Vars => Vars::parse(block).map(|_| ()),
        BlockKind::Array => Array::parse(block).map(|_| ()),
        BlockKind::Raw => Ok(()),
    };
    match (PacketRef::parse(input), bare) {
        (Ok(Status::Complete(_)), Ok(())) => {}
        (Err(a), Err(b)) => prop_assert_eq!(a, b, "packet and bare block errors"),
        (a, b) => prop_assert!(false, "packet parse {:?}, bare block {:?}", a, b),
    }
    Ok(())
}

/// `Vars::parse` and `Array::parse` of a bare block: offsets count from 4, a valid block
/// re-encodes as itself, and a vars block is an array of twice as many items (§2.3).
fn check_bare_block(block: &[u8]) -> Result<(), TestCaseError> {
    let limit = HEADER_LEN + block.len();
    let array = Array::parse(block);
    match &array {
        Ok(array) => {
            let rebuilt: Vec<u8> = array.iter().flat_map(prefixed).collect();
            prop_assert_eq!(&rebuilt[..], block, "the items fill the block");
            prop_assert_eq!(array.as_bytes(), block, "Array::as_bytes");
            prop_assert_eq!(array.iter().count(), array.len(), "item count");
        }
        Err(e) => {
            check_offset(e, limit, "Array::parse")?;
            prop_assert!(
                matches!(
                    e,
                    Error::TruncatedLength {
                        field: Field::Item,
                        ..
                    } | Error::Overrun {
                        field: Field::Item,
                        ..
                    }
                ),
                "Array::parse fails by A2 only: {:?}",
                e
            );
        }
    }
    match Vars::parse(block) {
        Ok(vars) => {
            let rebuilt: Vec<u8> = vars.iter().flat_map(|(k, v)| kv(k, v)).collect();
            prop_assert_eq!(&rebuilt[..], block, "the pairs fill the block");
            prop_assert_eq!(vars.as_bytes(), block, "Vars::as_bytes");
            prop_assert_eq!(vars.iter().count(), vars.len(), "pair count");
            let mut at = HEADER_LEN;
            for (i, (offset, k, v)) in vars.iter_with_offsets().enumerate() {
                prop_assert_eq!(offset, at, "offset of pair {}", i);
                at += 4 + k.len() + v.len();
            }
            let items = array.as_ref().map(Array::len).map_err(Clone::clone);
            prop_assert_eq!(
                items,
                Ok(2 * vars.len()),
                "a vars block is an array of 2n items"
            );
            if let Err(e) = vars.content_length() {
                check_offset(&e, limit, "content_length")?;
            }
            if let Err(e) = vars.length_var(b"size") {
                check_offset(&e, limit, "length_var(size)")?;
            }
        }
        Err(e) => {
            check_offset(&e, limit, "Vars::parse")?;
            prop_assert!(
                matches!(
                    e,
                    Error::TruncatedLength { .. } | Error::EmptyKey { .. } | Error::Overrun { .. }
                ),
                "Vars::parse fails by V1 to V5 only: {:?}",
                e
            );
        }
    }
    Ok(())
}

/// The reference for the index: a plain walk of a valid vars block, pair by pair, with the
/// offset of each key length from the header's first byte.
fn naive_walk(block: &[u8]) -> Vec<(usize, &[u8], &[u8])> {
    let mut pairs = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let klen = usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
        let key = &block[at + 2..at + 2 + klen];
        let vat = at + 2 + klen;
        let vlen = usize::from(u16::from_le_bytes([block[vat], block[vat + 1]]));
        let value = &block[vat + 2..vat + 2 + vlen];
        pairs.push((HEADER_LEN + at, key, value));
        at = vat + 2 + vlen;
    }
    pairs
}

/// Every reading of `vars` agrees with the naive walk of its block.
fn check_index(vars: &Vars<'_>, what: &str) -> Result<(), TestCaseError> {
    let reference = naive_walk(vars.as_bytes());
    let pairs: Vec<(&[u8], &[u8])> = reference.iter().map(|&(_, k, v)| (k, v)).collect();
    let n = pairs.len();
    prop_assert_eq!(vars.len(), n, "{}: len", what);
    prop_assert_eq!(vars.is_empty(), n == 0, "{}: is_empty", what);
    prop_assert_eq!(
        vars.iter().collect::<Vec<_>>(),
        pairs.clone(),
        "{}: iter",
        what
    );
    prop_assert_eq!(vars.into_iter().count(), n, "{}: &Vars into_iter", what);
    let with_offsets: Vec<_> = vars.iter_with_offsets().collect();
    prop_assert_eq!(
        with_offsets,
        reference.clone(),
        "{}: iter_with_offsets",
        what
    );
    let mut iter = vars.iter();
    for read in 0..=n {
        prop_assert_eq!(
            iter.len(),
            n - read,
            "{}: ExactSizeIterator after {}",
            what,
            read
        );
        iter.next();
    }
    prop_assert_eq!(iter.next(), None, "{}: fused", what);
    let mut keys: Vec<&[u8]> = pairs.iter().map(|&(k, _)| k).collect();
    keys.push(b"NOT_THERE");
    for key in &keys {
        let all: Vec<&[u8]> = pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|&(_, v)| v)
            .collect();
        prop_assert_eq!(
            vars.get_all(key).collect::<Vec<_>>(),
            all.clone(),
            "{}: get_all",
            what
        );
        prop_assert_eq!(vars.get(key), all.last().copied(), "{}: get", what);
        prop_assert_eq!(
            vars.get_first(key),
            all.first().copied(),
            "{}: get_first",
            what
        );
    }
    let probe = [keys[0], keys[keys.len() / 2], b"NOT_THERE"];
    let many = vars.get_many(probe);
    let one_by_one = probe.map(|key| vars.get(key));
    prop_assert_eq!(many, one_by_one, "{}: get_many = get for each key", what);
    Ok(())
}

/// PROTOCOL.md V1 to V5, L2 and M2 as a plain model: the pair count of a vars block, or its
/// first fault in wire order (the pair limit and the magic policy checked pair by pair).
fn vars_model(block: &[u8], max_vars: Option<usize>, policy: &MagicPolicy) -> Result<usize, Error> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
    let (mut at, mut count) = (0, 0);
    while at < block.len() {
        let offset = HEADER_LEN + at;
        if let Some(max) = max_vars.filter(|&max| max == count) {
            return Err(Error::TooManyVars { max, offset });
        }
        if block.len() - at < 2 {
            return Err(Error::TruncatedLength {
                field: Field::Key,
                offset,
            });
        }
        let (klen, available) = (u16_at(at), block.len() - at - 2);
        if klen == 0 {
            return Err(Error::EmptyKey { offset });
        }
        if klen > available {
            return Err(Error::Overrun {
                field: Field::Key,
                offset,
                len: klen,
                available,
            });
        }
        let value_at = at + 2 + klen;
        if block.len() - value_at < 2 {
            let offset = HEADER_LEN + value_at;
            return Err(Error::TruncatedLength {
                field: Field::Value,
                offset,
            });
        }
        let (vlen, available) = (u16_at(value_at), block.len() - value_at - 2);
        if vlen > available {
            let offset = HEADER_LEN + value_at;
            return Err(Error::Overrun {
                field: Field::Value,
                offset,
                len: vlen,
                available,
            });
        }
        if !policy.accepts(&block[at + 2..value_at]) {
            return Err(Error::MagicVar { offset });
        }
        count += 1;
        at = value_at + 2 + vlen;
    }
    Ok(count)
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// 1. A valid packet followed by anything: parse consumes exactly wire_len(), and encode
    /// gives back exactly the input's prefix (E5).
    #[test]
    fn parse_then_encode_is_the_identity(spec in spec(), trailing in vec(any::<u8>(), 0..64)) {
        let wire = spec.build()?;
        let input = [wire.as_slice(), &trailing].concat();
        let packet = complete(PacketRef::parse(&input), "valid packet + trailing bytes")?;
        prop_assert_eq!(packet.wire_len(), wire.len(), "parse consumes exactly the packet");
        let mut out = Vec::new();
        packet.encode(&mut out);
        prop_assert_eq!(&out[..], &input[..packet.wire_len()], "encode = the input's prefix");
        spec.check_block(packet.block())?;

        let bytes = Bytes::from(input.clone());
        let owned = match Packet::parse(&bytes).map(Status::complete) {
            Ok(Some(owned)) => owned,
            other => return Err(TestCaseError::fail(format!("Packet::parse gave {other:?}"))),
        };
        prop_assert_eq!(&owned.as_bytes()[..], &wire[..], "Packet::as_bytes");
        prop_assert_eq!(owned.as_bytes().as_ptr(), bytes.as_ptr(), "Packet shares the input's memory");
        let mut out = Vec::new();
        owned.view().encode(&mut out);
        prop_assert_eq!(&out[..], &wire[..], "Packet re-encodes as its bytes");
        if let Spec::Vars { pairs, .. } = &spec {
            let vars = owned.vars();
            prop_assert!(vars.is_some(), "an owned vars packet has vars");
            check_vars(&vars.unwrap(), pairs)?;
            let read: Vec<_> = owned.pairs().collect();
            prop_assert_eq!(read, borrowed(pairs), "Packet::pairs");
            for (key, _) in pairs {
                let value = owned.get_bytes(key);
                let want = owned.vars().and_then(|vars| vars.get(key));
                prop_assert_eq!(value.as_deref(), want, "get_bytes = get");
            }
        }
        prop_assert_eq!(Bytes::from(owned).len(), wire.len(), "into Bytes");

        prop_assert_eq!(Parser::new().parse_eof(&input), Ok(Some(packet)), "parse_eof");
        let datagram = Parser::new().parse_datagram(&input);
        if trailing.is_empty() {
            prop_assert_eq!(datagram, Ok(packet), "an exact datagram");
        } else {
            let len = input.len();
            let datasize = wire.len() - HEADER_LEN;
            prop_assert_eq!(datagram, Err(Error::DatagramLength { datasize, len }), "extra bytes");
        }
    }

    /// 2. Arbitrary bytes never panic any decoding entry point; offsets stay in the input;
    /// Incomplete counts are exact; every entry point agrees with `Parser::parse`.
    #[test]
    fn any_bytes_decode_without_panic(input in any_input(), parser in parser()) {
        check_decoders(&Parser::new(), &input)?;
        check_decoders(&parser, &input)?;
        check_block_agrees(&input)?;
        check_bare_block(&input)?;
        if input.len() >= HEADER_LEN {
            check_bare_block(&input[HEADER_LEN..])?;
        }
    }

    /// 3. S1: every prefix of a packet (and of the packet + trailing bytes) is
    /// `Incomplete(exact)` until the packet is whole, then the same packet.
    #[test]
    fn every_split_of_a_valid_packet(spec in spec(), trailing in vec(any::<u8>(), 0..8)) {
        let wire = spec.build()?;
        let input = [wire.as_slice(), &trailing].concat();
        let whole = complete(PacketRef::parse(&wire), "one shot")?;
        for cut in 0..=input.len() {
            let result = PacketRef::parse(&input[..cut]);
            if cut < wire.len() {
                let needed = missing_of(cut, wire.len());
                prop_assert_eq!(
                    result.map(|s| s.map(|_| ())),
                    Ok(Status::Incomplete(needed)),
                    "cut {} of {}", cut, wire.len()
                );
                let eof = Parser::new().parse_eof(&input[..cut]);
                let want = match cut {
                    0 => Ok(None),
                    _ => Err(Error::UnexpectedEof { offset: cut, needed }),
                };
                prop_assert_eq!(eof, want, "cut {}: parse_eof", cut);
            } else {
                let packet = complete(result, &format!("cut {cut}"))?;
                prop_assert_eq!(packet, whole, "cut {}: the same packet", cut);
                spec.check_block(packet.block())?;
            }
        }
    }

    /// 3. S2: an invalid block (one byte changed, or datasize cut short or made longer)
    /// gives, at every split, `Incomplete(exact)` or the whole input's error, never earlier
    /// than its offset.
    #[test]
    fn every_split_of_an_invalid_packet(
        spec in validated_spec(),
        at in any::<Index>(),
        flip in 1u8..=255,
        shrink in any::<Index>(),
        grow in vec(any::<u8>(), 1..8),
        how in 0u8..4,
    ) {
        let wire = spec.build()?;
        let (m1, m2) = spec.modifiers();
        let datasize = wire.len() - HEADER_LEN;
        let prefixes = length_prefix_bytes(&complete(PacketRef::parse(&wire), "valid packet")?);
        let mut input = wire.clone();
        match how {
            0 if datasize > 0 => input[HEADER_LEN + at.index(datasize)] ^= flip,
            3 if !prefixes.is_empty() => input[prefixes[at.index(prefixes.len())]] ^= flip,
            1 if datasize > 0 => {
                let smaller = datasize - 1 - shrink.index(datasize);
                input[..4].copy_from_slice(&h(m1, smaller, m2));
            }
            _ => {
                input.extend_from_slice(&grow);
                input[..4].copy_from_slice(&h(m1, datasize + grow.len(), m2));
            }
        }
        let wire_len = HEADER_LEN + common::datasize_of(&input);
        let outcome = PacketRef::parse(&input);
        for cut in 0..=input.len() {
            let result = PacketRef::parse(&input[..cut]);
            match (&result, &outcome) {
                (Ok(Status::Incomplete(n)), _) => {
                    prop_assert!(cut < wire_len, "cut {}: Incomplete({}) with the whole packet", cut, n);
                    prop_assert_eq!(*n, missing_of(cut, wire_len), "cut {}: exact count", cut);
                }
                (Err(e), Err(whole)) => {
                    prop_assert_eq!(e, whole, "cut {}: the same error", cut);
                    prop_assert!(
                        e.offset().is_none_or(|o| o <= cut),
                        "cut {}: {:?} points past the bytes that prove it", cut, e
                    );
                }
                (Ok(Status::Complete(packet)), Ok(Status::Complete(whole))) => {
                    prop_assert_eq!(packet, whole, "cut {}: a still-valid packet is the same", cut);
                }
                (result, whole) => prop_assert!(
                    false, "cut {}: {:?}, but the whole input gives {:?}", cut, result, whole
                ),
            }
        }
    }

    /// 4. The pairs of a block of 0 to 100 pairs, read through the index (the first 32) and
    /// by walking on (the rest), are those of a naive walk; so are every lookup and `len`,
    /// for the borrowed packet, the owned one and a bare block.
    #[test]
    fn vars_agree_with_a_naive_walk_across_the_index(pairs in index_pairs()) {
        let block: Vec<u8> = pairs.iter().flat_map(|(k, v)| kv(k, v)).collect();
        let wire = packet(0, 0, &block);
        let parsed = complete(PacketRef::parse(&wire), "a valid vars block")?;
        let vars = parsed.vars();
        prop_assert!(vars.is_some(), "a request holds vars");
        let vars = vars.unwrap();
        check_vars(vars, &pairs)?;
        check_index(vars, "PacketRef::vars")?;
        let bare = Vars::parse(&block);
        prop_assert!(bare.is_ok(), "Vars::parse of the same block: {:?}", bare);
        check_index(&bare.unwrap(), "Vars::parse")?;
        let bytes = Bytes::from(wire.clone());
        let owned = match Packet::parse(&bytes) {
            Ok(Status::Complete(owned)) => owned,
            other => return Err(TestCaseError::fail(format!("Packet::parse: {other:?}"))),
        };
        let owned_vars = owned.vars();
        prop_assert!(owned_vars.is_some(), "an owned request holds vars");
        check_index(&owned_vars.unwrap(), "Packet::vars")?;
        let from_bytes: Vec<(Bytes, Bytes)> = owned.vars_bytes().collect();
        let got: Vec<(&[u8], &[u8])> = from_bytes.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        prop_assert_eq!(got, vars.iter().collect::<Vec<_>>(), "vars_bytes");
        let mut into = PacketRef::empty();
        prop_assert_eq!(Parser::new().parse_into(&wire, &mut into), Ok(Status::Complete(wire.len())), "parse_into");
        let into_vars = into.vars();
        prop_assert!(into_vars.is_some(), "parse_into's packet holds vars");
        check_index(into_vars.unwrap(), "parse_into")?;
    }

    /// 2. A vars block under any pair limit and magic policy is accepted, or refused with its
    /// first fault in wire order, exactly as a plain model of V1 to V5, L2 and M2 says.
    #[test]
    fn vars_blocks_are_judged_as_the_model_judges_them(
        input in near_packet(),
        max_vars in prop::option::of(0usize..6),
        policy in prop_oneof![
            Just(MagicPolicy::Allow),
            Just(MagicPolicy::RoutingOnly),
            Just(MagicPolicy::Refuse),
            Just(MagicPolicy::AllowOnly(vec![b"UWSGI_SCHEME".to_vec()])),
        ],
    ) {
        let Some(header) = Header::parse(&input).complete() else {
            return Ok(());
        };
        let parser = Parser::new()
            .with_kind_fn(always_vars)
            .with_foreign_check(false)
            .with_max_vars(max_vars)
            .with_magic_policy(policy.clone());
        let whole = input.len() >= header.packet_len();
        let block = &input[HEADER_LEN..header.packet_len().min(input.len())];
        let got = parser.parse(&input).map(|s| s.map(|p| p.vars().map(|v| v.len())));
        match (whole, vars_model(block, max_vars, &policy)) {
            (false, _) => prop_assert!(matches!(got, Ok(Status::Incomplete(_))), "partial: {:?}", got),
            (true, Ok(n)) => prop_assert_eq!(got, Ok(Status::Complete(Some(n))), "a valid block"),
            (true, Err(e)) => prop_assert_eq!(got, Err(e), "the first fault"),
        }
    }

    /// 5. `parse_into` gives what `parse` gives, into a fresh `PacketRef` and into one that
    /// holds an earlier packet of the same buffer.
    #[test]
    fn parse_into_agrees_with_parse(first in spec(), input in any_input(), parser in parser()) {
        let head = first.build()?;
        let buf = [head.as_slice(), &input].concat();
        let mut stale = PacketRef::empty();
        prop_assert_eq!(
            Parser::new().parse_into(&buf, &mut stale),
            Ok(Status::Complete(head.len())),
            "the first packet"
        );
        let rest = &buf[head.len()..];
        check_parse_into(&parser, rest, &PacketRef::empty())?;
        check_parse_into(&parser, rest, &stale)?;
    }
}

/// `parse_pairs` into storage of `capacity` pairs gives what `parse` gives with that pair limit
/// (or the parser's own, if smaller): the same outcome, header, kind and bytes; as pairs, the
/// vars `parse` reads; the same array, body length and lookups; after an error, no pair in the
/// storage.
fn check_parse_pairs(parser: &Parser, input: &[u8], capacity: usize) -> Result<(), TestCaseError> {
    let limit = parser.max_vars().map_or(capacity, |max| max.min(capacity));
    let limited = parser.clone().with_max_vars(Some(limit));
    let mut storage = vec![EMPTY_PAIR; capacity];
    let got = parser.parse_pairs(input, &mut storage);
    let refused = got.is_err();
    match (got, limited.parse(input)) {
        (Ok(Status::Complete(got)), Ok(Status::Complete(want))) => {
            prop_assert_eq!(got.header(), want.header());
            prop_assert_eq!(got.kind(), want.kind());
            prop_assert_eq!(got.as_bytes(), want.as_bytes());
            let pairs: Vec<_> = want.vars().map(|v| v.iter().collect()).unwrap_or_default();
            prop_assert_eq!(got.pairs(), &pairs[..]);
            prop_assert_eq!(got.array(), want.array().copied());
            prop_assert_eq!(got.body_len(), want.body_len());
            if let Some(vars) = want.vars() {
                for (key, _) in &pairs {
                    prop_assert_eq!(got.get(key), vars.get(key));
                    prop_assert_eq!(got.get_first(key), vars.get_first(key));
                }
                // Three keys of the block (the first, the last, a middle one) and one it
                // may not hold, in one pass.
                let key = |i: usize| pairs.get(i).map_or(&b"A"[..], |&(k, _)| k);
                let keys = [
                    key(0),
                    key(pairs.len() / 2),
                    key(pairs.len().wrapping_sub(1)),
                    b"absent",
                ];
                prop_assert_eq!(got.get_many(keys), vars.get_many(keys));
            }
        }
        (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) => prop_assert_eq!(a, b),
        (Err(a), Err(b)) => prop_assert_eq!(a, b),
        (a, b) => prop_assert!(false, "parse_pairs {:?}, parse {:?}", a, b),
    }
    if refused {
        prop_assert!(
            storage.iter().all(|&pair| pair == EMPTY_PAIR),
            "pairs left after an error"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// 6. `parse_pairs` gives what `parse` gives, for storage from none to more than the
    /// input's pairs, on valid packets and on any input.
    #[test]
    fn parse_pairs_agrees_with_parse(
        spec in spec(),
        input in any_input(),
        parser in parser(),
        capacity in 0usize..48,
    ) {
        let valid = spec.build()?;
        for bytes in [&valid[..], &input] {
            check_parse_pairs(&parser, bytes, capacity)?;
            check_parse_pairs(&Parser::new(), bytes, capacity)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// parse_into over a packet it read before, at its smallest
// ---------------------------------------------------------------------------------------------

/// `head` then a ping, in one buffer: `parse_into` reads the ping (`buf[4..]`) into a
/// `PacketRef`, then the whole buffer into the same one; `check` gets the second outcome and
/// what it left in the `PacketRef`, where the ping it held lies inside the buffer just parsed.
fn over_a_ping(head: [u8; 4], check: impl Fn(Result<Status<usize>, Error>, PacketRef<'_>)) {
    let buf = [&head[..], &[0x64, 0, 0, 0]].concat();
    let mut packet = PacketRef::empty();
    assert_eq!(
        Parser::new().parse_into(&buf[4..], &mut packet),
        Ok(Status::Complete(4))
    );
    let result = Parser::new().parse_into(&buf, &mut packet);
    check(result, packet);
}

#[test]
fn parse_into_clears_the_packet_on_a_block_error() {
    // `00 04 00 00` + the ping as a vars block: `64 00` is a 100-byte key with 2 bytes left.
    over_a_ping([0, 4, 0, 0], |result, packet| {
        let err = Error::Overrun {
            field: Field::Key,
            offset: 4,
            len: 100,
            available: 2,
        };
        assert_eq!(result, Err(err));
        assert_eq!(packet, PacketRef::empty());
    });
}

#[test]
fn parse_into_clears_the_packet_on_a_header_error() {
    // `GET ` + `64 00 00 00`: ForeignProtocol, and the ping (bytes 4 to 7) stays.
    over_a_ping(*b"GET ", |result, packet| {
        assert!(
            matches!(result, Err(Error::ForeignProtocol { .. })),
            "{result:?}"
        );
        assert_eq!(packet, PacketRef::empty(), "still holds {packet:?}");
    });
}

#[test]
fn parse_into_clears_the_packet_on_incomplete() {
    // `00 10 00 00` + `64 00 00 00`: 12 block bytes missing, and the ping (bytes 4 to 7) stays.
    over_a_ping([0, 0x10, 0, 0], |result, packet| {
        assert_eq!(result, Ok(Status::Incomplete(12)));
        assert_eq!(packet, PacketRef::empty(), "still holds {packet:?}");
    });
}
