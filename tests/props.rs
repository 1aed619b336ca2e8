//! Property tests (STYLE.md §5), public API only.
//!
//! 1. build → parse is the identity (PROTOCOL.md E4, E5), for vars and arrays;
//! 2. parse → encode is the identity, and a packet consumes exactly `wire_len()` bytes (E5, H5);
//! 3. arbitrary bytes never panic, error offsets stay inside the input, `Incomplete` counts are
//!    exact (H1, H4) and every decoding entry point agrees with `Parser::parse`;
//! 4. every split of a valid packet is `Incomplete(exact)` then the same packet (S1), and every
//!    split of an invalid one is `Incomplete` or the same error (S2);
//! 5. the encoder never writes part of a packet (E1 to E3);
//! 6. `CONTENT_LENGTH` framing (C1 to C3, E7).
//!
//! Cases default to 256 (`PROPTEST_CASES` overrides it). Failures are not persisted to a
//! regressions file: shrunk inputs belong in `tests/regressions.rs`, bytes inline.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use uwsgi_codec::{
    Array, Block, BlockKind, ContentLengthFault, Direction, Error, Field, HEADER_LEN, Header,
    MagicClass, MagicPolicy, Modifier1, Packet, PacketBuilder, PacketKind, PacketRef, Parser,
    Status, Vars, magic_class, parse_length, sniff,
};

type Pair = (Vec<u8>, Vec<u8>);

/// The default configuration (256 cases, `PROPTEST_CASES` honoured), without a regressions file.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The kind the default parser gives a request with these modifiers.
fn kind_of(m1: u8, m2: u8) -> PacketKind {
    PacketKind::of(&Header::new(Modifier1(m1), 0, m2), Direction::Request)
}

/// Every packet is a request with a vars block (the `with_kind_fn` override).
fn always_vars(_: &Header, _: Direction) -> PacketKind {
    PacketKind::REQUEST
}

/// `len:u16le bytes`.
fn prefixed(bytes: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(bytes.len()).unwrap().to_le_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// `kv(k, v)` as PROTOCOL.md writes it.
fn kv(key: &[u8], value: &[u8]) -> Vec<u8> {
    [prefixed(key), prefixed(value)].concat()
}

fn header_bytes(m1: u8, datasize: u16, m2: u8) -> [u8; 4] {
    Header::new(Modifier1(m1), datasize, m2).to_bytes()
}

fn is_code_magic(key: &[u8]) -> bool {
    magic_class(key) == Some(MagicClass::CodeOrProcess)
}

/// An error's kind and offset: what S2 compares (`Error` has no `PartialEq`).
fn fault(error: &Error) -> (&'static str, Option<usize>) {
    (error.kind(), error.offset())
}

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

/// The complete packet, or a test failure saying what came instead.
fn complete<'a>(
    result: Result<Status<PacketRef<'a>>, Error>,
    what: &str,
) -> Result<PacketRef<'a>, TestCaseError> {
    match result {
        Ok(Status::Complete(packet)) => Ok(packet),
        other => Err(TestCaseError::fail(format!(
            "{what}: expected a complete packet, got {other:?}"
        ))),
    }
}

/// What `Parser::parse` must say about a prefix of `len` bytes of a packet of `wire_len`
/// bytes (H1, H4).
fn missing(len: usize, wire_len: usize) -> usize {
    if len < HEADER_LEN {
        HEADER_LEN - len
    } else {
        wire_len - len
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// A magic key: routing-only or code-affecting.
fn magic_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec!["UWSGI_SCHEME", "UWSGI_APPID", "UWSGI_CACHE_GET"])
            .prop_map(|k| k.as_bytes().to_vec()),
        "[A-Z_]{0,20}".prop_map(|s| format!("UWSGI_{s}").into_bytes()),
    ]
}

/// A key of 1 to 39 bytes; code-affecting magic ones only when `allow_magic`.
fn key(allow_magic: bool) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => vec(any::<u8>(), 1..40),
        4 => "[A-Z_]{1,39}".prop_map(String::into_bytes),
        1 => Just(b"CONTENT_LENGTH".to_vec()),
        1 => magic_key(),
    ]
    .prop_filter("code-affecting magic keys need allow_magic", move |k| {
        allow_magic || !is_code_magic(k)
    })
    .boxed()
}

/// A key that is neither `CONTENT_LENGTH` nor code-affecting magic.
fn plain_key() -> impl Strategy<Value = Vec<u8>> {
    key(false).prop_filter("not CONTENT_LENGTH", |k| k != b"CONTENT_LENGTH")
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..60)
}

/// Up to 23 pairs: at most 23 × 103 = 2369 bytes, short of the smallest datasize a foreign
/// preamble spells with a vars modifier1 (`0D 0A 0D 0A`, 3338).
fn pairs(allow_magic: bool) -> impl Strategy<Value = Vec<Pair>> {
    vec((key(allow_magic), value()), 0..24)
}

fn plain_pairs() -> impl Strategy<Value = Vec<Pair>> {
    vec((plain_key(), value()), 0..6)
}

/// Modifiers whose packets the default parser reads as a vars block.
fn vars_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        1 => (Just(0u8), any::<u8>()),
        3 => (any::<u8>(), prop_oneof![Just(0u8), 0u8..20, any::<u8>()])
            .prop_filter("a vars block", |&(m1, m2)| kind_of(m1, m2).block == BlockKind::Vars),
    ]
}

/// Modifiers of packets with a vars block and a body framed by a length var (request
/// families, RPC 5, cache 17).
fn framed_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        2 => (Just(0u8), any::<u8>()),
        1 => Just((173u8, 5u8)),
        1 => Just((111u8, 17u8)),
        3 => vars_modifiers().prop_filter("a framed body", |&(m1, m2)| {
            kind_of(m1, m2).body.length_key().is_some()
        }),
    ]
}

