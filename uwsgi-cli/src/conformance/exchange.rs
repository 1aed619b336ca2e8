//! One connection to the server under test: the vector's bytes go out, and the connection is
//! read to its end, every response parsed in turn (`uwsgi_codec::reply`), so that a second
//! response is seen as well as the first.
//!
//! The write side is shut (the vector's end of input) at once when the outcome depends on
//! it (a cut packet or body), else when the server has been quiet for `linger` without having
//! answered every expected message: a server that waits for more bytes then sees EOF, while a
//! keep-alive server that has answered is never sent an EOF it could answer too. Once the
//! expected responses are in, reading goes on until the server closes or stays quiet for
//! `linger`; whatever comes meanwhile is a further response. Everything is bounded by
//! `timeout`, connect included.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::{Instant, timeout_at};
use uwsgi_codec::Status;
use uwsgi_codec::reply::{ReplyBody, ResponseHead};

use crate::net::{Target, short_error};

/// At most this many reply bytes are kept.
const REPLY_CAP: usize = 4 << 20;

/// One HTTP response read from the connection.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The status line, escaped.
    pub(crate) line: String,
    pub(crate) body: Vec<u8>,
}

/// How reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The server closed the connection.
    Closed,
    /// The connection was reset.
    Reset,
    /// The expected responses were in and the server stayed quiet for `linger`.
    Quiet,
    /// The timeout ran out with the connection still open.
    TimedOut,
    /// Bytes that are not an HTTP response came.
    NotHttp,
    /// Connecting failed.
    NoConnection(String),
    /// Another I/O error.
    Failed(String),
}

/// What one connection gave.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) responses: Vec<Response>,
    /// The first bytes that could not be read as a response, if any.
    pub(crate) garbage: Vec<u8>,
    pub(crate) end: End,
    /// `Some((sent, error))` when the server stopped taking our bytes.
    pub(crate) write_error: Option<(usize, String)>,
    pub(crate) wire_len: usize,
    /// Whether our write side was shut.
    pub(crate) half_closed: bool,
}

/// The timeouts of an exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) timeout: Duration,
    pub(crate) linger: Duration,
}

/// Where reading the responses is.
#[derive(Debug, Default)]
struct Reader {
    pos: usize,
    /// The request was a `HEAD`: its response has no body (RFC 9112 §6.3).
    head: bool,
    /// Body bytes a server sent after the head of a `HEAD` response anyway (up to its
    /// Content-Length): skipped, not read as a further response.
    skip: u64,
}

/// Reads the responses whole in `buf[reader.pos..]`; `eof`: no more bytes will come.
/// Returns `false` once bytes that are not a response are found.
fn parse(buf: &[u8], reader: &mut Reader, eof: bool, responses: &mut Vec<Response>) -> bool {
    let pos = &mut reader.pos;
    // Each turn consumes a response (or an interim one) or stops.
    for _ in 0..buf.len() + 1 {
        let rest = buf.get(*pos..).unwrap_or_default();
        if rest.is_empty() {
            return true;
        }
        if reader.skip > 0 && !rest.starts_with(&b"HTTP/"[..rest.len().min(5)]) {
            let n = usize::try_from(reader.skip)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            reader.skip -= n as u64;
            *pos += n;
            continue;
        }
        let head = match ResponseHead::parse(rest) {
            Ok(Status::Complete(head)) => head,
            Ok(Status::Incomplete(_)) => return !eof,
            Err(_) => return false,
        };
        if head.version().is_none() {
            return false; // a CGI head is what a gateway reads; a server must send a status line
        }
        let head_len = head.head_len();
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = line
            .strip_suffix(b"\r")
            .unwrap_or(line)
            .escape_ascii()
            .to_string();
        let head_request = reader.head && responses.is_empty();
        if head_request {
            if let Ok(ReplyBody::Length(n)) = head.body_framing(false) {
                reader.skip = n;
            }
        }
        let body_end = match head.body_framing(head_request) {
            Ok(ReplyBody::Empty) => Some(head_len),
            Ok(ReplyBody::Length(n)) => usize::try_from(n).ok().map(|n| head_len.saturating_add(n)),
            Ok(ReplyBody::UntilClose) => eof.then_some(rest.len()),
            Err(_) => return false,
        };
        let end = match body_end {
            Some(end) if end <= rest.len() => end,
            _ if !eof => return true,
            _ => rest.len(), // cut short by the end of the connection: what came
        };
        if !(100..200).contains(&head.status()) {
            let body = rest.get(head_len..end).unwrap_or_default().to_vec();
            responses.push(Response {
                status: head.status(),
                line,
                body,
            });
        }
        *pos += end;
    }
    true
}

