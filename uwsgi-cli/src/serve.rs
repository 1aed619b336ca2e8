//! `uwsgi serve`: a uwsgi application server on the crate's codec, for nginx's `uwsgi_pass`.
//!
//! The first stdout line is `listening on ADDR` (the bound address; `unix:PATH` for a unix
//! socket), then the nginx `location` block for it. A request family (modifier1 0 and the
//! like) gets `Hello World` as raw HTTP; with `--dump` the request as JSON
//! (`{"modifier1","modifier2","vars":[{"key","value","key_hex","value_hex"}],"body_len",
//! "body_hex"}`); with `--app-view` what an application received (the schema of
//! tests/peers/appview.py, see `appview.rs`). A ping gets a pong, a signal `ff 00 00 01`;
//! other service packets are refused.
//!
//! Each connection carries one request, as nginx sends them; bad input (a decode error, bytes
//! after the body, 30 s of silence) closes that connection with one line on stderr,
//! `peer ADDR: what (hint)`. `--persistent` reads packet after packet on a connection (uWSGI
//! `--puwsgi-socket`) and leaves closing to the peer. SIGINT or SIGTERM stops the server.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::timeout;
use tokio_util::codec::Decoder as _;
use uwsgi_codec::codec::{Error, ServerCodec, ServerFrame};
use uwsgi_codec::{MagicPolicy, Modifier1, Packet, PacketBuilder, Parser};

use crate::appview::AppView;
use crate::net::{Conn, Listener};
use crate::{Magic, ServeArgs, hex};

/// How long a connection may stay silent, or leave our reply unread, before it is closed.
const IDLE: Duration = Duration::from_secs(30);

/// How a request family is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Hello,
    Dump,
    AppView,
}

/// The request being read.
enum Request {
    Hello,
    Dump(Packet, Vec<u8>),
    AppView(AppView),
    /// A service packet: answered at its end.
    Service(Packet),
}

/// The settings every connection shares.
struct Settings {
    codec: ServerCodec,
    answer: Answer,
}

/// The parser settings of a magic policy.
pub(crate) fn magic_policy(magic: Magic) -> MagicPolicy {
    match magic {
        Magic::Allow => MagicPolicy::Allow,
        Magic::RoutingOnly => MagicPolicy::RoutingOnly,
        Magic::Refuse => MagicPolicy::Refuse,
    }
}

/// Runs `uwsgi serve`; returns the exit status.
pub(crate) async fn run(args: ServeArgs) -> u8 {
    let settings = &args.settings;
    let parser = Parser::new()
        .with_max_datasize(settings.decode.max_datasize)
        .with_max_vars(settings.max_vars)
        .with_magic_policy(magic_policy(settings.magic))
        .with_foreign_check(!settings.decode.no_foreign_check);
    let codec = ServerCodec::with_parser(parser)
        .with_persistent(settings.persistent)
        .with_max_body(args.max_body);
    let answer = match (args.dump, args.app_view) {
        (true, _) => Answer::Dump,
        (_, true) => Answer::AppView,
        _ => Answer::Hello,
    };
    let settings = Arc::new(Settings { codec, answer });
    let (listener, address) = match Listener::bind(&args.listen).await {
        Ok(bound) => bound,
        Err(message) => {
            eprintln!("uwsgi serve: {message}");
            return 1;
        }
    };
    // Not println!: a reader that stops after the first line (`| head -1`) must not kill us.
    let mut out = std::io::stdout();
    let location = format!("location / {{ include uwsgi_params; uwsgi_pass {address}; }}");
    let _ = writeln!(
        out,
        "listening on {address}\n# nginx, in a server block:\n{location}"
    )
    .and_then(|()| out.flush());
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("uwsgi serve: cannot install signal handlers");
        return 1;
    };
    for count in 1.. {
        let accepted = tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            accepted = listener.accept(count) => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("uwsgi serve: accept: {err}"); // out of file descriptors and the like
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let settings = Arc::clone(&settings);
        tokio::spawn(async move {
            if let Err(message) = serve(stream, &settings).await {
                eprintln!("peer {peer}: {message}");
            }
        });
    }
    eprintln!("uwsgi serve: stopped");
    0
}

