//! `client`: a curl for uwsgi. Sends one request as nginx would; copies the raw reply to stdout.
//!
//! ```text
//! cargo run --features codec --example client -- 127.0.0.1:3031 '/a/b%20c?x=1' -H 'X-Foo: 1'
//! cargo run --features codec --example client -- --data body.txt 127.0.0.1:3031 /upload
//! echo hello | cargo run --features codec --example client -- --data - /tmp/app.sock
//! cargo run --features codec --example client -- --ping 127.0.0.1:3031
//! cargo run --features codec --example client -- --vars-json v.json --body b.bin 127.0.0.1:3031
//! ```
//!
//! The vars are nginx's default `uwsgi_params` plus Debian's `HTTP_HOST`, then the `-H` headers
//! named as nginx names them (`Content-Type` also as `HTTP_CONTENT_TYPE`; a body adds the
//! `Content-Length` header curl would send). `PATH_INFO` is the percent-decoded path, without
//! nginx's `.`/`..`/`//` merging; `REMOTE_*` is our end of the connection (`127.0.0.1`/`0` on a
//! unix socket); `SERVER_NAME`/`SERVER_PORT` come from ADDR (`localhost`/`80` for a socket).
//! `--vars-json` takes a list of `{"key_hex":H,"value_hex":H}` (or what `server --dump` and
//! `inspect --json` print); a `CONTENT_LENGTH` among them must match `--body` or be empty.
//! Errors are one `client: ...` line on stderr, exit status 1 (2 for usage errors).

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt as _};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::codec::Framed;
use uwsgi_codec::{
    CgiMapping, ClientCodec, ContentHeaders, Error, Escaped, Frame, Modifier1, NginxParams,
    PacketBuilder,
};

