//! `uwsgi record`: listens as a front end's uwsgi upstream and saves what it sends, one decode
//! vector per connection (tests/vectors/README.md §3), each answered with a small 200 so that
//! the front end finishes its request.
//!
//! A connection is read leniently, so that a front end's faults are recorded too: the header,
//! `datasize` block bytes, then as many body bytes as the leading digits of `CONTENT_LENGTH`
//! say (or until the front end pauses for `QUIET`), then a short wait for anything more. The
//! vector's expected outcome is what this crate decodes from those bytes (the vector's
//! `source` says so); its name comes from an `X-Capture-Name` header when the request has one.
//! The file is rewritten after every connection, so stopping the recorder loses nothing.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::{Instant, timeout_at};
use uwsgi_codec::{Block, Error, Parser};

use crate::RecordArgs;
use crate::hex;
use crate::net::{Conn, Listener, seconds};

/// How long a front end may pause before what it sent counts as all of it.
const QUIET: Duration = Duration::from_millis(300);
/// The most bytes kept from one connection.
const CAP: usize = 16 << 20;

/// The reply every recorded request gets.
pub(crate) const REPLY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nrecorded\n";

/// How many bytes the request in `buf` has, read leniently; `None` while unknown.
fn lenient_len(buf: &[u8]) -> Option<usize> {
    let &[_, low, high, _] = buf.get(..4)? else {
        return None;
    };
    let end = 4 + usize::from(u16::from_le_bytes([low, high]));
    let block = buf.get(4..end)?;
    let (mut at, mut body) = (0, 0usize);
    while let Some(&[kl, kh]) = block.get(at..at + 2) {
        let key_len = usize::from(u16::from_le_bytes([kl, kh]));
        let key = block.get(at + 2..at + 2 + key_len);
        let Some(&[vl, vh]) = block.get(at + 2 + key_len..at + 4 + key_len) else {
            break;
        };
        let value_len = usize::from(u16::from_le_bytes([vl, vh]));
        let value = block.get(at + 4 + key_len..at + 4 + key_len + value_len);
        if key == Some(b"CONTENT_LENGTH") {
            let digits = value
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit());
            body = digits.fold(0usize, |n, d| {
                n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
            });
        }
        at += 4 + key_len + value_len;
    }
    Some(end.saturating_add(body))
}

/// Reads one front-end connection, answers it, and returns every byte it sent.
pub(crate) async fn capture(mut stream: Box<dyn Conn>, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut answered = false;
    // Each turn reads once; reads end at EOF, an error, a pause or the deadline.
    loop {
        let whole = lenient_len(&buf).is_some_and(|len| buf.len() >= len);
        if whole && !answered {
            let _ = stream.write_all(REPLY).await;
            let _ = stream.flush().await;
            answered = true;
        }
        let pause = (Instant::now() + QUIET).min(deadline);
        match timeout_at(pause, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                let room = CAP.saturating_sub(buf.len());
                buf.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
            }
            Err(_) if answered || Instant::now() >= deadline => break,
            Err(_) => {
                // A pause before the request is whole: answer what came (it is all there is).
                let _ = stream.write_all(REPLY).await;
                answered = true;
            }
        }
    }
    let _ = stream.shutdown().await;
    buf
}

/// The JSON error object of README §4 for a decoding error.
pub(crate) fn error_object(error: &Error) -> Value {
    let mut object = json!({"kind": error.kind(), "offset": error.offset()});
    let extra = match error {
        Error::ForeignProtocol {
            protocol,
            modifier1,
            datasize,
        } => {
            json!({"protocol": format!("{protocol:?}"), "modifier1": modifier1, "datasize": datasize})
        }
        Error::TooLarge { len, max } => json!({"len": len, "max": max}),
        Error::TruncatedLength { field, .. } => json!({"field": field.name()}),
        Error::Overrun {
            field,
            len,
            available,
            ..
        } => {
            json!({"field": field.name(), "len": len, "available": available})
        }
        Error::TooManyVars { max, .. } => json!({"max": max}),
        Error::UnexpectedEof { needed, .. } => json!({"needed": needed}),
        Error::InvalidContentLength { reason, .. } => json!({"reason": format!("{reason:?}")}),
        Error::ConflictingContentLength { first, second, .. } => {
            json!({"first": first, "second": second})
        }
        _ => json!({}),
    };
    if let (Value::Object(object), Value::Object(extra)) = (&mut object, extra) {
        object.extend(extra);
    }
    object
}

