//! HTTP on the test side: curl, and a raw response split into status, head and body.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{find, show, tool};

/// An HTTP response, split.
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as text.
    pub head: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Splits a raw HTTP/1.x response (curl's `-i` output), skipping interim 1xx responses
/// (`100 Continue`).
pub fn parse_http(raw: &[u8]) -> HttpReply {
    let mut rest = raw;
    loop {
        let end = find(rest, b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of HTTP headers in {}", show(raw, 2000)));
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status line in {}", show(raw, 2000)));
        rest = &rest[end + 4..];
        if !(100..200).contains(&status) {
            let body = rest.to_vec();
            return HttpReply { status, head, body };
        }
    }
}

/// curl with no proxy from the environment, 20 s at most, `-i` to see the head; its output as
/// it is.
pub fn curl_output(url: &str, args: &[&str]) -> Output {
    Command::new(tool("curl"))
        .args(["-s", "-S", "-i", "--noproxy", "*", "--max-time", "20"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

/// Writes `body` to `dir/NAME` and returns curl's `@PATH` argument for it.
pub fn curl_data(dir: &Path, name: &str, body: &[u8]) -> String {
    let file = dir.join(name);
    fs::write(&file, body).expect("write a request body");
    format!("@{}", file.display())
}

/// [`curl_output`], which must succeed, as a reply.
pub fn curl(url: &str, args: &[&str]) -> HttpReply {
    let output = curl_output(url, args);
    assert!(
        output.status.success(),
        "curl {url} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_http(&output.stdout)
}
