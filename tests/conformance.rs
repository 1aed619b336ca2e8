//! The language-neutral test vectors in `tests/vectors/*.json` (schema: `tests/vectors/README.md`),
//! run against the public API only.
//!
//! Decode vectors go through the core [`Parser`] one-shot and cut at every byte (S1, S2), and,
//! with feature `codec`, through [`ServerCodec`] one-shot, one byte at a time and split in two
//! at every byte, frames merged (S1 to S3). Encoder vectors go through [`PacketBuilder`]. The
//! directory is walked with `std::fs::read_dir`; a file is routed by its top-level `schema`.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use bytes::BytesMut;
use serde_json::{Map, Value};
use uwsgi_codec::{Block, Direction, Error, MagicPolicy, PacketBuilder, PacketRef, Parser, Status};

const DECODE_SCHEMA: &str = "uwsgi-vectors/decode/1";
const ENCODE_SCHEMA: &str = "uwsgi-vectors/encode/1";
const SOURCES: [&str; 3] = ["nginx ", "uWSGI 2.0 behaviour", "spec §"];

// ---------------------------------------------------------------------------------------------
// Files and JSON helpers
// ---------------------------------------------------------------------------------------------

/// What a vector file holds, from its top-level `schema` (absent: decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    Decode,
    Encode,
    Unknown,
}

struct VectorFile {
    name: String,
    schema: Schema,
    vectors: Vec<Value>,
}

/// Every `*.json` file in `tests/vectors`, sorted by name.
fn vector_files() -> Vec<VectorFile> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json") && path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let schema = match doc.get("schema").map(Value::as_str) {
                None | Some(Some(DECODE_SCHEMA)) => Schema::Decode,
                Some(Some(ENCODE_SCHEMA)) => Schema::Encode,
                Some(_) => Schema::Unknown,
            };
            let vectors = match (schema, doc.get("vectors")) {
                (Schema::Unknown, _) => Vec::new(),
                (_, Some(Value::Array(vectors))) => vectors.clone(),
                _ => panic!("{name}: no \"vectors\" array"),
            };
            if schema != Schema::Unknown {
                assert!(
                    doc["description"].is_string(),
                    "{name}: no top-level description"
                );
            }
            VectorFile {
                name,
                schema,
                vectors,
            }
        })
        .collect()
}

fn obj<'a>(value: &'a Value, ctx: &str) -> &'a Map<String, Value> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not an object: {value}"))
}

/// Panics on keys outside `allowed`: a misspelt optional field must not be ignored silently.
fn only_keys(map: &Map<String, Value>, allowed: &[&str], ctx: &str) {
    for key in map.keys() {
        assert!(
            allowed.contains(&key.as_str()),
            "{ctx}: unknown field {key:?}"
        );
    }
}

fn string<'a>(map: &'a Map<String, Value>, key: &str, ctx: &str) -> &'a str {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{ctx}: {key} is not a string"))
}

fn uint(map: &Map<String, Value>, key: &str, ctx: &str) -> u64 {
    map.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{ctx}: {key} is not a non-negative integer"))
}

fn byte(map: &Map<String, Value>, key: &str, ctx: &str) -> u8 {
    u8::try_from(uint(map, key, ctx)).unwrap_or_else(|_| panic!("{ctx}: {key} is not a byte"))
}

fn unhex(text: &str, ctx: &str) -> Vec<u8> {
    fn digit(c: u8, ctx: &str) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("{ctx}: not a hex digit: {:?}", char::from(c)),
        }
    }
    let text = text.as_bytes();
    assert!(text.len() % 2 == 0, "{ctx}: odd number of hex digits");
    text.chunks_exact(2)
        .map(|pair| (digit(pair[0], ctx) << 4) | digit(pair[1], ctx))
        .collect()
}