/// The packet object of README §3.3 (with `body_len`), or the error.
pub(crate) fn decode(wire: &[u8]) -> Result<(Value, u64, usize), Value> {
    let packet = Parser::new()
        .parse_eof(wire)
        .map_err(|err| error_object(&err))?
        .ok_or_else(|| json!({"kind": "UnexpectedEof", "offset": 0, "needed": 4}))?;
    let body_len = packet.body_len().map_err(|err| error_object(&err))?;
    let mut object = json!({
        "modifier1": packet.modifier1().0, "datasize": packet.datasize(),
        "modifier2": packet.modifier2(), "body_len": body_len,
    });
    let (kind, block) = match packet.block() {
        Block::Vars(vars) => (
            "vars",
            json!(
                vars.iter()
                    .map(|(k, v)| json!({"key_hex": hex::encode(k), "value_hex": hex::encode(v)}))
                    .collect::<Vec<_>>()
            ),
        ),
        Block::Array(items) => (
            "array",
            json!(items.iter().map(hex::encode).collect::<Vec<_>>()),
        ),
        Block::Raw(raw) => ("raw", json!(hex::encode(raw))),
    };
    if let Value::Object(map) = &mut object {
        map.insert("block_kind".into(), json!(kind));
        let field = match kind {
            "vars" => "vars",
            "array" => "items",
            _ => "raw_hex",
        };
        map.insert(field.into(), block);
    }
    Ok((object, body_len, packet.wire_len()))
}

/// One connection's bytes as a decode vector.
pub(crate) fn vector(wire: &[u8], name: &str, front_end: &str) -> Value {
    let expect = match decode(wire) {
        Ok((mut packet, _, len)) => {
            if let Value::Object(map) = &mut packet {
                map.insert(
                    "after_hex".into(),
                    json!(hex::encode(wire.get(len..).unwrap_or_default())),
                );
            }
            json!({"packet": packet})
        }
        Err(error) => json!({"error": error}),
    };
    json!({
        "name": name,
        "description": format!("what {front_end} sent to its uwsgi upstream ({} bytes)", wire.len()),
        "source": format!("{front_end} capture (uwsgi record; outcome as uwsgi-codec decodes it)"),
        "wire_hex": hex::encode(wire),
        "expect": expect,
    })
}

/// The value of `HTTP_X_CAPTURE_NAME`, as a vector name, when the packet has one.
pub(crate) fn capture_name(wire: &[u8]) -> Option<String> {
    let packet = Parser::new().parse_eof(wire).ok().flatten()?;
    let value = packet.vars()?.get("HTTP_X_CAPTURE_NAME")?;
    let name: String = value
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    (!name.is_empty()).then_some(name)
}

fn write(path: Option<&Path>, front_end: &str, vectors: &[Value]) -> Result<(), String> {
    let doc = json!({
        "description": format!("Recorded by `uwsgi record` from {front_end}: one vector per upstream connection."),
        "schema": crate::conformance::DECODE_SCHEMA,
        "vectors": vectors,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            crate::conformance::print_line(text.trim_end());
            Ok(())
        }
    }
}

/// Runs `uwsgi record`; returns the exit status.
pub(crate) async fn run(args: &RecordArgs) -> u8 {
    let duration = match seconds(args.duration, "--duration") {
        Ok(duration) => duration,
        Err(message) => {
            eprintln!("uwsgi record: {message}");
            return 2;
        }
    };
    let (listener, address) = match Listener::bind(&args.listen).await {
        Ok(bound) => bound,
        Err(message) => {
            eprintln!("uwsgi record: {message}");
            return 1;
        }
    };
    crate::conformance::print_line(&format!("listening on {address}"));
    let stop = Instant::now() + duration;
    let mut vectors: Vec<Value> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for count in 1..=args.count.unwrap_or(usize::MAX) {
        let accepted = tokio::select! {
            accepted = listener.accept(count as u64) => accepted,
            () = tokio::time::sleep_until(stop) => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let wire = capture(stream, Duration::from_secs(10)).await;
        let mut name = capture_name(&wire).unwrap_or_else(|| format!("{}_{count:03}", args.prefix));
        if names.contains(&name) {
            name = format!("{name}_{count:03}");
        }
        eprintln!("uwsgi record: {name}: {} bytes from {peer}", wire.len());
        vectors.push(vector(&wire, &name, &args.front_end));
        names.push(name);
        if args.out.is_some() {
            if let Err(message) = write(args.out.as_deref(), &args.front_end, &vectors) {
                eprintln!("uwsgi record: {message}");
                return 1;
            }
        }
    }
    match write(args.out.as_deref(), &args.front_end, &vectors) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("uwsgi record: {message}");
            1
        }
    }
}
