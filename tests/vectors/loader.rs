//! The one loader of the language-neutral test vectors (`tests/vectors/*.json`, schema in
//! `tests/vectors/README.md`): it reads every vector file of a directory, checks it against the
//! schema, and turns it into plain Rust values (bytes, numbers, names) that any runner compares
//! with what its decoder or encoder did.
//!
//! It depends on `std` and `serde_json` only, never on `uwsgi_codec`, so that every runner
//! includes this very file: the crate's tests through `tests/common`
//! (`#[path = "../vectors/loader.rs"] mod loader;`) and the conformance runner of the `uwsgi`
//! CLI (`#[path = "../../data/loader.rs"] mod loader;`, through the link
//! `uwsgi-cli/data/loader.rs`, so that the tool's package carries it). The README's rules
//! that do not depend on a decoder live here too: the exact `Incomplete` count of a prefix
//! and the proof point of an error (README §3.4), and the stream outcome of a packet or error
//! vector (README §3.5).
//!
//! Nothing here panics on a bad file: every fault comes back as an `Err` naming the file, the
//! vector and the field.

// Every includer uses a part of it (the CLI reads no encoder vectors, the tests no skip list).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;
use std::path::Path;

use serde_json::{Map, Value};

/// The `schema` of a decode vector file (README §2); a file without `schema` is one too.
pub(crate) const DECODE_SCHEMA: &str = "uwsgi-vectors/decode/1";

/// The `schema` of an encoder vector file (README §2).
pub(crate) const ENCODE_SCHEMA: &str = "uwsgi-vectors/encode/1";

/// The datasize limit a decode vector runs with when `options.max_datasize` is absent.
pub(crate) const DEFAULT_MAX_DATASIZE: u64 = 65535;

// ---------------------------------------------------------------------------------------------
// Bytes and hex data
// ---------------------------------------------------------------------------------------------

/// Bytes decoded from hex data. Its `Debug` form is hex, cut short after 48 bytes, so that a
/// failing 65 KB vector gives a readable message.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Hex(pub(crate) Vec<u8>);

impl Deref for Hex {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for Hex {
    fn from(bytes: &[u8]) -> Self {
        Hex(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Hex {
    fn from(bytes: Vec<u8>) -> Self {
        Hex(bytes)
    }
}

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        match self.0.get(..SHOWN) {
            Some(head) if self.0.len() > SHOWN => {
                write!(f, "{}…({} bytes)", to_hex(head), self.0.len())
            }
            _ => write!(f, "\"{}\"", to_hex(&self.0)),
        }
    }
}

/// `bytes` as lower-case hex, two digits per byte.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hex string (either case, two digits per byte) as bytes.
pub(crate) fn unhex(text: &str) -> Result<Vec<u8>, String> {
    fn digit(c: u8) -> Option<u8> {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let text = text.as_bytes();
    if text.len() % 2 != 0 {
        return Err("an odd number of hex digits".into());
    }
    text.chunks_exact(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(format!("not hex: {:?}", String::from_utf8_lossy(pair))),
        })
        .collect()
}

/// README §1 "hex data": a hex string, `{"repeat": hex, "count": n}` (the bytes of `hex`, at
/// least one, `n` times), or an array of these, concatenated.
pub(crate) fn hex_data(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::String(text) => unhex(text),
        Value::Object(map) => {
            let fields = Fields::new(map, "repeat", "repeat count")?;
            let unit = unhex(fields.string("repeat")?)?;
            if unit.is_empty() {
                return Err("an empty repeat unit".into());
            }
            let count = usize::try_from(fields.uint("count")?).map_err(|e| e.to_string())?;
            Ok(unit.repeat(count))
        }
        Value::Array(parts) => Ok(parts
            .iter()
            .map(hex_data)
            .collect::<Result<Vec<_>, _>>()?
            .concat()),
        other => Err(format!("not hex data: {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// What a vector file holds
// ---------------------------------------------------------------------------------------------

/// One `*.json` file of the directory.
#[derive(Debug, Clone)]
pub(crate) struct VectorFile {
    /// The file name, such as `spec.json`.
    pub(crate) name: String,
    /// Its vectors, by schema (its top-level `description` is checked, not kept).
    pub(crate) content: Content,
}

/// The vectors of a file, routed by its top-level `schema` (README §2).
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// `uwsgi-vectors/decode/1`, or no `schema`.
    Decode(Vec<DecodeVector>),
    /// `uwsgi-vectors/encode/1`.
    Encode(Vec<EncodeVector>),
    /// A schema this loader does not know: the file is skipped, not read (README §2).
    Unknown(String),
}

/// Where a vector's expected outcome comes from (README §2, `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Source {
    /// `nginx 1.22.1 capture`: bytes nginx sent.
    Nginx,
    /// `spec §…`: written from PROTOCOL.md.
    Spec,
    /// `uWSGI 2.0 behaviour`: a case where uWSGI does otherwise.
    Uwsgi,
}

impl Source {
    /// The kind of a `source` text, from its prefix.
    pub(crate) fn of(text: &str) -> Option<Source> {
        [
            ("nginx 1.22.1 capture", Source::Nginx),
            ("spec §", Source::Spec),
            ("uWSGI 2.0 behaviour", Source::Uwsgi),
        ]
        .into_iter()
        .find(|(prefix, _)| text.starts_with(prefix))
        .map(|(_, source)| source)
    }
}

/// What every vector has, of either schema (README §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    /// Unique across all files: ASCII letters, digits and `_`.
    pub(crate) name: String,
    /// One line.
    pub(crate) description: String,
    /// Where the expected outcome comes from; cites the rules and §11 cases it pins.
    pub(crate) source: String,
}

/// A decode vector (README §3).
#[derive(Debug, Clone)]
pub(crate) struct DecodeVector {
    /// Name, description, source.
    pub(crate) label: Label,
    /// All the bytes of one connection or datagram, followed by the end of input.
    pub(crate) wire: Hex,
    /// The decoder settings.
    pub(crate) options: Options,
    /// The outcome.
    pub(crate) expect: Expect,
}

/// Decoder settings of a decode vector (README §3.1); `Default` gives the README's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// The datasize limit (L1); values above 65535 mean 65535.
    pub(crate) max_datasize: u64,
    /// The pair limit (L2); `None`: no limit.
    pub(crate) max_vars: Option<u64>,
    /// The foreign-protocol check (F1 to F3).
    pub(crate) foreign_check: bool,
    /// What to do with `UWSGI_*` keys (M2).
    pub(crate) magic_policy: Magic,
    /// Which side sent the bytes.
    pub(crate) direction: Side,
    /// The input is one datagram (H8).
    pub(crate) datagram: bool,
    /// What follows a body (C8).
    pub(crate) mode: Mode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_datasize: DEFAULT_MAX_DATASIZE,
            max_vars: None,
            foreign_check: true,
            magic_policy: Magic::Allow,
            direction: Side::Request,
            datagram: false,
            mode: Mode::OneRequest,
        }
    }
}