/// Modifiers of packets read as an array (RPC and cache requests).
fn array_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        3 => Just((173u8, 0u8)),
        1 => select(vec![(173u8, 1u8), (111, 1), (111, 10), (111, 11)]),
    ]
}

/// Modifiers of packets with a raw block, none of which can spell a foreign preamble.
fn raw_modifiers() -> impl Strategy<Value = (u8, u8)> {
    (
        select(vec![100u8, 101, 110, 111, 115, 200, 255]),
        any::<u8>(),
    )
        .prop_filter("a raw block", |&(m1, m2)| {
            kind_of(m1, m2) == PacketKind::RAW
        })
}

/// What a valid packet is built from.
#[derive(Debug, Clone)]
enum Spec {
    Vars {
        m1: u8,
        m2: u8,
        allow_magic: bool,
        pairs: Vec<Pair>,
    },
    Array {
        m1: u8,
        m2: u8,
        items: Vec<Vec<u8>>,
    },
    Raw {
        m1: u8,
        m2: u8,
        payload: Vec<u8>,
    },
}

impl Spec {
    fn builder(&self) -> PacketBuilder<'_> {
        match self {
            Spec::Vars {
                m1,
                m2,
                allow_magic,
                pairs,
            } => PacketBuilder::new(*m1)
                .modifier2(*m2)
                .allow_magic(*allow_magic)
                .vars(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))),
            Spec::Array { m1, m2, items } => {
                let mut builder = PacketBuilder::new(*m1).modifier2(*m2);
                for item in items {
                    builder.push_item(item);
                }
                builder
            }
            Spec::Raw { m1, m2, payload } => PacketBuilder::new(*m1).modifier2(*m2).raw(payload),
        }
    }

    fn build(&self) -> Result<Vec<u8>, TestCaseError> {
        let wire = self
            .builder()
            .to_vec()
            .map_err(|e| TestCaseError::fail(format!("the builder refused {self:?}: {e:?}")))?;
        prop_assert!(
            sniff(&wire).is_none(),
            "the generator made a foreign preamble: {:02x?}",
            &wire[..4]
        );
        Ok(wire)
    }

    fn modifiers(&self) -> (u8, u8) {
        match self {
            Spec::Vars { m1, m2, .. } | Spec::Array { m1, m2, .. } | Spec::Raw { m1, m2, .. } => {
                (*m1, *m2)
            }
        }
    }

    /// The block the packet must parse to.
    fn check_block(&self, block: Block<'_>) -> Result<(), TestCaseError> {
        match (self, block) {
            (Spec::Vars { pairs, .. }, Block::Vars(vars)) => check_vars(&vars, pairs),
            (Spec::Array { items, .. }, Block::Array(array)) => {
                let got: Vec<&[u8]> = array.iter().collect();
                let want: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                prop_assert_eq!(got, want, "items, in order");
                prop_assert_eq!(array.len(), items.len(), "item count");
                for (index, item) in items.iter().enumerate() {
                    prop_assert_eq!(array.get(index), Some(item.as_slice()), "item {}", index);
                }
                prop_assert_eq!(array.get(items.len()), None, "no item past the end");
                Ok(())
            }
            (Spec::Raw { payload, .. }, Block::Raw(raw)) => {
                prop_assert_eq!(raw, payload.as_slice(), "raw block");
                Ok(())
            }
            (spec, block) => Err(TestCaseError::fail(format!(
                "{spec:?} parsed as the wrong block kind: {block:?}"
            ))),
        }
    }
}

/// The pairs, in order, duplicates kept, with last-wins and first-wins lookups (V10).
fn check_vars(vars: &Vars<'_>, pairs: &[Pair]) -> Result<(), TestCaseError> {
    let got: Vec<(&[u8], &[u8])> = vars.iter().collect();
    let want: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    prop_assert_eq!(&got, &want, "pairs, in order");
    prop_assert_eq!(vars.len(), pairs.len(), "pair count");
    prop_assert_eq!(vars.is_empty(), pairs.is_empty(), "is_empty");
    for (key, _) in pairs {
        let all: Vec<&[u8]> = want
            .iter()
            .filter(|(k, _)| *k == key.as_slice())
            .map(|(_, v)| *v)
            .collect();
        let listed: Vec<&[u8]> = vars.get_all(key).collect();
        prop_assert_eq!(&listed, &all, "get_all({:02x?})", key);
        prop_assert_eq!(vars.get(key), all.last().copied(), "get is the last");
        prop_assert_eq!(
            vars.get_first(key),
            all.first().copied(),
            "get_first is the first"
        );
    }
    Ok(())
}

fn vars_spec() -> impl Strategy<Value = Spec> {
    (vars_modifiers(), any::<bool>()).prop_flat_map(|((m1, m2), allow_magic)| {
        pairs(allow_magic).prop_map(move |pairs| Spec::Vars {
            m1,
            m2,
            allow_magic,
            pairs,
        })
    })
}

fn array_spec() -> impl Strategy<Value = Spec> {
    (array_modifiers(), vec(vec(any::<u8>(), 0..40), 0..24))
        .prop_map(|((m1, m2), items)| Spec::Array { m1, m2, items })
}

fn raw_spec() -> impl Strategy<Value = Spec> {
    (raw_modifiers(), vec(any::<u8>(), 0..100)).prop_map(|((m1, m2), payload)| Spec::Raw {
        m1,
        m2,
        payload,
    })
}

/// Any valid packet the default parser accepts.
fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![3 => vars_spec(), 2 => array_spec(), 1 => raw_spec()]
}

/// A packet whose block is validated (vars or array).
fn validated_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![3 => vars_spec(), 2 => array_spec()]
}

