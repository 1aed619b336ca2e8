//! App-view checks: what the reference application says it received (the JSON of
//! tests/peers/appview.py or `uwsgi serve --app-view`) against the vector's packet and body.
//!
//! - the path reaches the app as sent: `PATH_INFO` byte for byte, never decoded again (V9);
//! - the method is `REQUEST_METHOD` as sent;
//! - the body is framed by `CONTENT_LENGTH` alone (C1, C4-C6): the app reads exactly the
//!   vector's body bytes (length and SHA-256), complete;
//! - every var passes through with its value, the last one of a repeated key (V10), and
//!   `CONTENT_LENGTH` is the one sent, never `HTTP_CONTENT_LENGTH`'s (C4);
//! - a body cut short never reaches the app as complete (C7).

use std::collections::HashMap;

use serde_json::Value;

use super::plan::Message;
use crate::hex;

/// Text back to bytes as a PEP 3333 server made it (latin-1); `None` if a character is not
/// latin-1 (the server decoded bytes as UTF-8).
fn latin1_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// The bytes of an environ entry's key and value: from the hex element when there is one.
fn entry(entry: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
    let list = entry.as_array()?;
    if let Some(raw) = list.get(2) {
        let part = |key: &str| raw.get(key).and_then(Value::as_str).and_then(hex::decode);
        return Some((part("key_hex")?, part("value_hex")?));
    }
    let part = |i: usize| list.get(i).and_then(Value::as_str).and_then(latin1_bytes);
    Some((part(0)?, part(1)?))
}

/// Every environ entry as bytes, in order.
fn environ(doc: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let list = doc.get("environ").and_then(Value::as_array);
    list.into_iter().flatten().filter_map(entry).collect()
}

fn show(bytes: &[u8]) -> String {
    hex::show(bytes, 48)
}

/// A text field as bytes: `Ok(None)` for null, `Err` for text that is not latin-1.
fn field(doc: &Value, name: &str) -> Result<Option<Vec<u8>>, String> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => latin1_bytes(text).map(Some).ok_or_else(|| {
            format!(
                "{name} {text:?} has characters above U+00FF: the bytes were decoded as UTF-8 ({})",
                show(text.as_bytes())
            )
        }),
        Some(other) => Err(format!("{name} is {other}, not text")),
    }
}

/// Parses the reply body as an app view.
fn document(body: &[u8]) -> Result<Value, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| {
        format!("the reply is not an app view ({}); is the server running tests/peers/appview.py or `uwsgi serve --app-view`?", show(body))
    })?;
    if !doc.get("environ").is_some_and(Value::is_array) {
        return Err("the reply is JSON without an environ list: not an app view".into());
    }
    Ok(doc)
}

/// `Some(what)` when the app view says the app was told its body is incomplete.
pub(crate) fn told_incomplete(body: &[u8]) -> Option<String> {
    let doc = document(body).ok()?;
    if doc.get("body_complete") == Some(&Value::Bool(false)) {
        let error = doc
            .get("body_error")
            .and_then(Value::as_str)
            .unwrap_or("no error");
        let len = doc.get("body_len").and_then(Value::as_u64).unwrap_or(0);
        return Some(format!(
            "the app read {len} bytes and was told the body is incomplete ({error})"
        ));
    }
    None
}

/// The body the app read, for a message a server accepted that it should have refused.
pub(crate) fn body_seen(body: &[u8]) -> Option<String> {
    let doc = document(body).ok()?;
    let len = doc.get("body_len").and_then(Value::as_u64)?;
    let complete = doc.get("body_complete").and_then(Value::as_bool)?;
    let cl = doc
        .get("content_length")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    Some(format!(
        "the app read {len} body bytes as {} (its CONTENT_LENGTH {cl:?})",
        if complete { "complete" } else { "incomplete" }
    ))
}

/// Whether the request is a `HEAD`.
pub(crate) fn is_head(vars: &[(Vec<u8>, Vec<u8>)]) -> bool {
    vars.iter()
        .rev()
        .find(|(k, _)| k == b"REQUEST_METHOD")
        .is_some_and(|(_, v)| v == b"HEAD")
}