/// "Hex data": a hex string, `{"repeat": hex, "count": n}`, or an array of these, concatenated.
fn data(value: &Value, ctx: &str) -> Vec<u8> {
    match value {
        Value::String(text) => unhex(text, ctx),
        Value::Object(map) => {
            only_keys(map, &["repeat", "count"], ctx);
            let unit = unhex(string(map, "repeat", ctx), ctx);
            assert!(!unit.is_empty(), "{ctx}: empty repeat unit");
            let count = usize::try_from(uint(map, "count", ctx)).expect("count fits usize");
            unit.repeat(count)
        }
        Value::Array(parts) => parts.iter().flat_map(|part| data(part, ctx)).collect(),
        _ => panic!("{ctx}: not hex data: {value}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Comparable representations of packets, frames and errors
// ---------------------------------------------------------------------------------------------

/// Bytes that print as hex, shortened, so a failing 65 KB vector gives a readable message.
#[derive(Clone, PartialEq, Eq)]
struct Hex(Vec<u8>);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        let hex: String = self
            .0
            .iter()
            .take(SHOWN)
            .map(|b| format!("{b:02x}"))
            .collect();
        if self.0.len() > SHOWN {
            write!(f, "{hex}…({} bytes)", self.0.len())
        } else {
            write!(f, "\"{hex}\"")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BlockRepr {
    Vars(Vec<(Hex, Hex)>),
    Items(Vec<Hex>),
    Raw(Hex),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PacketRepr {
    modifier1: u8,
    datasize: u16,
    modifier2: u8,
    block: BlockRepr,
    /// Absent only next to a framing error.
    body_len: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrRepr {
    kind: String,
    offset: Option<usize>,
    /// Every other number or name the error carries, as text.
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FrameRepr {
    Packet(PacketRepr),
    Body(Hex),
    End,
    Trailing(Hex),
    Error(ErrRepr),
}

/// When the bytes that prove an error are in (README "error stages").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The 4 header bytes.
    Header,
    /// The whole `4 + datasize` packet.
    Block,
    /// The whole packet; the block is valid, deriving the body length fails.
    Framing,
    /// Only the end of input proves it.
    Eof,
    /// Only for datagrams.
    Datagram,
}

fn stage(kind: &str) -> Stage {
    match kind {
        "ForeignProtocol" | "TooLarge" => Stage::Header,
        "TruncatedLength" | "Overrun" | "EmptyKey" | "TooManyVars" | "MagicVar" => Stage::Block,
        "InvalidContentLength" | "ConflictingContentLength" => Stage::Framing,
        "UnexpectedEof" | "TruncatedBody" => Stage::Eof,
        "DatagramLength" => Stage::Datagram,
        other => panic!("error kind {other:?} has no decode stage"),
    }
}

fn err_repr(err: &Error) -> ErrRepr {
    let mut fields = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        fields.insert(key.to_owned(), value);
    };
    match err {
        Error::ForeignProtocol {
            protocol,
            modifier1,
            datasize,
        } => {
            put("protocol", format!("{protocol:?}"));
            put("modifier1", modifier1.to_string());
            put("datasize", datasize.to_string());
        }
        Error::TooLarge { len, max } => {
            put("len", len.to_string());
            put("max", max.to_string());
        }
        Error::TruncatedLength { field, .. } => put("field", field.name().to_owned()),
        Error::Overrun {
            field,
            len,
            available,
            ..
        } => {
            put("field", field.name().to_owned());
            put("len", len.to_string());
            put("available", available.to_string());
        }
        Error::TooManyVars { max, .. } => put("max", max.to_string()),
        Error::UnexpectedEof { needed, .. } => put("needed", needed.to_string()),
        Error::DatagramLength { datasize, len } => {
            put("datasize", datasize.to_string());
            put("len", len.to_string());
        }
        Error::InvalidContentLength { reason, .. } => put("reason", format!("{reason:?}")),
        Error::ConflictingContentLength { first, second, .. } => {
            put("first", first.to_string());
            put("second", second.to_string());
        }
        Error::TruncatedBody { expected, received } => {
            put("expected", expected.to_string());
            put("received", received.to_string());
        }
        Error::LengthOverflow { field, len } => {
            put("field", field.name().to_owned());
            put("len", len.to_string());
        }
        _ => {}
    }
    ErrRepr {
        kind: err.kind().to_owned(),
        offset: err.offset(),
        fields,
    }
}

fn parse_error(value: &Value, ctx: &str) -> ErrRepr {
    let map = obj(value, ctx);
    let kind = string(map, "kind", ctx).to_owned();
    let offset = match map.get("offset") {
        Some(Value::Null) => None,
        Some(offset) => Some(
            offset
                .as_u64()
                .and_then(|o| usize::try_from(o).ok())
                .unwrap_or_else(|| panic!("{ctx}: offset {offset}")),
        ),
        None => panic!("{ctx}: an error needs \"offset\" (null when it has none)"),
    };
    let fields = map
        .iter()
        .filter(|(key, _)| *key != "kind" && *key != "offset")
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) if n.is_u64() => n.to_string(),
                _ => panic!("{ctx}: error field {key} is neither a name nor an integer"),
            };
            (key.clone(), text)
        })
        .collect();
    ErrRepr {
        kind,
        offset,
        fields,
    }
}

/// An expected packet; `top` = a top-level `expect.packet` (with `after_hex`), else a frame.
fn parse_packet(value: &Value, top: bool, ctx: &str) -> (PacketRepr, Option<Vec<u8>>) {
    let map = obj(value, ctx);
    only_keys(
        map,
        &[
            "modifier1",
            "datasize",
            "modifier2",
            "block_kind",
            "vars",
            "items",
            "raw_hex",
            "body_len",
            "after_hex",
        ],
        ctx,
    );
    let block_kind = string(map, "block_kind", ctx);
    let expected_field = match block_kind {
        "vars" => "vars",
        "array" => "items",
        "raw" => "raw_hex",
        other => panic!("{ctx}: block_kind {other:?}"),
    };
    for field in ["vars", "items", "raw_hex"] {
        assert_eq!(
            map.contains_key(field),
            field == expected_field,
            "{ctx}: block_kind {block_kind} takes {expected_field} and no other block field"
        );
    }
    let block = match block_kind {
        "vars" => BlockRepr::Vars(
            map["vars"]
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: vars is not an array"))
                .iter()
                .map(|pair| {
                    let pair = obj(pair, ctx);
                    only_keys(pair, &["key_hex", "value_hex"], ctx);
                    (
                        Hex(data(&pair["key_hex"], ctx)),
                        Hex(data(&pair["value_hex"], ctx)),
                    )
                })
                .collect(),
        ),
        "array" => BlockRepr::Items(
            map["items"]
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: items is not an array"))
                .iter()
                .map(|item| Hex(data(item, ctx)))
                .collect(),
        ),
        _ => BlockRepr::Raw(Hex(data(&map["raw_hex"], ctx))),
    };
    let datasize = u16::try_from(uint(map, "datasize", ctx))
        .unwrap_or_else(|_| panic!("{ctx}: datasize over 65535"));
    let body_len = map
        .contains_key("body_len")
        .then(|| uint(map, "body_len", ctx));
    let after = map.get("after_hex").map(|after| data(after, ctx));
    assert_eq!(
        after.is_some(),
        top,
        "{ctx}: after_hex is required in expect.packet and not allowed in a frame"
    );
    if !top {
        assert!(body_len.is_some(), "{ctx}: a packet frame needs body_len");
    }
    let packet = PacketRepr {
        modifier1: byte(map, "modifier1", ctx),
        datasize,
        modifier2: byte(map, "modifier2", ctx),
        block,
        body_len,
    };
    (packet, after)
}

fn packet_repr(packet: &PacketRef<'_>, body_len: Option<u64>) -> PacketRepr {
    let block = match packet.block() {
        Block::Vars(vars) => BlockRepr::Vars(
            vars.iter()
                .map(|(k, v)| (Hex(k.to_vec()), Hex(v.to_vec())))
                .collect(),
        ),
        Block::Array(array) => BlockRepr::Items(array.iter().map(|i| Hex(i.to_vec())).collect()),
        Block::Raw(raw) => BlockRepr::Raw(Hex(raw.to_vec())),
    };
    PacketRepr {
        modifier1: packet.modifier1().0,
        datasize: packet.datasize(),
        modifier2: packet.modifier2(),
        block,
        body_len,
    }
}

// ---------------------------------------------------------------------------------------------
// Decode vectors
// ---------------------------------------------------------------------------------------------

struct Options {
    parser: Parser,
    reply: bool,
    datagram: bool,
    persistent: bool,
}

fn parse_options(vector: &Map<String, Value>, ctx: &str) -> Options {
    let mut options = Options {
        parser: Parser::new(),
        reply: false,
        datagram: false,
        persistent: false,
    };
    let Some(value) = vector.get("options") else {
        return options;
    };
    let map = obj(value, ctx);
    only_keys(
        map,
        &[
            "max_datasize",
            "max_vars",
            "foreign_check",
            "magic_policy",
            "direction",
            "datagram",
            "mode",
        ],
        ctx,
    );
    let flag = |key: &str| {
        map.get(key).map(|v| {
            v.as_bool()
                .unwrap_or_else(|| panic!("{ctx}: {key} is not a bool"))
        })
    };
    let mut parser = Parser::new();
    if map.contains_key("max_datasize") {
        let max = uint(map, "max_datasize", ctx);
        parser = parser.with_max_datasize(usize::try_from(max).expect("fits usize"));
    }
    match map.get("max_vars") {
        None | Some(Value::Null) => {}
        Some(_) => {
            let max = uint(map, "max_vars", ctx);
            parser = parser.with_max_vars(Some(usize::try_from(max).expect("fits usize")));
        }
    }
    if let Some(on) = flag("foreign_check") {
        parser = parser.with_foreign_check(on);
    }
    if map.contains_key("magic_policy") {
        parser = parser.with_magic_policy(match string(map, "magic_policy", ctx) {
            "allow" => MagicPolicy::Allow,
            "refuse" => MagicPolicy::Refuse,
            other => panic!("{ctx}: magic_policy {other:?}"),
        });
    }
    if map.contains_key("direction") {
        options.reply = match string(map, "direction", ctx) {
            "request" => false,
            "reply" => true,
            other => panic!("{ctx}: direction {other:?}"),
        };
    }
    if options.reply {
        parser = parser.with_direction(Direction::Reply);
    }
    options.datagram = flag("datagram").unwrap_or(false);
    if map.contains_key("mode") {
        options.persistent = match string(map, "mode", ctx) {
            "one-request" => false,
            "persistent" => true,
            other => panic!("{ctx}: mode {other:?}"),
        };
    }
    options.parser = parser;
    options
}

enum Expect {
    /// A packet at the start of the input, the bytes after it and its body length.
    Packet { packet: PacketRepr, after: Vec<u8> },
    /// An error; `packet` (with its `after_hex`) only next to a framing error.
    Error {
        error: ErrRepr,
        packet: Option<(PacketRepr, Vec<u8>)>,
    },
    /// The merged frames of a stream decoder.
    Frames(Vec<FrameRepr>),
}

fn parse_expect(vector: &Map<String, Value>, ctx: &str) -> Expect {
    let map = obj(&vector["expect"], ctx);
    only_keys(map, &["packet", "error", "frames"], ctx);
    match (map.get("packet"), map.get("error"), map.get("frames")) {
        (Some(packet), None, None) => {
            let (packet, after) = parse_packet(packet, true, ctx);
            assert!(
                packet.body_len.is_some(),
                "{ctx}: expect.packet needs body_len"
            );
            Expect::Packet {
                packet,
                after: after.unwrap_or_default(),
            }
        }
        (packet, Some(error), None) => {
            let error = parse_error(error, ctx);
            let packet = packet.map(|packet| {
                assert_eq!(
                    stage(&error.kind),
                    Stage::Framing,
                    "{ctx}: a packet next to an error is only for framing errors"
                );
                let (packet, after) = parse_packet(packet, true, ctx);
                assert!(
                    packet.body_len.is_none(),
                    "{ctx}: no body_len next to a framing error"
                );
                (packet, after.unwrap_or_default())
            });
            Expect::Error { error, packet }
        }
        (None, None, Some(frames)) => {
            let frames: Vec<FrameRepr> = frames
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: frames is not an array"))
                .iter()
                .map(|frame| {
                    let map = obj(frame, ctx);
                    assert_eq!(
                        map.len(),
                        1,
                        "{ctx}: a frame has exactly one field: {frame}"
                    );
                    let (key, value) = map.iter().next().unwrap();
                    match key.as_str() {
                        "packet" => FrameRepr::Packet(parse_packet(value, false, ctx).0),
                        "body_hex" => FrameRepr::Body(Hex(data(value, ctx))),
                        "end" => {
                            assert_eq!(value, &Value::Bool(true), "{ctx}: end is true");
                            FrameRepr::End
                        }
                        "trailing_hex" => FrameRepr::Trailing(Hex(data(value, ctx))),
                        "error" => FrameRepr::Error(parse_error(value, ctx)),
                        other => panic!("{ctx}: unknown frame {other:?}"),
                    }
                })
                .collect();
            let empty_input = data(&vector["wire_hex"], ctx).is_empty();
            assert_eq!(
                frames.is_empty(),
                empty_input,
                "{ctx}: no frames exactly when the input is empty"
            );
            for (i, frame) in frames.iter().enumerate() {
                match frame {
                    FrameRepr::Error(_) => assert_eq!(i + 1, frames.len(), "{ctx}: error not last"),
                    FrameRepr::Body(b) | FrameRepr::Trailing(b) => {
                        assert!(!b.0.is_empty(), "{ctx}: empty body or trailing frame")
                    }
                    _ => {}
                }
            }
            Expect::Frames(frames)
        }
        _ => panic!("{ctx}: expect holds packet, error, packet + error, or frames"),
    }
}

/// Bytes `Incomplete` must ask for with `cut` bytes of a packet buffered (H1, H4).
fn missing(wire: &[u8], cut: usize) -> usize {
    if cut < 4 {
        4 - cut
    } else {
        4 + usize::from(u16::from_le_bytes([wire[1], wire[2]])) - cut
    }
}

/// The bytes that prove an error at a packet start: nothing earlier may report it.
fn proof(error: &ErrRepr, wire: &[u8]) -> usize {
    match stage(&error.kind) {
        Stage::Header => 4,
        Stage::Block | Stage::Framing => 4 + usize::from(u16::from_le_bytes([wire[1], wire[2]])),
        Stage::Eof | Stage::Datagram => usize::MAX,
    }
}

/// What the core parser must say about the packet at the start of the input.
enum CoreExpect<'a> {
    Packet {
        packet: &'a PacketRepr,
        body: Result<u64, &'a ErrRepr>,
        after: Option<&'a [u8]>,
    },
    Error(&'a ErrRepr),
    /// Empty input: a clean end at a packet start (H7).
    CleanEnd,
}

fn core_expect(expect: &Expect) -> CoreExpect<'_> {
    match expect {
        Expect::Packet { packet, after } => CoreExpect::Packet {
            packet,
            body: Ok(packet.body_len.expect("checked")),
            after: Some(after),
        },
        Expect::Error {
            error,
            packet: Some((packet, after)),
        } => CoreExpect::Packet {
            packet,
            body: Err(error),
            after: Some(after),
        },
        Expect::Error {
            error,
            packet: None,
        } => CoreExpect::Error(error),
        Expect::Frames(frames) if frames.is_empty() => CoreExpect::CleanEnd,
        Expect::Frames(frames) => match &frames[0] {
            FrameRepr::Packet(packet) => CoreExpect::Packet {
                packet,
                body: Ok(packet.body_len.expect("checked")),
                after: None,
            },
            FrameRepr::Error(error) => CoreExpect::Error(error),
            other => panic!("frames must start with a packet or an error, not {other:?}"),
        },
    }
}