const USAGE: &str = "\
usage: client [OPTIONS] ADDR [PATH]
  ADDR                HOST:PORT, or a unix socket path (contains /); PATH defaults to /
  -X METHOD           request method (default GET, POST with a body)
  -H 'Name: value'    a request header, sent as HTTP_NAME (repeatable)
  --data FILE         the request body (- = stdin); --body FILE is the same
  --modifier1 N       header byte 0 (default 0, WSGI); --modifier2 N: byte 3 (default 0)
  --vars-json FILE    send exactly these pairs: [{\"key_hex\":..,\"value_hex\":..},...]
  --ping              send a ping and time the pong
  --timeout SECS      bound connect + the whole exchange (default 10)
";

/// modifier1 and modifier2 of a pong.
const PONG: (Modifier1, u8) = (Modifier1::PING, 1);

/// Body bytes per chunk handed to the codec.
const CHUNK: usize = 64 * 1024;

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Default)]
struct Options {
    addr: String,
    path: String,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    vars_json: Option<String>,
    modifier1: u8,
    modifier2: u8,
    ping: bool,
    timeout: Duration,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "-X" => options.method = Some(value()?),
            "-H" => match value()?.split_once(':') {
                Some((name, value)) if !name.is_empty() && !name.contains(' ') => {
                    options.headers.push((name.into(), value.trim().into()));
                }
                _ => return Err("-H wants 'Name: value'".into()),
            },
            "--data" | "--body" => options.body = Some(value()?),
            "--vars-json" => options.vars_json = Some(value()?),
            "--modifier1" => options.modifier1 = number(&value()?)?,
            "--modifier2" => options.modifier2 = number(&value()?)?,
            "--ping" => options.ping = true,
            "--timeout" => {
                let secs = Duration::try_from_secs_f64(number(&value()?)?).ok();
                options.timeout = secs.filter(|t| !t.is_zero()).ok_or("bad --timeout")?;
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    options.addr = positional.next().ok_or("missing ADDR")?;
    options.path = positional.next().unwrap_or_else(|| "/".into());
    if !options.addr.contains(['/', ':']) {
        return Err(format!(
            "ADDR {:?}: want HOST:PORT or a socket path",
            options.addr
        ));
    }
    if !options.path.starts_with('/') {
        return Err(format!("PATH {:?} does not start with /", options.path));
    }
    match positional.next() {
        Some(extra) => Err(format!("unexpected argument {extra:?}")),
        None => Ok(Some(options)),
    }
}

impl Options {
    /// The value of the first `-H` header called `name`, in any case.
    fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a valid number here"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("client: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the inputs, then connects and exchanges within the timeout.
async fn run(options: &Options) -> Result<(), String> {
    let body = options
        .body
        .as_deref()
        .map(read)
        .transpose()?
        .map(Bytes::from);
    let vars = options.vars_json.as_deref().map(read_vars).transpose()?;
    let exchange = exchange(options, body, vars);
    let late = |_| format!("no complete reply within {:?}", options.timeout);
    tokio::time::timeout(options.timeout, exchange)
        .await
        .map_err(late)?
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
        text.and_then(unhex)
            .ok_or(format!("{path}: pair {i}: {name} is not a hex string"))
    };
    let pair = |(i, pair)| Ok((field(i, pair, "key_hex")?, field(i, pair, "value_hex")?));
    list.iter().enumerate().map(pair).collect()
}

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// The connection, and our end of it as `REMOTE_ADDR` and `REMOTE_PORT`.
async fn connect(addr: &str) -> std::io::Result<(Box<dyn Conn>, (String, String))> {
    if addr.contains('/') {
        let local = ("127.0.0.1".into(), "0".into());
        return Ok((Box::new(UnixStream::connect(addr).await?), local));
    }
    let stream = TcpStream::connect(addr).await?;
    let local = stream.local_addr()?;
    Ok((
        Box::new(stream),
        (local.ip().to_string(), local.port().to_string()),
    ))
}

async fn exchange(
    options: &Options,
    body: Option<Bytes>,
    vars: Option<Pairs>,
) -> Result<(), String> {
    let addr = &options.addr;
    let (stream, local) = connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let mut framed = Framed::new(stream, ClientCodec::new());
    if options.ping {
        return ping(&mut framed, addr).await;
    }
    let body_len = body.as_ref().map_or(0, Bytes::len);
    let vars = vars.unwrap_or_else(|| nginx_vars(options, &local, body.as_ref().map(Bytes::len)));
    let request = PacketBuilder::new(options.modifier1)
        .modifier2(options.modifier2)
        .vars(vars.iter().map(|(key, value)| (&key[..], &value[..])))
        .body_len(body_len as u64);
    let sending = |err| match err {
        Error::ConflictingContentLength { second, .. } => {
            format!("CONTENT_LENGTH in the vars must be empty or exactly {second}, the body length")
        }
        Error::MagicVar { offset } => {
            format!("the var at offset {offset} makes uWSGI run code (UWSGI_FILE & co): not sent")
        }
        err => format!("cannot send the request: {}", describe(err)),
    };
    framed.feed(&request).await.map_err(sending)?;
    let body = body.unwrap_or_default();
    for start in (0..body_len).step_by(CHUNK) {
        let chunk = body.slice(start..body_len.min(start + CHUNK));
        framed.feed(chunk).await.map_err(sending)?;
    }
    SinkExt::<Bytes>::flush(&mut framed)
        .await
        .map_err(sending)?;

    let (mut stdout, mut received) = (std::io::stdout(), 0);
    while let Some(frame) = framed.next().await {
        let bytes = match frame.map_err(|err| bad_reply(addr, err))? {
            Frame::Raw(bytes) | Frame::Body(bytes) => bytes,
            Frame::Packet(packet) => packet.into_bytes(), // a framed reply, as it came
            Frame::End => break,
            Frame::Trailing(_) => continue, // server side only
        };
        received += bytes.len();
        stdout
            .write_all(&bytes)
            .map_err(|err| format!("stdout: {err}"))?;
    }
    stdout.flush().map_err(|err| format!("stdout: {err}"))?;
    match received {
        0 => Err(format!(
            "empty reply: {addr} closed the connection without answering"
        )),
        _ => Ok(()),
    }
}

async fn ping(framed: &mut Framed<Box<dyn Conn>, ClientCodec>, addr: &str) -> Result<(), String> {
    let started = Instant::now();
    framed
        .send(&PacketBuilder::ping())
        .await
        .map_err(describe)?;
    let reply = framed.next().await.transpose();
    let Some(Frame::Packet(pong)) = reply.map_err(|err| bad_reply(addr, err))? else {
        return Err(format!("{addr} closed the connection without a pong"));
    };
    let (m1, m2) = (pong.header().modifier1, pong.header().modifier2);
    if (m1, m2) != PONG {
        return Err(format!(
            "{addr} answered a ping with modifier1 {m1}, modifier2 {m2}"
        ));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match pong.view().block_bytes() {
        [] => println!("pong from {addr} in {ms:.3} ms"),
        warning => println!(
            "pong from {addr} in {ms:.3} ms (warning: {})",
            Escaped(warning)
        ),
    }
    Ok(())
}

/// nginx's default `uwsgi_params`, then the headers as nginx maps them.
fn nginx_vars(options: &Options, (ip, port): &(String, String), body: Option<usize>) -> Pairs {
    let (server_name, server_port) = match options.addr.rsplit_once(':') {
        Some((host, port)) if !options.addr.contains('/') => (host.trim_matches(['[', ']']), port),
        _ => ("localhost", "80"),
    };
    let (path, query) = options.path.split_once('?').unwrap_or((&options.path, ""));
    let path_info = percent_decode(path.as_bytes());
    let mut headers = options.headers.clone();
    if let Some(len) = body.filter(|_| options.header("Content-Length").is_none()) {
        headers.push(("Content-Length".into(), len.to_string())); // what curl would send
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
    let host = options.header("Host").unwrap_or(server_name);
    let method = options
        .method
        .as_deref()
        .unwrap_or(if body.is_some() { "POST" } else { "GET" });
    let params = NginxParams {
        query_string: query.as_bytes(),
        request_method: method.as_bytes(),
        content_type: options.header("Content-Type").unwrap_or("").as_bytes(),
        content_length: b"", // a placeholder: PacketBuilder::body_len fills it in
        request_uri: options.path.as_bytes(),
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

fn bad_reply(addr: &str, err: Error) -> String {
    format!("bad reply from {addr}: {}", describe(err))
}

/// The error and its hint, once (some messages already end with the hint).
fn describe(err: Error) -> String {
    match err.to_string() {
        message if message.contains(err.hint()) => message,
        message => format!("{message} ({})", err.hint()),
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// `%XX` becomes its byte; a `%` without two hex digits after it stays.
fn percent_decode(path: &[u8]) -> Vec<u8> {
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

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().map(hex_digit).collect::<Option<_>>()?;
    let pairs = digits.chunks_exact(2).map(|pair| pair[0] << 4 | pair[1]);
    (digits.len() % 2 == 0).then(|| pairs.collect())
}