/// The body: exactly the framed bytes, complete.
fn body_faults(message: &Message, doc: &Value) -> Vec<String> {
    let mut faults = Vec::new();
    let len = doc.get("body_len").and_then(Value::as_u64);
    let digest = doc.get("body_sha256").and_then(Value::as_str);
    let complete = doc.get("body_complete").and_then(Value::as_bool);
    if len != Some(message.body.len() as u64)
        || digest != Some(crate::sha256::hex(&message.body).as_str())
    {
        faults.push(format!(
            "the body is {} bytes framed by CONTENT_LENGTH, the app read {} bytes{}",
            message.body.len(),
            len.map_or("?".into(), |n| n.to_string()),
            if len == Some(message.body.len() as u64) {
                " with other contents"
            } else {
                ""
            }
        ));
    } else if complete != Some(true) {
        faults.push("the app was told its whole body is incomplete".into());
    }
    faults
}

/// ASGI (tests/peers/appview_asgi.py): the scope's path is the UTF-8 text of `PATH_INFO`,
/// every `HTTP_*` var a header, and the only content-length header the `CONTENT_LENGTH` sent.
fn asgi_faults(vars: &[(Vec<u8>, Vec<u8>)], doc: &Value) -> Vec<String> {
    let mut faults = Vec::new();
    let last = |key: &[u8]| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    if let Some(path) = last(b"PATH_INFO").and_then(|p| String::from_utf8(p).ok()) {
        let seen = doc.get("path").and_then(Value::as_str).unwrap_or_default();
        if seen != path {
            faults.push(format!(
                "PATH_INFO sent {}, scope[\"path\"] is {seen:?}, want {path:?} (its UTF-8 text, ASGI)",
                show(path.as_bytes())
            ));
        }
    }
    if let Some(method) = last(b"REQUEST_METHOD") {
        let seen = doc
            .get("method")
            .and_then(Value::as_str)
            .and_then(latin1_bytes);
        if seen.as_deref() != Some(method.as_slice()) {
            faults.push(format!(
                "REQUEST_METHOD sent {}, scope[\"method\"] differs",
                show(&method)
            ));
        }
    }
    let headers: Vec<(Vec<u8>, Vec<u8>)> = environ(doc)
        .into_iter()
        .filter_map(|(key, value)| {
            Some((key.strip_prefix(b"header:")?.to_ascii_lowercase(), value))
        })
        .collect();
    let header = |name: &[u8]| {
        headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut done: Vec<&[u8]> = Vec::new();
    for (key, _) in vars {
        let Some(rest) = key.strip_prefix(b"HTTP_") else {
            continue;
        };
        if done.contains(&key.as_slice()) || matches!(rest, b"CONTENT_LENGTH" | b"CONTENT_TYPE") {
            continue;
        }
        done.push(key);
        let name: Vec<u8> = rest
            .iter()
            .map(|&b| {
                if b == b'_' {
                    b'-'
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect();
        let sent = last(key).unwrap_or_default();
        match header(&name) {
            Some(value) if value == sent => {}
            Some(value) => faults.push(format!(
                "{} sent {}, header {} is {}",
                show(key),
                show(&sent),
                show(&name),
                show(&value)
            )),
            None => faults.push(format!(
                "{} = {} did not reach the app as a header",
                show(key),
                show(&sent)
            )),
        }
    }
    let lengths: Vec<Vec<u8>> = headers
        .iter()
        .filter(|(n, _)| n == b"content-length")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(sent) = last(b"CONTENT_LENGTH").filter(|v| !v.is_empty()) {
        if lengths.iter().any(|v| *v != sent) {
            let shown: Vec<String> = lengths.iter().map(|v| show(v)).collect();
            faults.push(format!(
                "CONTENT_LENGTH sent {}, the scope's content-length headers are [{}] (HTTP_CONTENT_LENGTH is never the length, C4)",
                show(&sent), shown.join(", ")
            ));
        }
    }
    faults
}

/// Every difference between what the app received and the message.
pub(crate) fn check(message: &Message, body: &[u8]) -> Vec<String> {
    if is_head(&message.vars) {
        return Vec::new(); // a reply to HEAD has no body to carry the report
    }
    let doc = match document(body) {
        Ok(doc) => doc,
        Err(err) => return vec![err],
    };
    let mut faults = Vec::new();
    let vars: &[(Vec<u8>, Vec<u8>)] = &message.vars;
    let last = |key: &[u8]| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    faults.extend(body_faults(message, &doc));
    if doc.get("raw_path").is_some() {
        faults.extend(asgi_faults(vars, &doc));
        return faults;
    }
    for (name, key) in [("path", &b"PATH_INFO"[..]), ("method", b"REQUEST_METHOD")] {
        let Some(sent) = last(key) else { continue };
        match field(&doc, name) {
            Ok(Some(seen)) if seen == sent => {}
            Ok(Some(seen)) => faults.push(format!(
                "{} sent {}, the app got {}{}",
                String::from_utf8_lossy(key),
                show(&sent),
                show(&seen),
                if name == "path" && seen.len() < sent.len() {
                    " (percent-decoded again)"
                } else {
                    ""
                }
            )),
            Ok(None) => faults.push(format!(
                "{} sent {}, the app got none",
                String::from_utf8_lossy(key),
                show(&sent)
            )),
            Err(err) => faults.push(err),
        }
    }
    // Every var, with the last value of a repeated key.
    let environ: HashMap<Vec<u8>, Vec<u8>> = environ(&doc).into_iter().collect();
    let mut seen_keys: Vec<&[u8]> = Vec::new();
    for (key, _) in vars {
        if seen_keys.contains(&key.as_slice()) {
            continue;
        }
        seen_keys.push(key);
        let sent = last(key).unwrap_or_default();
        match environ.get(key) {
            Some(value) if *value == sent => {}
            Some(value) => faults.push(format!(
                "{} sent {}, the app got {}",
                show(key),
                show(&sent),
                show(value)
            )),
            None => faults.push(format!(
                "{} = {} did not reach the app",
                show(key),
                show(&sent)
            )),
        }
    }
    if last(b"CONTENT_LENGTH").is_none() {
        if let Some(value) = environ
            .get(&b"CONTENT_LENGTH"[..])
            .filter(|v| !v.is_empty() && v.as_slice() != b"0")
        {
            faults.push(format!(
                "no CONTENT_LENGTH was sent, the app got {} (from HTTP_CONTENT_LENGTH?)",
                show(value)
            ));
        }
    }
    faults
}

/// `Ok` if the reply body is an app view.
pub(crate) fn is_app_view(body: &[u8]) -> Result<(), String> {
    document(body).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(vars: &[(&[u8], &[u8])], body: &[u8]) -> Message {
        Message {
            datasize: 0,
            vars: vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn a_faithful_app_view_passes_and_a_redecoded_path_fails() {
        let sent = message(
            &[(b"PATH_INFO", b"/a%2Fb"), (b"X", b"1"), (b"X", b"2")],
            b"hi",
        );
        let good = serde_json::json!({
            "environ": [["PATH_INFO", "/a%2Fb"], ["X", "2"]], "path": "/a%2Fb",
            "body_len": 2, "body_sha256": crate::sha256::hex(b"hi"), "body_complete": true,
        });
        assert_eq!(
            check(&sent, good.to_string().as_bytes()),
            Vec::<String>::new()
        );
        let bad = serde_json::json!({
            "environ": [["PATH_INFO", "/a/b"]], "path": "/a/b",
            "body_len": 0, "body_sha256": "", "body_complete": true,
        });
        let faults = check(&sent, bad.to_string().as_bytes());
        assert_eq!(faults.len(), 4, "{faults:?}");
        assert!(
            faults.iter().any(|f| f.contains("percent-decoded again")),
            "{faults:?}"
        );
    }
}