/// Compares a parsed packet with the expectation (without body_len), its body length and the
/// bytes after it; then re-encodes it (rule E5).
fn check_packet(got: &PacketRef<'_>, wire: &[u8], expect: &CoreExpect<'_>, ctx: &str) {
    let CoreExpect::Packet {
        packet,
        body,
        after,
    } = expect
    else {
        unreachable!()
    };
    let mut want = (*packet).clone();
    want.body_len = None;
    assert_eq!(packet_repr(got, None), want, "{ctx}: packet");
    assert_eq!(
        got.wire_len(),
        4 + usize::from(got.datasize()),
        "{ctx}: wire_len"
    );
    assert_eq!(got.as_bytes(), &wire[..got.wire_len()], "{ctx}: as_bytes");
    if let Some(after) = after {
        assert_eq!(
            Hex(wire[got.wire_len()..].to_vec()),
            Hex(after.to_vec()),
            "{ctx}: after_hex"
        );
    }
    match (got.body_len(), body) {
        (Ok(n), Ok(m)) => assert_eq!(n, *m, "{ctx}: body_len"),
        (Err(e), Err(want)) => assert_eq!(&err_repr(&e), *want, "{ctx}: body length error"),
        (got, want) => panic!("{ctx}: body length {got:?}, expected {want:?}"),
    }
    // E5: the same modifiers and block encode to the same bytes.
    let mut builder = PacketBuilder::new(got.modifier1())
        .modifier2(got.modifier2())
        .allow_magic(true);
    match got.block() {
        Block::Vars(vars) => {
            for (k, v) in vars.iter() {
                builder.push_var(k, v);
            }
        }
        Block::Array(array) => {
            for item in array.iter() {
                builder.push_item(item);
            }
        }
        Block::Raw(raw) => builder = builder.raw(raw),
    }
    let encoded = builder
        .to_vec()
        .unwrap_or_else(|e| panic!("{ctx}: re-encoding failed: {e}"));
    assert_eq!(
        Hex(encoded),
        Hex(got.as_bytes().to_vec()),
        "{ctx}: re-encoding (E5)"
    );
}