impl Options {
    /// The decoder limits and checks that differ from a default server's, as `name value`
    /// (`max_datasize` 65535 or more counts as the default): what a runner that drives a
    /// server it cannot configure has to skip.
    pub(crate) fn changed_limits(&self) -> Vec<String> {
        let mut changed = Vec::new();
        if self.max_datasize < DEFAULT_MAX_DATASIZE {
            changed.push(format!("max_datasize {}", self.max_datasize));
        }
        if let Some(max) = self.max_vars {
            changed.push(format!("max_vars {max}"));
        }
        if !self.foreign_check {
            changed.push("foreign_check false".to_owned());
        }
        if self.magic_policy != Magic::Allow {
            changed.push("magic_policy \"refuse\"".to_owned());
        }
        if self.mode != Mode::OneRequest {
            changed.push("mode \"persistent\"".to_owned());
        }
        changed
    }
}

/// `options.magic_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    /// `"allow"`: every key.
    Allow,
    /// `"refuse"`: a key starting with `UWSGI_` is `MagicVar`.
    Refuse,
}

/// `options.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `"request"`: what a front end sends.
    Request,
    /// `"reply"`: what an application server sends back.
    Reply,
}

/// `options.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `"one-request"`: bytes after the body are trailing, never parsed.
    OneRequest,
    /// `"persistent"`: the next packet is decoded after the body.
    Persistent,
}

/// `expect` of a decode vector: one of the four forms of README §3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Form 1: a valid packet at the start of the input, and the bytes after it.
    Packet {
        /// The packet, with `body_len`.
        packet: PacketSpec,
        /// `after_hex`: the input after the `4 + datasize` bytes.
        after: Hex,
    },
    /// Form 2: decoding the packet at the start of the input fails.
    Error(ErrorSpec),
    /// Form 3: the block is valid, the body length cannot be derived (a framing error).
    FramingError {
        /// The packet, without `body_len`.
        packet: PacketSpec,
        /// `after_hex`.
        after: Hex,
        /// `InvalidContentLength` or `ConflictingContentLength`.
        error: ErrorSpec,
    },
    /// Form 4: what a stream decoder yields for the whole input, chunks merged.
    Frames(Vec<Frame>),
}

/// A packet object (README §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PacketSpec {
    /// Header byte 0.
    pub(crate) modifier1: u8,
    /// Header bytes 1 and 2.
    pub(crate) datasize: u16,
    /// Header byte 3.
    pub(crate) modifier2: u8,
    /// The block, read as its kind.
    pub(crate) block: BlockSpec,
    /// The framed body length; `None` only next to a framing error (form 3).
    pub(crate) body_len: Option<u64>,
}

/// A block as `block_kind` reads it (README §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockSpec {
    /// `vars`: every pair in wire order, duplicates included.
    Vars(Vec<(Hex, Hex)>),
    /// `items`: every item in wire order, empty ones included.
    Items(Vec<Hex>),
    /// `raw_hex`: the block bytes.
    Raw(Hex),
}