/// Parsers with every setting moved.
fn parser() -> impl Strategy<Value = Parser> {
    let policy = prop_oneof![
        Just(MagicPolicy::Allow),
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

/// A `CONTENT_LENGTH`-like value: digits (sometimes too many), u64 decimals, or junk.
fn length_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{0,22}".prop_map(String::into_bytes),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        "[0-9]{0,3}[^0-9][0-9]{0,3}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..4),
    ]
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
            let datasize = u16::try_from(datasize).unwrap();
            let mut input = header_bytes(m1, datasize, m2).to_vec();
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

// ---------------------------------------------------------------------------------------------
// Property 3: the checks every decoding entry point must pass on any input
// ---------------------------------------------------------------------------------------------

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
    prop_assert_eq!(
        packet.header().to_bytes(),
        header_bytes(packet.modifier1().0, packet.datasize(), packet.modifier2()),
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
        Block::Raw(raw) => prop_assert_eq!(raw, packet.block_bytes(), "raw block"),
    }

    let length_vars = match (packet.kind().body.length_key(), packet.vars()) {
        (Some(key), Some(vars)) => Some((key, vars)),
        _ => None,
    };
    match (packet.body_len(), length_vars) {
        (Ok(n), None) => prop_assert_eq!(n, 0, "no length var, no body"),
        (Ok(n), Some((key, vars))) => {
            let first = vars.get_first(key).map(|v| parse_length(v, 0));
            match first {
                None => prop_assert_eq!(n, 0, "no length var, no body (C1)"),
                Some(Ok(first)) => prop_assert_eq!(n, first, "body_len is the length var"),
                Some(Err(e)) => {
                    prop_assert!(false, "body_len {} from an invalid value: {:?}", n, e)
                }
            }
            for value in vars.get_all(key) {
                prop_assert_eq!(value, vars.get_first(key).unwrap(), "duplicates agree (C3)");
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

/// `parse`, `parse_eof`, `parse_datagram` and `parse_bytes` on one input.
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
                missing(input.len(), wire_len),
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
        (Err(a), Err(b)) => prop_assert_eq!(fault(a), fault(&b), "parse_eof error = parse error"),
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

    let bytes = Bytes::copy_from_slice(input);
    let owned = parser.parse_bytes(&bytes);
    let default_owned = Packet::parse(&bytes);
    let default_parsed = PacketRef::parse(input);
    for (what, owned, borrowed) in [
        ("parse_bytes", owned, &parsed),
        ("Packet::parse", default_owned, &default_parsed),
    ] {
        match (owned, borrowed) {
            (Ok(Status::Complete(owned)), Ok(Status::Complete(borrowed))) => {
                prop_assert_eq!(&owned.as_bytes()[..], borrowed.as_bytes(), "{} bytes", what);
                prop_assert_eq!(owned.view(), *borrowed, "{} view", what);
                prop_assert_eq!(owned.header(), borrowed.header(), "{} header", what);
                prop_assert_eq!(
                    fault_or(owned.body_len()),
                    fault_or(borrowed.body_len()),
                    "{} body_len",
                    what
                );
                let pairs: Vec<(Bytes, Bytes)> = owned.vars_bytes().collect();
                prop_assert_eq!(
                    pairs.len(),
                    borrowed.vars().map_or(0, |v| v.len()),
                    "{} pairs",
                    what
                );
                prop_assert_eq!(
                    owned.items_bytes().count(),
                    borrowed.array().map_or(0, |a| a.len()),
                    "{} items",
                    what
                );
            }
            (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) => {
                prop_assert_eq!(a, *b, "{} Incomplete count", what);
            }
            (Err(a), Err(b)) => prop_assert_eq!(fault(&a), fault(b), "{} error", what),
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

fn fault_or(result: Result<u64, Error>) -> Result<u64, (&'static str, Option<usize>)> {
    result.map_err(|e| fault(&e))
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
        (Err(a), Err(b)) => prop_assert_eq!(fault(&a), fault(&b), "packet and bare block errors"),
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
            let offsets: Vec<usize> = vars.iter_with_offsets().map(|(o, _, _)| o).collect();
            let mut at = HEADER_LEN;
            for ((offset, (k, v)), expected) in offsets.iter().zip(vars.iter()).zip(0..) {
                prop_assert_eq!(*offset, at, "offset of pair {}", expected);
                at += 4 + k.len() + v.len();
            }
            let items = array.as_ref().map(Array::len).map_err(fault);
            prop_assert_eq!(
                items,
                Ok(2 * vars.len()),
                "a vars block is an array of 2n items"
            );
            match vars.content_length() {
                Ok(_) => {}
                Err(e) => check_offset(&e, limit, "content_length")?,
            }
            match vars.length_var(b"size") {
                Ok(_) => {}
                Err(e) => check_offset(&e, limit, "length_var(size)")?,
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

/// `parse_length` (C2): empty is 0, digits only, and the first offending byte is named.
fn check_parse_length(value: &[u8], base: usize) -> Result<(), TestCaseError> {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let fits = |digits: &[u8]| {
        digits.is_empty()
            || std::str::from_utf8(digits)
                .unwrap()
                .parse::<u128>()
                .is_ok_and(|n| n <= u128::from(u64::MAX))
    };
    match parse_length(value, base) {
        Ok(n) => {
            prop_assert_eq!(
                digits,
                value.len(),
                "{:02x?} accepted with a non-digit",
                value
            );
            let trimmed = std::str::from_utf8(value).unwrap().trim_start_matches('0');
            let expected = if trimmed.is_empty() { "0" } else { trimmed };
            prop_assert_eq!(
                n.to_string(),
                expected,
                "the decimal value of {:02x?}",
                value
            );
        }
        Err(Error::InvalidContentLength { offset, reason }) => {
            prop_assert!(
                offset >= base,
                "offset {} before the value at {}",
                offset,
                base
            );
            let at = offset - base;
            prop_assert!(at < value.len(), "offset {} past the value", offset);
            match reason {
                ContentLengthFault::NotDigit => {
                    prop_assert_eq!(at, digits, "NotDigit names the first non-digit");
                    prop_assert!(fits(&value[..at]), "the digits before it fit a u64");
                }
                ContentLengthFault::Overflow => {
                    prop_assert!(at < digits, "Overflow at a digit");
                    prop_assert!(fits(&value[..at]), "the digits before it fit a u64");
                    prop_assert!(!fits(&value[..=at]), "the digit it names overflows");
                }
            }
        }
        Err(e) => prop_assert!(false, "parse_length failed with {:?}", e),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Property 5: the encoder model
// ---------------------------------------------------------------------------------------------

/// Bytes in failure messages: escaped, long runs cut short.
struct Short<'a>(&'a [u8]);

impl std::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            short if short.len() <= 48 => write!(f, "b\"{}\"", short.escape_ascii()),
            long => write!(
                f,
                "{} bytes b\"{}…\"",
                long.len(),
                long[..16].escape_ascii()
            ),
        }
    }
}

/// One builder call.
#[derive(Clone)]
enum Part {
    Var(Vec<u8>, Vec<u8>),
    Item(Vec<u8>),
    Raw(Vec<u8>),
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Var(k, v) => f
                .debug_tuple("Var")
                .field(&Short(k))
                .field(&Short(v))
                .finish(),
            Part::Item(i) => f.debug_tuple("Item").field(&Short(i)).finish(),
            Part::Raw(r) => f.debug_tuple("Raw").field(&Short(r)).finish(),
        }
    }
}

/// A builder: its calls in order, the magic switch and the framed body length.
#[derive(Debug, Clone)]
struct Encoding {
    parts: Vec<Part>,
    allow_magic: bool,
    body_len: Option<u64>,
}

/// What the builder must refuse a part or block for (E2, E7).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Refusal {
    EmptyKey {
        offset: usize,
    },
    Overflow {
        field: Field,
        len: usize,
    },
    Magic {
        offset: usize,
    },
    Invalid {
        offset: usize,
        reason: ContentLengthFault,
    },
    Conflict {
        first: u64,
        second: u64,
        offset: usize,
    },
}

impl Refusal {
    fn matches(self, error: &Error) -> bool {
        match self {
            Refusal::EmptyKey { offset } => {
                matches!(*error, Error::EmptyKey { offset: o } if o == offset)
            }
            Refusal::Overflow { field, len } => {
                matches!(*error, Error::LengthOverflow { field: f, len: l } if f == field && l == len)
            }
            Refusal::Magic { offset } => {
                matches!(*error, Error::MagicVar { offset: o } if o == offset)
            }
            Refusal::Invalid { offset, reason } => matches!(
                *error,
                Error::InvalidContentLength { offset: o, reason: r } if o == offset && r == reason
            ),
            Refusal::Conflict {
                first,
                second,
                offset,
            } => matches!(
                *error,
                Error::ConflictingContentLength { first: a, second: b, offset: o }
                    if a == first && b == second && o == offset
            ),
        }
    }
}

/// C2 as a model: the value of a length var, or where and why it is not one.
fn length_model(value: &[u8]) -> Result<u64, (usize, ContentLengthFault)> {
    let mut n: u64 = 0;
    for (i, &byte) in value.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return Err((i, ContentLengthFault::NotDigit));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(byte - b'0')))
            .ok_or((i, ContentLengthFault::Overflow))?;
    }
    Ok(n)
}