/// The core parser: one-shot, then every prefix (S1, S2). Returns whether prefixes were run.
fn check_core(wire: &[u8], options: &Options, expect: &Expect, ctx: &str) -> bool {
    let parser = &options.parser;
    let want = core_expect(expect);
    if options.datagram {
        // A datagram arrives whole (H8): no prefixes.
        match (&want, parser.parse_datagram(wire)) {
            (CoreExpect::Packet { .. }, Ok(packet)) => check_packet(&packet, wire, &want, ctx),
            (CoreExpect::Error(error), Err(e)) => assert_eq!(&err_repr(&e), *error, "{ctx}"),
            (_, got) => panic!("{ctx}: datagram: got {got:?}"),
        }
        return false;
    }
    match want {
        CoreExpect::CleanEnd => {
            assert!(
                matches!(parser.parse(wire), Ok(Status::Incomplete(4))),
                "{ctx}: parse"
            );
            assert!(
                matches!(parser.parse_eof(wire), Ok(None)),
                "{ctx}: parse_eof"
            );
        }
        CoreExpect::Packet { .. } => {
            let packet = match parser.parse(wire) {
                Ok(Status::Complete(packet)) => packet,
                other => panic!("{ctx}: one-shot: expected a packet, got {other:?}"),
            };
            check_packet(&packet, wire, &want, ctx);
            match parser.parse_eof(wire) {
                Ok(Some(p)) => assert_eq!(p, packet, "{ctx}: parse_eof"),
                other => panic!("{ctx}: parse_eof: {other:?}"),
            }
            let len = packet.wire_len();
            for cut in 0..=wire.len() {
                let got = parser.parse(&wire[..cut]);
                if cut < len {
                    let n = missing(wire, cut);
                    assert!(
                        matches!(got, Ok(Status::Incomplete(m)) if m == n),
                        "{ctx}: prefix of {cut} bytes: expected Incomplete({n}), got {got:?}"
                    );
                } else {
                    assert!(
                        matches!(got, Ok(Status::Complete(p)) if p == packet),
                        "{ctx}: prefix of {cut} bytes: expected the packet, got {got:?}"
                    );
                }
            }
        }
        CoreExpect::Error(error) => match stage(&error.kind) {
            Stage::Header | Stage::Block | Stage::Framing => {
                let proof = proof(error, wire);
                assert!(
                    proof <= wire.len(),
                    "{ctx}: the vector lacks the proving bytes"
                );
                for cut in 0..=wire.len() {
                    let got = parser.parse(&wire[..cut]);
                    if cut < proof {
                        let n = missing(wire, cut);
                        assert!(
                            matches!(got, Ok(Status::Incomplete(m)) if m == n),
                            "{ctx}: prefix of {cut} bytes: expected Incomplete({n}) before the proof at {proof}, got {got:?}"
                        );
                        continue;
                    }
                    let got = match got {
                        Err(e) => err_repr(&e),
                        Ok(Status::Complete(p)) if stage(&error.kind) == Stage::Framing => {
                            match p.body_len() {
                                Err(e) => err_repr(&e),
                                Ok(n) => panic!("{ctx}: prefix of {cut} bytes: body {n}"),
                            }
                        }
                        Ok(status) => panic!("{ctx}: prefix of {cut} bytes: {status:?}"),
                    };
                    assert_eq!(&got, error, "{ctx}: prefix of {cut} bytes");
                }
                assert!(
                    matches!(parser.parse_eof(wire), Err(ref e) if err_repr(e) == *error)
                        || stage(&error.kind) == Stage::Framing,
                    "{ctx}: parse_eof"
                );
            }
            Stage::Eof => {
                assert_eq!(
                    error.kind, "UnexpectedEof",
                    "{ctx}: TruncatedBody needs frames"
                );
                for cut in 0..=wire.len() {
                    let n = missing(wire, cut);
                    let got = parser.parse(&wire[..cut]);
                    assert!(
                        matches!(got, Ok(Status::Incomplete(m)) if m == n),
                        "{ctx}: prefix of {cut} bytes: expected Incomplete({n}), got {got:?}"
                    );
                    let got = parser.parse_eof(&wire[..cut]);
                    if cut == 0 {
                        assert!(matches!(got, Ok(None)), "{ctx}: EOF at 0 bytes is clean");
                    } else {
                        assert!(
                            matches!(got, Err(Error::UnexpectedEof { offset, needed }) if offset == cut && needed == n),
                            "{ctx}: EOF after {cut} bytes: {got:?}"
                        );
                    }
                }
                let got = parser
                    .parse_eof(wire)
                    .expect_err("UnexpectedEof at the end");
                assert_eq!(&err_repr(&got), error, "{ctx}: parse_eof");
            }
            Stage::Datagram => panic!("{ctx}: DatagramLength needs options.datagram"),
        },
    }
    true
}

