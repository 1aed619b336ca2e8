//! `inspect`: decode uwsgi packets and print an annotated dump.
//!
//! ```text
//! cargo run --example inspect                         # the bundled nginx capture
//! cargo run --example inspect -- capture.bin          # a file of raw bytes
//! tcpdump ... | cargo run --example inspect -- -      # stdin
//! echo '00 03 00 00 ff ff 00' | cargo run --example inspect -- --hex -
//! cargo run --example inspect -- --json tests/captures/nginx-post.bin
//! ```
//!
//! # Input
//!
//! One path argument: a file, or `-` for stdin. Without one, the real nginx capture bundled
//! with the crate (`tests/captures/nginx-get.bin`) is dumped. With `--hex` the input is hex
//! text (whitespace anywhere is ignored); `--hex` needs a path or `-`.
//!
//! The input is a stream: packet, body, packet, body ... (uWSGI `--puwsgi-socket` style, the
//! persistent mode of PROTOCOL.md §5 C8). After a packet whose kind frames a body
//! (`CONTENT_LENGTH` for request families and RPC modifier2 5, `size` for cache modifier2 17)
//! that many bytes are skipped as its body; any bytes after that are decoded as the next
//! packet. Packets of kinds without a body (ping, RPC arrays, ...) are followed directly by
//! the next packet. Decoding stops at the end of the input, or at the first error: after an
//! error a uwsgi stream cannot be resynchronised.
//!
//! # Options
//!
//! - `--max-datasize N`: refuse blocks longer than N bytes (`TooLarge`); default 65535.
//! - `--reply`: read packets as replies (`Direction::Reply`) rather than requests.
//! - `--no-foreign-check`: do not recognise HTTP, TLS, PROXY, ... preambles.
//! - `--json`: JSON lines instead of the text dump.
//! - `--help`: usage.
//!
//! # Text dump
//!
//! For each packet: where it starts in the input, then rows of `offset  field: value`, where
//! offsets count from the packet's first header byte, as in the library's errors. Keys and
//! values are printed with [`Escaped`] inside quotes, so every byte is visible and each var is
//! one line. For an error: the header (if 4 bytes were there), the error, its offset, a hint
//! and the bytes around the offset (the offending byte in brackets).
//!
//! # JSON
//!
//! One JSON object per line, one line per packet:
//!
//! ```text
//! {"modifier1":N,"datasize":N,"modifier2":N,
//!  "vars":[{"key":S,"value":S,"key_hex":H,"value_hex":H},...],"body_len":N}
//! ```
//!
//! - `key` / `value` are the bytes as a string, or `null` when they are not UTF-8; `key_hex` /
//!   `value_hex` are always there (lower-case hex, no separators).
//! - `body_len` is the number of body bytes that follow this packet in the input: the framed
//!   body length (0 for kinds without a body), or fewer if the input ends early (then a
//!   `TruncatedBody` error line follows).
//! - Array blocks add `"items":[H,...]`, raw blocks add `"raw_hex":H`; both keep `"vars":[]`.
//! - Keys come out in serde_json's order (alphabetical), not in the order above.
//!
//! On an error the last line is
//! `{"error":{"kind":S,"offset":N,"message":S,"hint":S}}`: `kind` is `Error::kind()`,
//! `offset` is `Error::offset()` (from the first byte of the failing packet; `null` when the
//! error has none, as for `TruncatedBody`), `message` the error's `Display`, `hint` its
//! `hint()`. A packet whose body length is invalid (`InvalidContentLength`,
//! `ConflictingContentLength`) gets no packet line, only the error line.
//!
//! # Exit status
//!
//! 0 when the whole input decoded, 1 on a decoding error, 2 on a usage error, an unreadable
//! input or bad hex text (reported on stderr, in both modes).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use uwsgi_codec::{
    Block, BlockKind, BodyFraming, Direction, Error, Escaped, HEADER_LEN, Header, MAX_DATASIZE,
    PacketRef, Parser, Status,
};

const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/captures/nginx-get.bin");

const USAGE: &str = "\
usage: inspect [OPTIONS] [PATH | -]

Decode uwsgi packets (a stream: packet, body, packet ...) and print an annotated dump.
Without PATH, dumps the bundled nginx capture tests/captures/nginx-get.bin; `-` reads stdin.

options:
  --hex               the input is hex text (whitespace ignored), not raw bytes
  --max-datasize N    refuse blocks longer than N bytes (default 65535)
  --reply             read packets as replies, not requests
  --no-foreign-check  do not recognise other protocols (HTTP, TLS, PROXY ...)
  --json              one JSON object per packet, one per line
  --help              this text