impl Encoding {
    fn builder(&self) -> PacketBuilder<'_> {
        let mut builder = PacketBuilder::new(0u8).allow_magic(self.allow_magic);
        for part in &self.parts {
            builder = match part {
                Part::Var(k, v) => builder.var(k, v),
                Part::Item(i) => builder.item(i),
                Part::Raw(r) => builder.raw(r),
            };
        }
        match self.body_len {
            Some(n) => builder.body_len(n),
            None => builder,
        }
    }

    /// The block length with every length var filled in (up to the first faulty part).
    fn block_len(&self) -> usize {
        self.walk().0
    }

    /// The refusals of the first faulty part.
    fn refusals(&self) -> Vec<Refusal> {
        self.walk().1
    }

    /// The encoded length, or every reason the first faulty part (else the block) has to fail.
    fn model(&self) -> Result<usize, Vec<Refusal>> {
        let (size, refusals) = self.walk();
        if !refusals.is_empty() {
            return Err(refusals);
        }
        if size > 65535 {
            return Err(vec![Refusal::Overflow {
                field: Field::Block,
                len: size,
            }]);
        }
        Ok(HEADER_LEN + size)
    }

    /// Walks the parts as E1, E2 and E7 say: the block length (up to the first faulty part)
    /// and that part's refusals.
    fn walk(&self) -> (usize, Vec<Refusal>) {
        let digits = self.body_len.map(|n| n.to_string().into_bytes());
        let mut size = 0usize;
        let mut has_content_length = false;
        for part in &self.parts {
            let offset = HEADER_LEN + size;
            let mut refusals = Vec::new();
            let part_len = match part {
                Part::Var(key, value) => {
                    if key.is_empty() {
                        refusals.push(Refusal::EmptyKey { offset });
                    }
                    for (field, len) in [(Field::Key, key.len()), (Field::Value, value.len())] {
                        if len > 65535 {
                            refusals.push(Refusal::Overflow { field, len });
                        }
                    }
                    if !self.allow_magic && is_code_magic(key) {
                        refusals.push(Refusal::Magic { offset });
                    }
                    let mut value_len = value.len();
                    if let (Some(n), Some(digits)) = (self.body_len, &digits) {
                        if key == b"CONTENT_LENGTH" {
                            has_content_length = true;
                            if value.is_empty() {
                                // The placeholder is filled, or left empty for no body (E7).
                                value_len = if n == 0 { 0 } else { digits.len() };
                            } else if value != digits {
                                let value_at = offset + 4 + key.len();
                                refusals.push(match length_model(value) {
                                    Ok(first) => Refusal::Conflict {
                                        first,
                                        second: n,
                                        offset,
                                    },
                                    Err((at, reason)) => Refusal::Invalid {
                                        offset: value_at + at,
                                        reason,
                                    },
                                });
                            }
                        }
                    }
                    4 + key.len() + value_len
                }
                Part::Item(item) => {
                    if item.len() > 65535 {
                        refusals.push(Refusal::Overflow {
                            field: Field::Item,
                            len: item.len(),
                        });
                    }
                    2 + item.len()
                }
                Part::Raw(bytes) => bytes.len(),
            };
            if !refusals.is_empty() {
                return (size, refusals);
            }
            size += part_len;
        }
        if let (Some(n), Some(digits)) = (self.body_len, &digits) {
            if n > 0 && !has_content_length {
                size += 4 + b"CONTENT_LENGTH".len() + digits.len();
            }
        }
        (size, Vec::new())
    }
}

