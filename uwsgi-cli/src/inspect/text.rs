//! The text dump of `uwsgi inspect`: for each packet, where it starts in the input, then rows
//! of `offset  field: value`, where offsets count from the packet's first header byte, as in
//! the library's errors. Keys and values are printed escaped inside quotes, so every byte is
//! visible and each var is one line. For an error: the header (if 4 bytes were there), the
//! error, its offset, a hint and the bytes around the offset (the offending byte in brackets).

use std::fmt::Write as _;

use uwsgi_codec::{
    Block, BlockKind, BodyFraming, Escaped, HEADER_LEN, Header, MAX_DATASIZE, Status,
};

use super::{Decoded, Failure, Stream, offset};
use crate::InspectArgs;
use crate::hex;

/// Bytes of a body or raw block shown.
const PREVIEW: usize = 64;
/// Widest key column; longer keys push their value right.
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

/// One row: a right-aligned offset column, a right-aligned `label:` column, the value.
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

/// The whole dump.
pub(super) fn dump(args: &InspectArgs, name: &str, stream: &Stream<'_>) -> String {
    let mut out = String::new();
    let len = stream.input.len();
    let direction = if args.reply { "replies" } else { "requests" };
    outln!(
        out,
        "input: {name}, {}, read as {direction}",
        plural(len, "byte", "bytes")
    );
    let mut settings = Vec::new();
    if args.decode.max_datasize < MAX_DATASIZE {
        settings.push(format!("max datasize {}", args.decode.max_datasize));
    }
    if args.decode.no_foreign_check {
        settings.push("foreign-protocol check off".to_owned());
    }
    if !settings.is_empty() {
        outln!(out, "settings: {}", settings.join(", "));
    }
    for (index, decoded) in stream.packets.iter().enumerate() {
        outln!(out);
        packet(&mut out, index + 1, decoded);
    }
    outln!(out);
    match &stream.failure {
        Some(failure) => self::failure(&mut out, stream, failure),
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
    row(out, 0, "header", hex::spaced(&header.to_bytes()));
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

fn packet(out: &mut String, number: usize, decoded: &Decoded<'_>) {
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
    body(out, decoded);
}

fn body(out: &mut String, decoded: &Decoded<'_>) {
    let packet = &decoded.packet;
    let body_offset = packet.wire_len();
    let Some(key) = packet.kind().body.length_key() else {
        row(out, body_offset, "body", "none (this kind has no body)");
        return;
    };
    let name = Escaped(key);
    let source = match packet.vars().and_then(|vars| vars.get(key)) {
        Some(value) => format!("{name} {}", quoted(value)),
        None => format!("no {name}"),
    };
    let text = match decoded.declared {
        None => format!("unknown: {source} is not a valid length"),
        Some(declared) if u64::try_from(decoded.body.len()).is_ok_and(|n| n < declared) => {
            format!("{} of {declared} bytes ({source})", decoded.body.len())
        }
        Some(_) => format!("{} ({source})", plural(decoded.body.len(), "byte", "bytes")),
    };
    if decoded.body.is_empty() {
        row(out, body_offset, "body", text);
    } else {
        row(
            out,
            body_offset,
            "body",
            format!("{text}: {}", preview(decoded.body)),
        );
    }
}

fn failure(out: &mut String, stream: &Stream<'_>, failure: &Failure) {
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
    let at = offset(error).map_or(String::new(), |offset| offset.to_string());
    row(out, &at, "error", error.kind());
    let message = error.to_string();
    row(out, "", "message", &message);
    if !message.contains(error.hint()) {
        row(out, "", "hint", error.hint());
    }
    if let Some(offset) = offset(error) {
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
