//! `uwsgi curl`: sends one request as nginx would and copies the raw reply to stdout.
//!
//! The vars are nginx's default `uwsgi_params` plus Debian's `HTTP_HOST`, then the `-H`
//! headers named as nginx names them (`Content-Type` also as `HTTP_CONTENT_TYPE`; a body adds
//! the `Content-Length` header curl would send). `PATH_INFO` is the percent-decoded path;
//! `REMOTE_*` is our end of the connection. `--vars-json` sends exactly the pairs given
//! (`[{"key_hex","value_hex"}]`, or what `serve --dump` and `inspect --json` print); a
//! `CONTENT_LENGTH` among them must match the body or be empty.
//!
//! Lengths are exact bytes, every size the protocol allows (a block up to 65535 bytes, a body
//! of any length) and every byte value. The reply is read until its framing says it is whole:
//! the end of the head plus `Content-Length` bytes (a keep-alive peer need not close), or EOF
//! when the head has no length; a framed service reply until its end. Errors are one line on
//! stderr, exit status 1 (2 for usage errors).

use std::io::{Read as _, Write as _};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::codec::Encoder as _;
use uwsgi_codec::Status;
use uwsgi_codec::cgi::{CgiMapping, ContentHeaders, NginxParams};
use uwsgi_codec::codec::{ClientCodec, ClientFrame, ClientMessage};
use uwsgi_codec::reply::{ReplyBody, ResponseHeadParser};
use uwsgi_codec::{Modifier1, PacketBuilder};

