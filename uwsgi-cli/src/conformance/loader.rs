//! The vector files of tests/vectors (schema: tests/vectors/README.md), read into plain types:
//! std and serde_json only, no uwsgi-codec type, so that any runner can share it.
//!
//! A stand-in with the shape of `tests/vectors/loader.rs` (being written on branch
//! `tests-port`); once that file lands, the runner includes it by path instead.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

/// The decode schema's name (a file without `schema` is a decode file too).
pub(crate) const DECODE_SCHEMA: &str = "uwsgi-vectors/decode/1";

/// One decode vector.
#[derive(Debug, Clone)]
pub(crate) struct DecodeVector {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) description: String,
    pub(crate) source: String,
    /// Every byte of the connection, followed by the end of input.
    pub(crate) wire: Vec<u8>,
    pub(crate) options: Options,
    pub(crate) expect: Expect,
}

/// Decoder settings (README §3.1), defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) max_datasize: u64,
    pub(crate) max_vars: Option<u64>,
    pub(crate) foreign_check: bool,
    /// `magic_policy: "refuse"`.
    pub(crate) magic_refuse: bool,
    /// `direction: "reply"`.
    pub(crate) reply: bool,
    pub(crate) datagram: bool,
    /// `mode: "persistent"`.
    pub(crate) persistent: bool,
    /// The options the vector sets, by name (so a runner can say which one it lacks).
    pub(crate) set: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_datasize: 65535,
            max_vars: None,
            foreign_check: true,
            magic_refuse: false,
            reply: false,
            datagram: false,
            persistent: false,
            set: Vec::new(),
        }
    }
}

/// The expected outcome (README §3.2).
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// Form 1: a packet (with `body_len` and `after`).
    Packet(PacketExpect),
    /// Form 2: an error.
    Error(ErrorExpect),
    /// Form 3: a valid block whose body length cannot be derived.
    PacketError(PacketExpect, ErrorExpect),
    /// Form 4: the frames of a stream decoder.
    Frames(Vec<Frame>),
}

/// A packet object (README §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PacketExpect {
    pub(crate) modifier1: u8,
    pub(crate) datasize: u16,
    pub(crate) modifier2: u8,
    pub(crate) block: Block,
    pub(crate) body_len: Option<u64>,
    pub(crate) after: Option<Vec<u8>>,
}

/// A block's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    Vars(Vec<(Vec<u8>, Vec<u8>)>),
    Items(Vec<Vec<u8>>),
    Raw(Vec<u8>),
}

/// An error object (README §4): the kind, the offset and the other members as they are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorExpect {
    pub(crate) kind: String,
    pub(crate) offset: Option<u64>,
    pub(crate) members: BTreeMap<String, Value>,
}

/// A stream frame (README §3.5).
#[derive(Debug, Clone)]
pub(crate) enum Frame {
    Packet(PacketExpect),
    Body(Vec<u8>),
    End,
    Trailing(Vec<u8>),
    Error(ErrorExpect),
}

/// Every decode vector of every `*.json` file in `dir` (files by name, vectors in order);
/// files of another schema are left out. Names must be unique.
pub(crate) fn load_decode_vectors(dir: &Path) -> Result<Vec<DecodeVector>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut vectors = Vec::new();
    let mut seen = HashMap::new();
    for path in paths {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        match doc.get("schema") {
            None => {}
            Some(Value::String(schema)) if schema == DECODE_SCHEMA => {}
            Some(_) => continue,
        }
        let list = doc.get("vectors").and_then(Value::as_array);
        let list = list.ok_or(format!("{file}: no \"vectors\" array"))?;
        for (i, raw) in list.iter().enumerate() {
            let vector =
                decode_vector(raw, &file).map_err(|e| format!("{file}: vector #{i}: {e}"))?;
            if let Some(other) = seen.insert(vector.name.clone(), file.clone()) {
                return Err(format!(
                    "{file}: vector name {:?} is also used in {other}",
                    vector.name
                ));
            }
            vectors.push(vector);
        }
    }
    Ok(vectors)
}

/// A vector name: ASCII letters, digits and `_`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or(format!("{what} is not an object"))
}

fn text(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(format!("no string {key:?}"))
}

fn integer(map: &Map<String, Value>, key: &str) -> Result<u64, String> {
    map.get(key)
        .and_then(Value::as_u64)
        .ok_or(format!("{key} is not an integer"))
}

fn byte(map: &Map<String, Value>, key: &str) -> Result<u8, String> {
    u8::try_from(integer(map, key)?).map_err(|_| format!("{key} is over 255"))
}