exit status: 0 decoded, 1 decoding error, 2 usage or input error
";

/// Bytes of a body or raw block shown in the text dump.
const PREVIEW: usize = 64;
/// Widest key column in the text dump; longer keys push their value right.
const KEY_COLUMN: usize = 32;
/// Bytes shown on each side of an error offset.
const CONTEXT: usize = 8;

/// Writes one line to a `String` (which cannot fail).
macro_rules! outln {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args_os().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print_or_ignore(USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint_or_ignore(&format!("inspect: {message} (see --help)\n"));
            return ExitCode::from(2);
        }
    };
    let input = match options.read_input() {
        Ok(input) => input,
        Err(message) => {
            eprint_or_ignore(&format!("inspect: {message}\n"));
            return ExitCode::from(2);
        }
    };
    let parser = options.parser();
    let stream = decode(&parser, &input);
    let out = if options.json {
        json_lines(&stream)
    } else {
        text_dump(&options, &stream, input.len())
    };
    print_or_ignore(&out);
    if stream.failure.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints to stdout; a closed pipe (`inspect | head`) is not worth a panic.
fn print_or_ignore(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Prints to stderr, ignoring a closed stderr.
fn eprint_or_ignore(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Arguments and input

/// Where the bytes come from.
enum Input {
    Bundled,
    Stdin,
    File(PathBuf),
}

struct Options {
    input: Input,
    hex: bool,
    max_datasize: usize,
    reply: bool,
    foreign_check: bool,
    json: bool,
}

impl Options {
    /// The options, or `None` for `--help`.
    fn parse(args: impl Iterator<Item = OsString>) -> Result<Option<Options>, String> {
        let mut options = Options {
            input: Input::Bundled,
            hex: false,
            max_datasize: MAX_DATASIZE,
            reply: false,
            foreign_check: true,
            json: false,
        };
        let mut args = args.peekable();
        let mut only_paths = false;
        while let Some(arg) = args.next() {
            // An argument that is not UTF-8 can only be a path.
            let text = arg.to_str().unwrap_or_default();
            let (name, inline) = match text.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (text, None),
            };
            match name {
                _ if only_paths || name == "-" || !name.starts_with('-') => {
                    let input = if name == "-" && !only_paths {
                        Input::Stdin
                    } else {
                        Input::File(PathBuf::from(&arg))
                    };
                    if !matches!(std::mem::replace(&mut options.input, input), Input::Bundled) {
                        return Err("give at most one input path".into());
                    }
                }
                "--" => only_paths = true,
                "--help" | "-h" => return Ok(None),
                "--hex" => options.hex = true,
                "--reply" => options.reply = true,
                "--no-foreign-check" => options.foreign_check = false,
                "--json" => options.json = true,
                "--max-datasize" => {
                    let value = inline
                        .or_else(|| args.next().and_then(|next| next.into_string().ok()))
                        .ok_or("--max-datasize needs a number")?;
                    options.max_datasize = value
                        .parse()
                        .map_err(|_| format!("--max-datasize: {value:?} is not a number"))?;
                }
                _ => return Err(format!("unknown option {text}")),
            }
        }
        if options.hex && matches!(options.input, Input::Bundled) {
            return Err("--hex needs an input path, or - for stdin".into());
        }
        Ok(Some(options))
    }

    fn parser(&self) -> Parser {
        let direction = if self.reply {
            Direction::Reply
        } else {
            Direction::Request
        };
        Parser::new()
            .with_max_datasize(self.max_datasize)
            .with_direction(direction)
            .with_foreign_check(self.foreign_check)
    }

    /// A name for the input, for messages and the dump's first line.
    fn input_name(&self) -> String {
        match &self.input {
            Input::Bundled => "tests/captures/nginx-get.bin (bundled nginx capture)".into(),
            Input::Stdin => "stdin".into(),
            Input::File(path) => path.display().to_string(),
        }
    }

    fn read_input(&self) -> Result<Vec<u8>, String> {
        let read = match &self.input {
            Input::Bundled => std::fs::read(BUNDLED),
            Input::File(path) => std::fs::read(path),
            Input::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
            }
        };
        let bytes = read.map_err(|e| format!("cannot read {}: {e}", self.input_name()))?;
        if self.hex {
            unhex(&bytes).map_err(|e| format!("{}: {e}", self.input_name()))
        } else {
            Ok(bytes)
        }
    }
}

