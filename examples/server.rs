//! `server`: the Rust counterpart of the classic WSGI hello app, for nginx's `uwsgi_pass`.
//!
//! ```text
//! cargo run --features codec --example server                          # 127.0.0.1:3031
//! cargo run --features codec --example server -- --listen 127.0.0.1:0  # any free port
//! cargo run --features codec --example server -- --listen /tmp/app.sock --dump
//! ```
//!
//! The first line on stdout is `listening on ADDR` (the bound address; `unix:PATH` for a unix
//! socket: any `--listen` value with a `/`), then the nginx `location` block for it. Each
//! connection carries one request, as nginx sends them. A request family (modifier1 0 and the
//! like) gets `Hello World` as raw HTTP, or with `--dump` the request as JSON:
//! `{"body_hex":H,"body_len":N,"modifier1":N,"modifier2":N,"vars":[{"key":S|null,"key_hex":H,
//! "value":S|null,"value_hex":H},...]}` (vars in wire order, `null` when not UTF-8). A ping gets
//! a pong (`64 00 00 01`), a signal `ff 00 00 01`; other service packets are refused.
//!
//! Bad input (a decode error, bytes after the body, 30 s of silence) closes that connection
//! with one line on stderr, `peer ADDR: what (hint)`; the others are served on. Ctrl-C stops.
//! `--persistent` reads packet after packet on a connection (uWSGI `--puwsgi-socket`) and leaves
//! closing to the peer (so `client`, which reads to EOF as nginx does, ends at its timeout);
//! `--max-body N` is uWSGI's `--limit-post`, `--max-datasize N` its `--buffer-size`. With
//! `--dump` the whole body is kept in memory: bound it with `--max-body`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::FileTypeExt as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, UnixListener};
use tokio::time::timeout;
use tokio_util::codec::{Encoder, Framed};
use uwsgi_codec::{Error, Frame, Modifier1, Packet, PacketBuilder, Parser, ServerCodec};

const USAGE: &str = "usage: server [--listen HOST:PORT | --listen PATH] [--dump] [--persistent] \
                     [--max-body N] [--max-datasize N]\n";

/// How long a connection may stay silent, or leave our reply unread, before it is closed.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Options {
    listen: Option<String>,
    dump: bool,
    persistent: bool,
    max_body: Option<u64>,
    max_datasize: Option<usize>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--listen" => options.listen = Some(value()?),
            "--dump" => options.dump = true,
            "--persistent" => options.persistent = true,
            "--max-body" => options.max_body = Some(number(&value()?)?),
            "--max-datasize" => options.max_datasize = Some(number(&value()?)?),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(options))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, String),
}

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

impl Listener {
    /// Binds and returns what `uwsgi_pass` takes; a stale socket file (only that) is replaced.
    fn bind(addr: &str) -> std::io::Result<(Listener, String)> {
        if !addr.contains('/') {
            let listener = std::net::TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            let bound = listener.local_addr()?.to_string();
            return Ok((Listener::Tcp(TcpListener::from_std(listener)?), bound));
        }
        match std::fs::symlink_metadata(addr) {
            Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(addr)?,
            Ok(_) => return Err(std::io::Error::other("exists and is not a socket")),
            Err(_) => {}
        }
        Ok((
            Listener::Unix(UnixListener::bind(addr)?, addr.into()),
            format!("unix:{addr}"),
        ))
    }

