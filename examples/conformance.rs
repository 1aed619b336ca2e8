//! `conformance`: h2spec for uwsgi application servers. Replays the request-side decode vectors of
//! `tests/vectors/*.json` against a running server and checks that it answers the well-formed
//! ones and refuses the malformed ones (PROTOCOL.md §4, §5; what real peers do instead: §10).
//!
//! ```text
//! cargo run --features codec --example conformance -- 127.0.0.1:3031
//! cargo run --features codec --example conformance -- /tmp/app.sock --json
//! cargo run --features codec --example conformance -- 127.0.0.1:3031 \
//!     --expect-fail tests/vectors/uwsgi-expected-failures.txt
//! ```
//!
//! **Which vectors.** Every decode vector (`schema` absent or `uwsgi-vectors/decode/1`; other
//! files are not read) of `--vectors DIR` (default: this crate's `tests/vectors`) is reported.
//! One is *run* when its first packet is a request family per [`PacketKind::of`] in the request
//! direction (a vars block and a `CONTENT_LENGTH` body, answered with raw HTTP), it is not a
//! datagram, and its `options` need no server setting but the defaults (`max_datasize` ≥ 65535,
//! no `max_vars`, `foreign_check` on, `magic_policy` allow, one-request mode). The others are
//! `SKIP` with the reason: replies, datagrams, service packets, inputs shorter than a header,
//! non-default options, and vectors carrying a code- or process-affecting magic var such as
//! `UWSGI_FILE=exec://id` (PROTOCOL.md §9: uWSGI would run it; `--allow-magic` sends them).
//!
//! **Well-formed or malformed.** A vector is *well-formed* when the connection it describes holds
//! a whole valid request: `expect` is a packet (form 1) whose `after_hex` holds at least
//! `body_len` bytes, or frames (form 4) without an error frame. It is *malformed* when decoding
//! it fails: `expect` has an `error` (forms 2 and 3), frames end in an error, or a form 1
//! packet's body is cut short by the end of the input (`TruncatedBody`, README §3.5).
//!
//! **One exchange.** For each vector: a new connection; all of `wire_hex` is written; the write
//! side is shut down (`shutdown(Write)`: the end of input the vector ends with, so a server
//! waiting for more bytes sees EOF instead of hanging); then the reply is read until the server
//! closes or resets the connection, the reply is decided, or the timeout (`--timeout`, default
//! 3 s, bounding connect, write and read together) runs out. A *status line* is the reply
//! starting with `HTTP/x.y NNN` (one digit each for x and y, three for NNN, then a space or the
//! line end); interim `1xx` responses are skipped. A reply that starts with anything else is not
//! HTTP. Bytes after the status line are not looked at.
//!
//! - A well-formed vector **passes** iff a status line (any status) arrived within the timeout.
//! - A malformed vector **passes** iff no `2xx` status line arrived: the connection was closed or
//!   reset, a non-2xx status arrived, or nothing came back before the timeout (the server kept the
//!   half-closed connection open; reported as such) **and** the server then still answers a
//!   known-good request: a fresh connection with a small valid GET (nginx's default
//!   `uwsgi_params`) must get a status line within the timeout. A server that dies or wedges
//!   fails that vector.
//! - Failing to connect fails the vector. Before any vector, the known-good GET is sent once; if
//!   it gets no status line the run stops with exit status 2.
//!
//! With `--jobs N` (default 1) N vectors run at once; the known-good probe then follows each
//! malformed vector on its own connection, so a server killed by one vector may fail a vector
//! running next to it.
//!
//! **Output.** One line per vector, in file and vector order, `VERDICT name: reason`, where VERDICT
//! is `PASS`, `FAIL`, `XFAIL`, `XPASS` or `SKIP`, then a summary line `N passed, N failed`, to
//! which `, N skipped` and then `, N expected failures` are appended when not zero (e.g.
//! `120 passed, 2 failed, 5 skipped, 3 expected failures`). `--json` prints one JSON object
//! instead: `{"target", "timeout_ms", "vectors": [{"name", "file", "verdict", "reason",
//! "expect": "response"|"refusal"|null, "elapsed_ms"}], "passed", "failed", "skipped",
//! "expected_failures", "unexpected_passes"}`.
//!
//! **Known deviations.** `--expect-fail FILE` lists vector names, one per line (`#` starts a
//! comment, blank lines are ignored). A listed vector that fails is `XFAIL` and counted as an
//! expected failure, not as failed; a listed vector that passes is `XPASS` and counted as failed,
//! and so is a listed name that no vector file defines: the list has to stay honest. A listed
//! vector that is skipped stays `SKIP`. The exit status is 0 iff nothing failed (1 otherwise, 2
//! for usage, vector-file or target errors).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use uwsgi_codec::{
    Block, Direction, Header, MagicClass, Modifier1, PacketBuilder, PacketKind, Parser, Status,
    magic_class,
};