/// The frames a stream decoder yields for a `packet` or `error` vector (README "derived stream").
fn derived_frames(expect: &Expect) -> Vec<FrameRepr> {
    match expect {
        Expect::Frames(frames) => frames.clone(),
        Expect::Error { error, .. } => vec![FrameRepr::Error(error.clone())],
        Expect::Packet { packet, after } => {
            let n = packet.body_len.expect("checked");
            let body = usize::try_from(n).map_or(after.len(), |n| n.min(after.len()));
            let mut frames = vec![FrameRepr::Packet(packet.clone())];
            if body > 0 {
                frames.push(FrameRepr::Body(Hex(after[..body].to_vec())));
            }
            if (after.len() as u64) < n {
                let mut fields = BTreeMap::new();
                fields.insert("expected".to_owned(), n.to_string());
                fields.insert("received".to_owned(), after.len().to_string());
                frames.push(FrameRepr::Error(ErrRepr {
                    kind: "TruncatedBody".to_owned(),
                    offset: None,
                    fields,
                }));
            } else {
                frames.push(FrameRepr::End);
                if after.len() > body {
                    frames.push(FrameRepr::Trailing(Hex(after[body..].to_vec())));
                }
            }
            frames
        }
    }
}

#[cfg(feature = "codec")]
mod stream {
    use super::*;
    use uwsgi_codec::{Frame, ServerCodec};