/// The error and its hint, once (some messages already end with the hint).
pub(crate) fn describe(err: &Error) -> String {
    match err.to_string() {
        message if message.contains(err.hint()) => message,
        message => format!("{message} ({})", err.hint()),
    }
}

/// One connection: packet, body chunks, end, reply. In one-request mode we then shut our side
/// and read on until the peer closes, so that bytes sent after the body are seen and logged.
async fn serve(mut stream: Box<dyn Conn>, settings: &Settings) -> Result<(), String> {
    let mut codec = settings.codec.clone();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut request: Option<Request> = None;
    let (mut eof, mut replied) = (false, false);
    // Each turn decodes a frame or reads once; reads end at EOF, an error or the idle timeout.
    loop {
        let frame = if eof {
            codec.decode_eof(&mut buf)
        } else {
            codec.decode(&mut buf)
        };
        let frame = match frame.map_err(|err| describe(&err))? {
            Some(frame) => frame,
            None if eof => return Ok(()),
            None => {
                match timeout(IDLE, stream.read_buf(&mut buf)).await {
                    Err(_) if replied => return Ok(()), // it has its reply and lingers
                    Err(_) => return Err(format!("nothing received for {IDLE:?}, closing")),
                    Ok(Ok(0)) => eof = true,
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) if replied => return Ok(()),
                    Ok(Err(err)) => return Err(format!("read failed: {err}")),
                }
                continue;
            }
        };
        match frame {
            ServerFrame::Packet(head) => request = Some(start(head, settings.answer)?),
            ServerFrame::Body(chunk) => match request.as_mut() {
                Some(Request::Dump(_, body)) => body.extend_from_slice(&chunk),
                Some(Request::AppView(view)) => view.body(&chunk),
                _ => {}
            },
            ServerFrame::End => {
                let request = request.take().ok_or("End without a packet")?;
                let reply = reply(request)?;
                match timeout(IDLE, stream.write_all(&reply)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => return Err(format!("write failed: {err}")),
                    Err(_) => return Err("the peer does not read its reply, closing".into()),
                }
                if !codec.is_persistent() {
                    replied = true;
                    let _ = timeout(IDLE, stream.shutdown()).await;
                }
            }
            ServerFrame::Trailing(extra) => {
                let n = extra.len();
                return Err(format!(
                    "{n} bytes after the body, not parsed (pipelined or smuggled)"
                ));
            }
        }
    }
}

/// What to build while the body arrives.
fn start(head: Packet, answer: Answer) -> Result<Request, String> {
    let (m1, m2) = (head.modifier1(), head.modifier2());
    if !m1.is_request_family(m2) {
        return match m1 {
            Modifier1::PING | Modifier1::SIGNAL => Ok(Request::Service(head)),
            _ => Err(format!("modifier1 {m1}, modifier2 {m2} not served")),
        };
    }
    Ok(match answer {
        Answer::Hello => Request::Hello,
        Answer::Dump => Request::Dump(head, Vec::new()),
        Answer::AppView => Request::AppView(AppView::new(head.vars().as_ref(), m1.0, m2)),
    })
}

/// The bytes of the answer.
fn reply(request: Request) -> Result<Bytes, String> {
    let packet = |builder: PacketBuilder<'_>| {
        builder
            .to_vec()
            .map(Bytes::from)
            .map_err(|err| format!("cannot encode a reply: {err}"))
    };
    Ok(match request {
        Request::Hello => http("text/plain", b"Hello World"),
        Request::Dump(head, body) => http("application/json", &dump(&head, &body)),
        Request::AppView(view) => http("application/json", &view.finish()),
        Request::Service(head) if head.modifier1() == Modifier1::PING => {
            packet(PacketBuilder::pong())?
        }
        Request::Service(_) => packet(PacketBuilder::reply(true))?,
    })
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
fn dump(head: &Packet, body: &[u8]) -> Vec<u8> {
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let vars: Vec<_> = head
        .vars_bytes()
        .map(|(key, value)| {
            json!({
                "key": text(&key), "value": text(&value),
                "key_hex": hex::encode(&key), "value_hex": hex::encode(&value),
            })
        })
        .collect();
    let doc = json!({
        "modifier1": head.modifier1().0, "modifier2": head.modifier2(), "vars": vars,
        "body_len": body.len(), "body_hex": hex::encode(body),
    });
    format!("{doc}\n").into_bytes()
}