/// Bytes: mostly small, sometimes big enough to overflow a block together, rarely over 65535.
fn sized_bytes(small: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        40 => vec(any::<u8>(), 0..small),
        4 => (20_000usize..40_000).prop_map(|n| vec![b'm'; n]),
        1 => (65_530usize..=70_000).prop_map(|n| vec![b'b'; n]),
    ]
}

fn encoder_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        30 => vec(any::<u8>(), 1..40),
        2 => Just(Vec::new()),
        2 => magic_key(),
        1 => sized_bytes(1),
    ]
}

fn part() -> impl Strategy<Value = Part> {
    let content_length = prop_oneof![2 => Just(Vec::new()), 1 => length_value()];
    prop_oneof![
        8 => (encoder_key(), sized_bytes(60)).prop_map(|(k, v)| Part::Var(k, v)),
        2 => content_length.prop_map(|v| Part::Var(b"CONTENT_LENGTH".to_vec(), v)),
        4 => sized_bytes(40).prop_map(Part::Item),
        2 => sized_bytes(40).prop_map(Part::Raw),
    ]
}

fn encoding() -> impl Strategy<Value = Encoding> {
    (
        vec(part(), 0..8),
        any::<bool>(),
        prop::option::weighted(0.3, body_length()),
    )
        .prop_map(|(parts, allow_magic, body_len)| Encoding {
            parts,
            allow_magic,
            body_len,
        })
}

/// Parts whose block is within a few bytes of 65535.
fn boundary_parts() -> impl Strategy<Value = Vec<Part>> {
    (-4i64..=4, 1usize..4, any::<Index>(), any::<bool>()).prop_map(|(delta, n, split, items)| {
        // n parts of 4 + 1 + v bytes (vars) or 2 + v (items) sharing 65535 + delta bytes.
        let overhead = if items { 2 } else { 5 };
        let total = usize::try_from(65535 + delta).unwrap() - n * overhead;
        let mut sizes = Vec::new();
        let mut rest = total;
        for i in 0..n {
            let share = if i + 1 == n {
                rest
            } else {
                split.index(rest + 1)
            };
            sizes.push(share);
            rest -= share;
        }
        sizes
            .into_iter()
            .map(|len| {
                if items {
                    Part::Item(vec![b'i'; len])
                } else {
                    Part::Var(b"K".to_vec(), vec![b'v'; len])
                }
            })
            .collect()
    })
}

fn buffer_len() -> impl Strategy<Value = (bool, i64, usize)> {
    (any::<bool>(), -6i64..6, 0usize..2_000)
}

// ---------------------------------------------------------------------------------------------
// Property 6: CONTENT_LENGTH
// ---------------------------------------------------------------------------------------------

/// Body lengths: small, large, and the ends of u64.
fn body_length() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0u64..1_000,
        any::<u64>(),
        Just(u64::MAX),
        Just(u64::MAX / 10),
    ]
}

/// What the caller put in `CONTENT_LENGTH` before `body_len(n)`.
#[derive(Debug, Clone)]
enum Existing {
    None,
    Placeholder,
    Exact,
    Padded,
    Other(u64),
}

fn existing() -> impl Strategy<Value = Existing> {
    prop_oneof![
        Just(Existing::None),
        Just(Existing::Placeholder),
        Just(Existing::Exact),
        Just(Existing::Padded),
        any::<u64>().prop_map(Existing::Other),
    ]
}

fn builder_of<'a>(m1: u8, m2: u8, pairs: impl IntoIterator<Item = &'a Pair>) -> PacketBuilder<'a> {
    PacketBuilder::new(m1)
        .modifier2(m2)
        .vars(pairs.into_iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
}