/// Sends `wire` and reads the connection as described above. `expected` is the number of
/// responses the plan expects; `eof_first` shuts the write side at once.
pub(crate) async fn exchange(
    target: &Target,
    wire: &[u8],
    expected: usize,
    eof_first: bool,
    head: bool,
    timing: Timing,
) -> Exchange {
    let deadline = Instant::now() + timing.timeout;
    let mut result = Exchange {
        responses: Vec::new(),
        garbage: Vec::new(),
        end: End::TimedOut,
        write_error: None,
        wire_len: wire.len(),
        half_closed: false,
    };
    let mut stream = match target.connect(timing.timeout).await {
        Ok((stream, _)) => stream,
        Err(err) => {
            result.end = End::NoConnection(err);
            return result;
        }
    };
    match timeout_at(deadline, stream.write_all(wire)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => result.write_error = Some((0, short_error(&err))),
        Err(_) => result.write_error = Some((0, "timed out".into())),
    }
    if eof_first {
        let _ = stream.shutdown().await;
        result.half_closed = true;
    }
    let mut buf = Vec::new();
    let mut reader = Reader {
        head,
        ..Reader::default()
    };
    let mut chunk = vec![0u8; 64 * 1024];
    // Each turn reads once; reads end at EOF, an error, the linger or the deadline.
    loop {
        if !parse(&buf, &mut reader, false, &mut result.responses) {
            result.end = End::NotHttp;
            break;
        }
        let answered = result.responses.len() >= expected && !result.responses.is_empty();
        let idle = reader.pos == buf.len();
        let wait_until = if (answered && idle) || !result.half_closed {
            (Instant::now() + timing.linger).min(deadline)
        } else {
            deadline
        };
        match timeout_at(wait_until, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                result.end = End::Closed;
                break;
            }
            Ok(Ok(n)) => {
                let room = REPLY_CAP.saturating_sub(buf.len());
                buf.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
            }
            Ok(Err(err)) => {
                result.end = match err.kind() {
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                        End::Reset
                    }
                    _ => End::Failed(short_error(&err)),
                };
                break;
            }
            Err(_) if Instant::now() >= deadline => {
                result.end = End::TimedOut;
                break;
            }
            Err(_) if answered && idle => {
                result.end = End::Quiet;
                break;
            }
            Err(_) => {
                let _ = stream.shutdown().await; // the vector's end of input
                result.half_closed = true;
            }
        }
    }
    // Reading is over: a response cut short counts with what came.
    if result.end != End::NotHttp && !parse(&buf, &mut reader, true, &mut result.responses) {
        result.end = End::NotHttp;
    }
    let rest = buf.get(reader.pos..).unwrap_or_default();
    result.garbage = rest.iter().copied().take(64).collect();
    result
}

impl Exchange {
    /// How the exchange went, for a reason text.
    pub(crate) fn how(&self, timing: Timing) -> String {
        let mut parts: Vec<String> = self
            .responses
            .iter()
            .map(|r| format!("answered `{}`", r.line))
            .collect();
        if !self.garbage.is_empty() {
            parts.push(format!(
                "sent {} that is not an HTTP response",
                crate::hex::show(&self.garbage, 40)
            ));
        }
        let end = match &self.end {
            End::Closed if parts.is_empty() => "closed without a reply".to_owned(),
            End::Reset if parts.is_empty() => "reset without a reply".to_owned(),
            End::Closed => "closed".to_owned(),
            End::Reset => "reset".to_owned(),
            End::Quiet | End::NotHttp => String::new(),
            End::TimedOut => format!(
                "no more bytes in {:?} (connection left open)",
                timing.timeout
            ),
            End::NoConnection(err) => err.clone(),
            End::Failed(err) => format!("read failed: {err}"),
        };
        if !end.is_empty() {
            parts.push(end);
        }
        let mut text = parts.join(", then ");
        if let Some((_, err)) = &self.write_error {
            text.push_str(&format!(
                " (it stopped reading our {} bytes: {err})",
                self.wire_len
            ));
        }
        text
    }
}