const USAGE: &str = "\
usage: conformance [OPTIONS] TARGET
  TARGET              HOST:PORT of a uwsgi application server, or a unix socket path
                      (contains /; a unix: prefix is dropped)
  --vectors DIR       the vector files (default: this crate's tests/vectors)
  --timeout SECS      per exchange: connect + write + read (default 3; fractions allowed)
  --expect-fail FILE  known deviations: vector names, one per line, # comments
  --jobs N            vectors run at once (default 1, at most 64)
  --only TEXT         run only vectors whose name contains TEXT (repeatable)
  --allow-magic       also send vectors with code-affecting UWSGI_* vars (the server may run them)
  --json              one JSON object instead of the text report
exit status: 0 iff no vector failed; 1 if one did; 2 for usage, vector or target errors
";

const DECODE_SCHEMA: &str = "uwsgi-vectors/decode/1";

/// At most this many reply bytes are kept: the status line is all that is looked at.
const REPLY_CAP: usize = 64 * 1024;

/// At most this many interim (1xx) responses are skipped before the final status line.
const MAX_INTERIM: usize = 8;

#[derive(Debug)]
struct Options {
    target: String,
    vectors: PathBuf,
    timeout: Duration,
    expect_fail: Option<PathBuf>,
    jobs: usize,
    only: Vec<String>,
    allow_magic: bool,
    json: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        target: String::new(),
        vectors: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
        timeout: Duration::from_secs(3),
        expect_fail: None,
        jobs: 1,
        only: Vec::new(),
        allow_magic: false,
        json: false,
    };
    let mut target = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--vectors" => options.vectors = value()?.into(),
            "--timeout" => {
                let text = value()?;
                let secs: f64 = text
                    .parse()
                    .map_err(|_| format!("--timeout {text:?} is not a number"))?;
                options.timeout = Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|t| !t.is_zero() && *t <= Duration::from_secs(3600))
                    .ok_or(format!("--timeout {text:?}: want 0 < SECS <= 3600"))?;
            }
            "--expect-fail" => options.expect_fail = Some(value()?.into()),
            "--jobs" => {
                let text = value()?;
                options.jobs = text
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or(format!("--jobs {text:?}: want 1 to 64"))?;
            }
            "--only" => options.only.push(value()?),
            "--allow-magic" => options.allow_magic = true,
            "--json" => options.json = true,
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg:?}")),
            _ if target.is_none() => target = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    options.target = target.ok_or("no TARGET given")?;
    Ok(Some(options))
}

// ---------------------------------------------------------------------------------------------
// Vector files
// ---------------------------------------------------------------------------------------------

/// What the server must do with a vector's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A whole valid request: an HTTP status line.
    Response,
    /// A malformed one: no 2xx status line, and the server lives on.
    Refusal,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Expect::Response => "response",
            Expect::Refusal => "refusal",
        }
    }
}

struct Vector {
    name: String,
    file: String,
    /// What to do with it: `Err` = skip, with the reason.
    plan: Result<(Expect, Vec<u8>), String>,
}