/// A frame of a stream decoder (README §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A validated packet whose body length is known.
    Packet(PacketSpec),
    /// Body bytes (consecutive chunks merged; never empty).
    Body(Hex),
    /// Every body byte of the message has been delivered.
    End,
    /// One-request mode: bytes after the message, never parsed (merged; never empty).
    Trailing(Hex),
    /// Decoding stopped; always the last frame.
    Error(ErrorSpec),
}

/// Appends `frame` to `frames`, merging it into the last frame when both are body chunks or
/// both trailing chunks (README §3.5).
pub(crate) fn push_merged(frames: &mut Vec<Frame>, frame: Frame) {
    match (frames.last_mut(), frame) {
        (Some(Frame::Body(last)), Frame::Body(more))
        | (Some(Frame::Trailing(last)), Frame::Trailing(more)) => last.0.extend_from_slice(&more),
        (_, frame) => frames.push(frame),
    }
}

/// An error object (README §4): the kind, the offset, and every other member the kind carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorSpec {
    /// The kind, named as the crate's `Error` variant.
    pub(crate) kind: String,
    /// The offset from the packet's first header byte; `None` for kinds without one.
    pub(crate) offset: Option<u64>,
    /// The other members, by name.
    pub(crate) members: BTreeMap<String, Member>,
}

/// A member of an error object besides `kind` and `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    /// A number.
    Int(u64),
    /// A name: `field`, `reason` or `protocol`.
    Name(String),
}

/// When the bytes that prove an error are in (README §4, "stages").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The 4 header bytes.
    Header,
    /// The whole `4 + datasize` packet.
    Block,
    /// The whole packet; the block is valid, the body length is not.
    Framing,
    /// The end of input.
    Eof,
    /// The datagram's length.
    Datagram,
    /// Only an encoder reports it.
    Encoding,
}

/// The type of a member of an error object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Name,
}

/// What README §4 says of an error kind.
struct Kind {
    name: &'static str,
    stage: Stage,
    has_offset: bool,
    members: &'static [(&'static str, Ty)],
}

/// README §4: every kind, its stage, whether it has an offset, and its other members.
#[rustfmt::skip]
const KINDS: [Kind; 13] = [
    Kind { name: "ForeignProtocol", stage: Stage::Header, has_offset: true,
        members: &[("protocol", Ty::Name), ("modifier1", Ty::Int), ("datasize", Ty::Int)] },
    Kind { name: "TooLarge", stage: Stage::Header, has_offset: true,
        members: &[("len", Ty::Int), ("max", Ty::Int)] },
    Kind { name: "TruncatedLength", stage: Stage::Block, has_offset: true,
        members: &[("field", Ty::Name)] },
    Kind { name: "Overrun", stage: Stage::Block, has_offset: true,
        members: &[("field", Ty::Name), ("len", Ty::Int), ("available", Ty::Int)] },
    Kind { name: "EmptyKey", stage: Stage::Block, has_offset: true, members: &[] },
    Kind { name: "TooManyVars", stage: Stage::Block, has_offset: true,
        members: &[("max", Ty::Int)] },
    Kind { name: "MagicVar", stage: Stage::Block, has_offset: true, members: &[] },
    Kind { name: "InvalidContentLength", stage: Stage::Framing, has_offset: true,
        members: &[("reason", Ty::Name)] },
    Kind { name: "ConflictingContentLength", stage: Stage::Framing, has_offset: true,
        members: &[("first", Ty::Int), ("second", Ty::Int)] },
    Kind { name: "UnexpectedEof", stage: Stage::Eof, has_offset: true,
        members: &[("needed", Ty::Int)] },
    Kind { name: "TruncatedBody", stage: Stage::Eof, has_offset: false,
        members: &[("expected", Ty::Int), ("received", Ty::Int)] },
    Kind { name: "DatagramLength", stage: Stage::Datagram, has_offset: false,
        members: &[("datasize", Ty::Int), ("len", Ty::Int)] },
    Kind { name: "LengthOverflow", stage: Stage::Encoding, has_offset: false,
        members: &[("field", Ty::Name), ("len", Ty::Int)] },
];

impl ErrorSpec {
    /// An error of `kind` at `offset`, without members yet.
    pub(crate) fn new(kind: &str, offset: Option<u64>) -> Self {
        ErrorSpec {
            kind: kind.to_owned(),
            offset,
            members: BTreeMap::new(),
        }
    }

    /// Adds the number `value` as member `key`.
    pub(crate) fn int(mut self, key: &str, value: u64) -> Self {
        self.members.insert(key.to_owned(), Member::Int(value));
        self
    }

    /// Adds the name `value` as member `key`.
    pub(crate) fn name(mut self, key: &str, value: &str) -> Self {
        self.members
            .insert(key.to_owned(), Member::Name(value.to_owned()));
        self
    }

    /// The stage of the error's kind; `None` for a kind README §4 does not list.
    pub(crate) fn stage(&self) -> Option<Stage> {
        self.spec().map(|kind| kind.stage)
    }

