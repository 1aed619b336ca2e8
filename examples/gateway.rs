//! `gateway`: an HTTP/1.1 server in front of a uwsgi backend, nginx's role in the classic
//! deployment (`uwsgi_pass`).
//!
//! ```text
//! cargo run --features codec --example gateway -- --listen 127.0.0.1:8080 --backend 127.0.0.1:3031
//! cargo run --features codec --example gateway -- --listen 127.0.0.1:0 --backend /tmp/app.sock
//! ```
//!
//! The first stdout line is `listening on ADDR`. Each request gets its own backend connection
//! (`HOST:PORT`, or a unix socket path: contains `/`): nginx's `uwsgi_params` and the headers as
//! nginx names them, then the body streamed as it arrives (a chunked body is de-chunked into
//! memory first, as nginx does, 413 over 10 MiB). The reply's head (status line or CGI
//! `Status:`) becomes the response head, hop-by-hop headers dropped, and the rest of the reply
//! is streamed back. A backend failure is a 502 and one `gateway: ...` line on stderr.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt as _, stream};
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Body as _, Frame as HttpFrame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio_util::codec::Framed;
use uwsgi_codec::{CgiMapping, ClientCodec, ContentHeaders, Frame, NginxParams, PacketBuilder};

const USAGE: &str = "usage: gateway [--listen 127.0.0.1:8080] --backend HOST:PORT|SOCKET_PATH";
/// The longest wait to connect, for each body chunk either way, and for the reply head.
const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BUFFERED: usize = 10 << 20;
const MAX_HEAD: usize = 64 << 10;
const BAD_GATEWAY: StatusCode = StatusCode::BAD_GATEWAY;

type Failure = (StatusCode, String);
type Backend = Framed<Box<dyn Conn>, ClientCodec>;
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

#[tokio::main]
async fn main() -> Result<(), String> {
    let (mut listen, mut backend) = ("127.0.0.1:8080".to_string(), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            ("--backend", Some(addr)) => backend = Some(addr),
            _ => return Err(USAGE.into()),
        }
    }
    let backend: &'static str = backend.ok_or(USAGE)?.leak();
    let listener = TcpListener::bind(&listen).await;
    let listener = listener.map_err(|e| format!("{listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await; // out of file descriptors?
            continue;
        };
        let local = stream.local_addr().unwrap_or(remote);
        let service = hyper::service::service_fn(move |req| async move {
            let line = format!("{} {}", req.method(), req.uri());
            let (status, why) = match proxy(req, backend, remote, local, &line).await {
                Ok(response) => return Ok::<_, std::convert::Infallible>(response),
                Err(failure) => failure,
            };
            eprintln!("gateway: {line}: {} ({why})", status.as_u16());
            let page = Full::from(format!("{status}\n")).map_err(|never| match never {});
            let mut page = Response::new(page.boxed_unsync());
            *page.status_mut() = status;
            Ok(page)
        });
        let http = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new()) // for hyper's 30 s limit on reading a request head
            .serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move { http.await.map_err(|e| eprintln!("gateway: {remote}: {e}")) });
    }
}