/// Every decode vector of every `*.json` file in `dir`, files sorted by name.
fn load_vectors(dir: &Path, allow_magic: bool) -> Result<Vec<Vector>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut vectors = Vec::new();
    let mut seen = HashMap::new();
    for path in paths {
        let file = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        match doc.get("schema") {
            None => {}
            Some(Value::String(schema)) if schema == DECODE_SCHEMA => {}
            Some(_) => continue, // encoder vectors, or a schema this runner does not know
        }
        let list = doc
            .get("vectors")
            .and_then(Value::as_array)
            .ok_or(format!("{file}: no \"vectors\" array"))?;
        for (i, raw) in list.iter().enumerate() {
            let vector = read_vector(raw, &file, allow_magic)
                .map_err(|e| format!("{file}: vector #{i}: {e}"))?;
            if let Some(other) = seen.insert(vector.name.clone(), file.clone()) {
                return Err(format!(
                    "{file}: vector name {:?} is also used in {other}",
                    vector.name
                ));
            }
            vectors.push(vector);
        }
    }
    Ok(vectors)
}

fn read_vector(raw: &Value, file: &str, allow_magic: bool) -> Result<Vector, String> {
    let map = raw.as_object().ok_or("not an object")?;
    for key in map.keys() {
        let known = [
            "name",
            "description",
            "source",
            "wire_hex",
            "options",
            "expect",
        ];
        if !known.contains(&key.as_str()) {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .filter(|name| valid_name(name))
        .ok_or("no valid \"name\"")?
        .to_owned();
    let ctx = |e: String| format!("{name}: {e}");
    let wire = data(map.get("wire_hex").ok_or("no wire_hex")?).map_err(ctx)?;
    let expect = map
        .get("expect")
        .and_then(Value::as_object)
        .ok_or_else(|| ctx("no \"expect\" object".into()))?;
    let outcome = outcome(expect, &wire).map_err(ctx)?;
    let plan = match skip_reason(map.get("options"), &wire, allow_magic).map_err(ctx)? {
        Some(reason) => Err(reason),
        None => Ok((outcome, wire)),
    };
    Ok(Vector {
        name,
        file: file.to_owned(),
        plan,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Well-formed or malformed, from `expect` (README §3.2, §3.5).
fn outcome(expect: &Map<String, Value>, wire: &[u8]) -> Result<Expect, String> {
    if expect.contains_key("error") {
        return Ok(Expect::Refusal); // forms 2 and 3
    }
    if let Some(frames) = expect.get("frames") {
        let frames = frames.as_array().ok_or("expect.frames is not an array")?;
        let failed = frames
            .iter()
            .any(|frame| frame.as_object().is_some_and(|f| f.contains_key("error")));
        return Ok(if failed {
            Expect::Refusal
        } else {
            Expect::Response
        });
    }
    let packet = expect
        .get("packet")
        .and_then(Value::as_object)
        .ok_or("expect holds neither packet, error nor frames")?;
    // Form 1: the body is `body_len` bytes of `after_hex`; fewer means TruncatedBody.
    let body_len = packet
        .get("body_len")
        .and_then(Value::as_u64)
        .ok_or("expect.packet.body_len is not an integer")?;
    let datasize = packet
        .get("datasize")
        .and_then(Value::as_u64)
        .ok_or("expect.packet.datasize is not an integer")?;
    let after = (wire.len() as u64).saturating_sub(4 + datasize);
    Ok(if after >= body_len {
        Expect::Response
    } else {
        Expect::Refusal
    })
}

/// Why a vector is not run, `None` if it is.
fn skip_reason(
    options: Option<&Value>,
    wire: &[u8],
    allow_magic: bool,
) -> Result<Option<String>, String> {
    let empty = Map::new();
    let options = match options {
        None => &empty,
        Some(value) => value.as_object().ok_or("options is not an object")?,
    };
    let mut settings = Vec::new();
    for (key, value) in options {
        let default = match key.as_str() {
            "direction" if value == "reply" => {
                return Ok(Some(
                    "a reply (direction reply): not sent to a server".into(),
                ));
            }
            "datagram" if value == true => {
                return Ok(Some("a datagram: not sent on a stream".into()));
            }
            "direction" => value == "request",
            "datagram" => value == false,
            "max_datasize" => value.as_u64().is_some_and(|max| max >= 65535),
            "max_vars" => value.is_null(),
            "foreign_check" => value == true,
            "magic_policy" => value == "allow",
            "mode" => value == "one-request",
            other => return Err(format!("unknown option {other:?}")),
        };
        if !default {
            settings.push(format!("{key} {value}"));
        }
    }
    let header = match Header::parse(wire) {
        Status::Complete(header) => header,
        Status::Incomplete(_) => {
            return Ok(Some(format!(
                "{} bytes, no whole header: not a request family",
                wire.len()
            )));
        }
    };
    if PacketKind::of(&header, Direction::Request) != PacketKind::REQUEST {
        return Ok(Some(format!(
            "modifier1 {}, modifier2 {}: not a request family",
            header.modifier1, header.modifier2
        )));
    }
    if !settings.is_empty() {
        return Ok(Some(format!(
            "needs a non-default server setting: {}",
            settings.join(", ")
        )));
    }
    match code_magic(wire) {
        Some(key) if !allow_magic => Ok(Some(format!(
            "carries {key} (PROTOCOL.md §9: uWSGI would act on it); --allow-magic sends it"
        ))),
        _ => Ok(None),
    }
}

/// The first code- or process-affecting `UWSGI_*` key of the packet. When the block does not
/// parse, any such name anywhere in the bytes counts: a lenient server might still see it.
fn code_magic(wire: &[u8]) -> Option<String> {
    let code = |key: &[u8]| magic_class(key) == Some(MagicClass::CodeOrProcess);
    if let Ok(Status::Complete(packet)) = Parser::new().parse(wire) {
        if let Block::Vars(vars) = packet.block() {
            return vars
                .iter()
                .map(|(key, _)| key)
                .find(|key| code(key))
                .map(|key| key.escape_ascii().to_string());
        }
        return None;
    }
    (0..wire.len()).find_map(|at| {
        let rest = wire.get(at..)?;
        if !rest.starts_with(b"UWSGI_") {
            return None;
        }
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_uppercase() || *b == b'_'))
            .unwrap_or(rest.len());
        let key = rest.get(..len)?;
        code(key).then(|| key.escape_ascii().to_string())
    })
}

/// "Hex data" (README §1): a hex string, `{"repeat": hex, "count": n}`, or an array of these.
fn data(value: &Value) -> Result<Vec<u8>, String> {
    fn unhex(text: &str) -> Result<Vec<u8>, String> {
        if text.len() % 2 != 0 {
            return Err(format!("odd number of hex digits in {text:?}"));
        }
        (0..text.len())
            .step_by(2)
            .map(|at| {
                text.get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or(format!("not hex: {text:?}"))
            })
            .collect()
    }
    match value {
        Value::String(text) => unhex(text),
        Value::Object(map) => {
            if map.keys().any(|key| key != "repeat" && key != "count") {
                return Err(format!("bad repeat object {value}"));
            }
            let unit = unhex(map.get("repeat").and_then(Value::as_str).unwrap_or(""))?;
            let count = map
                .get("count")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| n.saturating_mul(unit.len()) <= 1 << 24)
                .ok_or(format!("bad repeat count in {value}"))?;
            if unit.is_empty() {
                return Err(format!("empty repeat unit in {value}"));
            }
            Ok(unit.repeat(count))
        }
        Value::Array(parts) => {
            let mut out = Vec::new();
            for part in parts {
                out.extend(data(part)?);
            }
            Ok(out)
        }
        _ => Err(format!("not hex data: {value}")),
    }
}

/// The `--expect-fail` names, in file order.
fn load_expected_failures(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        if !valid_name(name) {
            return Err(format!(
                "{}:{}: {name:?} is not a vector name",
                path.display(),
                number + 1
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// The wire
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Target {
    fn resolve(text: &str) -> Result<Target, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Target::Unix(path.into()));
        }
        if text.contains('/') {
            return Ok(Target::Unix(text.into()));
        }
        text.to_socket_addrs()
            .map_err(|e| format!("{text}: {e}"))?
            .next()
            .map(Target::Tcp)
            .ok_or(format!("{text}: no address"))
    }
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn connect(target: &Target, timeout: Duration) -> io::Result<Conn> {
        match target {
            Target::Tcp(addr) => Ok(Conn::Tcp(TcpStream::connect_timeout(addr, timeout)?)),
            Target::Unix(path) => {
                // std has no connect timeout for unix sockets, and connect() blocks while the
                // listen backlog is full: connect on a helper thread and stop waiting for it.
                // A connection it makes too late is dropped (closed) when the send fails.
                let (done, result) = mpsc::channel();
                let path = path.clone();
                std::thread::spawn(move || {
                    let _ = done.send(UnixStream::connect(path));
                });
                match result.recv_timeout(timeout) {
                    Ok(stream) => Ok(Conn::Unix(stream?)),
                    Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
                }
            }
        }
    }

    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s
                .set_read_timeout(Some(timeout))
                .and_then(|()| s.set_write_timeout(Some(timeout))),
            Conn::Unix(s) => s
                .set_read_timeout(Some(timeout))
                .and_then(|()| s.set_write_timeout(Some(timeout))),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Write),
            Conn::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }
}

/// How reading the reply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// The reply was decided before the server closed (a status line, or bytes that are not HTTP).
    Decided,
    /// EOF: the server closed the connection.
    Closed,
    /// The connection was reset.
    Reset,
    /// The timeout ran out with the connection still open.
    TimedOut,
    /// Connecting failed.
    NoConnection(String),
    /// Another I/O error.
    Failed(String),
}