    /// What README §4 says of the error's kind.
    fn spec(&self) -> Option<&'static Kind> {
        KINDS.iter().find(|kind| kind.name == self.kind)
    }

    /// Checks the object against README §4: a known kind, an offset exactly when the kind has
    /// one, and exactly the kind's members with their types.
    fn check(&self) -> Result<(), String> {
        let kind = self
            .spec()
            .ok_or_else(|| format!("unknown error kind {:?}", self.kind))?;
        if self.offset.is_some() != kind.has_offset {
            let rule = if kind.has_offset {
                "is required"
            } else {
                "must be null"
            };
            return Err(format!("{}: offset {rule}", self.kind));
        }
        let names: BTreeSet<&str> = kind.members.iter().map(|(name, _)| *name).collect();
        let given: BTreeSet<&str> = self.members.keys().map(String::as_str).collect();
        if names != given {
            return Err(format!(
                "{} carries {names:?}, the vector gives {given:?}",
                self.kind
            ));
        }
        for (name, ty) in kind.members {
            match (ty, &self.members[*name]) {
                (Ty::Int, Member::Int(_)) | (Ty::Name, Member::Name(_)) => {}
                (ty, value) => {
                    return Err(format!("{}.{name}: {value:?} is not {ty:?}", self.kind));
                }
            }
        }
        Ok(())
    }
}

/// What a packet-at-a-time decoder must say about the first packet of a decode vector
/// (README §3.4).
#[derive(Debug, Clone, Copy)]
pub(crate) enum PacketCheck<'a> {
    /// A packet; `after` is `None` when the vector gives frames (no `after_hex`).
    Packet {
        /// The packet expected.
        packet: &'a PacketSpec,
        /// Its body length, or the framing error deriving it gives.
        body: Result<u64, &'a ErrorSpec>,
        /// The input after the packet.
        after: Option<&'a Hex>,
    },
    /// An error.
    Error(&'a ErrorSpec),
    /// An empty input: a clean end (H7).
    CleanEnd,
}

impl DecodeVector {
    /// The datasize in the input's header, once it has 4 bytes.
    pub(crate) fn datasize(&self) -> Option<usize> {
        match self.wire.get(1..3) {
            Some(&[low, high]) => Some(usize::from(u16::from_le_bytes([low, high]))),
            _ => None,
        }
    }

    /// README §3.4 `missing(c)`: the exact count an `Incomplete` must ask for with the first
    /// `cut` bytes buffered (H1, H4); 0 once the packet is whole.
    pub(crate) fn missing(&self, cut: usize) -> usize {
        match self.datasize() {
            Some(datasize) if cut >= 4 => (4 + datasize).saturating_sub(cut),
            _ => 4usize.saturating_sub(cut),
        }
    }

    /// README §3.4: how many bytes prove `error`; `None` when only the end of input (or the
    /// datagram's length) does.
    pub(crate) fn proof_point(&self, error: &ErrorSpec) -> Option<usize> {
        match error.stage()? {
            Stage::Header => Some(4),
            Stage::Block | Stage::Framing => self.datasize().map(|datasize| 4 + datasize),
            Stage::Eof | Stage::Datagram | Stage::Encoding => None,
        }
    }

    /// Whether the stream check applies (README §3.5): request side, not a datagram.
    pub(crate) fn is_stream(&self) -> bool {
        self.options.direction == Side::Request && !self.options.datagram
    }

    /// What the first packet of the input must decode to (README §3.4).
    pub(crate) fn packet_check(&self) -> PacketCheck<'_> {
        fn frame_check(frame: &Frame) -> Option<PacketCheck<'_>> {
            match frame {
                Frame::Packet(packet) => Some(PacketCheck::Packet {
                    packet,
                    body: Ok(packet.body_len.unwrap_or_default()),
                    after: None,
                }),
                Frame::Error(error) => Some(PacketCheck::Error(error)),
                _ => None,
            }
        }
        match &self.expect {
            Expect::Packet { packet, after } => PacketCheck::Packet {
                packet,
                body: Ok(packet.body_len.unwrap_or_default()),
                after: Some(after),
            },
            Expect::Error(error) => PacketCheck::Error(error),
            Expect::FramingError {
                packet,
                after,
                error,
            } => PacketCheck::Packet {
                packet,
                body: Err(error),
                after: Some(after),
            },
            Expect::Frames(frames) => frames
                .first()
                .and_then(frame_check)
                .unwrap_or(PacketCheck::CleanEnd),
        }
    }

    /// The frames a stream decoder yields for the whole input (README §3.5): form 4's as
    /// given, and for forms 1 to 3 the ones derived from the packet or the error.
    pub(crate) fn frames(&self) -> Vec<Frame> {
        match &self.expect {
            Expect::Frames(frames) => frames.clone(),
            Expect::Error(error) | Expect::FramingError { error, .. } => {
                vec![Frame::Error(error.clone())]
            }
            Expect::Packet { packet, after } => {
                let n = packet.body_len.unwrap_or_default();
                let body = usize::try_from(n).map_or(after.len(), |n| n.min(after.len()));
                let mut frames = vec![Frame::Packet(packet.clone())];
                if body > 0 {
                    frames.push(Frame::Body(Hex::from(&after[..body])));
                }
                if (after.len() as u64) < n {
                    let error = ErrorSpec::new("TruncatedBody", None)
                        .int("expected", n)
                        .int("received", after.len() as u64);
                    frames.push(Frame::Error(error));
                } else {
                    frames.push(Frame::End);
                    if after.len() > body {
                        frames.push(Frame::Trailing(Hex::from(&after[body..])));
                    }
                }
                frames
            }
        }
    }

    /// Whether the input holds a whole valid message: its stream outcome has no error.
    pub(crate) fn well_formed(&self) -> bool {
        !self
            .frames()
            .iter()
            .any(|frame| matches!(frame, Frame::Error(_)))
    }
}

