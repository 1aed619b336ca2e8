//! `roundtrip`: `arbitrary` input → `PacketBuilder` → `Parser` (PROTOCOL.md §7, E1–E5, E7).
//!
//! A small model of the encoder rules predicts the outcome:
//! - success: the parse (with a kind_fn forcing vars or array) gives the same modifiers and the
//!   same pairs / items, `CONTENT_LENGTH` filled in or appended as E7 says, `body_len()` is the
//!   framed length, and every encode entry point writes the same `encoded_len()` bytes;
//! - failure: the precise error (`EmptyKey` at the offset the key would have had,
//!   `LengthOverflow` with the right field and length, `TooLarge`, `MagicVar`,
//!   `ConflictingContentLength` / `InvalidContentLength`), and nothing written by any entry point.
//!
//! Keys and values can be long (past 65535 bytes) without long inputs: a `Blob` repeats its
//! pattern to a chosen length.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{
    BlockKind, BodyFraming, Direction, Error, Header, PacketBuilder, PacketKind, Parser, Status,
    parse_length,
};

/// Bytes of a key, value or item: the pattern itself, or the pattern (or `x`) repeated to a
/// length: short, any u16, or right at the 16-bit edge (65530..=65541).
#[derive(Debug, Arbitrary)]
enum Blob {
    Bytes(Vec<u8>),
    Short(Vec<u8>, u8),
    Long(Vec<u8>, u16),
    Edge(Vec<u8>, u8),
}

impl Blob {
    fn bytes(&self) -> Vec<u8> {
        let (pattern, len) = match self {
            Blob::Bytes(bytes) => return bytes.clone(),
            Blob::Short(p, n) => (p, usize::from(*n)),
            Blob::Long(p, n) => (p, usize::from(*n)),
            Blob::Edge(p, n) => (p, 65530 + usize::from(n % 12)),
        };
        let pattern: &[u8] = if pattern.is_empty() { b"x" } else { pattern };
        pattern.iter().copied().cycle().take(len).collect()
    }
}

#[derive(Debug, Arbitrary)]
enum Key {
    Plain(Blob),
    ContentLength,
    /// `UWSGI_` + the blob (code-affecting unless it spells a routing-only name).
    Magic(Blob),
    Routing(u8),
}