/// The status line at the start of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// `HTTP/x.y NNN ...`: the code and the line, escaped.
    Status(u16, String),
    /// No byte yet, or a possible status line still incomplete.
    Pending,
    /// The bytes cannot start an HTTP status line.
    NotHttp,
}

/// Looks for the final status line at the start of `buf`; `eof` = no more bytes will come.
fn scan(buf: &[u8], eof: bool) -> Reply {
    let mut rest = buf;
    for _ in 0..=MAX_INTERIM {
        let line_end = rest.iter().position(|&b| b == b'\n');
        let line = match line_end {
            Some(end) => rest.get(..end).unwrap_or_default(),
            None if eof || rest.len() >= REPLY_CAP => rest,
            None => {
                let shown = rest.len().min(5);
                return if rest.get(..shown) == b"HTTP/".get(..shown) {
                    Reply::Pending
                } else {
                    Reply::NotHttp
                };
            }
        };
        let Some(code) = status_code(line) else {
            return Reply::NotHttp;
        };
        if !(100..200).contains(&code) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Reply::Status(code, line.escape_ascii().to_string());
        }
        // An interim response: skip its header block.
        let after = [&b"\r\n\r\n"[..], b"\n\n"]
            .iter()
            .filter_map(|end| {
                rest.windows(end.len())
                    .position(|w| w == *end)
                    .map(|at| at + end.len())
            })
            .min();
        match after.and_then(|at| rest.get(at..)) {
            Some(next) => rest = next,
            None if eof || rest.len() >= REPLY_CAP => return Reply::NotHttp,
            None => return Reply::Pending,
        }
    }
    Reply::NotHttp
}

