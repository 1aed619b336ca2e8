//! `uwsgi inspect`: decode uwsgi packets and print an annotated dump (or JSON lines).
//!
//! The input is a stream: packet, body, packet, body ... (uWSGI `--puwsgi-socket` style, the
//! persistent mode of PROTOCOL.md §5 C8). After a packet whose kind frames a body
//! (`CONTENT_LENGTH` for request families and RPC modifier2 5, `size` for cache modifier2 17)
//! that many bytes are its body; any bytes after that are decoded as the next packet.
//! Decoding stops at the end of the input, or at the first error: after an error a uwsgi
//! stream cannot be resynchronised.
//!
//! **JSON**: one object per line, one line per packet:
//! `{"modifier1":N,"datasize":N,"modifier2":N,"vars":[{"key":S,"value":S,"key_hex":H,
//! "value_hex":H},...],"body_len":N}` (`key`/`value` are `null` when not UTF-8; array blocks
//! add `"items":[H,...]`, raw blocks `"raw_hex":H`; `body_len` counts the body bytes present).
//! On an error the last line is `{"error":{"kind":S,"offset":N|null,"message":S,"hint":S}}`;
//! a packet whose body length is invalid gets only the error line.
//!
//! Exit status: 0 when the whole input decoded, 1 on a decoding error, 2 on a usage error, an
//! unreadable input or bad hex text (one line on stderr).

mod text;

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use uwsgi_codec::codec::Error;
use uwsgi_codec::{Block, Direction, PacketRef, Parser};

use crate::InspectArgs;
use crate::hex;

/// The capture dumped when no input is named: a real nginx 1.22.1 GET (1014 bytes).
const BUNDLED: &[u8] = include_bytes!("../../data/nginx-get.bin");

/// Where the bytes come from.
enum Input {
    Bundled,
    Stdin,
    File(PathBuf),
}

impl Input {
    fn of(args: &InspectArgs) -> Input {
        match &args.path {
            None => Input::Bundled,
            Some(path) if path.as_os_str() == "-" => Input::Stdin,
            Some(path) => Input::File(path.clone()),
        }
    }

    /// A name for the input, for messages and the dump's first line.
    fn name(&self) -> String {
        match self {
            Input::Bundled => "tests/captures/nginx-get.bin (bundled nginx capture)".into(),
            Input::Stdin => "stdin".into(),
            Input::File(path) => path.display().to_string(),
        }
    }

    fn read(&self, hex_text: bool) -> Result<Vec<u8>, String> {
        let bytes = match self {
            Input::Bundled => Ok(BUNDLED.to_vec()),
            Input::File(path) => std::fs::read(path),
            Input::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
            }
        }
        .map_err(|e| format!("cannot read {}: {e}", self.name()))?;
        if hex_text {
            hex::decode_lenient(&bytes).map_err(|e| format!("{}: {e}", self.name()))
        } else {
            Ok(bytes)
        }
    }
}

/// Runs `uwsgi inspect`; returns the exit status.
pub(crate) fn run(args: &InspectArgs) -> u8 {
    let input = Input::of(args);
    if args.hex && matches!(input, Input::Bundled) {
        eprintln!("uwsgi inspect: --hex needs an input path, or - for stdin");
        return 2;
    }
    let bytes = match input.read(args.hex) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("uwsgi inspect: {message}");
            return 2;
        }
    };
    let direction = if args.reply {
        Direction::Reply
    } else {
        Direction::Request
    };
    let parser = Parser::new()
        .with_max_datasize(args.decode.max_datasize)
        .with_direction(direction)
        .with_foreign_check(!args.decode.no_foreign_check);
    let stream = decode(&parser, &bytes);
    let out = if args.json {
        json_lines(&stream)
    } else {
        text::dump(args, &input.name(), &stream)
    };
    // A closed pipe (`uwsgi inspect | head`) is not worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
    u8::from(stream.failure.is_some())
}

