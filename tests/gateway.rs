//! The `gateway` example (an HTTP/1.1 server in front of uwsgi, nginx's role) between curl and
//! real uWSGI 2.0: the classic hello app, a Django project, and 1 MiB bodies both ways; then
//! against scripted backends for the reply-head parser, the vars and the 502s.
//!
//! Needs the peers of `bash .ci/install-peers` (uWSGI with its python3 plugin, curl, Django in
//! `target/peer-venv`). Every process runs under a [`Peer`] guard that stops it by its process
//! group id on drop, panics included; ports are free loopback ports; files go under
//! `target/peer-tmp/<test>-<pid>/`.
#![cfg(feature = "codec")]

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use uwsgi_codec::Packet;

const INSTALL_HINT: &str = "run `bash .ci/install-peers` (installs uWSGI with its python3 \
                            plugin, curl, and Django in target/peer-venv)";

const MIB: usize = 1 << 20;

// ------------------------------------------------------------------------------------------
// Paths, tools, scratch space (as in tests/peers.rs)

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The gateway example, built by `cargo build --example gateway` on first use: `cargo test
/// --test gateway` builds no examples, so the binary next to the test's would be missing or
/// stale. The test binary is `target/<profile>/deps/gateway-HASH`.
fn gateway_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/");
        let target = profile.parent().expect("target/<profile>");
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
        cargo
            .current_dir(repo())
            .args([
                "build",
                "--quiet",
                "--features",
                "codec",
                "--example",
                "gateway",
            ])
            .arg("--target-dir")
            .arg(target);
        if profile.ends_with("release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example gateway failed");
        profile.join("examples/gateway")
    })
}

/// A peer binary from PATH (or the usual sbin directories, which a non-login PATH may lack).
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"];
    std::env::split_paths(&path)
        .chain(fallback.into_iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed: {INSTALL_HINT}"))
}

fn django_venv() -> PathBuf {
    let venv = repo().join("target/peer-venv");
    let has_django = fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| entry.path().join("site-packages/django").is_dir());
    assert!(
        has_django,
        "no Django at {}: {INSTALL_HINT}",
        venv.display()
    );
    venv
}

/// `target/peer-tmp/<test>-<pid>/`, removed when the test passes, kept when it fails. Declare
/// it first so that it outlives the peers.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = repo()
            .join("target/peer-tmp")
            .join(format!("{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("peer files kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

// ------------------------------------------------------------------------------------------
// Processes

/// A running process in a group of its own. Dropping it stops it: SIGTERM to the group, SIGKILL
/// after 5 s, and the leader is always reaped.
struct Peer {
    name: String,
    child: Child,
    log: PathBuf,
    reaped: bool,
}

impl Peer {
    fn start(name: &str, mut command: Command, log: PathBuf) -> Peer {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name} ({command:?}): {err}"));
        Peer {
            name: name.into(),
            child,
            log,
            reaped: false,
        }
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Panics with the peer's log if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.reaped = true;
            panic!("{} exited early ({status}):\n{}", self.name, self.log());
        }
    }

    /// Waits (5 s at most) until `ready` holds.
    fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ready() {
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{}: no {what} after 5 s:\n{}",
                self.name,
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        signal_group(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                _ => return,
            }
        }
        signal_group(self.child.id(), "KILL"); // not reaped yet: the group id is still ours
        let _ = self.child.wait();
    }
}

