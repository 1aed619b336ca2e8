//! The app view: what an application received, as the JSON document that
//! tests/peers/appview.py writes for WSGI servers, so that one checker reads both.
//!
//! ```text
//! {"environ": [[key, value] or [key, value, {"key_hex", "value_hex"}], ...],
//!  "method", "path", "query", "script_name", "request_uri", "content_length": text or null,
//!  "body_len": N, "body_sha256": hex, "body_complete": bool, "body_head_hex": hex,
//!  "body_error": text or null, "server": text}
//! ```
//!
//! Keys and values are the wire bytes read as latin-1 (PEP 3333's "bytes as latin-1"); an
//! entry with a non-ASCII byte also carries the exact bytes in hex. Here `environ` lists every
//! pair in wire order, duplicates included (a WSGI environ is a dict: the last value of each
//! key, in first-seen order); the named fields take the last occurrence (rule V10).

use serde_json::{Value, json};
use uwsgi_codec::Vars;

use crate::hex;
use crate::sha256::Sha256;

/// Bytes as PEP 3333 text: each byte one character (latin-1).
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// One environ entry, as appview.py writes it.
fn entry(key: &[u8], value: &[u8]) -> Value {
    let mut entry = vec![json!(latin1(key)), json!(latin1(value))];
    if !(key.is_ascii() && value.is_ascii()) {
        entry.push(json!({"key_hex": hex::encode(key), "value_hex": hex::encode(value)}));
    }
    Value::Array(entry)
}

/// Builds the report as the body arrives.
pub(crate) struct AppView {
    environ: Vec<Value>,
    named: Value,
    body_len: u64,
    digest: Sha256,
    head: Vec<u8>,
}

impl AppView {
    /// The report of a request with these vars, before any body byte.
    pub(crate) fn new(vars: Option<&Vars<'_>>, modifier1: u8, modifier2: u8) -> AppView {
        let last = |key: &str| {
            vars.and_then(|vars| vars.get(key))
                .map(|value| json!(latin1(value)))
                .unwrap_or(Value::Null)
        };
        let named = json!({
            "method": last("REQUEST_METHOD"),
            "path": last("PATH_INFO"),
            "query": last("QUERY_STRING"),
            "script_name": last("SCRIPT_NAME"),
            "request_uri": last("REQUEST_URI"),
            "content_length": last("CONTENT_LENGTH"),
            "modifier1": modifier1,
            "modifier2": modifier2,
        });
        let environ = vars
            .map(|vars| vars.iter().map(|(key, value)| entry(key, value)).collect())
            .unwrap_or_default();
        AppView {
            environ,
            named,
            body_len: 0,
            digest: Sha256::new(),
            head: Vec::new(),
        }
    }

    /// Adds body bytes.
    pub(crate) fn body(&mut self, chunk: &[u8]) {
        self.body_len += chunk.len() as u64;
        self.digest.update(chunk);
        let room = 64usize.saturating_sub(self.head.len());
        self.head.extend(chunk.iter().take(room));
    }

    /// The JSON document of a request whose body was read to its end.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut doc = self.named;
        if let Value::Object(map) = &mut doc {
            map.insert("environ".into(), Value::Array(self.environ));
            map.insert("body_len".into(), json!(self.body_len));
            map.insert("body_sha256".into(), json!(self.digest.hex()));
            map.insert("body_complete".into(), json!(true));
            map.insert("body_head_hex".into(), json!(hex::encode(&self.head)));
            map.insert("body_error".into(), Value::Null);
            map.insert("server".into(), json!("uwsgi serve --app-view"));
        }
        let mut out = doc.to_string().into_bytes();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_of_a_small_request() {
        let block = b"\x09\x00PATH_INFO\x02\x00/\xe9\x09\x00PATH_INFO\x02\x00/x";
        let vars = Vars::parse(block).ok();
        let mut view = AppView::new(vars.as_ref(), 0, 0);
        view.body(b"hel");
        view.body(b"lo");
        let doc: Value = serde_json::from_slice(&view.finish()).unwrap_or_default();
        assert_eq!(doc["path"], "/x");
        assert_eq!(doc["environ"][0][2]["value_hex"], "2fe9");
        assert_eq!(doc["environ"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc["body_len"], 5);
        assert_eq!(doc["body_head_hex"], "68656c6c6f");
        assert_eq!(doc["body_sha256"], crate::sha256::hex(b"hello"));
    }
}