use crate::net::{Conn, Target, seconds};
use crate::replies::Frames;
use crate::serve::describe;
use crate::{CurlArgs, hex};

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Runs `uwsgi curl`; returns the exit status.
pub(crate) async fn run(args: &CurlArgs) -> u8 {
    let usage = |message: String| {
        eprintln!("uwsgi curl: {message}");
        2
    };
    let target = match Target::parse(&args.addr) {
        Ok(target) => target,
        Err(message) => return usage(message),
    };
    if !args.path.starts_with('/') {
        return usage(format!("PATH {:?} does not start with /", args.path));
    }
    let mut headers = Vec::new();
    for header in &args.headers {
        match header.split_once(':') {
            Some((name, value)) if !name.is_empty() && !name.contains(' ') => {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
            _ => return usage(format!("-H {header:?}: want 'Name: value'")),
        }
    }
    let timeout = match seconds(args.timeout, "--timeout") {
        Ok(timeout) => timeout,
        Err(message) => return usage(message),
    };
    let inputs = (|| {
        let body = args.data.as_deref().map(read).transpose()?;
        let vars = args.vars_json.as_deref().map(read_vars).transpose()?;
        Ok::<_, String>((body, vars))
    })();
    let (body, vars) = match inputs {
        Ok(inputs) => inputs,
        Err(message) => return usage(message),
    };
    let request = Request {
        args,
        target: &target,
        headers,
        body,
        vars,
    };
    match tokio::time::timeout(timeout, request.exchange(timeout)).await {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            eprintln!("uwsgi curl: {message}");
            1
        }
        Err(_) => {
            eprintln!("uwsgi curl: no complete reply from {target} within {timeout:?}");
            1
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    match path {
        "-" => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        path => std::fs::read(path),
    }
    .map_err(|err| format!("cannot read {path}: {err}"))
}

fn read_vars(path: &str) -> Result<Pairs, String> {
    let doc: Value = serde_json::from_slice(&read(path)?).map_err(|e| format!("{path}: {e}"))?;
    let list = doc.get("vars").unwrap_or(&doc).as_array();
    let list = list.ok_or(format!(
        "{path}: not a list of {{\"key_hex\":..,\"value_hex\":..}}"
    ))?;
    let field = |i: usize, pair: &Value, name: &str| {
        let text = pair.get(name).and_then(Value::as_str);
        text.and_then(hex::decode)
            .ok_or(format!("{path}: pair {i}: {name} is not a hex string"))
    };
    let pair = |(i, pair)| Ok((field(i, pair, "key_hex")?, field(i, pair, "value_hex")?));
    list.iter().enumerate().map(pair).collect()
}

struct Request<'a> {
    args: &'a CurlArgs,
    target: &'a Target,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    vars: Option<Pairs>,
}

impl Request<'_> {
    /// The value of the first `-H` header called `name`, in any case.
    fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn method(&self) -> &str {
        let default = if self.body.is_some() { "POST" } else { "GET" };
        self.args.method.as_deref().unwrap_or(default)
    }

    /// nginx's default `uwsgi_params`, then the headers as nginx maps them.
    fn nginx_vars(&self, (ip, port): &(String, String)) -> Pairs {
        let (server_name, server_port) = self.target.server_name_port();
        let path = &self.args.path;
        let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
        let path_info = percent_decode(path_only.as_bytes());
        let mut headers = self.headers.clone();
        if let Some(body) = self
            .body
            .as_ref()
            .filter(|_| self.header("Content-Length").is_none())
        {
            headers.push(("Content-Length".into(), body.len().to_string())); // as curl sends
        }
        let headers = headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
        let mapping = CgiMapping {
            content_headers: ContentHeaders::Prefixed,
            ..CgiMapping::default()
        };
        // Debian's `uwsgi_param HTTP_HOST $host` stands in for a Host header (nginx skips it).
        let headers = mapping
            .header_vars(headers)
            .into_iter()
            .filter(|(k, _)| k != b"HTTP_HOST");
        let host = self.header("Host").unwrap_or(&server_name);
        let params = NginxParams {
            query_string: query.as_bytes(),
            request_method: self.method().as_bytes(),
            content_type: self.header("Content-Type").unwrap_or("").as_bytes(),
            content_length: b"", // a placeholder: the builder fills it in (rule E7)
            request_uri: path.as_bytes(),
            path_info: &path_info,
            server_protocol: b"HTTP/1.1",
            request_scheme: b"http",
            remote_addr: ip.as_bytes(),
            remote_port: port.as_bytes(),
            server_port: server_port.as_bytes(),
            server_name: server_name.as_bytes(),
            host: Some(host.as_bytes()),
            ..NginxParams::default()
        };
        let params = params
            .pairs()
            .map(|(key, value)| (key.to_vec(), value.to_vec()));
        params.chain(headers).collect()
    }

    async fn exchange(self, timeout: std::time::Duration) -> Result<(), String> {
        let (mut stream, local) = self.target.connect(timeout).await?;
        let vars = match &self.vars {
            Some(vars) => vars.clone(),
            None => self.nginx_vars(&local),
        };
        let body = Bytes::from(self.body.clone().unwrap_or_default());
        let builder = PacketBuilder::new(self.args.modifier1)
            .with_modifier2(self.args.modifier2)
            .extend_vars(vars.iter().map(|(key, value)| (&key[..], &value[..])))
            .with_body_len(body.len() as u64);
        let mut codec = ClientCodec::new();
        let mut out = BytesMut::new();
        let sending = |err| format!("cannot send the request: {}", describe(&err));
        codec
            .encode(ClientMessage::Packet(&builder), &mut out)
            .map_err(sending)?;
        if !body.is_empty() {
            codec
                .encode(ClientMessage::Body(body), &mut out)
                .map_err(sending)?;
        }
        let write = stream.write_all(&out).await.and(stream.flush().await);
        // A peer that refuses the request may close before reading it all: read its answer.
        let write_error = write.err();
        let framed = Modifier1(self.args.modifier1).framed_reply(self.args.modifier2);
        let head_request = self.method().eq_ignore_ascii_case("HEAD") && self.vars.is_none();
        let received = if framed {
            framed_reply(&mut stream, &mut codec).await?
        } else {
            raw_reply(
                &mut stream,
                head_request,
                self.args.body_only,
                self.args.verbose,
            )
            .await?
        };
        if received == 0 {
            let why = write_error.map_or(String::new(), |err| format!(" (sending failed: {err})"));
            return Err(format!(
                "empty reply: {} closed the connection without answering{why}",
                self.target
            ));
        }
        Ok(())
    }
}

fn print(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|err| format!("stdout: {err}"))
}