/// `input` of an encoder vector (README §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeInput {
    /// Header byte 0.
    pub(crate) modifier1: u8,
    /// Header byte 3 (0 when absent).
    pub(crate) modifier2: u8,
    /// Pairs in order, duplicates included.
    pub(crate) pairs: Vec<(Hex, Hex)>,
    /// Array items in order (never together with pairs).
    pub(crate) items: Vec<Hex>,
    /// Bytes appended after the pairs or items as they are (E6).
    pub(crate) raw: Option<Hex>,
    /// The body length the packet frames (E7).
    pub(crate) body_len: Option<u64>,
    /// The encoder's block limit (65535 when absent).
    pub(crate) max_datasize: Option<u64>,
    /// Whether code- and process-affecting `UWSGI_*` keys may be written (M3).
    pub(crate) allow_magic: bool,
}

/// An encoder vector (README §5): what the encoder is given, and the exact packet bytes or
/// the refusal it must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeVector {
    pub(crate) input: EncodeInput,
    pub(crate) expect: EncodeExpect,
    /// Name, description and source.
    pub(crate) label: Label,
}

/// `expect` of an encoder vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EncodeExpect {
    /// The exact packet bytes, header included.
    Wire(Hex),
    /// The refusal; nothing may be written.
    Error(ErrorSpec),
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Reads every `*.json` file of `dir` (sorted by name, with `std::fs::read_dir`), checks it
/// against the schema and checks that vector names are unique across the files.
pub(crate) fn load_dir(dir: &Path) -> Result<Vec<VectorFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Files::default();
    for path in paths {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        files.add(&name, &text)?;
    }
    Ok(files.files)
}

/// Parses vector files given as (file name, text), in the order given, as [`load_dir`] parses
/// the files it reads: each against the schema, vector names unique across the files.
pub(crate) fn parse_files<'t>(
    texts: impl IntoIterator<Item = (&'t str, &'t str)>,
) -> Result<Vec<VectorFile>, String> {
    let mut files = Files::default();
    for (name, text) in texts {
        files.add(name, text)?;
    }
    Ok(files.files)
}

/// The files parsed so far, and which file each vector name came from.
#[derive(Default)]
struct Files {
    files: Vec<VectorFile>,
    seen: BTreeMap<String, String>,
}

impl Files {
    /// Parses the file `name` and adds it; an error if one of its vector names is taken.
    fn add(&mut self, name: &str, text: &str) -> Result<(), String> {
        let file = parse_file(name, text)?;
        for vector in file.vector_names() {
            if let Some(other) = self.seen.insert(vector.to_owned(), name.to_owned()) {
                return Err(format!(
                    "{name}: vector name {vector:?} is also used in {other}"
                ));
            }
        }
        self.files.push(file);
        Ok(())
    }
}

impl VectorFile {
    /// The names of the file's vectors, in file order.
    pub(crate) fn vector_names(&self) -> Vec<&str> {
        match &self.content {
            Content::Decode(vectors) => vectors.iter().map(|v| v.label.name.as_str()).collect(),
            Content::Encode(vectors) => vectors.iter().map(|v| v.label.name.as_str()).collect(),
            Content::Unknown(_) => Vec::new(),
        }
    }
}

/// Parses the text of the vector file `name` (README §2).
pub(crate) fn parse_file(name: &str, text: &str) -> Result<VectorFile, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    let map = doc
        .as_object()
        .ok_or_else(|| format!("{name}: not a JSON object"))?;
    let schema = match map.get("schema") {
        None => DECODE_SCHEMA,
        Some(Value::String(schema)) => schema.as_str(),
        Some(other) => return Err(format!("{name}: schema {other} is not a string")),
    };
    if schema != DECODE_SCHEMA && schema != ENCODE_SCHEMA {
        return Ok(VectorFile {
            name: name.to_owned(),
            content: Content::Unknown(schema.to_owned()),
        });
    }
    let fields = Fields::new(map, name, "description schema vectors")?;
    fields.string("description")?;
    let list = fields
        .req("vectors")?
        .as_array()
        .ok_or_else(|| fields.fail("vectors", "not an array"))?;
    let context = |i: usize, vector: &Value| {
        let label = vector.get("name").and_then(Value::as_str).unwrap_or("?");
        format!("{name} #{i} {label}")
    };
    let content = if schema == DECODE_SCHEMA {
        let vectors = list.iter().enumerate();
        Content::Decode(
            vectors
                .map(|(i, vector)| decode_vector(vector, &context(i, vector)))
                .collect::<Result<_, _>>()?,
        )
    } else {
        let vectors = list.iter().enumerate();
        Content::Encode(
            vectors
                .map(|(i, vector)| encode_vector(vector, &context(i, vector)))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(VectorFile {
        name: name.to_owned(),
        content,
    })
}

/// The fields of one JSON object, read with `ctx` (file, vector, field) in every error.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    ctx: String,
}