    /// Where an error came from: after how many input bytes, and whether from `decode_eof`.
    pub(super) struct Run {
        pub(super) frames: Vec<FrameRepr>,
        pub(super) error_at: Option<(usize, bool)>,
    }

    fn push(frames: &mut Vec<FrameRepr>, frame: FrameRepr) {
        match (frames.last_mut(), frame) {
            (Some(FrameRepr::Body(last)), FrameRepr::Body(more))
            | (Some(FrameRepr::Trailing(last)), FrameRepr::Trailing(more)) => {
                last.0.extend_from_slice(&more.0)
            }
            (_, frame) => frames.push(frame),
        }
    }

    fn repr(frame: Frame) -> FrameRepr {
        match frame {
            Frame::Packet(packet) => {
                let body_len = packet.body_len().expect("the codec framed it");
                FrameRepr::Packet(packet_repr(&packet.view(), Some(body_len)))
            }
            Frame::Body(bytes) => FrameRepr::Body(Hex(bytes.to_vec())),
            Frame::End => FrameRepr::End,
            Frame::Trailing(bytes) => FrameRepr::Trailing(Hex(bytes.to_vec())),
            other => panic!("a server codec yielded {other:?}"),
        }
    }

    /// Feeds `pieces` in order, decoding after each, then ends the input; frames merged.
    pub(super) fn run(parser: &Parser, persistent: bool, pieces: &[&[u8]]) -> Run {
        let mut codec = ServerCodec::with_parser(parser.clone()).persistent(persistent);
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let mut fed = 0;
        let limit = pieces.iter().map(|p| p.len()).sum::<usize>() * 4 + 64;
        let mut steps = 0;
        let mut step = || {
            steps += 1;
            assert!(steps <= limit, "the codec does not make progress");
        };
        for piece in pieces {
            buf.extend_from_slice(piece);
            fed += piece.len();
            loop {
                step();
                match tokio_util::codec::Decoder::decode(&mut codec, &mut buf) {
                    Ok(Some(frame)) => push(&mut frames, repr(frame)),
                    Ok(None) => break,
                    Err(e) => {
                        frames.push(FrameRepr::Error(err_repr(&e)));
                        return Run {
                            frames,
                            error_at: Some((fed, false)),
                        };
                    }
                }
            }
        }
        loop {
            step();
            match tokio_util::codec::Decoder::decode_eof(&mut codec, &mut buf) {
                Ok(Some(frame)) => push(&mut frames, repr(frame)),
                Ok(None) => break,
                Err(e) => {
                    frames.push(FrameRepr::Error(err_repr(&e)));
                    return Run {
                        frames,
                        error_at: Some((fed, true)),
                    };
                }
            }
        }
        Run {
            frames,
            error_at: None,
        }
    }
}

/// The stream decoder: one-shot, one byte at a time and split in two at every byte (S1 to S3).
/// Returns how many runs were made, or 0 when the vector is not a request-side stream.
#[cfg(feature = "codec")]
fn check_stream(wire: &[u8], options: &Options, expect: &Expect, ctx: &str) -> usize {
    if options.datagram || options.reply {
        return 0;
    }
    if !matches!(expect, Expect::Frames(_)) {
        assert!(!options.persistent, "{ctx}: persistent mode needs frames");
    }
    let want = derived_frames(expect);
    let error = match want.last() {
        Some(FrameRepr::Error(error)) => Some(error),
        _ => None,
    };
    let check = |run: stream::Run, how: &str| {
        assert_eq!(run.frames, want, "{ctx}: frames, {how}");
        if let (Some(error), Some((fed, at_eof))) = (error, run.error_at) {
            if stage(&error.kind) == Stage::Eof {
                assert!(
                    at_eof,
                    "{ctx}: {how}: {} before the end of input",
                    error.kind
                );
            } else {
                assert!(
                    !at_eof,
                    "{ctx}: {how}: {} only at the end of input",
                    error.kind
                );
                if want.len() == 1 {
                    let proof = proof(error, wire);
                    assert!(
                        fed >= proof,
                        "{ctx}: {how}: {} after {fed} bytes, before the {proof} that prove it",
                        error.kind
                    );
                }
            }
        }
    };
    let parser = &options.parser;
    let persistent = options.persistent;
    check(stream::run(parser, persistent, &[wire]), "one-shot");
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    check(
        stream::run(parser, persistent, &bytes),
        "one byte at a time",
    );
    for cut in 0..=wire.len() {
        let (a, b) = wire.split_at(cut);
        check(
            stream::run(parser, persistent, &[a, b]),
            &format!("split at {cut}"),
        );
    }
    wire.len() + 3
}

#[cfg(not(feature = "codec"))]
fn check_stream(_: &[u8], _: &Options, expect: &Expect, _: &str) -> usize {
    let _ = derived_frames(expect);
    0
}

#[derive(Default)]
struct Tally {
    vectors: usize,
    sources: BTreeMap<&'static str, usize>,
    core_split: usize,
    datagrams: usize,
    stream: usize,
    stream_runs: usize,
    encoded: usize,
    refused: usize,
}