impl Key {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Key::Plain(blob) => blob.bytes(),
            Key::ContentLength => b"CONTENT_LENGTH".to_vec(),
            Key::Magic(blob) => [&b"UWSGI_"[..], &blob.bytes()].concat(),
            Key::Routing(i) => [&b"UWSGI_CACHE_GET"[..], b"UWSGI_APPID", b"UWSGI_SCHEME"]
                [usize::from(i % 3)]
            .to_vec(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Value {
    Blob(Blob),
    Empty,
    Decimal(u64),
    /// The decimal of the framed body length (0 without one), with this many leading zeros.
    BodyLen(u8),
}

impl Value {
    fn bytes(&self, body_len: Option<u64>) -> Vec<u8> {
        match self {
            Value::Blob(blob) => blob.bytes(),
            Value::Empty => Vec::new(),
            Value::Decimal(n) => n.to_string().into_bytes(),
            Value::BodyLen(zeros) => {
                let zeros = "0".repeat(usize::from(zeros % 3));
                format!("{zeros}{}", body_len.unwrap_or(0)).into_bytes()
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Shape {
    Vars {
        pairs: Vec<(Key, Value)>,
        body_len: Option<u64>,
    },
    Array(Vec<Blob>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    modifier1: u8,
    modifier2: u8,
    shape: Shape,
    max_datasize: Option<u16>,
    allow_magic: bool,
}

fn vars_kind(_: &Header, _: Direction) -> PacketKind {
    PacketKind::new(BlockKind::Vars, BodyFraming::ContentLength)
}

fn array_kind(_: &Header, _: Direction) -> PacketKind {
    PacketKind::new(BlockKind::Array, BodyFraming::None)
}

const CL: &[u8] = b"CONTENT_LENGTH";

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn is_code_magic(key: &[u8]) -> bool {
    key.starts_with(b"UWSGI_")
        && ![&b"UWSGI_CACHE_GET"[..], b"UWSGI_APPID", b"UWSGI_SCHEME"].contains(&key)
}

/// The encoder model: the pairs as written, or the error.
fn expect_vars(
    pairs: &[(Vec<u8>, Vec<u8>)],
    body_len: Option<u64>,
    max: usize,
    allow_magic: bool,
) -> Result<Pairs, String> {
    let digits = body_len.map(|n| n.to_string().into_bytes());
    let mut out = Vec::new();
    let mut size = 0usize;
    let mut has_cl = false;
    // The first CONTENT_LENGTH as written: the others must be written identically (C3).
    let mut first_written: Option<Vec<u8>> = None;
    for (key, value) in pairs {
        let offset = 4 + size;
        if key.is_empty() {
            return Err(format!("{:?}", Error::EmptyKey { offset }));
        }
        for (field, len) in [
            (uwsgi_codec::Field::Key, key.len()),
            (uwsgi_codec::Field::Value, value.len()),
        ] {
            if len > 65535 {
                return Err(format!("{:?}", Error::LengthOverflow { field, len }));
            }
        }
        if !allow_magic && is_code_magic(key) {
            return Err(format!("{:?}", Error::MagicVar { offset }));
        }
        let mut value = value.clone();
        if let (Some(digits), true) = (&digits, key.as_slice() == CL) {
            has_cl = true;
            let placeholder = value.is_empty();
            if placeholder {
                if digits.as_slice() != b"0" {
                    value = digits.clone(); // E7: the empty placeholder is filled
                }
            } else if value != *digits {
                // E7: a non-empty value other than exactly decimal n.
                let value_at = offset + 4 + key.len();
                let first = parse_length(&value, value_at).map_err(|e| format!("{e:?}"))?;
                return Err(format!(
                    "{:?}",
                    Error::ConflictingContentLength {
                        first,
                        second: body_len.unwrap_or(0),
                        offset
                    }
                ));
            }
            match &first_written {
                Some(first) if *first != value => {
                    let number = |v: &[u8]| parse_length(v, 0).map_err(|e| format!("{e:?}"));
                    let (first, second) = (number(first)?, number(&value)?);
                    let err = Error::ConflictingContentLength {
                        first,
                        second,
                        offset,
                    };
                    return Err(format!("{err:?}"));
                }
                Some(_) => {}
                None => first_written = Some(value.clone()),
            }
        }
        size += 4 + key.len() + value.len();
        out.push((key.clone(), value));
    }
    if let Some(digits) = digits.filter(|_| !has_cl && body_len != Some(0)) {
        size += 4 + CL.len() + digits.len();
        out.push((CL.to_vec(), digits));
    }
    check_size(size, max)?;
    Ok(out)
}

fn expect_items(items: &[Vec<u8>], max: usize) -> Result<(), String> {
    let mut size = 0;
    for item in items {
        if item.len() > 65535 {
            let err = Error::LengthOverflow {
                field: uwsgi_codec::Field::Item,
                len: item.len(),
            };
            return Err(format!("{err:?}"));
        }
        size += 2 + item.len();
    }
    check_size(size, max)
}

fn check_size(size: usize, max: usize) -> Result<(), String> {
    if size > 65535 {
        let err = Error::LengthOverflow {
            field: uwsgi_codec::Field::Block,
            len: size,
        };
        return Err(format!("{err:?}"));
    }
    if size > max {
        return Err(format!("{:?}", Error::TooLarge { len: size, max }));
    }
    Ok(())
}

/// Encodes through every entry point; they must agree, and write nothing on an error.
fn encode_all(builder: &PacketBuilder<'_>) -> Result<Vec<u8>, String> {
    let len = builder.encoded_len();
    let mut dst = BytesMut::from(&b"prefix"[..]);
    let n = builder.encode(&mut dst);
    let vec = builder.to_vec();
    match (&len, &n, &vec) {
        (Ok(len), Ok(n), Ok(vec)) => {
            assert_eq!((*len, *n, vec.len()), (vec.len(), vec.len(), vec.len()));
            assert_eq!(&dst[..6], b"prefix");
            assert_eq!(&dst[6..], &vec[..]);
            let mut exact = vec![0xA5; *len + 3];
            assert_eq!(builder.encode_slice(&mut exact).ok(), Some(*len));
            assert_eq!(&exact[..*len], &vec[..]);
            assert_eq!(&exact[*len..], [0xA5; 3]);
            let mut short = vec![0xA5; len - 1];
            let err = builder
                .encode_slice(&mut short)
                .expect_err("a buffer one byte short");
            assert!(
                matches!(err, Error::BufferTooSmall { needed, available } if needed == *len && available == len - 1)
            );
            assert!(
                short.iter().all(|&b| b == 0xA5),
                "BufferTooSmall wrote bytes"
            );
            Ok(vec.clone())
        }
        (Err(a), Err(b), Err(c)) => {
            let a = format!("{a:?}");
            assert_eq!(a, format!("{b:?}"));
            assert_eq!(a, format!("{c:?}"));
            assert_eq!(&dst[..], b"prefix", "an error wrote bytes");
            let mut buf = [0xA5u8; 64];
            assert!(builder.encode_slice(&mut buf).is_err());
            assert!(
                buf.iter().all(|&b| b == 0xA5),
                "an error wrote bytes into the slice"
            );
            Err(a)
        }
        _ => panic!("entry points disagree: {len:?} / {n:?} / {vec:?}"),
    }
}

fn parse_back(
    wire: &[u8],
    kind_fn: fn(&Header, Direction) -> PacketKind,
    input: &Input,
) -> Vec<Vec<u8>> {
    // The foreign check is off: a built header may spell `GET ` by chance.
    let parser = Parser::new()
        .with_foreign_check(false)
        .with_kind_fn(kind_fn);
    let Ok(Status::Complete(packet)) = parser.parse(wire) else {
        panic!(
            "the builder's output does not parse: {:?}",
            parser.parse(wire)
        )
    };
    assert_eq!(packet.wire_len(), wire.len());
    assert_eq!(
        (packet.modifier1().0, packet.modifier2()),
        (input.modifier1, input.modifier2)
    );
    // With the default parser, the same bytes are refused only as a foreign preamble.
    if let Err(err) = Parser::new().with_kind_fn(kind_fn).parse(wire) {
        assert!(matches!(err, Error::ForeignProtocol { .. }), "{err:?}");
        assert!(uwsgi_codec::sniff(wire).is_some());
    }
    match packet.block() {
        uwsgi_codec::Block::Vars(vars) => vars
            .iter()
            .flat_map(|(k, v)| [k.to_vec(), v.to_vec()])
            .collect(),
        uwsgi_codec::Block::Array(array) => array.iter().map(<[u8]>::to_vec).collect(),
        uwsgi_codec::Block::Raw(_) => unreachable!("the kind_fn forces vars or array"),
    }
}

fuzz_target!(|input: Input| {
    let max = input.max_datasize.map_or(65535, usize::from);
    match &input.shape {
        Shape::Vars { pairs, body_len } => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs
                .iter()
                .map(|(k, v)| (k.bytes(), v.bytes(*body_len)))
                .collect();
            let mut builder = PacketBuilder::new(input.modifier1)
                .modifier2(input.modifier2)
                .allow_magic(input.allow_magic);
            if let Some(m) = input.max_datasize {
                builder = builder.max_datasize(usize::from(m));
            }
            for (k, v) in &pairs {
                builder.push_var(k.as_slice(), v.as_slice());
            }
            if let Some(n) = body_len {
                builder = builder.body_len(*n);
            }
            let expected = expect_vars(&pairs, *body_len, max, input.allow_magic);
            let got = encode_all(&builder);
            match (expected, got) {
                (Ok(expected), Ok(wire)) => {
                    let flat: Vec<Vec<u8>> = expected
                        .iter()
                        .flat_map(|(k, v)| [k.clone(), v.clone()])
                        .collect();
                    assert_eq!(parse_back(&wire, vars_kind, &input), flat, "pairs");
                    if let Some(n) = body_len {
                        let parser = Parser::new()
                            .with_foreign_check(false)
                            .with_kind_fn(vars_kind);
                        let packet = parser.parse(&wire).ok().and_then(Status::complete).unwrap();
                        let framed = packet.body_len();
                        assert_eq!(framed.ok(), Some(*n), "E7: the framed length");
                    }
                }
                (Err(expected), Err(got)) => assert_eq!(got, expected, "the encoder's error"),
                (expected, got) => panic!("model {expected:?}, builder {got:?}"),
            }
        }
        Shape::Array(items) => {
            let items: Vec<Vec<u8>> = items.iter().map(Blob::bytes).collect();
            let mut builder = PacketBuilder::new(input.modifier1).modifier2(input.modifier2);
            if let Some(m) = input.max_datasize {
                builder = builder.max_datasize(usize::from(m));
            }
            for item in &items {
                builder.push_item(item.as_slice());
            }
            match (expect_items(&items, max), encode_all(&builder)) {
                (Ok(()), Ok(wire)) => assert_eq!(parse_back(&wire, array_kind, &input), items),
                (Err(expected), Err(got)) => assert_eq!(got, expected, "the encoder's error"),
                (expected, got) => panic!("model {expected:?}, builder {got:?}"),
            }
        }
    }
});