impl<'a> Fields<'a> {
    /// `map`, refusing any field outside `allowed`, a list of names separated by spaces
    /// (README §1: unknown fields are errors).
    fn new(map: &'a Map<String, Value>, ctx: &str, allowed: &str) -> Result<Self, String> {
        if let Some(key) = map
            .keys()
            .find(|key| !allowed.split(' ').any(|a| a == *key))
        {
            return Err(format!("{ctx}: unknown field {key:?}"));
        }
        Ok(Fields {
            map,
            ctx: ctx.to_owned(),
        })
    }

    /// `value` as an object with only `allowed` fields.
    fn of(value: &'a Value, ctx: &str, allowed: &str) -> Result<Self, String> {
        let map = value
            .as_object()
            .ok_or_else(|| format!("{ctx}: not an object: {value}"))?;
        Fields::new(map, ctx, allowed)
    }

    fn fail(&self, key: &str, what: &str) -> String {
        format!("{}: {key}: {what}", self.ctx)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn req(&self, key: &str) -> Result<&'a Value, String> {
        self.opt(key).ok_or_else(|| self.fail(key, "missing"))
    }

    fn string(&self, key: &str) -> Result<&'a str, String> {
        self.req(key)?
            .as_str()
            .ok_or_else(|| self.fail(key, "not a string"))
    }

    fn uint(&self, key: &str) -> Result<u64, String> {
        self.req(key)?
            .as_u64()
            .ok_or_else(|| self.fail(key, "not a non-negative integer"))
    }

    fn byte(&self, key: &str) -> Result<u8, String> {
        u8::try_from(self.uint(key)?).map_err(|_| self.fail(key, "not a byte"))
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.opt(key) {
            None => Ok(default),
            Some(value) => value.as_bool().ok_or_else(|| self.fail(key, "not a bool")),
        }
    }

    fn data(&self, key: &str) -> Result<Hex, String> {
        hex_data(self.req(key)?)
            .map(Hex)
            .map_err(|e| self.fail(key, &e))
    }

    fn list(&self, key: &str) -> Result<&'a [Value], String> {
        match self.opt(key) {
            None => Ok(&[]),
            Some(value) => value
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| self.fail(key, "not an array")),
        }
    }

    /// One of `choices` (JSON string → value), or `default` when absent.
    fn choice<T: Copy>(&self, key: &str, default: T, choices: &[(&str, T)]) -> Result<T, String> {
        if !self.has(key) {
            return Ok(default);
        }
        let text = self.string(key)?;
        choices
            .iter()
            .find(|(name, _)| *name == text)
            .map(|&(_, value)| value)
            .ok_or_else(|| self.fail(key, &format!("unknown value {text:?}")))
    }

    /// `name`, `description` and `source` (README §2).
    fn label(&self) -> Result<Label, String> {
        let name = self.string("name")?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(self.fail("name", "not ASCII letters, digits and _"));
        }
        let description = self.string("description")?;
        if description.is_empty() || description.contains('\n') {
            return Err(self.fail("description", "not one line"));
        }
        let source = self.string("source")?;
        if Source::of(source).is_none() {
            return Err(self.fail("source", "an unknown prefix"));
        }
        Ok(Label {
            name: name.to_owned(),
            description: description.to_owned(),
            source: source.to_owned(),
        })
    }
}

/// Pairs `[{"key_hex", "value_hex"}]`.
fn pairs(list: &[Value], ctx: &str) -> Result<Vec<(Hex, Hex)>, String> {
    list.iter()
        .map(|pair| {
            let pair = Fields::of(pair, ctx, "key_hex value_hex")?;
            Ok((pair.data("key_hex")?, pair.data("value_hex")?))
        })
        .collect()
}

/// Items: hex data each.
fn items(list: &[Value], ctx: &str) -> Result<Vec<Hex>, String> {
    list.iter()
        .map(|item| {
            hex_data(item)
                .map(Hex)
                .map_err(|e| format!("{ctx}: items: {e}"))
        })
        .collect()
}

