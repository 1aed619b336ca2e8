//! `roundtrip`: `arbitrary` input → `PacketBuilder` → bytes, against the reference model's
//! encoder (`reference::encode`, PROTOCOL.md §7 E1–E7 and §9 M3), then → `Parser` back.
//!
//! - The same pieces given three ways write the same bytes or fail the same way: as the input's
//!   steps chose (`with_vars` over a borrowed slice, `extend_vars`, `var`, `push_var`, `item`,
//!   `push_item`, `raw`, with the setters before the pieces), one piece at a time into the list
//!   (setters after), and, when every piece is a var, one `with_vars` slice (the zero-allocation
//!   path).
//! - Every entry point (`encoded_len`, `encode` after a prefix, `encode_buf` into a `Vec` and
//!   into a slice, `encode_slice` into an exact, a roomier and a short slice, `to_vec`) writes
//!   the same bytes for the first builder; on any error all give that same error and write
//!   nothing, and a short slice gives `BufferTooSmall { needed, available }` and stays
//!   untouched. The other two (and a clone) are compared through `to_vec` and `encoded_len`.
//! - Success: exactly the model's bytes (header, pairs in the caller's order, `CONTENT_LENGTH`
//!   filled in or appended as E7 says, raw bytes as they are). Failure: one of the faults the
//!   model finds in the first faulty piece (`EmptyKey` at the offset the key would have had,
//!   `LengthOverflow` with field and length, `MagicVar` under the policy, the builder's default
//!   being `RoutingOnly`, `ConflictingContentLength` / `InvalidContentLength`), or the block's
//!   (`LengthOverflow { field: Block }`, `TooLarge`).
//! - Parsed back (kind forced to vars or array, same magic policy): the same modifiers, pairs
//!   or items, `body_len()` = the framed length, and re-encoding gives the same bytes (E5). A
//!   `MagicVar { offset }` from the encoder is the decoder's `MagicVar { offset }` on the same
//!   pairs built with `Allow`. `parse_pairs` reads the packet as `parse` does, with the kind
//!   forced and with the kind of its modifiers (`check_parse_pairs`).
//! - The service constructors (`ping`, `pong`, `signal`, `echo`, `close_mark`, `reply`, `rpc`)
//!   and `codec::RpcReply` write the model's bytes.
//!
//! Keys and values can be long (past 65535 bytes) without long inputs: a `Blob` repeats its
//! pattern to a chosen length (1 MiB in all at most).
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use uwsgi_codec::codec::RpcReply;
use uwsgi_codec::{
    Block, BlockKind, BodyFraming, Direction, Error, Header, MagicPolicy, PacketBuilder,
    PacketKind, Pair, Parser, Status,
};
use uwsgi_codec_fuzz::reference::{self, Build, Fault, Magic, Piece};
use uwsgi_codec_fuzz::{check_parse_pairs, fault};

/// Bytes of a key, value or item: the pattern itself, or the pattern (or `x`) repeated to a
/// length: short, any u16, or right at the 16-bit edge (65530..=65541).
#[derive(Debug, Arbitrary)]
enum Blob {
    Bytes(Vec<u8>),
    Short(Vec<u8>, u8),
    Long(Vec<u8>, u16),
    Edge(Vec<u8>, u8),
}

/// How many blob bytes one input may make in all.
const BUDGET: usize = 1 << 20;

impl Blob {
    fn bytes(&self, budget: &mut usize) -> Vec<u8> {
        let (pattern, len) = match self {
            Blob::Bytes(bytes) => (bytes, bytes.len()),
            Blob::Short(p, n) => (p, usize::from(*n)),
            Blob::Long(p, n) => (p, usize::from(*n)),
            Blob::Edge(p, n) => (p, 65530 + usize::from(n % 12)),
        };
        let len = len.min(*budget);
        *budget -= len;
        let pattern: &[u8] = if pattern.is_empty() { b"x" } else { pattern };
        // The pattern repeated to `len` bytes, by doubling (a few copies, not one per byte).
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&pattern[..pattern.len().min(len)]);
        while out.len() < len {
            let more = out.len().min(len - out.len());
            out.extend_from_within(..more);
        }
        out
    }
}