fn pairs_size(pairs: &[Pair]) -> usize {
    pairs.iter().map(|(k, v)| 4 + k.len() + v.len()).sum()
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// 1. Build then parse returns the same modifiers and pairs, in order (E4, E5).
    #[test]
    fn build_then_parse_returns_the_vars(spec in vars_spec()) {
        let wire = spec.build()?;
        let builder = spec.builder();
        prop_assert_eq!(builder.encoded_len().map_err(|e| fault(&e)), Ok(wire.len()), "encoded_len");
        let mut buf = BytesMut::new();
        prop_assert_eq!(builder.encode(&mut buf).map_err(|e| fault(&e)), Ok(wire.len()), "encode");
        prop_assert_eq!(&buf[..], &wire[..], "encode and to_vec agree");
        let (m1, m2) = spec.modifiers();
        let packet = complete(PacketRef::parse(&wire), "build then parse")?;
        prop_assert_eq!(packet.modifier1(), Modifier1(m1), "modifier1");
        prop_assert_eq!(packet.modifier2(), m2, "modifier2");
        prop_assert_eq!(packet.wire_len(), wire.len(), "wire_len");
        prop_assert_eq!(usize::from(packet.datasize()) + HEADER_LEN, wire.len(), "datasize");
        prop_assert_eq!(packet.kind().block, BlockKind::Vars, "kind");
        spec.check_block(packet.block())?;
    }

    /// 1. The same with any modifiers, when the parser is told every block is vars.
    #[test]
    fn build_then_parse_with_forced_vars(
        m1 in any::<u8>(),
        m2 in any::<u8>(),
        (allow_magic, pairs) in any::<bool>().prop_flat_map(|allow| (Just(allow), pairs(allow))),
    ) {
        let spec = Spec::Vars { m1, m2, allow_magic, pairs };
        let wire = spec.builder().to_vec();
        prop_assert!(wire.is_ok(), "the builder refused {:?}: {:?}", spec, wire);
        let wire = wire.unwrap();
        let parser = Parser::new().with_kind_fn(always_vars).with_foreign_check(false);
        let packet = complete(parser.parse(&wire), "forced vars")?;
        prop_assert_eq!((packet.modifier1(), packet.modifier2()), (Modifier1(m1), m2), "modifiers");
        spec.check_block(packet.block())?;
    }

    /// 1. Build then parse returns the same items, empty ones included (A1).
    #[test]
    fn build_then_parse_returns_the_items(spec in array_spec()) {
        let wire = spec.build()?;
        let (m1, m2) = spec.modifiers();
        let packet = complete(PacketRef::parse(&wire), "build then parse")?;
        prop_assert_eq!((packet.modifier1(), packet.modifier2()), (Modifier1(m1), m2), "modifiers");
        prop_assert_eq!(packet.kind().block, BlockKind::Array, "kind");
        spec.check_block(packet.block())?;
        if let (Spec::Array { items, .. }, (173, 0)) = (&spec, (m1, m2)) {
            if let Some((function, args)) = items.split_first() {
                let rpc = PacketBuilder::rpc(function, args.iter().map(Vec::as_slice)).to_vec();
                prop_assert_eq!(rpc.map_err(|e| fault(&e)), Ok(wire.clone()), "PacketBuilder::rpc");
            }
        }
    }

    /// 2. A valid packet followed by anything: parse consumes exactly wire_len(), and encode
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
        let owned = Packet::parse(&bytes).map(Status::complete);
        let owned = match owned {
            Ok(Some(owned)) => owned,
            other => return Err(TestCaseError::fail(format!("Packet::parse gave {other:?}"))),
        };
        prop_assert_eq!(&owned.as_bytes()[..], &wire[..], "Packet::as_bytes");
        prop_assert_eq!(
            owned.as_bytes().as_ptr(),
            bytes.as_ptr(),
            "Packet shares the input's memory"
        );
        let mut out = Vec::new();
        owned.view().encode(&mut out);
        prop_assert_eq!(&out[..], &wire[..], "Packet re-encodes as its bytes");
        prop_assert_eq!(Bytes::from(owned).len(), wire.len(), "into Bytes");

        let eof = Parser::new().parse_eof(&input).map_err(|e| fault(&e));
        prop_assert_eq!(eof, Ok(Some(packet)), "parse_eof");
        let datagram = Parser::new().parse_datagram(&input);
        if trailing.is_empty() {
            prop_assert_eq!(datagram.map_err(|e| fault(&e)), Ok(packet), "an exact datagram");
        } else {
            prop_assert!(
                matches!(
                    datagram,
                    Err(Error::DatagramLength { datasize, len })
                        if datasize + HEADER_LEN == wire.len() && len == input.len()
                ),
                "a datagram with extra bytes: {:?}",
                datagram
            );
        }
    }

    /// 3. Arbitrary bytes never panic any decoding entry point; offsets stay in the input;
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
        check_parse_length(&input, 0)?;
        check_parse_length(&input, 84)?;
    }

    /// 3. `parse_length` on digit strings, overflowing ones and ones with a stray byte (C2).
    #[test]
    fn parse_length_follows_c2(value in length_value(), zeros in 0usize..4, base in 0usize..100) {
        let padded = [vec![b'0'; zeros], value].concat();
        check_parse_length(&padded, base)?;
    }

    /// 4. S1: every prefix of a packet (and of the packet + trailing bytes) is
    /// `Incomplete(exact)` until the packet is whole, then the same packet.
    #[test]
    fn every_split_of_a_valid_packet(spec in spec(), trailing in vec(any::<u8>(), 0..8)) {
        let wire = spec.build()?;
        let input = [wire.as_slice(), &trailing].concat();
        let whole = complete(PacketRef::parse(&wire), "one shot")?;
        for cut in 0..=input.len() {
            let result = PacketRef::parse(&input[..cut]);
            if cut < wire.len() {
                let needed = missing(cut, wire.len());
                prop_assert!(
                    matches!(result, Ok(Status::Incomplete(n)) if n == needed),
                    "cut {} of {}: expected Incomplete({}), got {:?}",
                    cut, wire.len(), needed, result
                );
                let eof = Parser::new().parse_eof(&input[..cut]);
                prop_assert!(
                    match eof {
                        Ok(None) => cut == 0,
                        Err(Error::UnexpectedEof { offset, needed: n }) => offset == cut && n == needed,
                        _ => false,
                    },
                    "cut {}: parse_eof gave {:?}",
                    cut, eof
                );
            } else {
                let packet = complete(result, &format!("cut {cut}"))?;
                prop_assert_eq!(packet, whole, "cut {}: the same packet", cut);
                spec.check_block(packet.block())?;
            }
        }
    }

    /// 4. S2: an invalid block (one byte changed, or datasize cut short or made longer) gives,
    /// at every split, `Incomplete` or the whole input's error, never earlier than its offset.
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
                input[..4].copy_from_slice(&header_bytes(m1, u16::try_from(smaller).unwrap(), m2));
            }
            _ => {
                input.extend_from_slice(&grow);
                let larger = u16::try_from(datasize + grow.len()).unwrap();
                input[..4].copy_from_slice(&header_bytes(m1, larger, m2));
            }
        }
        let wire_len = Header::parse(&input).complete().unwrap().packet_len();
        let outcome = PacketRef::parse(&input);
        for cut in 0..=input.len() {
            let result = PacketRef::parse(&input[..cut]);
            match (&result, &outcome) {
                (Ok(Status::Incomplete(n)), _) => {
                    prop_assert!(cut < wire_len, "cut {}: Incomplete({}) with the whole packet", cut, n);
                    prop_assert_eq!(*n, missing(cut, wire_len), "cut {}: exact count", cut);
                }
                (Err(e), Err(whole)) => {
                    prop_assert_eq!(fault(e), fault(whole), "cut {}: the same error", cut);
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

    /// 5. The encoder never writes part of a packet: on any error the buffer is untouched, on
    /// success exactly `encoded_len()` bytes are written (E1 to E3).
    #[test]
    fn encoder_writes_all_or_nothing(
        encoding in encoding(),
        (exact, slack, random_len) in buffer_len(),
        sentinel in any::<u8>(),
    ) {
        check_encoder(&encoding, exact, slack, random_len, sentinel)?;
    }

    /// 5. Blocks of 65531 to 65539 bytes: 65535 encodes, one more is `LengthOverflow(Block)`.
    #[test]
    fn encoder_block_limit(
        parts in boundary_parts(),
        (exact, slack, random_len) in buffer_len(),
        sentinel in any::<u8>(),
    ) {
        let encoding = Encoding { parts, allow_magic: false, body_len: None };
        let total = encoding.block_len();
        let fields_fit = encoding.refusals().is_empty();
        let result = encoding.builder().encoded_len();
        if fields_fit && total > 65535 {
            prop_assert!(
                matches!(result, Err(Error::LengthOverflow { field: Field::Block, len }) if len == total),
                "a {}-byte block: {:?}", total, result
            );
        } else if fields_fit {
            prop_assert_eq!(result.map_err(|e| fault(&e)), Ok(HEADER_LEN + total), "a {}-byte block", total);
        }
        check_encoder(&encoding, exact, slack, random_len, sentinel)?;
    }

    /// 6. `CONTENT_LENGTH` (or cache `size`) = n in decimal, leading zeros or not, gives
    /// `body_len() == n`; an identical duplicate agrees, a respelled one conflicts (C1 to C3).
    #[test]
    fn content_length_is_the_body_len(
        n in body_length(),
        zeros in 0usize..4,
        (m1, m2) in framed_modifiers(),
        before in plain_pairs(),
        after in plain_pairs(),
        duplicate in 0u8..3,
    ) {
        let key = kind_of(m1, m2).body.length_key().unwrap().to_vec();
        let digits = [vec![b'0'; zeros], n.to_string().into_bytes()].concat();
        let mut pairs = before.clone();
        pairs.push((key.clone(), digits.clone()));
        pairs.extend(after.iter().cloned());
        let respelled = [b"0".as_slice(), &digits].concat();
        match duplicate {
            1 => pairs.push((key.clone(), digits.clone())),
            2 => pairs.push((key.clone(), respelled)),
            _ => {}
        }
        let wire = builder_of(m1, m2, &pairs).to_vec();
        prop_assert!(wire.is_ok(), "the builder refused the pairs: {:?}", wire);
        let wire = wire.unwrap();
        let packet = complete(PacketRef::parse(&wire), "CONTENT_LENGTH packet")?;
        let vars = packet.vars().unwrap();
        check_vars(&vars, &pairs)?;
        let body_len = packet.body_len();
        let length_var = vars.length_var(&key);
        prop_assert_eq!(fault_or(body_len), fault_or(length_var), "body_len = length_var");
        let conflict_at = HEADER_LEN + pairs_size(&pairs[..pairs.len() - 1]);
        let result = packet.body_len();
        if duplicate == 2 {
            prop_assert!(
                matches!(
                    result,
                    Err(Error::ConflictingContentLength { first, second, offset })
                        if first == n && second == n && offset == conflict_at
                ),
                "a respelled duplicate conflicts at {}: {:?}", conflict_at, result
            );
        } else {
            prop_assert_eq!(result.map_err(|e| fault(&e)), Ok(n), "body_len of {:?}", String::from_utf8_lossy(&digits));
        }
        if key == b"CONTENT_LENGTH" {
            prop_assert_eq!(
                fault_or(vars.content_length()),
                fault_or(packet.body_len()),
                "content_length = body_len"
            );
        }
    }

    /// 6. `body_len(n)` fills an empty `CONTENT_LENGTH` placeholder with decimal n (empty for
    /// 0), appends one when there is none and n > 0, keeps an exact one and refuses any other
    /// value (E7); the parse gives `body_len() == n`.
    #[test]
    fn builder_body_len_frames_the_body(
        n in body_length(),
        (m1, m2) in vars_modifiers().prop_filter("CONTENT_LENGTH framing", |&(m1, m2)| {
            kind_of(m1, m2) == PacketKind::REQUEST
        }),
        before in plain_pairs(),
        after in plain_pairs(),
        existing in existing(),
    ) {
        let decimal = n.to_string().into_bytes();
        let caller_value = match &existing {
            Existing::None => None,
            Existing::Placeholder => Some(Vec::new()),
            Existing::Exact => Some(decimal.clone()),
            Existing::Padded => Some([b"0".as_slice(), &decimal].concat()),
            Existing::Other(m) => Some(m.to_string().into_bytes()),
        };
        let mut pairs = before.clone();
        if let Some(value) = &caller_value {
            pairs.push((b"CONTENT_LENGTH".to_vec(), value.clone()));
        }
        pairs.extend(after.iter().cloned());
        let builder = builder_of(m1, m2, &pairs).body_len(n);
        let result = builder.to_vec();
        let pair_at = HEADER_LEN + pairs_size(&before);
        let conflicting = match &existing {
            Existing::Padded => Some(n),
            Existing::Other(m) if *m != n => Some(*m),
            _ => None,
        };
        if let Some(first) = conflicting {
            prop_assert!(
                matches!(
                    result,
                    Err(Error::ConflictingContentLength { first: f, second, offset })
                        if f == first && second == n && offset == pair_at
                ),
                "CONTENT_LENGTH {:?} with body_len({}): {:?}", caller_value, n, result
            );
            prop_assert_eq!(builder.encoded_len().map_err(|e| fault(&e)).err(), result.as_ref().err().map(fault), "encoded_len agrees");
            return Ok(());
        }
        prop_assert!(result.is_ok(), "body_len({}) with {:?}: {:?}", n, existing, result);
        let wire = result.unwrap();
        prop_assert_eq!(builder.encoded_len().map_err(|e| fault(&e)), Ok(wire.len()), "encoded_len");
        let packet = complete(PacketRef::parse(&wire), "framed packet")?;
        prop_assert_eq!(packet.body_len().map_err(|e| fault(&e)), Ok(n), "body_len after parse");

        let filled = if n == 0 { Vec::new() } else { decimal.clone() };
        let mut expected = before.clone();
        match existing {
            Existing::Placeholder => expected.push((b"CONTENT_LENGTH".to_vec(), filled)),
            Existing::None => {}
            _ => expected.push((b"CONTENT_LENGTH".to_vec(), caller_value.clone().unwrap())),
        }
        expected.extend(after.iter().cloned());
        if matches!(existing, Existing::None) && n > 0 {
            expected.push((b"CONTENT_LENGTH".to_vec(), decimal));
        }
        check_vars(&packet.vars().unwrap(), &expected)?;
    }
}

/// Encodes into a sentinel-filled slice (of the exact length give or take `slack`, or
/// of `random_len`) and into a non-empty `BytesMut`, checking both against the model.
fn check_encoder(
    encoding: &Encoding,
    exact: bool,
    slack: i64,
    random_len: usize,
    sentinel: u8,
) -> Result<(), TestCaseError> {
    let builder = encoding.builder();
    let expected = encoding.model();
    let encoded_len = builder.encoded_len();
    match (&expected, &encoded_len) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "encoded_len"),
        (Err(refusals), Err(e)) => prop_assert!(
            refusals.iter().any(|r| r.matches(e)),
            "encoded_len: {:?}, expected one of {:?}",
            e,
            refusals
        ),
        (a, b) => prop_assert!(false, "encoded_len {:?}, model {:?}", b, a),
    }

    let len = match (&expected, exact) {
        (Ok(n), true) => usize::try_from((*n as i64 + slack).max(0)).unwrap(),
        _ => random_len,
    };
    let mut buf = vec![sentinel; len];
    let result = builder.encode_slice(&mut buf);
    match (&expected, result) {
        (Err(refusals), Err(e)) => {
            prop_assert!(
                refusals.iter().any(|r| r.matches(&e)),
                "encode_slice: {:?}, expected one of {:?}",
                e,
                refusals
            );
            prop_assert!(
                buf.iter().all(|&b| b == sentinel),
                "{:?} wrote into the buffer",
                e
            );
        }
        (Ok(needed), Err(e)) => {
            prop_assert!(
                matches!(e, Error::BufferTooSmall { needed: n, available } if n == *needed && available == len),
                "a {}-byte packet into {} bytes: {:?}",
                needed,
                len,
                e
            );
            prop_assert!(
                *needed > len,
                "BufferTooSmall with room: {} <= {}",
                needed,
                len
            );
            prop_assert!(
                buf.iter().all(|&b| b == sentinel),
                "{:?} wrote into the buffer",
                e
            );
        }
        (Ok(needed), Ok(written)) => {
            prop_assert_eq!(written, *needed, "bytes written = encoded_len");
            prop_assert!(
                buf[written..].iter().all(|&b| b == sentinel),
                "wrote past encoded_len"
            );
            let vec = builder.to_vec();
            prop_assert_eq!(
                vec.as_deref().ok(),
                Some(&buf[..written]),
                "encode_slice = to_vec"
            );
        }
        (Err(refusals), Ok(written)) => {
            prop_assert!(
                false,
                "encode_slice wrote {} bytes, expected one of {:?}",
                written,
                refusals
            );
        }
    }

    let mut dst = BytesMut::from(&[sentinel; 3][..]);
    match (builder.encode(&mut dst), &expected) {
        (Ok(written), Ok(needed)) => {
            prop_assert_eq!(written, *needed, "encode returns encoded_len");
            prop_assert_eq!(dst.len(), 3 + written, "encode appends exactly the packet");
            prop_assert_eq!(&dst[..3], &[sentinel; 3][..], "encode keeps what was there");
        }
        (Err(e), Err(_)) => {
            prop_assert_eq!(
                &dst[..],
                &[sentinel; 3][..],
                "{:?} wrote into the BytesMut",
                e
            );
        }
        (result, expected) => {
            prop_assert!(false, "encode gave {:?}, the model {:?}", result, expected);
        }
    }
    Ok(())
}