async fn proxy(
    req: Request<Incoming>,
    backend: &str,
    remote: SocketAddr,
    local: SocketAddr,
    line: &str,
) -> Result<Response<UnsyncBoxBody<Bytes, std::io::Error>>, Failure> {
    let (head, mut body) = req.into_parts();
    let mut buffered = None; // a chunked body, whole: its length goes in the packet
    if body.size_hint().exact().is_none() {
        let mut all = BytesMut::new();
        while let Some(chunk) = within(StatusCode::BAD_REQUEST, "body", data(&mut body)).await? {
            all.extend_from_slice(&chunk);
            if all.len() > MAX_BUFFERED {
                let why = format!("a chunked body over {MAX_BUFFERED} bytes");
                return Err((StatusCode::PAYLOAD_TOO_LARGE, why));
            }
        }
        buffered = Some(all.freeze());
    }
    let body_len = buffered
        .as_ref()
        .map_or(body.size_hint().lower(), |b| b.len() as u64);
    let head = Request::from_parts(head, ());
    let vars = vars(&head, remote, local, buffered.is_some());
    let packet = PacketBuilder::new(0).vars(vars.iter().map(|(k, v)| (&k[..], &v[..])));
    let packet = packet.body_len(body_len);
    let too_large =
        |e: uwsgi_codec::Error| (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, e.to_string());
    packet.encoded_len().map_err(too_large)?;

    let mut backend = within(BAD_GATEWAY, backend, connect(backend)).await?;
    within(BAD_GATEWAY, "sending the request", backend.feed(&packet)).await?;
    if let Some(all) = buffered {
        within(BAD_GATEWAY, "sending the body", backend.feed(all)).await?;
    }
    while let Some(chunk) = within(StatusCode::BAD_REQUEST, "body", data(&mut body)).await? {
        within(BAD_GATEWAY, "sending the body", backend.send(chunk)).await?;
    }
    let flush = SinkExt::<Bytes>::flush(&mut backend);
    within(BAD_GATEWAY, "sending the request", flush).await?;

    let mut buf = BytesMut::new();
    let response = loop {
        match parse_head(&mut buf).map_err(|why| (BAD_GATEWAY, why))? {
            Some(interim) if interim.status().is_informational() => continue, // 100 Continue
            Some(response) => break response,
            None if buf.len() > MAX_HEAD => Err((BAD_GATEWAY, "reply head too long".into()))?,
            None => {}
        }
        match within(BAD_GATEWAY, "reading the reply", next(&mut backend)).await? {
            Some(Frame::Raw(bytes)) => buf.extend_from_slice(&bytes),
            _ => return Err((BAD_GATEWAY, format!("reply ended in its head: {buf:?}"))),
        }
    };
    let tail = stream::unfold(Some(backend), |backend| async move {
        let mut backend = backend?; // None after an error
        match within(BAD_GATEWAY, "reading the reply", next(&mut backend)).await {
            Ok(Some(Frame::Raw(bytes))) => Some((Ok(bytes), Some(backend))),
            Ok(Some(Frame::End) | None) => None,
            Ok(Some(frame)) => Some((Err(format!("{frame:?} in a raw reply")), None)),
            Err((_, why)) => Some((Err(why), None)),
        }
    });
    let first = Some(buf.freeze()).filter(|bytes| !bytes.is_empty()).map(Ok);
    let line = line.to_string();
    let chunks = stream::iter(first).chain(tail).map(move |chunk| {
        chunk.map(HttpFrame::data).map_err(|why| {
            eprintln!("gateway: {line}: reply cut short ({why})");
            std::io::Error::other(why)
        })
    });
    Ok(response.map(|()| StreamBody::new(chunks).boxed_unsync()))
}

/// `work` within [`TIMEOUT`]; a failure is `status` and one line.
async fn within<T, E: std::fmt::Display>(
    status: StatusCode,
    what: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(result) => result.map_err(|err| (status, format!("{what}: {err}"))),
        Err(_) => Err((status, format!("{what}: nothing in {TIMEOUT:?}"))),
    }
}

/// The next data chunk of a request body (trailers are dropped, as nginx does).
async fn data(body: &mut Incoming) -> Result<Option<Bytes>, hyper::Error> {
    while let Some(frame) = body.frame().await.transpose()? {
        if let Ok(data) = frame.into_data() {
            return Ok(Some(data));
        }
    }
    Ok(None)
}

async fn connect(backend: &str) -> std::io::Result<Backend> {
    let stream: Box<dyn Conn> = match backend.contains('/') {
        true => Box::new(UnixStream::connect(backend).await?),
        false => Box::new(TcpStream::connect(backend).await?),
    };
    Ok(Framed::new(stream, ClientCodec::new()))
}

async fn next(backend: &mut Backend) -> Result<Option<Frame>, uwsgi_codec::Error> {
    backend.next().await.transpose()
}