/// A raw HTTP reply: until the head and `Content-Length` bytes are in, or EOF. Returns the
/// number of bytes received.
async fn raw_reply(
    stream: &mut Box<dyn Conn>,
    head_request: bool,
    body_only: bool,
    verbose: bool,
) -> Result<usize, String> {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut parser = ResponseHeadParser::new();
    // (head length, where the reply ends) once the head is known; `None` end = at EOF.
    let mut framing: Option<(usize, Option<u64>)> = None;
    let started = Instant::now();
    loop {
        if framing.is_none() {
            framing = match parser.parse(&buf) {
                Ok(Status::Complete(head)) => {
                    let len = head.head_len();
                    let end = match head.body_framing(head_request) {
                        Ok(ReplyBody::Empty) => Some(len as u64),
                        Ok(ReplyBody::Length(n)) => Some(len as u64 + n),
                        Ok(ReplyBody::UntilClose) | Err(_) => None,
                    };
                    if verbose {
                        let status = head.status();
                        eprintln!(
                            "uwsgi curl: status {status}, head {len} bytes, body {}",
                            match end {
                                Some(end) => format!("{} bytes (Content-Length)", end - len as u64),
                                None => "until the connection closes".into(),
                            }
                        );
                    }
                    Some((len, end))
                }
                Ok(Status::Incomplete(_)) => None,
                Err(err) => {
                    if verbose {
                        eprintln!("uwsgi curl: not an HTTP head ({err}); reading until EOF");
                    }
                    Some((0, None))
                }
            };
        }
        if let Some((_, Some(end))) = framing {
            if buf.len() as u64 >= end {
                break;
            }
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if buf.is_empty() => return Err(format!("read failed: {err}")),
            Err(_) => break, // a reset after the reply: what came is the reply
        }
    }
    let (head_len, end) = framing.unwrap_or((0, None));
    let end = end.map_or(buf.len(), |end| {
        usize::try_from(end).unwrap_or(usize::MAX).min(buf.len())
    });
    if let Some((_, Some(framed))) = framing {
        if (buf.len() as u64) < framed {
            return Err(format!(
                "the reply ended after {} of {framed} bytes (Content-Length)",
                buf.len()
            ));
        }
    }
    let from = if body_only { head_len.min(end) } else { 0 };
    print(buf.get(from..end).unwrap_or_default())?;
    if verbose {
        let extra = buf.len() - end;
        eprintln!(
            "uwsgi curl: {} bytes in {:?}{}",
            end,
            started.elapsed(),
            if extra > 0 {
                format!(", then {extra} bytes after the reply (not printed)")
            } else {
                String::new()
            }
        );
    }
    Ok(buf.len())
}

/// A framed service reply (pong, RPC, cache ...): its packet and body, as they came.
async fn framed_reply(
    stream: &mut Box<dyn Conn>,
    codec: &mut ClientCodec,
) -> Result<usize, String> {
    let (mut frames, mut received) = (Frames::new(), 0);
    // Each turn takes one frame; the reply ends with End or the connection.
    loop {
        match frames.next(stream, codec).await? {
            Some(ClientFrame::Packet(packet)) => {
                received += packet.wire_len();
                print(packet.as_bytes())?;
            }
            Some(ClientFrame::Body(bytes) | ClientFrame::Raw(bytes)) => {
                received += bytes.len();
                print(&bytes)?;
            }
            Some(ClientFrame::End) | None => return Ok(received),
        }
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// `%XX` becomes its byte; a `%` without two hex digits after it stays.
pub(crate) fn percent_decode(path: &[u8]) -> Vec<u8> {
    let (mut out, mut rest) = (Vec::with_capacity(path.len()), path);
    while let Some((&byte, tail)) = rest.split_first() {
        let escape = match tail {
            [high, low, after @ ..] if byte == b'%' => hex_digit(*high)
                .zip(hex_digit(*low))
                .map(|(h, l)| (h << 4 | l, after)),
            _ => None,
        };
        let (byte, after) = escape.unwrap_or((byte, tail));
        out.push(byte);
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_once() {
        assert_eq!(percent_decode(b"/a%20b/%2561%zz%4"), b"/a b/%61%zz%4");
    }
}