fn decode_vector(raw: &Value, file: &str) -> Result<DecodeVector, String> {
    let map = object(raw, "the vector")?;
    for key in map.keys() {
        let known = [
            "name",
            "description",
            "source",
            "wire_hex",
            "options",
            "expect",
        ];
        if !known.contains(&key.as_str()) {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let name = text(map, "name")?;
    if !valid_name(&name) {
        return Err(format!("bad name {name:?}"));
    }
    let ctx = |e: String| format!("{name}: {e}");
    let wire = data(map.get("wire_hex").ok_or("no wire_hex")?).map_err(ctx)?;
    let options = options(map.get("options")).map_err(ctx)?;
    let expect = expect(object(map.get("expect").unwrap_or(&Value::Null), "expect").map_err(ctx)?)
        .map_err(ctx)?;
    Ok(DecodeVector {
        description: text(map, "description").unwrap_or_default(),
        source: text(map, "source").unwrap_or_default(),
        name,
        file: file.to_owned(),
        wire,
        options,
        expect,
    })
}

fn options(raw: Option<&Value>) -> Result<Options, String> {
    let mut options = Options::default();
    let Some(raw) = raw else { return Ok(options) };
    for (key, value) in object(raw, "options")? {
        let bad = || format!("option {key} = {value} is not valid");
        match key.as_str() {
            "max_datasize" => options.max_datasize = value.as_u64().ok_or_else(bad)?.min(65535),
            "max_vars" => {
                options.max_vars = if value.is_null() {
                    None
                } else {
                    Some(value.as_u64().ok_or_else(bad)?)
                }
            }
            "foreign_check" => options.foreign_check = value.as_bool().ok_or_else(bad)?,
            "magic_policy" => {
                options.magic_refuse = match value.as_str() {
                    Some("refuse") => true,
                    Some("allow") => false,
                    _ => return Err(bad()),
                }
            }
            "direction" => {
                options.reply = match value.as_str() {
                    Some("reply") => true,
                    Some("request") => false,
                    _ => return Err(bad()),
                }
            }
            "datagram" => options.datagram = value.as_bool().ok_or_else(bad)?,
            "mode" => {
                options.persistent = match value.as_str() {
                    Some("persistent") => true,
                    Some("one-request") => false,
                    _ => return Err(bad()),
                }
            }
            _ => return Err(format!("unknown option {key:?}")),
        }
        options.set.push(key.clone());
    }
    Ok(options)
}

fn expect(map: &Map<String, Value>) -> Result<Expect, String> {
    let error = map.get("error").map(error).transpose()?;
    if let Some(frames) = map.get("frames") {
        let frames = frames.as_array().ok_or("expect.frames is not an array")?;
        return frames
            .iter()
            .map(frame)
            .collect::<Result<_, _>>()
            .map(Expect::Frames);
    }
    let packet = map.get("packet").map(packet).transpose()?;
    match (packet, error) {
        (Some(packet), None) => Ok(Expect::Packet(packet)),
        (None, Some(error)) => Ok(Expect::Error(error)),
        (Some(packet), Some(error)) => Ok(Expect::PacketError(packet, error)),
        (None, None) => Err("expect holds neither packet, error nor frames".into()),
    }
}

fn frame(raw: &Value) -> Result<Frame, String> {
    let map = object(raw, "a frame")?;
    if let Some(packet) = map.get("packet") {
        return self::packet(packet).map(Frame::Packet);
    }
    if let Some(body) = map.get("body_hex") {
        return data(body).map(Frame::Body);
    }
    if let Some(trailing) = map.get("trailing_hex") {
        return data(trailing).map(Frame::Trailing);
    }
    if let Some(error) = map.get("error") {
        return self::error(error).map(Frame::Error);
    }
    match map.get("end") {
        Some(Value::Bool(true)) => Ok(Frame::End),
        _ => Err(format!("unknown frame {raw}")),
    }
}

fn packet(raw: &Value) -> Result<PacketExpect, String> {
    let map = object(raw, "a packet")?;
    let datasize =
        u16::try_from(integer(map, "datasize")?).map_err(|_| "datasize is over 65535")?;
    let block = match map.get("block_kind").and_then(Value::as_str) {
        Some("vars") => {
            let list = map
                .get("vars")
                .and_then(Value::as_array)
                .ok_or("no vars list")?;
            let pair = |pair: &Value| {
                let pair = object(pair, "a pair")?;
                let part = |key: &str| data(pair.get(key).ok_or(format!("no {key}"))?);
                Ok::<_, String>((part("key_hex")?, part("value_hex")?))
            };
            Block::Vars(list.iter().map(pair).collect::<Result<_, _>>()?)
        }
        Some("array") => {
            let list = map
                .get("items")
                .and_then(Value::as_array)
                .ok_or("no items list")?;
            Block::Items(list.iter().map(data).collect::<Result<_, _>>()?)
        }
        Some("raw") => Block::Raw(data(map.get("raw_hex").ok_or("no raw_hex")?)?),
        _ => return Err("block_kind is not vars, array or raw".into()),
    };
    Ok(PacketExpect {
        modifier1: byte(map, "modifier1")?,
        datasize,
        modifier2: byte(map, "modifier2")?,
        block,
        body_len: map
            .get("body_len")
            .map(|_| integer(map, "body_len"))
            .transpose()?,
        after: map.get("after_hex").map(data).transpose()?,
    })
}

fn error(raw: &Value) -> Result<ErrorExpect, String> {
    let map = object(raw, "an error")?;
    let mut members: BTreeMap<String, Value> = map.clone().into_iter().collect();
    let kind = members
        .remove("kind")
        .and_then(|k| k.as_str().map(str::to_owned));
    let offset = members.remove("offset").ok_or("an error without offset")?;
    Ok(ErrorExpect {
        kind: kind.ok_or("an error without kind")?,
        offset: offset.as_u64(),
        members,
    })
}

/// "Hex data" (README §1): a hex string, `{"repeat": hex, "count": n}`, or an array of these.
pub(crate) fn data(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::String(text) => crate::hex::decode(text).ok_or(format!("not hex: {text:?}")),
        Value::Object(map) => {
            if map.keys().any(|key| key != "repeat" && key != "count") {
                return Err(format!("bad repeat object {value}"));
            }
            let unit = data(map.get("repeat").unwrap_or(&Value::Null))?;
            let count = map
                .get("count")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| n.saturating_mul(unit.len()) <= 1 << 24)
                .ok_or(format!("bad repeat count in {value}"))?;
            if unit.is_empty() {
                return Err(format!("empty repeat unit in {value}"));
            }
            Ok(unit.repeat(count))
        }
        Value::Array(parts) => {
            let mut out = Vec::new();
            for part in parts {
                out.extend(data(part)?);
            }
            Ok(out)
        }
        _ => Err(format!("not hex data: {value}")),
    }
}