/// nginx's `uwsgi_params` (`CONTENT_LENGTH` is a placeholder that `body_len` fills in), then
/// the headers as nginx names them; a de-chunked body loses its `Transfer-Encoding`.
fn vars(head: &Request<()>, remote: SocketAddr, local: SocketAddr, dechunked: bool) -> Vars {
    let content_type = head
        .headers()
        .get("content-type")
        .map(HeaderValue::as_bytes);
    let (remote_ip, remote_port) = (remote.ip().to_string(), remote.port().to_string());
    let (local_ip, local_port) = (local.ip().to_string(), local.port().to_string());
    let protocol = format!("{:?}", head.version()); // HTTP/1.1
    let params = NginxParams {
        query_string: head.uri().query().unwrap_or_default().as_bytes(),
        request_method: head.method().as_str().as_bytes(),
        content_type: content_type.unwrap_or_default(),
        request_uri: head
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .as_bytes(),
        path_info: &percent_decode(head.uri().path().as_bytes()),
        server_protocol: protocol.as_bytes(),
        request_scheme: b"http",
        remote_addr: remote_ip.as_bytes(),
        remote_port: remote_port.as_bytes(),
        server_port: local_port.as_bytes(),
        server_name: local_ip.as_bytes(),
        ..NginxParams::default()
    };
    let mapping = CgiMapping {
        content_headers: ContentHeaders::Prefixed,
        ..Default::default()
    };
    let headers = head
        .headers()
        .iter()
        .filter(|(name, _)| !dechunked || *name != "transfer-encoding");
    let headers = mapping
        .header_vars(headers.map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes())));
    let params = params.pairs().map(|(k, v)| (k.to_vec(), v.to_vec()));
    params.chain(headers).collect()
}

type Vars = Vec<(Vec<u8>, Vec<u8>)>;

/// Splits a complete reply head off `buf`: the status from `HTTP/x.y NNN` or `Status: NNN`
/// (200 without either), and the headers but the hop-by-hop ones.
fn parse_head(buf: &mut BytesMut) -> Result<Option<Response<()>>, String> {
    let end = (0..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some((i, 2)),
        [b'\n', b'\r', b'\n', ..] => Some((i, 3)),
        _ => None,
    });
    let Some((end, sep)) = end else {
        return Ok(None);
    };
    let head = buf.split_to(end + sep);
    let bad = |what, bytes: &[u8]| format!("bad {what} {:?}", String::from_utf8_lossy(bytes));
    let status = |code: &[u8]| {
        StatusCode::from_bytes(code.get(..3).unwrap_or(code)).map_err(|_| bad("status", code))
    };
    let mut lines = head[..end]
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii_end)
        .peekable();
    let mut response = Response::new(());
    if let Some(line) = lines.next_if(|line| line.starts_with(b"HTTP/")) {
        *response.status_mut() = status(line.split(|&b| b == b' ').nth(1).unwrap_or(line))?;
    }
    for line in lines {
        let at = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| bad("header", line))?;
        let name = HeaderName::from_bytes(&line[..at]).map_err(|_| bad("header", line))?;
        let value = HeaderValue::from_bytes(line[at + 1..].trim_ascii())
            .map_err(|_| bad("header", line))?;
        match name.as_str() {
            "status" => *response.status_mut() = status(value.as_bytes())?,
            "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" => {}
            _ => drop(response.headers_mut().append(name, value)),
        }
    }
    Ok(Some(response))
}

/// `%XX` becomes its byte (nginx's `$document_uri`); a `%` without two hex digits stays.
fn percent_decode(path: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let (mut out, mut i) = (Vec::with_capacity(path.len()), 0);
    while let Some(&byte) = path.get(i) {
        let escaped = path.get(i + 1..i + 3).filter(|_| byte == b'%');
        let escaped = escaped.and_then(|xy| Some(hex(xy[0])? << 4 | hex(xy[1])?));
        out.push(escaped.unwrap_or(byte));
        i += if escaped.is_some() { 3 } else { 1 };
    }
    out
}