fn decode_vector(value: &Value, ctx: &str) -> Result<DecodeVector, String> {
    let allowed = "name description source wire_hex options expect";
    let fields = Fields::of(value, ctx, allowed)?;
    let label = fields.label()?;
    let wire = fields.data("wire_hex")?;
    let options = match fields.opt("options") {
        None => Options::default(),
        Some(options) => decode_options(options, &format!("{ctx}: options"))?,
    };
    let expect = decode_expect(fields.req("expect")?, &format!("{ctx}: expect"), &wire)?;
    let framed = matches!(expect, Expect::Frames(_));
    if options.mode == Mode::Persistent && !framed {
        return Err(format!("{ctx}: mode \"persistent\" needs expect.frames"));
    }
    if options.datagram && framed {
        return Err(format!("{ctx}: a datagram has no frames"));
    }
    Ok(DecodeVector {
        label,
        wire,
        options,
        expect,
    })
}

fn decode_options(value: &Value, ctx: &str) -> Result<Options, String> {
    let allowed = "max_datasize max_vars foreign_check magic_policy direction datagram mode";
    let fields = Fields::of(value, ctx, allowed)?;
    let defaults = Options::default();
    Ok(Options {
        max_datasize: match fields.has("max_datasize") {
            true => fields.uint("max_datasize")?,
            false => defaults.max_datasize,
        },
        max_vars: match fields.opt("max_vars") {
            None | Some(Value::Null) => None,
            Some(_) => Some(fields.uint("max_vars")?),
        },
        foreign_check: fields.flag("foreign_check", defaults.foreign_check)?,
        magic_policy: fields.choice(
            "magic_policy",
            defaults.magic_policy,
            &[("allow", Magic::Allow), ("refuse", Magic::Refuse)],
        )?,
        direction: fields.choice(
            "direction",
            defaults.direction,
            &[("request", Side::Request), ("reply", Side::Reply)],
        )?,
        datagram: fields.flag("datagram", defaults.datagram)?,
        mode: fields.choice(
            "mode",
            defaults.mode,
            &[
                ("one-request", Mode::OneRequest),
                ("persistent", Mode::Persistent),
            ],
        )?,
    })
}

fn decode_expect(value: &Value, ctx: &str, wire: &[u8]) -> Result<Expect, String> {
    let fields = Fields::of(value, ctx, "packet error frames")?;
    let packet = |top| {
        let packet = fields.req("packet")?;
        packet_spec(packet, &format!("{ctx}: packet"), top)
    };
    let error = || error_spec(fields.req("error")?, &format!("{ctx}: error"));
    match (
        fields.has("packet"),
        fields.has("error"),
        fields.has("frames"),
    ) {
        (true, false, false) => {
            let (packet, after) = packet(true)?;
            if packet.body_len.is_none() {
                return Err(format!("{ctx}: packet: body_len is required in form 1"));
            }
            let after = after.unwrap_or_default();
            Ok(Expect::Packet { packet, after })
        }
        (false, true, false) => Ok(Expect::Error(error()?)),
        (true, true, false) => {
            let (packet, after) = packet(true)?;
            let error = error()?;
            if error.stage() != Some(Stage::Framing) || packet.body_len.is_some() {
                return Err(format!(
                    "{ctx}: a packet next to an error is only for framing errors, without body_len"
                ));
            }
            let after = after.unwrap_or_default();
            Ok(Expect::FramingError {
                packet,
                after,
                error,
            })
        }
        (false, false, true) => {
            let list = fields.list("frames")?;
            let frames = list
                .iter()
                .map(|frame| frame_spec(frame, &format!("{ctx}: frames")))
                .collect::<Result<Vec<_>, _>>()?;
            if frames.is_empty() != wire.is_empty() {
                return Err(format!("{ctx}: frames are empty exactly when the input is"));
            }
            for (i, frame) in frames.iter().enumerate() {
                match frame {
                    Frame::Error(_) if i + 1 != frames.len() => {
                        return Err(format!("{ctx}: frame {i}: an error is always last"));
                    }
                    Frame::Body(bytes) | Frame::Trailing(bytes) if bytes.is_empty() => {
                        return Err(format!("{ctx}: frame {i}: an empty chunk"));
                    }
                    _ => {}
                }
            }
            Ok(Expect::Frames(frames))
        }
        _ => Err(format!(
            "{ctx}: holds packet, error, packet + error, or frames"
        )),
    }
}