    /// The next connection, and its name for log lines.
    async fn accept(&self, count: u64) -> std::io::Result<(Box<dyn Conn>, String)> {
        Ok(match self {
            Listener::Tcp(tcp) => tcp
                .accept()
                .await
                .map(|(s, peer)| (Box::new(s) as _, peer.to_string()))?,
            Listener::Unix(unix, _) => (Box::new(unix.accept().await?.0), format!("unix#{count}")),
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => Arc::new(options),
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("server: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    let listen = options.listen.as_deref().unwrap_or("127.0.0.1:3031");
    let (listener, address) = match Listener::bind(listen) {
        Ok(bound) => bound,
        Err(err) => {
            eprintln!("server: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Not println!: a reader that stops after the first line (`| head -1`) must not kill us.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {address}").and_then(|()| out.flush());
    let location = format!("location / {{ include uwsgi_params; uwsgi_pass {address}; }}");
    let _ = writeln!(out, "# nginx, in a server block:\n{location}").and_then(|()| out.flush());

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    for count in 1.. {
        let accepted = tokio::select! {
            _ = &mut ctrl_c => break,
            accepted = listener.accept(count) => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("server: accept: {err}"); // out of file descriptors and the like
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let options = Arc::clone(&options);
        tokio::spawn(async move {
            if let Err(message) = serve(stream, &options).await {
                eprintln!("peer {peer}: {message}");
            }
        });
    }
    if let Listener::Unix(_, path) = &listener {
        let _ = std::fs::remove_file(path);
    }
    eprintln!("server: interrupted, bye");
    ExitCode::SUCCESS
}

/// One connection: Packet, Body chunks, End, reply. In one-request mode we then shut our side
/// and read on until the peer closes, so that bytes sent after the body are seen and logged.
async fn serve(stream: Box<dyn Conn>, options: &Options) -> Result<(), String> {
    let parser = Parser::new().with_max_datasize(options.max_datasize.unwrap_or(usize::MAX));
    let mut codec = ServerCodec::with_parser(parser).persistent(options.persistent);
    if let Some(max) = options.max_body {
        codec = codec.with_max_body(max);
    }
    let mut framed = Framed::new(stream, codec);
    let mut request: Option<(Packet, Vec<u8>)> = None;
    let mut replied = false;
    loop {
        let frame = match timeout(IDLE, framed.next()).await {
            Err(_) if replied => return Ok(()), // it has its reply and lingers: its business
            Err(_) => return Err(format!("nothing received for {IDLE:?}, closing")),
            Ok(None) => return Ok(()),
            Ok(Some(frame)) => frame.map_err(describe)?,
        };
        match frame {
            Frame::Packet(head) => request = Some((head, Vec::new())),
            Frame::Body(chunk) => {
                if let Some((_, body)) = request.as_mut().filter(|_| options.dump) {
                    body.extend_from_slice(&chunk);
                }
            }
            Frame::End => {
                let (head, body) = request.take().ok_or("End without a packet")?;
                reply(&mut framed, &head, &body, options.dump).await?;
                if !options.persistent {
                    replied = true;
                    let _ = timeout(IDLE, framed.get_mut().shutdown()).await; // send() flushed
                }
            }
            Frame::Trailing(extra) => {
                let n = extra.len();
                return Err(format!(
                    "{n} bytes after the body, not parsed (pipelined or smuggled)"
                ));
            }
            Frame::Raw(_) => {} // client side only
        }
    }
}

type Connection = Framed<Box<dyn Conn>, ServerCodec>;

/// Answers a request family with raw HTTP, a ping with a pong, a signal with "delivered".
async fn reply(
    framed: &mut Connection,
    head: &Packet,
    body: &[u8],
    dump: bool,
) -> Result<(), String> {
    let (m1, m2) = (head.header().modifier1, head.header().modifier2);
    match m1 {
        Modifier1::PING => send(framed, &PacketBuilder::pong()).await,
        Modifier1::SIGNAL => send(framed, &PacketBuilder::reply(true)).await,
        _ if !m1.is_request_family(m2) => Err(format!("modifier1 {m1}, modifier2 {m2} not served")),
        _ if dump => send(framed, http("application/json", &to_json(head, body))).await,
        _ => send(framed, http("text/plain", b"Hello World")).await,
    }
}

async fn send<I>(framed: &mut Connection, item: I) -> Result<(), String>
where
    ServerCodec: Encoder<I, Error = Error>,
{
    match timeout(IDLE, framed.send(item)).await {
        Ok(sent) => sent.map_err(describe),
        Err(_) => Err("the peer does not read its reply, closing".into()),
    }
}

/// The error and its hint, once (some messages already end with the hint).
fn describe(err: Error) -> String {
    match err.to_string() {
        message if message.contains(err.hint()) => message,
        message => format!("{message} ({})", err.hint()),
    }
}

/// A whole raw HTTP response, as a uwsgi application server writes it.
fn http(content_type: &str, body: &[u8]) -> Bytes {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat().into()
}

/// The request as JSON, in the shape of `inspect --json` (serde_json sorts the keys).
fn to_json(head: &Packet, body: &[u8]) -> Vec<u8> {
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let vars: Vec<_> = head
        .vars_bytes()
        .map(|(key, value)| {
            json!({
                "key": text(&key), "value": text(&value),
                "key_hex": hex(&key), "value_hex": hex(&value),
            })
        })
        .collect();
    let (m1, m2) = (head.header().modifier1.0, head.header().modifier2);
    let doc = json!({
        "modifier1": m1, "modifier2": m2, "vars": vars,
        "body_len": body.len(), "body_hex": hex(body),
    });
    format!("{doc}\n").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