/// A packet and the body bytes that follow it.
struct Decoded<'a> {
    /// Where the packet starts in the input.
    start: usize,
    packet: PacketRef<'a>,
    /// The framed body length (0 for kinds without a body); `None` if it is invalid.
    declared: Option<u64>,
    /// The body bytes present (fewer than `declared` if the input ended early).
    body: &'a [u8],
}

/// The first error of a stream.
struct Failure {
    /// Where the failing packet starts in the input (the error's offsets count from here).
    start: usize,
    error: Error,
}

struct Stream<'a> {
    input: &'a [u8],
    packets: Vec<Decoded<'a>>,
    failure: Option<Failure>,
}

fn decode<'a>(parser: &Parser, input: &'a [u8]) -> Stream<'a> {
    let mut stream = Stream {
        input,
        packets: Vec::new(),
        failure: None,
    };
    let mut start = 0;
    while let Some(rest) = input.get(start..) {
        let packet = match parser.parse_eof(rest) {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(error) => {
                stream.failure = Some(Failure {
                    start,
                    error: error.into(),
                });
                break;
            }
        };
        let after = rest.get(packet.wire_len()..).unwrap_or_default();
        let (declared, body, error) = match packet.body_len() {
            Ok(declared) => {
                let present = usize::try_from(declared).map_or(after.len(), |n| n.min(after.len()));
                let body = after.get(..present).unwrap_or_default();
                let received = u64::try_from(present).unwrap_or(u64::MAX);
                let short = (received < declared).then_some(Error::TruncatedBody {
                    expected: declared,
                    received,
                });
                (Some(declared), body, short)
            }
            Err(error) => (None, &[][..], Some(error.into())),
        };
        let wire_len = packet.wire_len();
        stream.packets.push(Decoded {
            start,
            packet,
            declared,
            body,
        });
        if let Some(error) = error {
            stream.failure = Some(Failure { start, error });
            break;
        }
        start += wire_len + body.len();
    }
    stream
}

/// The offset of an error, from its packet's first byte (`None`: it has none).
fn offset(error: &Error) -> Option<usize> {
    error.packet().and_then(uwsgi_codec::Error::offset)
}

fn json_lines(stream: &Stream<'_>) -> String {
    let mut out = String::new();
    for decoded in &stream.packets {
        if decoded.declared.is_some() {
            out.push_str(&json_packet(decoded).to_string());
            out.push('\n');
        }
    }
    if let Some(Failure { error, .. }) = &stream.failure {
        let error = json!({
            "kind": error.kind(),
            "offset": offset(error),
            "message": error.to_string(),
            "hint": error.hint(),
        });
        out.push_str(&json!({ "error": error }).to_string());
        out.push('\n');
    }
    out
}

fn json_packet(decoded: &Decoded<'_>) -> Value {
    let packet = &decoded.packet;
    let mut object = Map::new();
    object.insert("modifier1".into(), json!(packet.modifier1().0));
    object.insert("datasize".into(), json!(packet.datasize()));
    object.insert("modifier2".into(), json!(packet.modifier2()));
    let mut vars = Vec::new();
    match packet.block() {
        Block::Vars(pairs) => {
            for (key, value) in pairs.iter() {
                vars.push(json!({
                    "key": std::str::from_utf8(key).ok(),
                    "value": std::str::from_utf8(value).ok(),
                    "key_hex": hex::encode(key),
                    "value_hex": hex::encode(value),
                }));
            }
        }
        Block::Array(items) => {
            let items: Vec<String> = items.iter().map(hex::encode).collect();
            object.insert("items".into(), json!(items));
        }
        Block::Raw(raw) => {
            object.insert("raw_hex".into(), json!(hex::encode(raw)));
        }
    }
    object.insert("vars".into(), Value::Array(vars));
    object.insert("body_len".into(), json!(decoded.body.len()));
    Value::Object(object)
}