/// Decodes hex text, ignoring ASCII whitespace anywhere.
fn unhex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (at, &byte) in text.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        let digit = char::from(byte)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok());
        let Some(digit) = digit else {
            let shown = Escaped(text.get(at..=at).unwrap_or_default());
            return Err(format!("{shown:?} at byte {at} is not a hex digit"));
        };
        match high.take() {
            Some(high) => out.push(high << 4 | digit),
            None => high = Some(digit),
        }
    }
    match high {
        Some(_) => Err("odd number of hex digits".into()),
        None => Ok(out),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn spaced_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Decoding the stream

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
                stream.failure = Some(Failure { start, error });
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
            Err(error) => (None, &[][..], Some(error)),
        };
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
        start += packet.wire_len() + body.len();
    }
    stream
}

// ---------------------------------------------------------------------------------------------
// JSON lines

fn json_lines(stream: &Stream<'_>) -> String {
    let mut out = String::new();
    for decoded in &stream.packets {
        if decoded.declared.is_some() {
            outln!(out, "{}", json_packet(decoded));
        }
    }
    if let Some(Failure { error, .. }) = &stream.failure {
        let error = json!({
            "kind": error.kind(),
            "offset": error.offset(),
            "message": error.to_string(),
            "hint": error.hint(),
        });
        outln!(out, "{}", json!({ "error": error }));
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
            for (key, value) in &pairs {
                vars.push(json!({
                    "key": std::str::from_utf8(key).ok(),
                    "value": std::str::from_utf8(value).ok(),
                    "key_hex": hex(key),
                    "value_hex": hex(value),
                }));
            }
        }
        Block::Array(items) => {
            let items: Vec<String> = items.iter().map(hex).collect();
            object.insert("items".into(), json!(items));
        }
        Block::Raw(raw) => {
            object.insert("raw_hex".into(), json!(hex(raw)));
        }
    }
    object.insert("vars".into(), Value::Array(vars));
    object.insert("body_len".into(), json!(decoded.body.len()));
    Value::Object(object)
}

// ---------------------------------------------------------------------------------------------
// Text dump

/// One dump row: a right-aligned offset column, a right-aligned `label:` column, the value.
fn row(
    out: &mut String,
    offset: impl std::fmt::Display,
    label: &str,
    value: impl std::fmt::Display,
) {
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label}:")
    };
    outln!(out, "{offset:>8}  {label:>10} {value}");
}

/// Bytes as a quoted, escaped string.
fn quoted(bytes: &[u8]) -> String {
    format!("{:?}", Escaped(bytes))
}

