//! Properties of encoding (STYLE.md §5), public API only:
//!
//! 1. build → parse is the identity (E4, E5), for vars and arrays, with any modifiers;
//! 2. the encoder matches a model of E1, E2 and E7 and never writes part of a packet: on any
//!    error nothing is written, on success exactly `encoded_len()` bytes;
//! 3. `encode`, `encode_slice`, `encode_buf` and `to_vec` write the same bytes;
//! 4. `with_vars` (a borrowed slice) writes what `extend_vars` and `var` chains write.

mod common;

use bytes::BytesMut;
use common::props::{
    Pair, Short, Spec, always_vars, array_spec, body_length, borrowed, check_vars, complete,
    config, is_code_magic, length_value, magic_key, magic_policy, pairs, vars_modifiers, vars_spec,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use uwsgi_codec::{
    BlockKind, ContentLengthFault, Error, Field, HEADER_LEN, MagicPolicy, Modifier1, PacketBuilder,
    PacketRef, Parser,
};

// ---------------------------------------------------------------------------------------------
// The encoder model
// ---------------------------------------------------------------------------------------------

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

/// A builder: its calls in order, the magic switch, the framed body length and the limit.
#[derive(Debug, Clone)]
struct Encoding {
    parts: Vec<Part>,
    allow_magic: bool,
    body_len: Option<u64>,
    max_datasize: Option<usize>,
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
    /// The pairs, if every part is a var: what `with_vars` can borrow.
    fn pairs(&self) -> Option<Vec<(&[u8], &[u8])>> {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Var(k, v) => Some((k.as_slice(), v.as_slice())),
                _ => None,
            })
            .collect()
    }

    /// The builder over `pairs` borrowed as one slice (the encoder's fast path), with this
    /// encoding's settings.
    fn borrowing<'a>(&self, pairs: &'a [(&'a [u8], &'a [u8])]) -> PacketBuilder<'a> {
        let builder = PacketBuilder::new(0u8).with_magic_policy(magic_policy(self.allow_magic));
        self.settle(builder.with_vars(pairs))
    }

    fn builder(&self) -> PacketBuilder<'_> {
        let mut builder = PacketBuilder::new(0u8).with_magic_policy(magic_policy(self.allow_magic));
        for part in &self.parts {
            builder = match part {
                Part::Var(k, v) => builder.var(k, v),
                Part::Item(i) => builder.item(i),
                Part::Raw(r) => builder.raw(r),
            };
        }
        self.settle(builder)
    }

    /// The body length and the limit, set on `builder`.
    fn settle<'a>(&self, mut builder: PacketBuilder<'a>) -> PacketBuilder<'a> {
        if let Some(n) = self.body_len {
            builder = builder.with_body_len(n);
        }
        match self.max_datasize {
            Some(max) => builder.with_max_datasize(max),
            None => builder,
        }
    }

    /// The encoded length, or every error the first faulty part (else the block) may fail
    /// with.
    fn model(&self) -> Result<usize, Vec<Error>> {
        let (size, refusals) = self.walk();
        if !refusals.is_empty() {
            return Err(refusals);
        }
        if size > 65535 {
            return Err(vec![Error::LengthOverflow {
                field: Field::Block,
                len: size,
            }]);
        }
        match self.max_datasize.map(|max| max.min(65535)) {
            Some(max) if size > max => Err(vec![Error::TooLarge { len: size, max }]),
            _ => Ok(HEADER_LEN + size),
        }
    }

    /// Walks the parts as E1, E2 and E7 say: the block length (up to the first faulty part)
    /// and that part's refusals.
    fn walk(&self) -> (usize, Vec<Error>) {
        let digits = self.body_len.map(|n| n.to_string().into_bytes());
        let mut size = 0usize;
        // The first CONTENT_LENGTH as written: every later one must be written the same (C3).
        let mut first_written: Option<Vec<u8>> = None;
        for part in &self.parts {
            let offset = HEADER_LEN + size;
            let mut refusals = Vec::new();
            let part_len = match part {
                Part::Var(key, value) => {
                    if key.is_empty() {
                        refusals.push(Error::EmptyKey { offset });
                    }
                    for (field, len) in [(Field::Key, key.len()), (Field::Value, value.len())] {
                        if len > 65535 {
                            refusals.push(Error::LengthOverflow { field, len });
                        }
                    }
                    if !self.allow_magic && is_code_magic(key) {
                        refusals.push(Error::MagicVar { offset });
                    }
                    let mut written = value.clone();
                    if let (Some(n), Some(digits), true) =
                        (self.body_len, &digits, key == b"CONTENT_LENGTH")
                    {
                        if value.is_empty() && n != 0 {
                            // The placeholder is filled, or left empty for no body (E7).
                            written = digits.clone();
                        }
                        if !written.is_empty() && written != *digits {
                            let value_at = offset + 4 + key.len();
                            refusals.push(match length_model(value) {
                                Ok(first) => Error::ConflictingContentLength {
                                    first,
                                    second: n,
                                    offset,
                                },
                                Err((at, reason)) => Error::InvalidContentLength {
                                    offset: value_at + at,
                                    reason,
                                },
                            });
                        } else {
                            match &first_written {
                                Some(first) if *first != written => {
                                    refusals.push(Error::ConflictingContentLength {
                                        first: length_model(first).unwrap_or_default(),
                                        second: length_model(&written).unwrap_or_default(),
                                        offset,
                                    });
                                }
                                Some(_) => {}
                                None => first_written = Some(written.clone()),
                            }
                        }
                    }
                    4 + key.len() + written.len()
                }
                Part::Item(item) => {
                    if item.len() > 65535 {
                        let len = item.len();
                        refusals.push(Error::LengthOverflow {
                            field: Field::Item,
                            len,
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
        if let (Some(n), Some(digits), None) = (self.body_len, &digits, &first_written) {
            if n > 0 {
                size += 4 + b"CONTENT_LENGTH".len() + digits.len();
            }
        }
        (size, Vec::new())
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

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
    let content_length = prop_oneof![
        2 => Just(Vec::new()),
        1 => Just(b"0".to_vec()),
        2 => length_value(),
    ];
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
        prop::option::weighted(0.3, prop_oneof![3 => body_length(), 1 => Just(0u64)]),
        prop::option::weighted(0.15, prop_oneof![0usize..300, 60_000usize..70_000]),
    )
        .prop_map(|(parts, allow_magic, body_len, max_datasize)| Encoding {
            parts,
            allow_magic,
            body_len,
            max_datasize,
        })
}

/// Parts whose block is within a few bytes of 65535.
fn boundary_parts() -> impl Strategy<Value = Vec<Part>> {
    (-4i64..=4, 1usize..4, any::<Index>(), any::<bool>()).prop_map(|(delta, n, split, items)| {
        // n parts of 4 + 1 + v bytes (vars) or 2 + v (items) sharing 65535 + delta bytes.
        let overhead = if items { 2 } else { 5 };
        let total = usize::try_from(65535 + delta).expect("positive") - n * overhead;
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

/// How big the slice `encode_slice` gets: the exact length give or take a few bytes, or any.
fn buffer_len() -> impl Strategy<Value = (bool, i64, usize)> {
    (any::<bool>(), -6i64..6, 0usize..2_000)
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// The encoded length agrees with the model; `encode_slice` and `encode_buf` into a
/// sentinel-filled slice (of the exact length give or take `slack`, or of `random_len`) and
/// `encode` into a non-empty `BytesMut` write the model's bytes or nothing at all.
fn check_encoder(
    encoding: &Encoding,
    buffer: (bool, i64, usize),
    sentinel: u8,
) -> Result<(), TestCaseError> {
    let expected = encoding.model();
    check_builder(&encoding.builder(), &expected, buffer, sentinel)?;
    if let Some(pairs) = encoding.pairs() {
        check_builder(&encoding.borrowing(&pairs), &expected, buffer, sentinel)?;
    }
    Ok(())
}

/// `check_encoder` for one builder of the encoding.
fn check_builder(
    builder: &PacketBuilder<'_>,
    expected: &Result<usize, Vec<Error>>,
    (exact, slack, random_len): (bool, i64, usize),
    sentinel: u8,
) -> Result<(), TestCaseError> {
    let is_expected = |result: &Result<usize, Error>| match (expected, result) {
        (Ok(a), Ok(b)) => a == b,
        (Err(refusals), Err(e)) => refusals.contains(e),
        _ => false,
    };
    let encoded_len = builder.encoded_len();
    prop_assert!(
        is_expected(&encoded_len),
        "encoded_len {:?}, model {:?}",
        encoded_len,
        expected
    );
    let vec = builder.to_vec();
    prop_assert!(
        is_expected(&vec.as_ref().map(Vec::len).map_err(Clone::clone)),
        "to_vec {:?}, model {:?}",
        vec.as_ref().map(|v| Short(v)),
        expected
    );

    let len = match (expected, exact) {
        (Ok(n), true) => usize::try_from((*n as i64 + slack).max(0)).expect("not negative"),
        _ => random_len,
    };
    let mut slice = vec![sentinel; len];
    let mut window = vec![sentinel; len];
    let by_slice = builder.encode_slice(&mut slice);
    let by_buf = builder.encode_buf(&mut &mut window[..]);
    prop_assert_eq!(
        &by_slice,
        &by_buf,
        "encode_slice and encode_buf into {} bytes",
        len
    );
    prop_assert_eq!(
        &slice,
        &window,
        "encode_slice and encode_buf write the same bytes"
    );
    match (expected, by_slice) {
        (Ok(needed), Err(e)) => {
            let too_small = Error::BufferTooSmall {
                needed: *needed,
                available: len,
            };
            prop_assert_eq!(e, too_small, "a {}-byte packet into {} bytes", needed, len);
            prop_assert!(
                *needed > len,
                "BufferTooSmall with room: {} <= {}",
                needed,
                len
            );
            prop_assert!(slice.iter().all(|&b| b == sentinel), "BufferTooSmall wrote");
        }
        (Ok(needed), Ok(written)) => {
            prop_assert_eq!(written, *needed, "bytes written = encoded_len");
            prop_assert!(
                slice[written..].iter().all(|&b| b == sentinel),
                "wrote past encoded_len"
            );
            prop_assert_eq!(
                vec.as_deref().ok(),
                Some(&slice[..written]),
                "encode_slice = to_vec"
            );
        }
        (Err(_), result) => {
            prop_assert!(
                is_expected(&result),
                "encode_slice {:?}, model {:?}",
                result,
                expected
            );
            prop_assert!(
                slice.iter().all(|&b| b == sentinel),
                "{:?} wrote into the slice",
                result
            );
        }
    }

    let mut dst = BytesMut::from(&[sentinel; 3][..]);
    let result = builder.encode(&mut dst);
    prop_assert!(
        is_expected(&result),
        "encode {:?}, model {:?}",
        result,
        expected
    );
    prop_assert_eq!(&dst[..3], &[sentinel; 3][..], "encode keeps what was there");
    match result {
        Ok(written) => {
            prop_assert_eq!(dst.len(), 3 + written, "encode appends exactly the packet");
            prop_assert_eq!(vec.as_deref().ok(), Some(&dst[3..]), "encode = to_vec");
        }
        Err(e) => prop_assert_eq!(dst.len(), 3, "{:?} wrote into the BytesMut", e),
    }
    Ok(())
}

/// Every builder's `to_vec` and `encoded_len` give the first builder's.
fn check_same_packet(builders: &[(&str, PacketBuilder<'_>)]) -> Result<(), TestCaseError> {
    let (_, first) = &builders[0];
    for (what, builder) in builders {
        prop_assert_eq!(
            builder.to_vec(),
            first.to_vec(),
            "{} writes what with_vars writes",
            what
        );
        prop_assert_eq!(
            builder.encoded_len(),
            first.encoded_len(),
            "{}: encoded_len",
            what
        );
    }
    Ok(())
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
        prop_assert_eq!(builder.encoded_len(), Ok(wire.len()), "encoded_len");
        let mut buf = BytesMut::new();
        prop_assert_eq!(builder.encode(&mut buf), Ok(wire.len()), "encode");
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
        prop_assert_eq!(wire.as_ref().ok(), Some(&spec.wire()), "the builder refused {:?}", spec);
        let wire = spec.wire();
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
                prop_assert_eq!(rpc, Ok(wire.clone()), "PacketBuilder::rpc");
            }
        }
    }

    /// 2, 3. The encoder never writes part of a packet: on any error nothing is written, on
    /// success exactly `encoded_len()` bytes, the same from every entry point (E1 to E3, E7).
    #[test]
    fn encoder_writes_all_or_nothing(
        encoding in encoding(),
        buffer in buffer_len(),
        sentinel in any::<u8>(),
    ) {
        check_encoder(&encoding, buffer, sentinel)?;
    }

    /// 2. Blocks of 65531 to 65539 bytes: 65535 encodes, one more is `LengthOverflow(Block)`.
    #[test]
    fn encoder_block_limit(
        parts in boundary_parts(),
        buffer in buffer_len(),
        sentinel in any::<u8>(),
    ) {
        let encoding = Encoding { parts, allow_magic: false, body_len: None, max_datasize: None };
        let (total, refusals) = encoding.walk();
        let result = encoding.builder().encoded_len();
        if !refusals.is_empty() {
            // One item or value of 65536 bytes or more: its own field overflows first.
            let refused = result.as_ref().is_err_and(|e| refusals.contains(e));
            prop_assert!(refused, "{:?}, expected one of {:?}", result, refusals);
        } else if total > 65535 {
            let overflow = Error::LengthOverflow { field: Field::Block, len: total };
            prop_assert_eq!(result, Err(overflow), "a {}-byte block", total);
        } else {
            prop_assert_eq!(result, Ok(HEADER_LEN + total), "a {}-byte block", total);
        }
        check_encoder(&encoding, buffer, sentinel)?;
    }

    /// 4. A borrowed slice of pairs (`with_vars`, once or in two slices, alone or after
    /// `var`) writes the bytes `extend_vars` and a chain of `var` calls write, with or without
    /// a framed body.
    #[test]
    fn with_vars_writes_what_extend_vars_and_var_write(
        (m1, m2) in vars_modifiers(),
        pairs in pairs(true),
        split in any::<Index>(),
        body_len in prop::option::of(body_length()),
    ) {
        let slice = borrowed(&pairs);
        let at = split.index(slice.len() + 1);
        let (head, tail) = slice.split_at(at);
        let start = || {
            let builder = PacketBuilder::new(m1)
                .with_modifier2(m2)
                .with_magic_policy(MagicPolicy::Allow);
            match body_len {
                Some(n) => builder.with_body_len(n),
                None => builder,
            }
        };
        let by_var = pairs.iter().fold(start(), |b, (k, v)| b.var(k, v));
        let mut by_push = start();
        for (k, v) in &pairs {
            by_push.push_var(k, v);
        }
        let builders = [
            ("with_vars", start().with_vars(&slice)),
            ("extend_vars", start().extend_vars(slice.iter().copied())),
            ("var", by_var),
            ("push_var", by_push),
            ("with_vars twice", start().with_vars(head).with_vars(tail)),
            ("var then with_vars", head.iter().fold(start(), |b, (k, v)| b.var(*k, *v)).with_vars(tail)),
        ];
        check_same_packet(&builders)?;
        if body_len.is_none() {
            let wire = builders[0].1.to_vec();
            prop_assert!(wire.is_ok(), "plain pairs encode: {:?}", wire);
            let wire = wire.unwrap();
            let parser = Parser::new().with_kind_fn(always_vars);
            let packet = complete(parser.parse(&wire), "with_vars then parse")?;
            check_vars(packet.vars().expect("forced vars"), &pairs)?;
        }
    }
}

/// The pairs of `pairs` borrowed into a builder stay borrowed: building twice from one
/// builder writes the same bytes (the builder holds no state that encoding consumes).
#[test]
fn encoding_twice_writes_the_same_bytes() {
    let pairs: Vec<Pair> = vec![
        (b"A".to_vec(), b"1".to_vec()),
        (b"CONTENT_LENGTH".to_vec(), Vec::new()),
    ];
    let slice = borrowed(&pairs);
    let builder = PacketBuilder::new(0).with_vars(&slice).with_body_len(12);
    let mut dst = BytesMut::new();
    assert_eq!(builder.encode(&mut dst), Ok(30));
    assert_eq!(builder.encode(&mut dst), Ok(30));
    assert_eq!(dst[..30], dst[30..]);
    assert_eq!(builder.to_vec().as_deref(), Ok(&dst[..30]));
}