fn check_header_fields(vector: &Map<String, Value>, ctx: &str) -> &'static str {
    let name = string(vector, "name", ctx);
    assert!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "{ctx}: name {name:?}"
    );
    let description = string(vector, "description", ctx);
    assert!(
        !description.is_empty() && !description.contains('\n'),
        "{ctx}: description must be one line"
    );
    let source = string(vector, "source", ctx);
    SOURCES
        .into_iter()
        .find(|prefix| source.starts_with(prefix))
        .map(|prefix| prefix.trim_end_matches([' ', '§']))
        .unwrap_or_else(|| panic!("{ctx}: source {source:?}"))
}

fn run_decode_vector(vector: &Value, ctx: &str, tally: &mut Tally) {
    let map = obj(vector, ctx);
    only_keys(
        map,
        &[
            "name",
            "description",
            "source",
            "wire_hex",
            "options",
            "expect",
        ],
        ctx,
    );
    let wire = data(&map["wire_hex"], ctx);
    let options = parse_options(map, ctx);
    let expect = parse_expect(map, ctx);
    if options.persistent {
        assert!(
            matches!(expect, Expect::Frames(_)),
            "{ctx}: mode persistent needs frames"
        );
    }
    if check_core(&wire, &options, &expect, ctx) {
        tally.core_split += 1;
    } else {
        tally.datagrams += 1;
    }
    let runs = check_stream(&wire, &options, &expect, ctx);
    if runs > 0 {
        tally.stream += 1;
        tally.stream_runs += runs;
    }
}