/// At most `PREVIEW` bytes, quoted, with a note of how many were left out.
fn preview(bytes: &[u8]) -> String {
    match bytes.get(..PREVIEW) {
        Some(head) if bytes.len() > PREVIEW => {
            format!(
                "{} ... ({} more bytes)",
                quoted(head),
                bytes.len() - PREVIEW
            )
        }
        _ => quoted(bytes),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn text_dump(options: &Options, stream: &Stream<'_>, len: usize) -> String {
    let mut out = String::new();
    let direction = if options.reply { "replies" } else { "requests" };
    outln!(
        out,
        "input: {}, {}, read as {direction}",
        options.input_name(),
        plural(len, "byte", "bytes"),
    );
    let mut settings = Vec::new();
    if options.max_datasize < MAX_DATASIZE {
        settings.push(format!("max datasize {}", options.max_datasize));
    }
    if !options.foreign_check {
        settings.push("foreign-protocol check off".to_owned());
    }
    if !settings.is_empty() {
        outln!(out, "settings: {}", settings.join(", "));
    }
    for (index, decoded) in stream.packets.iter().enumerate() {
        outln!(out);
        text_packet(&mut out, index + 1, decoded);
    }
    outln!(out);
    match &stream.failure {
        Some(failure) => text_failure(&mut out, stream, failure),
        None => {
            let count = plural(stream.packets.len(), "packet", "packets");
            outln!(
                out,
                "end of input at offset {len}: {count}, every byte decoded"
            );
        }
    }
    out
}

fn kind_text(block: BlockKind, body: BodyFraming) -> String {
    let body = match body {
        BodyFraming::None => "no body",
        BodyFraming::ContentLength => "then a body of CONTENT_LENGTH bytes",
        BodyFraming::CacheSize => "then a body of `size` bytes",
    };
    format!("{} block, {body}", block.name())
}

fn header_rows(out: &mut String, header: &Header) {
    row(out, 0, "header", spaced_hex(&header.to_bytes()));
    row(out, 0, "modifier1", header.modifier1);
    let block_end = header.packet_len();
    let datasize = header.datasize;
    row(
        out,
        "1-2",
        "datasize",
        format!("{datasize} (block at {HEADER_LEN}..{block_end})"),
    );
    row(out, 3, "modifier2", header.modifier2);
}

fn text_packet(out: &mut String, number: usize, decoded: &Decoded<'_>) {
    let packet = &decoded.packet;
    let (start, end) = (decoded.start, decoded.start + packet.wire_len());
    outln!(
        out,
        "packet {number} at input offset {start}..{end} ({}); offsets below count from its first byte",
        plural(packet.wire_len(), "byte", "bytes"),
    );
    header_rows(out, &packet.header());
    let kind = packet.kind();
    row(out, "", "kind", kind_text(kind.block, kind.body));
    match packet.block() {
        Block::Vars(vars) => {
            row(out, HEADER_LEN, "vars", plural(vars.len(), "pair", "pairs"));
            let keys: Vec<(usize, String, &[u8])> = vars
                .iter_with_offsets()
                .map(|(offset, key, value)| (offset, Escaped(key).to_string(), value))
                .collect();
            let width = keys
                .iter()
                .map(|(_, key, _)| key.chars().count())
                .max()
                .unwrap_or(0)
                .min(KEY_COLUMN);
            for (offset, key, value) in keys {
                row(out, offset, "", format!("{key:<width$} {}", quoted(value)));
            }
        }
        Block::Array(items) => {
            row(
                out,
                HEADER_LEN,
                "array",
                plural(items.len(), "item", "items"),
            );
            let mut offset = HEADER_LEN;
            for (index, item) in items.iter().enumerate() {
                let index = format!("[{index}]");
                row(out, offset, "", format!("{index:<5} {}", quoted(item)));
                offset += 2 + item.len();
            }
        }
        Block::Raw(raw) => {
            let size = plural(raw.len(), "byte", "bytes");
            row(out, HEADER_LEN, "raw", format!("{size}: {}", preview(raw)));
        }
    }
    let body_offset = packet.wire_len();
    let Some(key) = kind.body.length_key() else {
        row(out, body_offset, "body", "none (this kind has no body)");
        return;
    };
    let name = Escaped(key);
    let source = match packet.vars().and_then(|vars| vars.get(key)) {
        Some(value) => format!("{name} {}", quoted(value)),
        None => format!("no {name}"),
    };
    let body = match decoded.declared {
        None => format!("unknown: {source} is not a valid length"),
        Some(declared) if u64::try_from(decoded.body.len()).is_ok_and(|n| n < declared) => {
            format!("{} of {declared} bytes ({source})", decoded.body.len())
        }
        Some(_) => format!("{} ({source})", plural(decoded.body.len(), "byte", "bytes")),
    };
    if decoded.body.is_empty() {
        row(out, body_offset, "body", body);
    } else {
        row(
            out,
            body_offset,
            "body",
            format!("{body}: {}", preview(decoded.body)),
        );
    }
}

fn text_failure(out: &mut String, stream: &Stream<'_>, failure: &Failure) {
    let Failure { start, error } = failure;
    let number = stream.packets.len() + 1;
    let rest = stream.input.get(*start..).unwrap_or_default();
    let parsed = stream
        .packets
        .last()
        .filter(|decoded| decoded.start == *start);
    if parsed.is_none() {
        outln!(
            out,
            "packet {number} at input offset {start} ({} left): error; offsets below count from its first byte",
            plural(rest.len(), "byte", "bytes"),
        );
        if let Status::Complete(header) = Header::parse(rest) {
            header_rows(out, &header);
        }
    }
    let at = error
        .offset()
        .map_or(String::new(), |offset| offset.to_string());
    row(out, &at, "error", error.kind());
    let message = error.to_string();
    row(out, "", "message", &message);
    if !message.contains(error.hint()) {
        row(out, "", "hint", error.hint());
    }
    if let Some(offset) = error.offset() {
        row(out, "", "bytes", context(rest, offset));
    }
}

/// The bytes around `offset`, the one at `offset` in brackets (`[end]` past the input).
fn context(bytes: &[u8], offset: usize) -> String {
    let from = offset.saturating_sub(CONTEXT);
    let before = bytes.get(from..offset).unwrap_or_default();
    let mut parts: Vec<String> = before.iter().map(|b| format!("{b:02x}")).collect();
    if from > 0 {
        parts.insert(0, "..".into());
    }
    match bytes.get(offset) {
        Some(byte) => parts.push(format!("[{byte:02x}]")),
        None => parts.push("[end of input]".into()),
    }
    let after = bytes.get(offset + 1..).unwrap_or_default();
    parts.extend(after.iter().take(CONTEXT).map(|b| format!("{b:02x}")));
    if after.len() > CONTEXT {
        parts.push("..".into());
    }
    format!("{}  (from offset {from})", parts.join(" "))
}