/// Sends a signal to a whole process group (bash's builtin kill: procps may be absent).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("bash")
        .args(["-c", &format!("kill -{signal} -- -{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// uWSGI with one worker on a free loopback port, and on `unix_socket` too if given.
fn start_uwsgi(dir: &Path, name: &str, unix_socket: Option<&Path>, app: &[&str]) -> (Peer, u16) {
    let plugin = Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so");
    assert!(plugin.exists(), "no uWSGI python3 plugin: {INSTALL_HINT}");
    let port = free_port();
    let mut command = Command::new(tool("uwsgi"));
    command
        .current_dir(repo())
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1") // no __pycache__ in tests/peers
        .args([
            "--plugin",
            "python3",
            "--socket",
            &format!("127.0.0.1:{port}"),
        ]);
    if let Some(path) = unix_socket {
        command.arg("--socket").arg(path);
    }
    let log = dir.join(format!("{name}.log"));
    let file = File::create(&log).expect("create the uWSGI log");
    command
        .args(app)
        .args(["--master", "--processes", "1", "--buffer-size", "32768"])
        .args(["--die-on-term", "--need-app"])
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("clone a file handle"))
        .stderr(file);
    let mut peer = Peer::start(name, command, log);
    peer.wait_until("open port", || {
        TcpStream::connect_timeout(&loopback(port), Duration::from_millis(200)).is_ok()
    });
    if let Some(path) = unix_socket {
        peer.wait_until("unix socket", || path.exists());
    }
    (peer, port)
}

/// The gateway in front of `backend`; returns the guard and `HOST:PORT` from its first line.
fn start_gateway(dir: &Path, name: &str, backend: &str) -> (Peer, String) {
    let log = dir.join(format!("{name}.log"));
    let mut command = Command::new(gateway_binary());
    command
        .args(["--listen", "127.0.0.1:0", "--backend", backend])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("create the gateway log"));
    let mut peer = Peer::start(name, command, log);
    let stdout = peer.child.stdout.take().expect("piped stdout");
    let (lines, first) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let Ok(line) = first.recv_timeout(Duration::from_secs(10)) else {
        peer.assert_running();
        panic!("{name} printed no line in 10 s");
    };
    let addr = line.strip_prefix("listening on ");
    let addr = addr.unwrap_or_else(|| panic!("{name}'s first line is {line:?}"));
    (peer, addr.to_string())
}

// ------------------------------------------------------------------------------------------
// curl

struct HttpReply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits curl's `-i` output, skipping interim 1xx responses (`100 Continue`).
fn parse_http(raw: &[u8]) -> HttpReply {
    let mut rest = raw;
    loop {
        let shown = || String::from_utf8_lossy(&raw[..raw.len().min(2000)]).into_owned();
        let end = find(rest, b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP head: {}", shown()));
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let status = head.split(' ').nth(1).and_then(|code| code.parse().ok());
        let status: u16 = status.unwrap_or_else(|| panic!("no status line: {}", shown()));
        rest = &rest[end + 4..];
        if !(100..200).contains(&status) {
            let body = rest.to_vec();
            return HttpReply { status, head, body };
        }
    }
}

/// curl with no proxy, 20 s at most, `-i` to see the head; its output as it is.
fn curl_output(url: &str, args: &[&str]) -> Output {
    Command::new(tool("curl"))
        .args(["-s", "-S", "-i", "--noproxy", "*", "--max-time", "20"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

fn curl(url: &str, args: &[&str]) -> HttpReply {
    let output = curl_output(url, args);
    assert!(
        output.status.success(),
        "curl {url} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_http(&output.stdout)
}

/// Asserts equal bytes without printing a megabyte.
fn assert_same_bytes(case: &str, got: &[u8], want: &[u8]) {
    let first_difference = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "{case}: got {} bytes, want {}; first difference at {first_difference:?}",
        got.len(),
        want.len()
    );
}

/// Deterministic bytes that are not periodic in any small power of two.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Through real uWSGI

#[test]
fn hello_app_over_tcp_and_unix_socket() {
    let dir = Scratch::new("gateway_hello");
    let socket = dir.join("hello.sock");
    let (uwsgi, uport) = start_uwsgi(
        &dir,
        "uwsgi",
        Some(&socket),
        &["--wsgi-file", "tests/peers/hello.py"],
    );
    let (tcp, tcp_addr) = start_gateway(&dir, "gateway-tcp", &format!("127.0.0.1:{uport}"));
    let (unix, unix_addr) = start_gateway(&dir, "gateway-unix", socket.to_str().expect("UTF-8"));

    for addr in [&tcp_addr, &unix_addr] {
        let reply = curl(&format!("http://{addr}/"), &[]);
        assert_eq!(reply.status, 200, "{}", reply.head);
        assert_eq!(reply.header("Content-Type"), Some("text/html"));
        assert_eq!(reply.text(), "Hello World");
    }
    // One HTTP connection, several requests: one backend connection each.
    let url = format!("http://{tcp_addr}/a");
    let output = curl_output(&url, &["--next", "-s", &url, "--next", "-s", &url]);
    assert!(output.status.success());
    let hellos = String::from_utf8_lossy(&output.stdout)
        .matches("Hello World")
        .count();
    assert_eq!(hellos, 3, "{}", String::from_utf8_lossy(&output.stdout));
    assert!(uwsgi.log().contains("GET /a =>"), "{}", uwsgi.log());
    assert_eq!(tcp.log(), "", "the gateway logged errors");
    assert_eq!(unix.log(), "", "the gateway logged errors");
}

#[test]
fn django_project_get_and_post() {
    let dir = Scratch::new("gateway_django");
    let venv = django_venv();
    let project = repo().join("tests/peers/djangoapp");
    let (_uwsgi, uport) = start_uwsgi(
        &dir,
        "uwsgi",
        None,
        &[
            "--virtualenv",
            venv.to_str().expect("a UTF-8 path"),
            "--chdir",
            project.to_str().expect("a UTF-8 path"),
            "--module",
            "hellosite.wsgi:application",
        ],
    );
    let (gateway, addr) = start_gateway(&dir, "gateway", &format!("127.0.0.1:{uport}"));

    let reply = curl(&format!("http://{addr}/hello/"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        reply.text(),
        "<p>Django says hello to world</p>\n<p>GET /hello/ 0</p>\n"
    );
    let reply = curl(&format!("http://{addr}/hello/?name=gateway%21"), &[]);
    assert!(
        reply.text().contains("Django says hello to gateway!"),
        "{}",
        reply.text()
    );

    // A 3000-byte body with a Content-Length (streamed), then chunked (de-chunked first).
    let body = dir.join("post.bin");
    fs::write(&body, pattern(3000, 5)).expect("write the body");
    let data = format!("@{}", body.display());
    let octets = "Content-Type: application/octet-stream";
    for extra in [None, Some("Transfer-Encoding: chunked")] {
        let mut args = vec!["--data-binary", &data, "-H", octets];
        args.extend(extra.iter().flat_map(|header| ["-H", header]));
        let reply = curl(&format!("http://{addr}/hello/"), &args);
        assert_eq!(reply.status, 200, "{extra:?}: {}", reply.head);
        assert_eq!(
            reply.text(),
            "<p>Django says hello to world</p>\n<p>POST /hello/ 3000</p>\n",
            "{extra:?}"
        );
    }

    let reply = curl(&format!("http://{addr}/nowhere/"), &[]);
    assert_eq!(reply.status, 404, "{}", reply.head);
    assert_eq!(gateway.log(), "", "the gateway logged errors");
}

#[test]
fn megabyte_bodies_both_ways() {
    let dir = Scratch::new("gateway_big");
    let (_uwsgi, uport) = start_uwsgi(&dir, "uwsgi", None, &["--wsgi-file", "tests/peers/big.py"]);
    let (gateway, addr) = start_gateway(&dir, "gateway", &format!("127.0.0.1:{uport}"));
    let big: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();

    // 1 MiB down, with the backend's Content-Length.
    let reply = curl(&format!("http://{addr}/big"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.header("Content-Length"), Some("1048576"));
    assert_same_bytes("GET /big", &reply.body, &big);

    // 1 MiB down without a length: the gateway streams it chunked.
    let reply = curl(&format!("http://{addr}/stream"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.header("Transfer-Encoding"), Some("chunked"));
    assert_same_bytes("GET /stream", &reply.body, &big);

    // About 1 MB up and echoed back, with a Content-Length and chunked.
    let upload = pattern(1_000_003, 7);
    let file = dir.join("upload.bin");
    fs::write(&file, &upload).expect("write the upload");
    let data = format!("@{}", file.display());
    for extra in [None, Some("Transfer-Encoding: chunked")] {
        let mut args = vec!["--data-binary", &data];
        args.extend(extra.iter().flat_map(|header| ["-H", header]));
        let reply = curl(&format!("http://{addr}/echo"), &args);
        assert_eq!(reply.status, 200, "{extra:?}: {}", reply.head);
        assert_eq!(reply.header("Content-Length"), Some("1000003"));
        assert_same_bytes(&format!("POST /echo {extra:?}"), &reply.body, &upload);
    }
    assert_eq!(gateway.log(), "", "the gateway logged errors");

    // A chunked body over the 10 MiB buffer: 413, never sent on.
    let file = dir.join("huge.bin");
    fs::write(&file, pattern(11 * MIB, 9)).expect("write the huge upload");
    let data = format!("@{}", file.display());
    let chunked = ["--data-binary", &data, "-H", "Transfer-Encoding: chunked"];
    let output = curl_output(&format!("http://{addr}/echo"), &chunked);
    if output.stdout.is_empty() {
        // The gateway answers and closes while curl still sends: a reset may beat the 413.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(matches!(output.status.code(), Some(55 | 56)), "{stderr}");
    } else {
        let reply = parse_http(&output.stdout);
        assert_eq!(reply.status, 413, "{}", reply.head);
    }
    assert!(
        gateway.log().contains("POST /echo: 413"),
        "{}",
        gateway.log()
    );
}

// ------------------------------------------------------------------------------------------
// Scripted backends

/// What a scripted backend received: the vars (in order) and the body.
struct Received {
    vars: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn get(&self, key: &str) -> Option<&str> {
        let mut vars = self.vars.iter();
        vars.find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A backend on a free port that reads one request per connection, answers it with the next
/// reply (raw bytes) and closes; what it read comes out of the receiver.
fn scripted_backend(replies: Vec<&'static [u8]>) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    let port = listener.local_addr().expect("local address").port();
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut header = [0u8; 4];
            stream.read_exact(&mut header).expect("a packet header");
            let datasize = usize::from(u16::from_le_bytes([header[1], header[2]]));
            let mut packet = header.to_vec();
            packet.resize(4 + datasize, 0);
            stream.read_exact(&mut packet[4..]).expect("the vars block");
            let packet = Packet::parse(&Bytes::from(packet)).expect("a valid packet");
            let packet = packet.complete().expect("a complete packet");
            let len = packet.body_len().expect("a body length");
            let mut body = vec![0; usize::try_from(len).expect("a small body")];
            stream.read_exact(&mut body).expect("the body");
            let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
            let vars = packet
                .vars_bytes()
                .map(|(k, v)| (text(&k), text(&v)))
                .collect();
            let _ = sender.send(Received { vars, body });
            let _ = stream.write_all(reply);
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(listener); // refuses connections from now on; then `received` is disconnected
        drop(sender);
    });
    (port, received)
}

#[test]
fn reply_heads_vars_and_bad_gateways() {
    let dir = Scratch::new("gateway_scripted");
    let replies: Vec<&'static [u8]> = vec![
        // CGI style: Status, hop-by-hop headers to drop.
        b"Status: 201 Created\r\nContent-Type: text/plain\r\nX-Backend: scripted\r\n\
          Connection: close\r\nKeep-Alive: timeout=5\r\n\r\ncreated",
        // Bare LF line ends, HTTP/1.0, body until the end of the connection.
        b"HTTP/1.0 404 Not Found\nContent-Type: text/plain\nX-Twice: 1\nX-Twice: 2\n\nnope",
        // An interim 100 Continue, then the real head.
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        // Malformed: no end of head, then a header line without a colon, then a bad status.
        b"this is not http",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
    ];
    let (port, received) = scripted_backend(replies);
    let (gateway, addr) = start_gateway(&dir, "gateway", &format!("127.0.0.1:{port}"));
    let next = || {
        received
            .recv_timeout(Duration::from_secs(10))
            .expect("a request")
    };

    let reply = curl(
        &format!("http://{addr}/a%20b/c?x=1&y=%20"),
        &[
            "-H",
            "X-Foo: 1",
            "-H",
            "x-foo: 2",
            "-H",
            "Cookie: a=1",
            "-H",
            "X_Under: dropped",
        ],
    );
    assert_eq!(reply.status, 201, "{}", reply.head);
    assert_eq!(reply.header("X-Backend"), Some("scripted"));
    assert_eq!(reply.header("Keep-Alive"), None, "{}", reply.head);
    assert_eq!(reply.text(), "created");
    let request = next();
    let keys: Vec<&str> = request.vars.iter().map(|(k, _)| k.as_str()).collect();
    let params = [
        "QUERY_STRING",
        "REQUEST_METHOD",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "REQUEST_URI",
        "PATH_INFO",
        "DOCUMENT_ROOT",
        "SERVER_PROTOCOL",
        "REQUEST_SCHEME",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "SERVER_PORT",
        "SERVER_NAME",
    ];
    assert_eq!(
        keys[..params.len()],
        params,
        "nginx's uwsgi_params first, in order"
    );
    assert_eq!(request.get("REQUEST_METHOD"), Some("GET"));
    assert_eq!(request.get("REQUEST_URI"), Some("/a%20b/c?x=1&y=%20"));
    assert_eq!(request.get("PATH_INFO"), Some("/a b/c"));
    assert_eq!(request.get("QUERY_STRING"), Some("x=1&y=%20"));
    assert_eq!(request.get("SERVER_PROTOCOL"), Some("HTTP/1.1"));
    assert_eq!(request.get("REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(request.get("CONTENT_LENGTH"), Some(""));
    let gateway_port = addr.rsplit_once(':').map(|(_, port)| port);
    assert_eq!(request.get("SERVER_PORT"), gateway_port);
    assert_eq!(request.get("HTTP_HOST"), Some(addr.as_str()));
    assert_eq!(request.get("HTTP_X_FOO"), Some("1, 2"));
    assert_eq!(request.get("HTTP_COOKIE"), Some("a=1"));
    assert_eq!(request.get("HTTP_X_UNDER"), None);

    // A chunked POST arrives de-chunked, framed by CONTENT_LENGTH.
    let reply = curl(
        &format!("http://{addr}/post"),
        &["--data-binary", "hello", "-H", "Transfer-Encoding: chunked"],
    );
    assert_eq!(reply.status, 404, "{}", reply.head);
    let values: Vec<_> = reply
        .head
        .lines()
        .filter(|l| l.starts_with("x-twice"))
        .collect();
    assert_eq!(values, ["x-twice: 1", "x-twice: 2"]);
    assert_eq!(reply.text(), "nope");
    let request = next();
    assert_eq!(request.body, b"hello");
    assert_eq!(request.get("REQUEST_METHOD"), Some("POST"));
    assert_eq!(request.get("CONTENT_LENGTH"), Some("5"));
    assert_eq!(
        request.get("CONTENT_TYPE"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.get("HTTP_CONTENT_TYPE"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.get("HTTP_TRANSFER_ENCODING"), None);

    let reply = curl(&format!("http://{addr}/interim"), &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));
    next();

    for path in ["/no-head", "/no-colon", "/bad-status"] {
        let reply = curl(&format!("http://{addr}{path}"), &[]);
        assert_eq!(reply.status, 502, "{path}: {}", reply.head);
        next();
        assert!(
            gateway.log().contains(&format!("GET {path}: 502")),
            "{}",
            gateway.log()
        );
    }

    // Nobody listens any more: connection refused.
    let end = received.recv_timeout(Duration::from_secs(10));
    assert_eq!(end.err(), Some(mpsc::RecvTimeoutError::Disconnected));
    let reply = curl(&format!("http://{addr}/refused"), &[]);
    assert_eq!(reply.status, 502, "{}", reply.head);
    let log = gateway.log();
    let line = log.lines().find(|line| line.contains("GET /refused"));
    assert!(line.is_some_and(|l| l.contains("502")), "{log}");
    assert_eq!(
        log.lines().count(),
        4,
        "one line per failed request:\n{log}"
    );
}