/// The code of a line `HTTP/x.y NNN[ reason]` (a trailing CR allowed).
fn status_code(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let [major, b'.', minor, b' ', a, b, c, tail @ ..] = rest else {
        return None;
    };
    let digits = [*major, *minor, *a, *b, *c];
    if !digits.iter().all(u8::is_ascii_digit) || !matches!(tail.first(), None | Some(b' ' | b'\r'))
    {
        return None;
    }
    Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
}

/// What one connection gave.
struct Exchange {
    reply: Reply,
    end: End,
    received: Vec<u8>,
    /// `Some((sent, error))` when the server stopped taking our bytes.
    write_error: Option<(usize, String)>,
    wire_len: usize,
}

/// Sends `wire`, half-closes, reads the reply until it is decided, the server closes or resets
/// the connection, or `timeout` (for the whole exchange) runs out.
fn exchange(target: &Target, wire: &[u8], timeout: Duration) -> Exchange {
    let deadline = Instant::now() + timeout;
    let mut result = Exchange {
        reply: Reply::Pending,
        end: End::TimedOut,
        received: Vec::new(),
        write_error: None,
        wire_len: wire.len(),
    };
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut conn = match Conn::connect(target, timeout) {
        Ok(conn) => conn,
        Err(err) => {
            result.end = End::NoConnection(short_error(&err));
            return result;
        }
    };
    let mut sent = 0;
    while sent < wire.len() {
        let remaining = left();
        if remaining.is_zero() {
            result.write_error = Some((sent, "timed out".into()));
            break;
        }
        let step = conn
            .set_timeouts(remaining)
            .and_then(|()| conn.write(wire.get(sent..).unwrap_or_default()));
        match step {
            Ok(0) => {
                result.write_error = Some((sent, "wrote 0 bytes".into()));
                break;
            }
            Ok(n) => sent += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                result.write_error = Some((sent, short_error(&err)));
                break;
            }
        }
    }
    let _ = conn.shutdown_write(); // fails harmlessly if the server already reset
    let mut buf = [0u8; 16 * 1024];
    // Each read either returns bytes (bounded by REPLY_CAP), EOF, an error, or waits at most
    // until the deadline; the iteration bound is a backstop.
    for attempt in 0..100_000 {
        let remaining = left();
        // One read even when writing used up the time: the reply may already be here.
        if remaining.is_zero() && attempt > 0 {
            result.end = End::TimedOut;
            break;
        }
        let read = conn
            .set_timeouts(remaining.max(Duration::from_millis(1)))
            .and_then(|()| conn.read(&mut buf));
        match read {
            Ok(0) => {
                result.end = End::Closed;
                break;
            }
            Ok(n) => {
                let room = REPLY_CAP.saturating_sub(result.received.len());
                result
                    .received
                    .extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
                if scan(&result.received, false) != Reply::Pending {
                    result.end = End::Decided;
                    break;
                }
            }
            Err(err) => match err.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    result.end = End::TimedOut;
                    break;
                }
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                    result.end = End::Reset;
                    break;
                }
                _ => {
                    result.end = End::Failed(short_error(&err));
                    break;
                }
            },
        }
    }
    // Unless decided early, no more bytes will be looked at: the reply is what came.
    result.reply = match scan(&result.received, result.end != End::Decided) {
        Reply::Pending => Reply::NotHttp,
        reply => reply,
    };
    result
}