const CODE_MAGIC: [&[u8]; 4] = [
    b"UWSGI_FILE",
    b"UWSGI_SCRIPT",
    b"UWSGI_SETENV",
    b"UWSGI_NEW",
];
const ROUTING_MAGIC: [&[u8]; 3] = [b"UWSGI_CACHE_GET", b"UWSGI_APPID", b"UWSGI_SCHEME"];

#[derive(Debug, Arbitrary)]
enum Key {
    Plain(Blob),
    Empty,
    ContentLength,
    /// `UWSGI_` + the blob (code-affecting unless it spells a routing-only name).
    Magic(Blob),
    Routing(u8),
    Code(u8),
}

impl Key {
    fn bytes(&self, budget: &mut usize) -> Vec<u8> {
        match self {
            Key::Plain(blob) => blob.bytes(budget),
            Key::Empty => Vec::new(),
            Key::ContentLength => b"CONTENT_LENGTH".to_vec(),
            Key::Magic(blob) => [&b"UWSGI_"[..], &blob.bytes(budget)].concat(),
            Key::Routing(i) => ROUTING_MAGIC[usize::from(i % 3)].to_vec(),
            Key::Code(i) => CODE_MAGIC[usize::from(i % 4)].to_vec(),
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
    fn bytes(&self, body_len: Option<u64>, budget: &mut usize) -> Vec<u8> {
        match self {
            Value::Blob(blob) => blob.bytes(budget),
            Value::Empty => Vec::new(),
            Value::Decimal(n) => n.to_string().into_bytes(),
            Value::BodyLen(zeros) => {
                let zeros = "0".repeat(usize::from(zeros % 3));
                format!("{zeros}{}", body_len.unwrap_or(0)).into_bytes()
            }
        }
    }
}

/// A run of pieces and the builder method that adds it.
#[derive(Debug, Arbitrary)]
enum Step {
    /// `with_vars(&pairs)`: the caller's slice, borrowed.
    WithVars(Vec<(Key, Value)>),
    /// `extend_vars(pairs)`.
    Extend(Vec<(Key, Value)>),
    /// `var(k, v)`, or `push_var(k, v)` when true.
    Var(Key, Value, bool),
    /// `item(i)`, or `push_item(i)` when true.
    Item(Blob, bool),
    /// `raw(bytes)` (E6).
    Raw(Blob),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Policy {
    Allow,
    RoutingOnly,
    Refuse,
    /// 0: none listed; 1: `UWSGI_FILE`; 2: `UWSGI_SCHEME` and `UWSGI_FILE`.
    AllowOnly(u8),
}

impl Policy {
    fn list(i: u8) -> Vec<Vec<u8>> {
        let list: &[&[u8]] = match i % 3 {
            0 => &[],
            1 => &[b"UWSGI_FILE"],
            _ => &[b"UWSGI_SCHEME", b"UWSGI_FILE"],
        };
        list.iter().map(|k| k.to_vec()).collect()
    }

    fn crate_policy(self) -> MagicPolicy {
        match self {
            Policy::Allow => MagicPolicy::Allow,
            Policy::RoutingOnly => MagicPolicy::RoutingOnly,
            Policy::Refuse => MagicPolicy::Refuse,
            Policy::AllowOnly(i) => MagicPolicy::AllowOnly(Policy::list(i)),
        }
    }

    fn model(self) -> Magic {
        match self {
            Policy::Allow => Magic::Allow,
            Policy::RoutingOnly => Magic::RoutingOnly,
            Policy::Refuse => Magic::Refuse,
            Policy::AllowOnly(i) => Magic::AllowOnly(Policy::list(i)),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Custom {
    modifier1: u8,
    modifier2: u8,
    steps: Vec<Step>,
    body_len: Option<u64>,
    /// Values above 65535 mean 65535.
    max_datasize: Option<u32>,
    /// `None`: the builder's default (`RoutingOnly`, M3).
    magic: Option<Policy>,
}

#[derive(Debug, Arbitrary)]
enum Service {
    Ping,
    Pong,
    Signal(u8),
    Echo(Blob),
    CloseMark,
    Reply(bool),
    Rpc(Blob, Vec<Blob>),
    RpcReply(Blob),
}

#[derive(Debug, Arbitrary)]
enum Input {
    Custom(Custom),
    Service(Service),
}

fuzz_target!(|input: Input| {
    match input {
        Input::Custom(custom) => check_custom(&custom),
        Input::Service(service) => check_service(&service),
    }
});

/// A step with its bytes made.
enum Made {
    Vars(Vec<(Vec<u8>, Vec<u8>)>, bool),
    Var(Vec<u8>, Vec<u8>, bool),
    Item(Vec<u8>, bool),
    Raw(Vec<u8>),
}

fn make(custom: &Custom) -> Vec<Made> {
    let mut budget = BUDGET;
    let pairs = |list: &[(Key, Value)], budget: &mut usize| -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.bytes(budget), v.bytes(custom.body_len, budget)))
            .collect()
    };
    custom
        .steps
        .iter()
        .map(|step| match step {
            Step::WithVars(list) => Made::Vars(pairs(list, &mut budget), true),
            Step::Extend(list) => Made::Vars(pairs(list, &mut budget), false),
            Step::Var(k, v, push) => Made::Var(
                k.bytes(&mut budget),
                v.bytes(custom.body_len, &mut budget),
                *push,
            ),
            Step::Item(blob, push) => Made::Item(blob.bytes(&mut budget), *push),
            Step::Raw(blob) => Made::Raw(blob.bytes(&mut budget)),
        })
        .collect()
}

fn check_custom(custom: &Custom) {
    let made = make(custom);
    // The borrowed slices `with_vars` takes, one per step (empty for the others).
    let slices: Vec<Vec<Pair<'_>>> = made
        .iter()
        .map(|m| match m {
            Made::Vars(pairs, _) => pairs
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    for m in &made {
        match m {
            Made::Vars(pairs, _) => pieces.extend(pairs.iter().map(|(k, v)| Piece::Var(k, v))),
            Made::Var(k, v, _) => pieces.push(Piece::Var(k, v)),
            Made::Item(item, _) => pieces.push(Piece::Item(item)),
            Made::Raw(bytes) => pieces.push(Piece::Raw(bytes)),
        }
    }

    let settings = |b| apply_settings(custom, b);

    // 1. As the steps say, the setters first.
    let mut stepped = settings(PacketBuilder::new(custom.modifier1));
    for (m, slice) in made.iter().zip(&slices) {
        stepped = match m {
            Made::Vars(_, true) => stepped.with_vars(slice),
            Made::Vars(_, false) => stepped.extend_vars(slice.iter().copied()),
            Made::Var(k, v, false) => stepped.var(k.as_slice(), v.as_slice()),
            Made::Var(k, v, true) => {
                stepped.push_var(k.as_slice(), v.as_slice());
                stepped
            }
            Made::Item(item, false) => stepped.item(item.as_slice()),
            Made::Item(item, true) => {
                stepped.push_item(item.as_slice());
                stepped
            }
            Made::Raw(bytes) => stepped.raw(bytes.as_slice()),
        };
    }
    assert_eq!(stepped.modifier1().0, custom.modifier1);
    assert_eq!(stepped.modifier2(), custom.modifier2);
    let got = encode_all(&stepped);
    assert_eq!(quick(&stepped.clone()), got, "a clone encodes differently");

    // 2. One piece at a time into the list, the setters last.
    let mut listed = PacketBuilder::new(custom.modifier1);
    for piece in &pieces {
        listed = match *piece {
            Piece::Var(k, v) => listed.var(k, v),
            Piece::Item(item) => listed.item(item),
            Piece::Raw(bytes) => listed.raw(bytes),
        };
    }
    let listed = settings(listed);
    assert_eq!(quick(&listed), got, "the list path differs from the steps");

    // 3. Every piece a var: one borrowed slice.
    let all_vars: Option<Vec<Pair<'_>>> = pieces
        .iter()
        .map(|p| match *p {
            Piece::Var(k, v) => Some((k, v)),
            _ => None,
        })
        .collect();
    if let Some(pairs) = &all_vars {
        let borrowed = settings(PacketBuilder::new(custom.modifier1).with_vars(pairs));
        assert_eq!(quick(&borrowed), got, "with_vars differs from the steps");
    }

    // Against the model.
    let magic = custom.magic.map_or(Magic::RoutingOnly, Policy::model);
    let limit = custom
        .max_datasize
        .map_or(65535, |m| (m as usize).min(65535));
    let build = Build {
        modifier1: custom.modifier1,
        modifier2: custom.modifier2,
        pieces: pieces.clone(),
        body_len: custom.body_len,
        limit,
        magic: magic.clone(),
    };
    let want = reference::encode(&build);
    let wire = match (&got, &want) {
        (Ok(wire), Ok(model)) => {
            assert_eq!(wire, model, "the builder's bytes differ from the model's");
            wire
        }
        (Err(err), Err(faults)) => {
            let fault = fault(err, "the encoder");
            assert!(faults.contains(&fault), "builder {err:?}, model {faults:?}");
            if let (Error::MagicVar { offset }, Some(pairs)) = (err, &all_vars) {
                check_magic_on_decode(custom, pairs, *offset);
            }
            return;
        }
        (got, want) => panic!("builder {got:?}, model {want:?}"),
    };

    // Parsed back, when the block holds only vars or only vars and items (an array).
    if pieces.iter().any(|p| matches!(p, Piece::Raw(_))) {
        return;
    }
    let (kind_fn, model_block): (fn(&Header, Direction) -> PacketKind, _) = match &all_vars {
        Some(_) => (vars_kind, reference::Block::Vars(model_pairs(wire))),
        None => (array_kind, reference::Block::Array(model_items(wire))),
    };
    let policy = custom
        .magic
        .map_or(MagicPolicy::RoutingOnly, Policy::crate_policy);
    let parser = Parser::new()
        .with_foreign_check(false)
        .with_kind_fn(kind_fn)
        .with_magic_policy(policy);
    let packet = match parser.parse(wire) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("the builder's output does not parse back: {other:?}"),
    };
    assert_eq!(packet.wire_len(), wire.len());
    // The server's path reads the same packet, with the kind forced and with the modifier's own.
    let room = wire.len() / 5 + 1;
    check_parse_pairs(&parser, wire, room);
    let by_modifier = Parser::new()
        .with_foreign_check(false)
        .with_magic_policy(parser.magic_policy().clone());
    check_parse_pairs(&by_modifier, wire, room);
    assert_eq!(
        (packet.modifier1().0, packet.modifier2()),
        (custom.modifier1, custom.modifier2)
    );
    let mut again = Vec::new();
    packet.encode(&mut again);
    assert_eq!(&again, wire, "E5: parse then encode");
    match (*packet.block(), &model_block) {
        (Block::Vars(vars), reference::Block::Vars(pairs)) => {
            assert!(vars.iter().eq(pairs.iter().copied()), "the pairs read back");
            let framed = match custom.body_len {
                Some(n) => Ok(n),
                None => reference::length_of(pairs, b"CONTENT_LENGTH").map_err(|_| ()),
            };
            assert_eq!(
                packet.body_len().map_err(|_| ()),
                framed,
                "E7: the framed length"
            );
        }
        (Block::Array(array), reference::Block::Array(items)) => {
            assert!(
                array.iter().eq(items.iter().copied()),
                "the items read back"
            );
        }
        (got, want) => panic!("read back as {got:?}, expected {want:?}"),
    }
}

/// The input's modifier2, body length, limit and magic policy set on `b`.
fn apply_settings<'a>(custom: &Custom, mut b: PacketBuilder<'a>) -> PacketBuilder<'a> {
    b = b.with_modifier2(custom.modifier2);
    if let Some(n) = custom.body_len {
        b = b.with_body_len(n);
    }
    if let Some(max) = custom.max_datasize {
        b = b.with_max_datasize(max as usize);
    }
    if let Some(policy) = custom.magic {
        b = b.with_magic_policy(policy.crate_policy());
    }
    b
}

/// An encoder `MagicVar { offset }` is what the decoder says, with the same policy, about the
/// same pairs built with `Allow` (M2 and M3 agree on every key).
fn check_magic_on_decode(custom: &Custom, pairs: &[Pair<'_>], offset: usize) {
    let mut builder = PacketBuilder::new(custom.modifier1)
        .with_modifier2(custom.modifier2)
        .with_magic_policy(MagicPolicy::Allow)
        .with_vars(pairs);
    if let Some(n) = custom.body_len {
        builder = builder.with_body_len(n);
    }
    let Ok(wire) = builder.to_vec() else {
        return;
    };
    let policy = custom
        .magic
        .map_or(MagicPolicy::RoutingOnly, Policy::crate_policy);
    let parser = Parser::new()
        .with_foreign_check(false)
        .with_kind_fn(vars_kind)
        .with_magic_policy(policy.clone());
    assert_eq!(
        parser.parse(&wire).map(|s| s.map(|_| ())),
        Err(Error::MagicVar { offset }),
        "encoder and decoder disagree on a magic var under {policy:?}"
    );
}

fn check_service(service: &Service) {
    let mut budget = BUDGET;
    let one = |m1: u8, m2: u8, pieces: Vec<Piece<'_>>| {
        reference::encode(&Build {
            modifier1: m1,
            modifier2: m2,
            pieces,
            body_len: None,
            limit: 65535,
            magic: Magic::RoutingOnly,
        })
    };
    let (builder, want) = match service {
        Service::Ping => (PacketBuilder::ping(), one(100, 0, vec![])),
        Service::Pong => (PacketBuilder::pong(), one(100, 1, vec![])),
        Service::Signal(n) => (PacketBuilder::signal(*n), one(110, *n, vec![])),
        Service::CloseMark => (PacketBuilder::close_mark(), one(200, 0, vec![])),
        Service::Reply(d) => (PacketBuilder::reply(*d), one(255, u8::from(*d), vec![])),
        Service::Echo(blob) => {
            let payload = blob.bytes(&mut budget);
            let want = one(101, 0, vec![Piece::Raw(&payload)]);
            let got = encode_all(&PacketBuilder::echo(&payload));
            return compare(got, want);
        }
        Service::Rpc(function, args) => {
            let function = function.bytes(&mut budget);
            let args: Vec<Vec<u8>> = args.iter().map(|a| a.bytes(&mut budget)).collect();
            let mut pieces = vec![Piece::Item(&function)];
            pieces.extend(args.iter().map(|a| Piece::Item(a)));
            let builder = PacketBuilder::rpc(&function, args.iter().map(Vec::as_slice));
            return compare(encode_all(&builder), one(173, 0, pieces));
        }
        Service::RpcReply(blob) => return check_rpc_reply(&blob.bytes(&mut budget)),
    };
    compare(encode_all(&builder), want);
}

fn compare(got: Result<Vec<u8>, Error>, want: Result<Vec<u8>, Vec<Fault>>) {
    match (&got, &want) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the builder's bytes differ from the model's"),
        (Err(err), Err(faults)) => {
            assert!(
                faults.contains(&fault(err, "the encoder")),
                "builder {err:?}, model {faults:?}"
            )
        }
        _ => panic!("builder {got:?}, model {want:?}"),
    }
}

/// `RpcReply` (PROTOCOL.md §2.5): up to 65535 bytes `ad <len> 00` + the value, read back as a
/// raw reply; longer, `ad <dictlen> 05` + `kv(CONTENT_LENGTH, n)` + the value, read back as a
/// vars reply framing a body of n.
fn check_rpc_reply(value: &[u8]) {
    let bytes = RpcReply(value)
        .to_bytes()
        .expect("an RPC reply always fits");
    let mut dst = BytesMut::from(&b"prefix"[..]);
    RpcReply(value)
        .encode(&mut dst)
        .expect("an RPC reply always fits");
    assert_eq!(&dst[..6], b"prefix");
    assert_eq!(&dst[6..], &bytes[..]);
    let parser = Parser::new()
        .with_foreign_check(false)
        .with_direction(Direction::Reply);
    let packet = match parser.parse(&bytes) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("an RPC reply that does not parse: {other:?}"),
    };
    let body = &bytes[packet.wire_len()..];
    if value.len() <= 65535 {
        let want = [
            &[173, value.len() as u8, (value.len() >> 8) as u8, 0][..],
            value,
        ]
        .concat();
        assert_eq!(&bytes[..], &want[..]);
        assert_eq!(*packet.block(), Block::Raw(value));
    } else {
        let head = reference::encode(&Build {
            modifier1: 173,
            modifier2: 5,
            pieces: vec![],
            body_len: Some(value.len() as u64),
            limit: 65535,
            magic: Magic::RoutingOnly,
        })
        .expect("a CONTENT_LENGTH head");
        assert_eq!(packet.as_bytes(), &head[..]);
        assert_eq!(packet.body_len(), Ok(value.len() as u64));
        assert_eq!(body, value);
    }
}