/// Runs `f` on every vector of every file with `schema`, catching each failure so one run
/// reports every failing vector; prints one summary line per file.
fn run_files(schema: Schema, f: fn(&Value, &str, &mut Tally)) -> (usize, usize) {
    let mut failures = Vec::new();
    let (mut total, mut nginx) = (0, 0);
    for file in vector_files() {
        if file.schema != schema {
            if file.schema == Schema::Unknown {
                println!("conformance: {}: unknown schema, skipped", file.name);
            }
            continue;
        }
        let mut tally = Tally::default();
        for (i, vector) in file.vectors.iter().enumerate() {
            let name = vector["name"].as_str().unwrap_or("?");
            let ctx = format!("{} #{i} {name}", file.name);
            let result = catch_unwind(AssertUnwindSafe(|| {
                let source = check_header_fields(obj(vector, &ctx), &ctx);
                f(vector, &ctx, &mut tally);
                source
            }));
            tally.vectors += 1;
            match result {
                Ok(source) => *tally.sources.entry(source).or_default() += 1,
                Err(_) => failures.push(ctx),
            }
        }
        total += tally.vectors;
        nginx += tally.sources.get("nginx").copied().unwrap_or(0);
        let sources: Vec<String> = tally
            .sources
            .iter()
            .map(|(source, n)| format!("{source} {n}"))
            .collect();
        let checks = match schema {
            Schema::Encode => format!("{} encoded, {} refused", tally.encoded, tally.refused),
            _ => format!(
                "core + every prefix {}, datagram {}, codec {} ({} runs){}",
                tally.core_split,
                tally.datagrams,
                tally.stream,
                tally.stream_runs,
                if cfg!(feature = "codec") {
                    ""
                } else {
                    " [feature codec off]"
                }
            ),
        };
        println!(
            "conformance: {}: {} vectors ({}); {checks}",
            file.name,
            tally.vectors,
            sources.join(", ")
        );
    }
    assert!(
        failures.is_empty(),
        "{} failing vector(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    (total, nginx)
}

#[test]
fn decode_vectors() {
    let (total, nginx) = run_files(Schema::Decode, run_decode_vector);
    assert!(total > 0, "no decode vectors found");
    assert!(
        nginx >= 15,
        "only {nginx} nginx captures (at least 15 wanted)"
    );
}

// ---------------------------------------------------------------------------------------------
// Encoder vectors
// ---------------------------------------------------------------------------------------------

fn run_encode_vector(vector: &Value, ctx: &str, tally: &mut Tally) {
    let map = obj(vector, ctx);
    only_keys(
        map,
        &["name", "description", "source", "input", "expect"],
        ctx,
    );
    let input = obj(&map["input"], ctx);
    only_keys(
        input,
        &[
            "modifier1",
            "modifier2",
            "pairs",
            "items",
            "raw_hex",
            "body_len",
            "max_datasize",
            "allow_magic",
        ],
        ctx,
    );
    assert!(
        !(input.contains_key("pairs") && input.contains_key("items")),
        "{ctx}: pairs or items, not both"
    );
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = input
        .get("pairs")
        .map(|pairs| {
            pairs
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: pairs is not an array"))
                .iter()
                .map(|pair| {
                    let pair = obj(pair, ctx);
                    only_keys(pair, &["key_hex", "value_hex"], ctx);
                    (data(&pair["key_hex"], ctx), data(&pair["value_hex"], ctx))
                })
                .collect()
        })
        .unwrap_or_default();
    let items: Vec<Vec<u8>> = input
        .get("items")
        .map(|items| {
            items
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: items is not an array"))
                .iter()
                .map(|item| data(item, ctx))
                .collect()
        })
        .unwrap_or_default();
    let raw = input.get("raw_hex").map(|raw| data(raw, ctx));

    let mut builder = PacketBuilder::new(byte(input, "modifier1", ctx));
    if input.contains_key("modifier2") {
        builder = builder.modifier2(byte(input, "modifier2", ctx));
    }
    for (key, value) in &pairs {
        builder.push_var(key, value);
    }
    for item in &items {
        builder.push_item(item);
    }
    if let Some(raw) = &raw {
        builder = builder.raw(raw);
    }
    if input.contains_key("body_len") {
        builder = builder.body_len(uint(input, "body_len", ctx));
    }
    if input.contains_key("max_datasize") {
        let max = usize::try_from(uint(input, "max_datasize", ctx)).expect("fits usize");
        builder = builder.max_datasize(max);
    }
    if let Some(allow) = input.get("allow_magic") {
        let allow = allow
            .as_bool()
            .unwrap_or_else(|| panic!("{ctx}: allow_magic is not a bool"));
        builder = builder.allow_magic(allow);
    }

    let expect = obj(&map["expect"], ctx);
    only_keys(expect, &["wire_hex", "error"], ctx);
    let mut dst = BytesMut::from(&b"keep"[..]);
    match (expect.get("wire_hex"), expect.get("error")) {
        (Some(wire), None) => {
            let wire = data(wire, ctx);
            let got = builder
                .to_vec()
                .unwrap_or_else(|e| panic!("{ctx}: refused: {e:?}"));
            assert_eq!(Hex(got), Hex(wire.clone()), "{ctx}: to_vec");
            assert_eq!(
                builder.encoded_len().ok(),
                Some(wire.len()),
                "{ctx}: encoded_len"
            );
            assert_eq!(
                builder.encode(&mut dst).ok(),
                Some(wire.len()),
                "{ctx}: encode"
            );
            assert_eq!(
                Hex(dst[4..].to_vec()),
                Hex(wire.clone()),
                "{ctx}: encode appends"
            );
            tally.encoded += 1;
            if raw.is_some() {
                return; // E6: a raw part can make a block that strict decoders reject
            }
            // Build then parse returns the same modifiers and pairs or items (E5).
            let parsed = Parser::new()
                .with_foreign_check(false)
                .parse(&wire)
                .unwrap_or_else(|e| panic!("{ctx}: the encoded packet does not parse: {e}"));
            let packet = parsed.complete().expect("a whole packet");
            assert_eq!(packet.wire_len(), wire.len(), "{ctx}: one packet");
            let plain = !input.contains_key("body_len");
            match packet.block() {
                Block::Vars(vars) if plain && items.is_empty() => {
                    let got: Vec<(Vec<u8>, Vec<u8>)> =
                        vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
                    assert!(got == pairs, "{ctx}: build then parse changed the pairs");
                }
                Block::Array(array) if plain && pairs.is_empty() => {
                    let got: Vec<Vec<u8>> = array.iter().map(<[u8]>::to_vec).collect();
                    assert!(got == items, "{ctx}: build then parse changed the items");
                }
                _ => {}
            }
        }
        (None, Some(error)) => {
            let error = parse_error(error, ctx);
            let got = builder.to_vec().expect_err("refused");
            assert_eq!(err_repr(&got), error, "{ctx}: to_vec");
            let got = builder.encode(&mut dst).expect_err("refused");
            assert_eq!(err_repr(&got), error, "{ctx}: encode");
            assert_eq!(&dst[..], b"keep", "{ctx}: nothing written on error");
            let got = builder.encoded_len().expect_err("refused");
            assert_eq!(err_repr(&got), error, "{ctx}: encoded_len");
            tally.refused += 1;
        }
        _ => panic!("{ctx}: expect holds wire_hex or error"),
    }
}

#[test]
fn encoder_vectors() {
    let (total, _) = run_files(Schema::Encode, run_encode_vector);
    assert!(total > 0, "no encoder vectors found");
}

// ---------------------------------------------------------------------------------------------
// Counts and the helpers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn vector_counts() {
    let files = vector_files();
    let mut names = std::collections::BTreeSet::new();
    let (mut total, mut nginx) = (0, 0);
    for file in files.iter().filter(|f| f.schema != Schema::Unknown) {
        for vector in &file.vectors {
            let name = vector["name"].as_str().unwrap_or_default().to_owned();
            assert!(
                names.insert(name.clone()),
                "{}: duplicate name {name}",
                file.name
            );
            total += 1;
            if vector["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("nginx"))
            {
                nginx += 1;
            }
        }
    }
    assert!(total >= 80, "only {total} vectors (at least 80 wanted)");
    assert!(
        nginx >= 15,
        "only {nginx} nginx captures (at least 15 wanted)"
    );
}

#[test]
fn hex_data_forms() {
    assert_eq!(data(&Value::from(""), "t"), b"");
    assert_eq!(data(&Value::from("00ff7A"), "t"), [0x00, 0xff, 0x7a]);
    let compact: Value = serde_json::json!(["0a", {"repeat": "78", "count": 3}, "0b"]);
    assert_eq!(data(&compact, "t"), b"\x0axxx\x0b");
    let unit: Value = serde_json::json!({"repeat": "ab01", "count": 2});
    assert_eq!(data(&unit, "t"), [0xab, 0x01, 0xab, 0x01]);
}

#[test]
fn derived_frames_follow_the_readme() {
    let packet = PacketRepr {
        modifier1: 0,
        datasize: 0,
        modifier2: 0,
        block: BlockRepr::Vars(Vec::new()),
        body_len: Some(3),
    };
    let frames = derived_frames(&Expect::Packet {
        packet: packet.clone(),
        after: b"abcde".to_vec(),
    });
    assert_eq!(
        frames,
        [
            FrameRepr::Packet(packet.clone()),
            FrameRepr::Body(Hex(b"abc".to_vec())),
            FrameRepr::End,
            FrameRepr::Trailing(Hex(b"de".to_vec())),
        ]
    );
    let frames = derived_frames(&Expect::Packet {
        packet: packet.clone(),
        after: b"a".to_vec(),
    });
    assert!(matches!(&frames[2], FrameRepr::Error(e) if e.kind == "TruncatedBody"));
}