fn short_error(err: &io::Error) -> String {
    let text = err.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

impl Exchange {
    /// How the exchange ended, for a reason text: "closed without a reply", ...
    fn how(&self, timeout: Duration) -> String {
        let mut text = match (&self.reply, self.received.is_empty()) {
            (Reply::Status(_, line), _) => format!("answered `{line}`"),
            (_, true) => match &self.end {
                End::Closed | End::Decided => "closed without a reply".to_owned(),
                End::Reset => "reset without a reply".to_owned(),
                End::TimedOut => format!("no reply in {} (connection left open)", seconds(timeout)),
                End::NoConnection(err) => format!("cannot connect: {err}"),
                End::Failed(err) => format!("read failed: {err}"),
            },
            (_, false) => {
                let shown: Vec<u8> = self.received.iter().copied().take(40).collect();
                let more = if self.received.len() > shown.len() {
                    "..."
                } else {
                    ""
                };
                let end = match &self.end {
                    End::Closed | End::Decided => String::new(),
                    End::Reset => ", then reset".to_owned(),
                    End::TimedOut => format!(", then nothing for {}", seconds(timeout)),
                    End::NoConnection(err) | End::Failed(err) => format!(", then {err}"),
                };
                format!(
                    "replied {} bytes that are not an HTTP status line: \"{}{more}\"{end}",
                    self.received.len(),
                    shown.escape_ascii()
                )
            }
        };
        if let Some((sent, err)) = &self.write_error {
            text.push_str(&format!(
                " (it stopped reading after {sent} of {} bytes: {err})",
                self.wire_len
            ));
        }
        text
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// A small valid GET, as nginx sends it with its default `uwsgi_params`.
fn known_good_request() -> Vec<u8> {
    let pairs: [(&str, &str); 15] = [
        ("QUERY_STRING", ""),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/"),
        ("PATH_INFO", "/"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "40000"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "localhost"),
        ("HTTP_USER_AGENT", "uwsgi-codec-conformance"),
    ];
    let mut builder = PacketBuilder::new(Modifier1::WSGI);
    for (key, value) in &pairs {
        builder.push_var(*key, *value);
    }
    builder.to_vec().unwrap_or_default()
}

/// `Ok(status line)` if the server answers the known-good GET, else why not.
fn probe(target: &Target, request: &[u8], timeout: Duration) -> Result<String, String> {
    let exchange = exchange(target, request, timeout);
    match &exchange.reply {
        Reply::Status(_, line) => Ok(line.clone()),
        _ => Err(exchange.how(timeout)),
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    ExpectedFail,
    UnexpectedPass,
    Skip,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::ExpectedFail => "XFAIL",
            Verdict::UnexpectedPass => "XPASS",
            Verdict::Skip => "SKIP",
        }
    }
}

struct Outcome {
    name: String,
    file: Option<String>,
    expect: Option<Expect>,
    verdict: Verdict,
    reason: String,
    elapsed: Duration,
}

/// Runs one vector: `(passed, reason)`.
fn run_vector(
    target: &Target,
    expect: Expect,
    wire: &[u8],
    good: &[u8],
    timeout: Duration,
) -> (bool, String) {
    let exchange = exchange(target, wire, timeout);
    let how = exchange.how(timeout);
    if let End::NoConnection(_) = exchange.end {
        return (false, how);
    }
    match (expect, &exchange.reply) {
        (Expect::Response, Reply::Status(..)) => (true, how),
        (Expect::Response, _) => (false, format!("no HTTP status line: {how}")),
        (Expect::Refusal, Reply::Status(code, _)) if (200..300).contains(code) => {
            (false, format!("accepted: {how}"))
        }
        (Expect::Refusal, _) => match probe(target, good, timeout) {
            Ok(_) => (
                true,
                format!("refused: {how}; a valid GET is still answered"),
            ),
            Err(err) => (
                false,
                format!("refused: {how}; but then a valid GET got no status line: {err}"),
            ),
        },
    }
}

fn judge(passed: bool, listed: bool) -> Verdict {
    match (passed, listed) {
        (true, false) => Verdict::Pass,
        (false, false) => Verdict::Fail,
        (false, true) => Verdict::ExpectedFail,
        (true, true) => Verdict::UnexpectedPass,
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("conformance: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("conformance: {message}");
            ExitCode::from(2)
        }
    }
}

/// The whole run; `Ok(true)` iff nothing failed.
fn run(options: &Options) -> Result<bool, String> {
    let target = Target::resolve(&options.target)?;
    let vectors = load_vectors(&options.vectors, options.allow_magic)?;
    let listed: Vec<String> = match &options.expect_fail {
        Some(path) => load_expected_failures(path)?,
        None => Vec::new(),
    };
    let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    let selected: Vec<&Vector> = vectors
        .iter()
        .filter(|v| options.only.is_empty() || options.only.iter().any(|o| v.name.contains(o)))
        .collect();

    let good = known_good_request();
    probe(&target, &good, options.timeout).map_err(|err| {
        format!(
            "{} does not answer a valid GET, so no vector can be judged: {err}",
            options.target
        )
    })?;

    let outcomes: Vec<Mutex<Option<Outcome>>> = selected.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let printed = Mutex::new(0usize);
    let print_ready = || {
        if options.json {
            return;
        }
        let Ok(mut printed) = printed.lock() else {
            return;
        };
        let mut out = io::stdout().lock();
        while let Some(slot) = outcomes.get(*printed) {
            let Ok(slot) = slot.lock() else { return };
            let Some(outcome) = slot.as_ref() else { break };
            let _ = writeln!(
                out,
                "{} {}: {}",
                outcome.verdict.label(),
                outcome.name,
                outcome.reason
            );
            *printed += 1;
        }
        let _ = out.flush();
    };
    let worker = || {
        // Each iteration claims a distinct index; the loop ends when they run out.
        for _ in 0..selected.len() {
            let index = next.fetch_add(1, Ordering::SeqCst);
            let (Some(vector), Some(slot)) = (selected.get(index), outcomes.get(index)) else {
                break;
            };
            let started = Instant::now();
            let is_listed = listed_set.contains(vector.name.as_str());
            let (expect, verdict, reason) = match &vector.plan {
                Err(reason) => {
                    let note = if is_listed {
                        " (listed as an expected failure)"
                    } else {
                        ""
                    };
                    (None, Verdict::Skip, format!("{reason}{note}"))
                }
                Ok((expect, wire)) => {
                    let (passed, reason) =
                        run_vector(&target, *expect, wire, &good, options.timeout);
                    let verdict = judge(passed, is_listed);
                    let reason = match verdict {
                        Verdict::UnexpectedPass => {
                            format!("{reason} (listed as an expected failure, but it passes)")
                        }
                        _ => reason,
                    };
                    (Some(*expect), verdict, reason)
                }
            };
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(Outcome {
                    name: vector.name.clone(),
                    file: Some(vector.file.clone()),
                    expect,
                    verdict,
                    reason,
                    elapsed: started.elapsed(),
                });
            }
            print_ready();
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(selected.len().max(1)) {
            scope.spawn(worker);
        }
    });

    let mut outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect();
    if outcomes.len() != selected.len() {
        return Err("a worker thread failed".into());
    }
    // Listed names that no vector file defines: a stale list fails.
    let known: BTreeSet<&str> = vectors.iter().map(|v| v.name.as_str()).collect();
    let unknown: Vec<Outcome> = listed_set
        .iter()
        .filter(|name| !known.contains(*name))
        .map(|name| Outcome {
            name: (*name).to_owned(),
            file: None,
            expect: None,
            verdict: Verdict::Fail,
            reason: "listed as an expected failure, but no vector file defines it".into(),
            elapsed: Duration::ZERO,
        })
        .collect();
    if !options.json {
        let mut out = io::stdout().lock();
        for outcome in &unknown {
            let _ = writeln!(
                out,
                "{} {}: {}",
                outcome.verdict.label(),
                outcome.name,
                outcome.reason
            );
        }
    }
    outcomes.extend(unknown);

    let count = |verdicts: &[Verdict]| {
        outcomes
            .iter()
            .filter(|o| verdicts.contains(&o.verdict))
            .count()
    };
    let passed = count(&[Verdict::Pass]);
    let failed = count(&[Verdict::Fail, Verdict::UnexpectedPass]);
    let skipped = count(&[Verdict::Skip]);
    let expected_failures = count(&[Verdict::ExpectedFail]);
    let unexpected_passes = count(&[Verdict::UnexpectedPass]);
    let mut out = io::stdout().lock();
    if options.json {
        let list: Vec<Value> = outcomes
            .iter()
            .map(|o| {
                json!({
                    "name": o.name,
                    "file": o.file,
                    "verdict": o.verdict.label(),
                    "reason": o.reason,
                    "expect": o.expect.map(Expect::name),
                    "elapsed_ms": u64::try_from(o.elapsed.as_millis()).unwrap_or(u64::MAX),
                })
            })
            .collect();
        let doc = json!({
            "target": options.target,
            "timeout_ms": u64::try_from(options.timeout.as_millis()).unwrap_or(u64::MAX),
            "vectors": list,
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
            "expected_failures": expected_failures,
            "unexpected_passes": unexpected_passes,
        });
        let _ = writeln!(out, "{doc}");
    } else {
        let mut summary = format!("{passed} passed, {failed} failed");
        if skipped > 0 {
            summary.push_str(&format!(", {skipped} skipped"));
        }
        if expected_failures > 0 {
            summary.push_str(&format!(", {expected_failures} expected failures"));
        }
        let _ = writeln!(out, "{summary}");
    }
    let _ = out.flush();
    Ok(failed == 0)
}