/// A packet object; `top`: `expect.packet` (with `after_hex`), else a frame (without).
fn packet_spec(value: &Value, ctx: &str, top: bool) -> Result<(PacketSpec, Option<Hex>), String> {
    let allowed = "modifier1 datasize modifier2 block_kind vars items raw_hex body_len after_hex";
    let fields = Fields::of(value, ctx, allowed)?;
    let (block_field, block) = match fields.string("block_kind")? {
        "vars" => ("vars", BlockSpec::Vars(pairs(fields.list("vars")?, ctx)?)),
        "array" => (
            "items",
            BlockSpec::Items(items(fields.list("items")?, ctx)?),
        ),
        "raw" => ("raw_hex", BlockSpec::Raw(fields.data("raw_hex")?)),
        other => return Err(fields.fail("block_kind", &format!("unknown kind {other:?}"))),
    };
    for field in ["vars", "items", "raw_hex"] {
        if fields.has(field) != (field == block_field) {
            return Err(format!(
                "{ctx}: the block is given by {block_field} and no other field"
            ));
        }
    }
    let after = match fields.has("after_hex") {
        true => Some(fields.data("after_hex")?),
        false => None,
    };
    if after.is_some() != top {
        return Err(format!(
            "{ctx}: after_hex is required in expect.packet and not allowed in a frame"
        ));
    }
    let body_len = match fields.has("body_len") {
        true => Some(fields.uint("body_len")?),
        false if top => None,
        false => return Err(fields.fail("body_len", "required in a frame")),
    };
    let datasize = u16::try_from(fields.uint("datasize")?)
        .map_err(|_| fields.fail("datasize", "over 65535"))?;
    let packet = PacketSpec {
        modifier1: fields.byte("modifier1")?,
        datasize,
        modifier2: fields.byte("modifier2")?,
        block,
        body_len,
    };
    Ok((packet, after))
}

fn frame_spec(value: &Value, ctx: &str) -> Result<Frame, String> {
    let allowed = "packet body_hex end trailing_hex error";
    let fields = Fields::of(value, ctx, allowed)?;
    if fields.map.len() != 1 {
        return Err(format!("{ctx}: a frame has exactly one field: {value}"));
    }
    if fields.has("packet") {
        let (packet, _) = packet_spec(fields.req("packet")?, ctx, false)?;
        Ok(Frame::Packet(packet))
    } else if fields.has("body_hex") {
        Ok(Frame::Body(fields.data("body_hex")?))
    } else if fields.has("trailing_hex") {
        Ok(Frame::Trailing(fields.data("trailing_hex")?))
    } else if fields.has("error") {
        Ok(Frame::Error(error_spec(fields.req("error")?, ctx)?))
    } else if fields.req("end")? == &Value::Bool(true) {
        Ok(Frame::End)
    } else {
        Err(fields.fail("end", "must be true"))
    }
}

fn error_spec(value: &Value, ctx: &str) -> Result<ErrorSpec, String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("{ctx}: not an object: {value}"))?;
    // Which members a kind carries is checked below, against `KINDS`.
    let fields = Fields {
        map,
        ctx: ctx.to_owned(),
    };
    let kind = fields.string("kind")?;
    let offset = match fields.req("offset")? {
        Value::Null => None,
        _ => Some(fields.uint("offset")?),
    };
    let mut error = ErrorSpec::new(kind, offset);
    for (key, value) in map {
        if key == "kind" || key == "offset" {
            continue;
        }
        let member = match value {
            Value::String(name) => Member::Name(name.clone()),
            Value::Number(n) => Member::Int(
                n.as_u64()
                    .ok_or_else(|| fields.fail(key, "not a non-negative integer"))?,
            ),
            other => {
                return Err(fields.fail(key, &format!("neither a name nor an integer: {other}")));
            }
        };
        error.members.insert(key.clone(), member);
    }
    error.check().map_err(|e| format!("{ctx}: {e}"))?;
    Ok(error)
}

fn encode_vector(value: &Value, ctx: &str) -> Result<EncodeVector, String> {
    let fields = Fields::of(value, ctx, "name description source input expect")?;
    let label = fields.label()?;
    let input_ctx = format!("{ctx}: input");
    let allowed = "modifier1 modifier2 pairs items raw_hex body_len max_datasize allow_magic";
    let input = Fields::of(fields.req("input")?, &input_ctx, allowed)?;
    if input.has("pairs") && input.has("items") {
        return Err(format!("{input_ctx}: pairs or items, not both"));
    }
    let optional = |key: &str| match input.has(key) {
        true => input.uint(key).map(Some),
        false => Ok(None),
    };
    let input_spec = EncodeInput {
        modifier1: input.byte("modifier1")?,
        modifier2: match input.has("modifier2") {
            true => input.byte("modifier2")?,
            false => 0,
        },
        pairs: pairs(input.list("pairs")?, &input_ctx)?,
        items: items(input.list("items")?, &input_ctx)?,
        raw: match input.has("raw_hex") {
            true => Some(input.data("raw_hex")?),
            false => None,
        },
        body_len: optional("body_len")?,
        max_datasize: optional("max_datasize")?,
        allow_magic: input.flag("allow_magic", false)?,
    };
    let expect_ctx = format!("{ctx}: expect");
    let expect = Fields::of(fields.req("expect")?, &expect_ctx, "wire_hex error")?;
    let expect = match (expect.has("wire_hex"), expect.has("error")) {
        (true, false) => EncodeExpect::Wire(expect.data("wire_hex")?),
        (false, true) => {
            let error = error_spec(expect.req("error")?, &expect_ctx)?;
            EncodeExpect::Error(error)
        }
        _ => return Err(format!("{expect_ctx}: holds wire_hex or error")),
    };
    Ok(EncodeVector {
        label,
        input: input_spec,
        expect,
    })
}