/// `to_vec`, with `encoded_len` agreeing: for the second and third ways of building the same
/// packet (the entry points themselves are compared on the first, by `encode_all`).
fn quick(builder: &PacketBuilder<'_>) -> Result<Vec<u8>, Error> {
    let wire = builder.to_vec();
    assert_eq!(
        builder.encoded_len(),
        wire.as_ref().map(Vec::len).map_err(Clone::clone)
    );
    wire
}

/// Encodes through every entry point; they must agree, and write nothing on an error.
fn encode_all(builder: &PacketBuilder<'_>) -> Result<Vec<u8>, Error> {
    let len = builder.encoded_len();
    let mut dst = BytesMut::from(&b"prefix"[..]);
    let n = builder.encode(&mut dst);
    let vec = builder.to_vec();
    let mut buf_vec = b"prefix".to_vec();
    let m = builder.encode_buf(&mut buf_vec);
    match (&len, &n, &vec, &m) {
        (Ok(len), Ok(n), Ok(vec), Ok(m)) => {
            assert_eq!((*len, *n, *m), (vec.len(), vec.len(), vec.len()));
            assert_eq!(&dst[..6], b"prefix");
            assert_eq!(&dst[6..], &vec[..], "encode");
            assert_eq!(&buf_vec[..6], b"prefix");
            assert_eq!(&buf_vec[6..], &vec[..], "encode_buf into a Vec");
            let mut exact = vec![0xA5; *len + 3];
            assert_eq!(builder.encode_slice(&mut exact), Ok(*len));
            assert_eq!(&exact[..*len], &vec[..], "encode_slice");
            assert_eq!(
                &exact[*len..],
                [0xA5; 3],
                "encode_slice wrote past the packet"
            );
            let mut room = vec![0x5A; *len];
            let mut cursor: &mut [u8] = &mut room;
            assert_eq!(builder.encode_buf(&mut cursor), Ok(*len));
            assert!(cursor.is_empty());
            assert_eq!(&room, vec, "encode_buf into a slice");
            let mut short = vec![0xA5; len - 1];
            let too_small = Err(Error::BufferTooSmall {
                needed: *len,
                available: len - 1,
            });
            assert_eq!(builder.encode_slice(&mut short), too_small);
            let mut cursor: &mut [u8] = &mut short;
            assert_eq!(builder.encode_buf(&mut cursor), too_small);
            assert!(
                short.iter().all(|&b| b == 0xA5),
                "BufferTooSmall wrote bytes"
            );
            Ok(vec.clone())
        }
        (Err(a), Err(b), Err(c), Err(d)) => {
            assert_eq!((a, a, a), (b, c, d), "the entry points fail differently");
            assert!(
                !matches!(a, Error::BufferTooSmall { .. }),
                "BufferTooSmall with room to spare"
            );
            assert_eq!(&dst[..], b"prefix", "encode wrote bytes on an error");
            assert_eq!(
                &buf_vec[..],
                b"prefix",
                "encode_buf wrote bytes on an error"
            );
            let mut buf = [0xA5u8; 64];
            assert_eq!(builder.encode_slice(&mut buf).as_ref(), Err(a));
            assert!(
                buf.iter().all(|&b| b == 0xA5),
                "encode_slice wrote bytes on an error"
            );
            Err(a.clone())
        }
        _ => panic!("entry points disagree: {len:?} / {n:?} / {vec:?} / {m:?}"),
    }
}

fn vars_kind(_: &Header, _: Direction) -> PacketKind {
    PacketKind::new(BlockKind::Vars, BodyFraming::ContentLength)
}

fn array_kind(_: &Header, _: Direction) -> PacketKind {
    PacketKind::new(BlockKind::Array, BodyFraming::None)
}

fn model_pairs(wire: &[u8]) -> Vec<(&[u8], &[u8])> {
    reference::vars(&wire[4..], &reference::Config::default()).expect("the model's own vars")
}

fn model_items(wire: &[u8]) -> Vec<&[u8]> {
    reference::array(&wire[4..]).expect("vars and items make an array")
}
