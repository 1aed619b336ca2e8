//! Interoperability with real peers (PROTOCOL.md §1, §8, §10): nginx 1.22 in front of
//! `uwsgi serve`, and `uwsgi curl` / `uwsgi ping` in front of uWSGI 2.0 (the classic hello
//! app, a Django project, and an app that reports its WSGI environ as raw bytes) and of a
//! keep-alive peer (gunicorn's gthread worker), where curl finishes on Content-Length.
//!
//! The peers come from Debian: `bash .ci/install-peers` installs them (nginx, uWSGI with the
//! python3 and ping plugins, curl, and Django in `target/peer-venv`). The harness is the
//! `uwsgi-test-support` crate: every peer runs under a `Peer` guard that stops and reaps it (and whatever
//! it forked) on drop, panics included; ports are free loopback ports; files go under
//! `target/peer-tmp/<test>-<pid>/`.
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use std::path::Path;

use uwsgi_test_support::{
    HttpReply, Peer, PeerCtl, Scratch, UWSGI_PARAMS, curl, curl_data, loopback, loopback_listener,
    nginx_errors, parse_http, show, start_nginx, start_uwsgi, start_uwsgi_django, stop_all,
};

/// The `uwsgi` binary under test.
fn uwsgi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_uwsgi"))
}

/// `uwsgi serve ARGS`; returns the guard and the address from its first stdout line.
fn start_server(dir: &Path, name: &str, args: &[&str]) -> (Peer, String) {
    let args: Vec<&str> = std::iter::once("serve")
        .chain(args.iter().copied())
        .collect();
    uwsgi_test_support::start_server(dir, name, uwsgi(), &args)
}

/// Var pairs in wire order.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

// ------------------------------------------------------------------------------------------
// Bytes and vars

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("a hex digit pair"))
        .collect()
}

/// The last value of `key` (what uWSGI and `Vars::get` see), `None` when absent.
fn get<'a>(vars: &'a Pairs, key: &str) -> Option<&'a [u8]> {
    get_all(vars, key).last().copied()
}

/// Asserts the last value of each key.
fn assert_vars(case: &str, vars: &Pairs, expect: &[(&str, &[u8])]) {
    for &(key, value) in expect {
        assert_eq!(get(vars, key), Some(value), "{case}: {key}");
    }
}

fn get_all<'a>(vars: &'a Pairs, key: &str) -> Vec<&'a [u8]> {
    vars.iter()
        .filter(|(k, _)| k == key.as_bytes())
        .map(|(_, v)| &v[..])
        .collect()
}

fn keys(vars: &Pairs) -> Vec<String> {
    vars.iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// `len` bytes cycling through every byte value (NUL, CR, LF and >= 0x80 included).
fn all_bytes(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 256) as u8).collect()
}

/// `len` printable bytes that are safe in an HTTP header value or a curl argument.
fn header_text(len: usize, seed: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + ((i + seed) % 26) as u8))
        .collect()
}

// ------------------------------------------------------------------------------------------
// HTTP clients

/// One raw HTTP/1.1 request (it should say `Connection: close`), for bytes curl won't send.
fn raw_http(port: u16, request: &[u8]) -> HttpReply {
    let mut stream = TcpStream::connect(loopback(port)).expect("connect to nginx");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream.write_all(request).expect("send the raw request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the raw response");
    let reply = parse_http(&raw);
    if let Some(len) = reply.header("Content-Length") {
        let len: usize = len.parse().expect("a numeric Content-Length");
        assert_eq!(reply.body.len(), len, "nginx's body length");
    }
    reply
}

/// `uwsgi curl ARGS`, or `uwsgi ping` when ARGS hold `--ping`.
fn client(args: &[&str]) -> Output {
    let ping = args.contains(&"--ping");
    let rest: Vec<&str> = args.iter().copied().filter(|a| *a != "--ping").collect();
    Command::new(uwsgi())
        .arg(if ping { "ping" } else { "curl" })
        .args(rest)
        .stdin(Stdio::null())
        .output()
        .expect("run uwsgi curl")
}

fn client_ok(args: &[&str]) -> Vec<u8> {
    let output = client(args);
    assert!(
        output.status.success(),
        "client {args:?} failed ({}): stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// `pong from ADDR in N ms` (optionally followed by a warning), checked and returned as N.
fn assert_pong(stdout: &[u8], addr: &str) -> f64 {
    let text = String::from_utf8_lossy(stdout);
    let ms = text
        .strip_prefix(&format!("pong from {addr} in "))
        .and_then(|rest| rest.strip_suffix(" ms\n"))
        .and_then(|ms| ms.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("want `pong from {addr} in N ms`, got {text:?}"));
    assert!((0.0..10_000.0).contains(&ms), "ping time {ms} ms");
    ms
}

// ------------------------------------------------------------------------------------------
// The recorder: what nginx really sent, parsed without the crate

/// A transparent TCP relay between nginx and `uwsgi serve --dump` that keeps every byte nginx sends
/// on each upstream connection. The server sees exactly nginx's bytes (segmented by 16 KiB
/// reads), so what the crate decoded can be compared with the wire byte for byte, REMOTE_PORT
/// included.
struct Recorder {
    port: u16,
    captured: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    fn start(target: SocketAddr) -> Recorder {
        let (listener, port) = loopback_listener();
        let captured = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&captured);
        // The accept loop lives as long as the test binary: it only ever serves loopback.
        thread::spawn(move || {
            for front in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                thread::spawn(move || relay(front, target, &sink));
            }
        });
        Recorder { port, captured }
    }

    fn count(&self) -> usize {
        self.captured.lock().expect("recorder lock").len()
    }

    /// The `n`th capture (1-based), waiting up to 5 s for nginx to close that connection.
    fn nth(&self, n: usize, case: &str) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(bytes) = self.captured.lock().expect("recorder lock").get(n - 1) {
                return bytes.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{case}: nginx's upstream connection #{n} was not recorded"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn relay(front: TcpStream, target: SocketAddr, sink: &Mutex<Vec<Vec<u8>>>) {
    let mut request = Vec::new();
    let Ok(back) = TcpStream::connect(target) else {
        sink.lock().expect("recorder lock").push(request);
        return;
    };
    let (Ok(mut from_nginx), Ok(mut to_server)) = (front.try_clone(), back.try_clone()) else {
        return;
    };
    let replies = thread::spawn(move || {
        let (mut from_server, mut to_nginx) = (back, front);
        let _ = std::io::copy(&mut from_server, &mut to_nginx);
        let _ = to_nginx.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0; 16 * 1024];
    loop {
        match from_nginx.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                request.extend_from_slice(&buf[..n]);
                let _ = to_server.write_all(&buf[..n]); // keep recording even if it failed
            }
        }
    }
    let _ = to_server.shutdown(Shutdown::Write);
    let _ = replies.join();
    sink.lock().expect("recorder lock").push(request);
}

/// A request as modifiers, pairs and body.
#[derive(Debug, PartialEq)]
struct Request {
    modifier1: u8,
    modifier2: u8,
    vars: Pairs,
    body: Vec<u8>,
}

/// The recorder's own minimal uwsgi parsing (deliberately independent of the crate): the
/// 4-byte header, `datasize` bytes of u16-LE-prefixed pairs, then `CONTENT_LENGTH` body bytes
/// and nothing else. Returns the request and its datasize.
fn parse_capture(wire: &[u8], case: &str) -> (Request, usize) {
    assert!(
        wire.len() >= 4,
        "{case}: only {} bytes on the wire",
        wire.len()
    );
    let datasize = usize::from(u16::from_le_bytes([wire[1], wire[2]]));
    assert!(
        wire.len() >= 4 + datasize,
        "{case}: datasize {datasize}, only {} bytes",
        wire.len()
    );
    let block = &wire[4..4 + datasize];
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([block[at], block[at + 1]]));
    let mut vars = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let key_len = u16_at(at);
        let key = block[at + 2..at + 2 + key_len].to_vec();
        at += 2 + key_len;
        let value_len = u16_at(at);
        let value = block[at + 2..at + 2 + value_len].to_vec();
        at += 2 + value_len;
        vars.push((key, value));
    }
    assert_eq!(at, block.len(), "{case}: pairs do not fill the block");
    let content_length = match get(&vars, "CONTENT_LENGTH") {
        None | Some(b"") => 0,
        Some(digits) => std::str::from_utf8(digits)
            .ok()
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("{case}: CONTENT_LENGTH {}", show(digits, 40))),
    };
    let body = wire[4 + datasize..].to_vec();
    assert_eq!(
        body.len(),
        content_length,
        "{case}: nginx sent CONTENT_LENGTH body bytes and nothing after them"
    );
    let request = Request {
        modifier1: wire[0],
        modifier2: wire[3],
        vars,
        body,
    };
    (request, datasize)
}

/// `uwsgi serve --dump`'s JSON as a request; checks that `key`/`value` are the UTF-8 readings of
/// the hex (null when not UTF-8) and `body_len` the body's length.
fn parse_dump(json: &[u8], case: &str) -> Request {
    let doc: Value = serde_json::from_slice(json)
        .unwrap_or_else(|err| panic!("{case}: the dump is not JSON ({err}): {}", show(json, 500)));
    let byte = |name: &str| {
        doc[name]
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or_else(|| panic!("{case}: dump field {name}: {}", doc[name]))
    };
    let field = |entry: &Value, name: &str| -> Vec<u8> {
        let bytes = unhex(entry[format!("{name}_hex")].as_str().expect("a hex string"));
        let text = &entry[name];
        match std::str::from_utf8(&bytes) {
            Ok(utf8) => assert_eq!(text, utf8, "{case}: dump {name} vs {name}_hex"),
            Err(_) => assert!(
                text.is_null(),
                "{case}: dump {name} of non-UTF-8 bytes: {text}"
            ),
        }
        bytes
    };
    let vars = doc["vars"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: dump without a vars list"))
        .iter()
        .map(|entry| (field(entry, "key"), field(entry, "value")))
        .collect();
    let body = unhex(doc["body_hex"].as_str().expect("body_hex"));
    assert_eq!(doc["body_len"], json!(body.len()), "{case}: dump body_len");
    Request {
        modifier1: byte("modifier1"),
        modifier2: byte("modifier2"),
        vars,
        body,
    }
}

/// Pair by pair, so that a mismatch in a 60 KB packet stays readable.
fn assert_same_request(case: &str, decoded: &Request, sent: &Request) {
    assert_eq!(
        (decoded.modifier1, decoded.modifier2),
        (sent.modifier1, sent.modifier2),
        "{case}: modifiers"
    );
    for (i, (got, want)) in decoded.vars.iter().zip(&sent.vars).enumerate() {
        assert!(
            got == want,
            "{case}: pair {i}: the crate decoded {} = {}, nginx sent {} = {}",
            show(&got.0, 80),
            show(&got.1, 80),
            show(&want.0, 80),
            show(&want.1, 80)
        );
    }
    assert_eq!(
        decoded.vars.len(),
        sent.vars.len(),
        "{case}: number of pairs (decoded {:?}, sent {:?})",
        keys(&decoded.vars),
        keys(&sent.vars)
    );
    if decoded.body != sent.body {
        let first = decoded
            .body
            .iter()
            .zip(&sent.body)
            .position(|(a, b)| a != b);
        panic!(
            "{case}: body: decoded {} bytes, nginx sent {}; first difference at {first:?}",
            decoded.body.len(),
            sent.body.len()
        );
    }
    assert_eq!(decoded, sent, "{case}");
}

/// Sends one request through nginx to the recorder and `uwsgi serve --dump`; asserts that the
/// crate decoded exactly what nginx put on the wire; returns that request and its datasize.
fn through_nginx(
    recorder: &Recorder,
    case: &str,
    send: impl FnOnce() -> HttpReply,
) -> (Request, usize) {
    let before = recorder.count();
    let reply = send();
    assert_eq!(
        reply.status,
        200,
        "{case}: nginx answered\n{}\n{}",
        reply.head,
        show(&reply.body, 2000)
    );
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/json"),
        "{case}"
    );
    let decoded = parse_dump(&reply.body, case);
    let wire = recorder.nth(before + 1, case);
    let (sent, datasize) = parse_capture(&wire, case);
    assert_same_request(case, &decoded, &sent);
    let block: usize = sent.vars.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
    assert_eq!(block, datasize, "{case}: datasize");
    assert_eq!(
        recorder.count(),
        before + 1,
        "{case}: one upstream connection"
    );
    (sent, datasize)
}

// ------------------------------------------------------------------------------------------
// a. nginx in front of the crate

#[test]
fn nginx_in_front_of_the_crate_server() {
    let dir = Scratch::new("nginx_dump");
    let (server, server_addr) =
        start_server(&dir, "server", &["--listen", "127.0.0.1:0", "--dump"]);
    let recorder = Recorder::start(server_addr.parse().expect("a TCP address"));
    let locations = format!(
        "        location / {{ include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{}; }}",
        recorder.port
    );
    let (nginx, port, error_log) = start_nginx(&dir, &locations);
    let base = format!("http://127.0.0.1:{port}");

    // A GET with a query: nginx's params in order, empty ones sent, HTTPS left out.
    let (get_req, _) = through_nginx(&recorder, "GET with a query", || {
        curl(
            &format!("{base}/search/a%20b?q=rust&lang=en%2Bfr&empty="),
            &[],
        )
    });
    // nginx's `uwsgi_params`, then Debian's `HTTP_HOST $host`, then the request's headers.
    let extra = ["HTTP_HOST", "HTTP_USER_AGENT", "HTTP_ACCEPT"];
    let want_keys: Vec<&str> = UWSGI_PARAMS.iter().copied().chain(extra).collect();
    assert_eq!(keys(&get_req.vars), want_keys, "GET: keys in wire order");
    let port_text = port.to_string();
    let expect: [(&str, &[u8]); 13] = [
        ("QUERY_STRING", b"q=rust&lang=en%2Bfr&empty="),
        ("REQUEST_METHOD", b"GET"),
        ("CONTENT_TYPE", b""),
        ("CONTENT_LENGTH", b""),
        ("REQUEST_URI", b"/search/a%20b?q=rust&lang=en%2Bfr&empty="),
        ("PATH_INFO", b"/search/a b"),
        ("SERVER_PROTOCOL", b"HTTP/1.1"),
        ("REQUEST_SCHEME", b"http"),
        ("REMOTE_ADDR", b"127.0.0.1"),
        ("SERVER_PORT", port_text.as_bytes()),
        ("SERVER_NAME", b"localhost"),
        ("HTTP_HOST", b"127.0.0.1"),
        ("HTTP_ACCEPT", b"*/*"),
    ];
    assert_vars("GET", &get_req.vars, &expect);
    let docroot = dir.join("nginx/html");
    assert_eq!(
        get(&get_req.vars, "DOCUMENT_ROOT"),
        Some(docroot.to_str().expect("a UTF-8 path").as_bytes()),
        "GET: DOCUMENT_ROOT"
    );
    assert!(get_req.body.is_empty(), "GET: no body");

    // A POST with a 100 KiB binary body: nginx buffers it (to a temp file) and sends
    // CONTENT_LENGTH plus HTTP_CONTENT_LENGTH; the body reaches the crate unchanged.
    let post_body = all_bytes(100 * 1024, 3);
    let data = curl_data(&dir, "post.bin", &post_body);
    let octets = "Content-Type: application/octet-stream";
    let (post, _) = through_nginx(&recorder, "POST with a body", || {
        let args = ["-H", octets, "--data-binary", &data];
        curl(&format!("{base}/upload?kind=bin"), &args)
    });
    assert_eq!(get(&post.vars, "REQUEST_METHOD"), Some(&b"POST"[..]));
    assert_eq!(get(&post.vars, "CONTENT_LENGTH"), Some(&b"102400"[..]));
    assert_eq!(get(&post.vars, "HTTP_CONTENT_LENGTH"), Some(&b"102400"[..]));
    assert_eq!(
        get(&post.vars, "CONTENT_TYPE"),
        Some(&b"application/octet-stream"[..])
    );
    assert!(post.body == post_body, "POST: body bytes");

    // A chunked upload: nginx 1.22 de-chunks it, computes CONTENT_LENGTH, keeps
    // HTTP_TRANSFER_ENCODING and sends no HTTP_CONTENT_LENGTH (§8).
    let chunked_body = all_bytes(5000, 11);
    let data = curl_data(&dir, "chunked.bin", &chunked_body);
    let (chunked, _) = through_nginx(&recorder, "chunked upload", || {
        let args = ["-H", "Transfer-Encoding: chunked", "--data-binary", &data];
        curl(&format!("{base}/chunked"), &args)
    });
    assert_eq!(
        get(&chunked.vars, "HTTP_TRANSFER_ENCODING"),
        Some(&b"chunked"[..])
    );
    assert_eq!(get(&chunked.vars, "CONTENT_LENGTH"), Some(&b"5000"[..]));
    assert_eq!(get(&chunked.vars, "HTTP_CONTENT_LENGTH"), None);
    assert!(
        chunked.body == chunked_body,
        "chunked: de-chunked body bytes"
    );

    // Repeated headers: nginx 1.22 sends one pair per occurrence, in arrival order.
    let (repeated, _) = through_nginx(&recorder, "repeated headers", || {
        let headers = ["X-Foo: first", "X-Bar: between", "X-Foo: second"];
        let args: Vec<&str> = headers.iter().flat_map(|header| ["-H", header]).collect();
        curl(&format!("{base}/"), &args)
    });
    let tail: Vec<String> = keys(&repeated.vars).split_off(16);
    assert_eq!(
        tail,
        ["HTTP_X_FOO", "HTTP_X_BAR", "HTTP_X_FOO"],
        "repeated: order"
    );
    assert_eq!(
        get_all(&repeated.vars, "HTTP_X_FOO"),
        [&b"first"[..], &b"second"[..]],
        "repeated: both values, in order"
    );

    // A 6 KiB cookie: more than uWSGI's default 4096-byte buffer, fine for the crate.
    let cookie: String = (0..104)
        .map(|i| format!("c{i:02}={}; ", header_text(54, i)))
        .collect::<String>()
        .trim_end_matches("; ")
        .to_string();
    assert!(cookie.len() >= 6 * 1024, "cookie length {}", cookie.len());
    let (cookie_req, cookie_datasize) = through_nginx(&recorder, "6 KiB cookie", || {
        curl(&format!("{base}/"), &["-H", &format!("Cookie: {cookie}")])
    });
    assert_eq!(
        get(&cookie_req.vars, "HTTP_COOKIE"),
        Some(cookie.as_bytes())
    );
    assert!(
        cookie_datasize > 6 * 1024,
        "cookie: datasize {cookie_datasize}"
    );

    // Raw non-UTF-8 bytes in the request line and a header (curl would escape them).
    let raw_request = b"GET /caf\xe9/%ff%fe/\xc3(?q=\xff%fe&x HTTP/1.1\r\nHost: localhost\r\n\
                        X-Raw: \xff\xfe\x80 v\r\nConnection: close\r\n\r\n";
    let (raw, _) = through_nginx(&recorder, "non-UTF-8 path", || raw_http(port, raw_request));
    let expect_raw: [(&str, &[u8]); 6] = [
        ("REQUEST_URI", b"/caf\xe9/%ff%fe/\xc3(?q=\xff%fe&x"),
        ("PATH_INFO", b"/caf\xe9/\xff\xfe/\xc3("),
        ("QUERY_STRING", b"q=\xff%fe&x"),
        ("HTTP_X_RAW", b"\xff\xfe\x80 v"),
        ("HTTP_HOST", b"localhost"),
        ("HTTP_CONNECTION", b"close"),
    ];
    assert_vars("non-UTF-8", &raw.vars, &expect_raw);

    // A packet near the 64 KiB limit: eight 7600-byte headers.
    let curl_big = |count: usize| {
        let headers: Vec<String> = (0..count)
            .map(|i| format!("X-Big-{i}: {}", header_text(7600, i)))
            .collect();
        let args: Vec<&str> = headers.iter().flat_map(|h| ["-H", h]).collect();
        curl(&format!("{base}/big"), &args)
    };
    let (big, big_datasize) = through_nginx(&recorder, "near 64 KiB", || curl_big(8));
    assert!(
        (60_001..=65_535).contains(&big_datasize),
        "near 64 KiB: datasize {big_datasize}"
    );
    for i in 0..8 {
        let value = get(&big.vars, &format!("HTTP_X_BIG_{i}"));
        assert_eq!(
            value,
            Some(header_text(7600, i).as_bytes()),
            "HTTP_X_BIG_{i}"
        );
    }

    // One header more and the block exceeds 65535: nginx answers 500 without connecting.
    let before = recorder.count();
    let reply = curl_big(9);
    assert_eq!(reply.status, 500, "over 64 KiB: {}", reply.head);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        recorder.count(),
        before,
        "over 64 KiB: nginx must not connect"
    );
    let errors = nginx_errors(&error_log);
    assert!(
        errors.len() == 1 && errors[0].contains("uwsgi request is too big"),
        "nginx error log: {errors:#?}"
    );

    stop_all(vec![nginx, server]);
    let server_log = fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(
        !server_log.contains("peer "),
        "server complained about a connection:\n{server_log}"
    );
}

// ------------------------------------------------------------------------------------------
// b. the crate in front of uWSGI

#[test]
fn client_to_uwsgi_hello_app_and_ping() {
    let dir = Scratch::new("uwsgi_hello");
    let app = ["--wsgi-file", "tests/peers/hello.py"]; // uWSGI runs in the repository
    // Debian's uwsgi-core ships the ping plugin (ping_plugin.so): modifier1 100 is answered
    // only when it is loaded (`-- unavailable modifier requested: 100 --` otherwise).
    let (uwsgi, uport) = start_uwsgi(&dir, "uwsgi", "python3,ping", 65535, &app);
    // The same app with uWSGI's default 4096-byte buffer.
    let (small, small_port) = start_uwsgi(&dir, "uwsgi-4096", "python3", 4096, &app);
    let addr = format!("127.0.0.1:{uport}");

    // uWSGI writes the request's SERVER_PROTOCOL, the status and the app's headers, nothing else.
    let reply = client_ok(&[&addr, "/"]);
    assert_eq!(
        show(&reply, 500),
        show(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nHello World",
            500
        ),
        "hello app reply"
    );
    let reply = client_ok(&[&addr, "/any/path?x=1", "-H", "X-Foo: bar"]);
    assert!(
        reply.ends_with(b"\r\n\r\nHello World"),
        "{}",
        show(&reply, 500)
    );

    assert_pong(&client_ok(&["--ping", &addr]), &addr);
    assert_pong(&client_ok(&["--ping", "--timeout", "5", &addr]), &addr);

    // A 5000-byte cookie against the default buffer: uWSGI logs the refusal and resets the
    // connection, without a reply; the client reports it in one line and exits 1 (§4.2 L1).
    let small_addr = format!("127.0.0.1:{small_port}");
    let cookie = format!("Cookie: k={}", header_text(5000, 0));
    let output = client(&[&small_addr, "/", "-H", &cookie]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "4096 buffer: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "4096 buffer: {stderr:?}");
    assert!(output.stdout.is_empty(), "4096 buffer: no reply expected");
    assert_eq!(
        show(&client_ok(&[&small_addr, "/"]), 500),
        show(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nHello World",
            500
        ),
        "4096 buffer, small request"
    );

    stop_all(vec![uwsgi, small]);
    let log = fs::read_to_string(dir.join("uwsgi.log")).unwrap_or_default();
    assert_eq!(log.matches("PING\n").count(), 2, "uWSGI log:\n{log}");
    let log = fs::read_to_string(dir.join("uwsgi-4096.log")).unwrap_or_default();
    let refused = log
        .lines()
        .find_map(|line| line.strip_prefix("invalid request block size: "))
        .and_then(|rest| rest.strip_suffix(" (max 4096)...skip"))
        .and_then(|size| size.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no `invalid request block size` line in:\n{log}"));
    assert!(refused > 5000, "refused datasize {refused}");
}

#[test]
fn client_to_uwsgi_django_project() {
    let dir = Scratch::new("uwsgi_django");
    let (uwsgi, uport) = start_uwsgi_django(&dir, 65535);
    let addr = format!("127.0.0.1:{uport}");

    let reply = parse_http(&client_ok(&[&addr, "/hello/?name=uwsgi-codec"]));
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert!(reply.head.starts_with("HTTP/1.1 200 OK"), "{}", reply.head);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        show(&reply.body, 500),
        show(
            b"<p>Django says hello to uwsgi-codec</p>\n<p>GET /hello/ 0</p>\n",
            500
        )
    );

    // A POST body reaches Django through CONTENT_LENGTH framing.
    let body_file = dir.join("post.bin");
    fs::write(&body_file, all_bytes(3000, 5)).expect("write the body");
    let body_path = body_file.to_str().expect("a UTF-8 path");
    let reply = parse_http(&client_ok(&[
        "-X", "POST", "--data", body_path, &addr, "/hello/",
    ]));
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(
        show(&reply.body, 500),
        show(
            b"<p>Django says hello to world</p>\n<p>POST /hello/ 3000</p>\n",
            500
        )
    );

    let reply = parse_http(&client_ok(&[&addr, "/nowhere/"]));
    assert!(
        reply.head.starts_with("HTTP/1.1 404 Not Found"),
        "{}",
        reply.head
    );
    drop(uwsgi);
}

#[test]
fn client_to_uwsgi_environ_gets_exact_vars_and_body() {
    let dir = Scratch::new("uwsgi_environ");
    let app = ["--wsgi-file", "tests/peers/environ.py"];
    let (uwsgi, uport) = start_uwsgi(&dir, "uwsgi", "python3", 65535, &app);
    let addr = format!("127.0.0.1:{uport}");

    let body = all_bytes(70_000, 1);
    let pair = |key: &[u8], value: &[u8]| (key.to_vec(), value.to_vec());
    let sent: Pairs = vec![
        pair(b"REQUEST_METHOD", b"POST"),
        pair(b"PATH_INFO", b"/env"),
        pair(b"QUERY_STRING", b""),
        pair(b"SERVER_PROTOCOL", b"HTTP/1.1"),
        pair(b"SERVER_NAME", b"localhost"),
        pair(b"SERVER_PORT", b"80"),
        pair(b"REMOTE_ADDR", b"127.0.0.1"),
        pair(b"CONTENT_TYPE", b"application/octet-stream"),
        pair(b"CONTENT_LENGTH", body.len().to_string().as_bytes()),
        pair(b"HTTP_X_BINARY", b"\x00\x01\x7f\x80\xff\xfe\r\n"),
        pair(b"HTTP_X_\xe9\xff", b"latin-1 key"),
        pair(b"X_NUL\x00KEY", b"nul\x00value"),
        pair(b"HTTP_X_UTF8", "h\u{e9}llo \u{2603}".as_bytes()),
        pair(b"HTTP_X_EMPTY_MIDDLE", b""),
        pair(b"HTTP_X_BIG", &all_bytes(60_000, 9)),
        pair(b"HTTP_X_EMPTY_LAST", b""),
    ];
    let block: usize = sent.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
    assert!((60_000..=65_535).contains(&block), "datasize {block}");
    let vars_json: Vec<Value> = sent
        .iter()
        .map(|(k, v)| json!({"key_hex": hex(k), "value_hex": hex(v)}))
        .collect();
    let vars_file = dir.join("vars.json");
    let body_file = dir.join("body.bin");
    fs::write(&vars_file, Value::from(vars_json).to_string()).expect("write vars.json");
    fs::write(&body_file, &body).expect("write the body");
    let vars_path = vars_file.to_str().expect("a UTF-8 path");
    let body_path = body_file.to_str().expect("a UTF-8 path");

    let reply = parse_http(&client_ok(&[
        "--vars-json",
        vars_path,
        "--body",
        body_path,
        &addr,
    ]));
    assert!(reply.head.starts_with("HTTP/1.1 200 OK"), "{}", reply.head);
    let doc: Value = serde_json::from_slice(&reply.body).expect("the environ app's JSON");
    let environ: Vec<(Vec<u8>, Option<Vec<u8>>)> = doc["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .map(|v| {
            let key = unhex(v["key_hex"].as_str().expect("key_hex"));
            (key, v["value_hex"].as_str().map(unhex))
        })
        .collect();
    for (key, value) in &sent {
        let found: Vec<_> = environ.iter().filter(|(k, _)| k == key).collect();
        assert_eq!(found.len(), 1, "environ key {}", show(key, 80));
        assert!(
            found[0].1.as_deref() == Some(&value[..]),
            "environ[{}] = {}, sent {}",
            show(key, 80),
            show(found[0].1.as_deref().unwrap_or(b"<not a str>"), 80),
            show(value, 80)
        );
    }
    assert_eq!(doc["body_len"], json!(body.len()), "body length in the app");
    assert!(
        doc["body_hex"].as_str().map(unhex) == Some(body.clone()),
        "body bytes in the app"
    );

    // Duplicate keys reach uWSGI too; its environ keeps the last one (PROTOCOL.md §8, §10).
    let dup: Vec<Value> = [
        (&b"REQUEST_METHOD"[..], &b"GET"[..]),
        (b"PATH_INFO", b"/dup"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"HTTP_X_DUP", b"first"),
        (b"HTTP_X_DUP", b"second"),
    ]
    .iter()
    .map(|(k, v)| json!({"key_hex": hex(k), "value_hex": hex(v)}))
    .collect();
    fs::write(&vars_file, Value::from(dup).to_string()).expect("write vars.json");
    let reply = parse_http(&client_ok(&["--vars-json", vars_path, &addr]));
    let doc: Value = serde_json::from_slice(&reply.body).expect("the environ app's JSON");
    let dup_values: Vec<&Value> = doc["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .filter(|v| v["key_hex"] == json!(hex(b"HTTP_X_DUP")))
        .map(|v| &v["value_hex"])
        .collect();
    assert_eq!(
        dup_values,
        [&json!(hex(b"second"))],
        "last wins in uWSGI's environ"
    );

    // Without the ping plugin, uWSGI closes on a ping without a word.
    let output = client(&["--ping", "--timeout", "5", &addr]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "ping without the plugin: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(output.stdout.is_empty(), "nothing on stdout");

    drop(uwsgi);
    let log = fs::read_to_string(dir.join("uwsgi.log")).unwrap_or_default();
    assert!(
        log.contains("-- unavailable modifier requested: 100 --"),
        "uWSGI log:\n{log}"
    );
}

// ------------------------------------------------------------------------------------------
// c. the classic deployment

#[test]
fn nginx_classic_deployment_hello_world() {
    let dir = Scratch::new("nginx_classic");
    let (tcp_server, tcp_addr) = start_server(&dir, "server-tcp", &["--listen", "127.0.0.1:0"]);
    let sock = dir.join("app.sock");
    let sock_path = sock.to_str().expect("a UTF-8 path");
    let (unix_server, unix_addr) = start_server(&dir, "server-unix", &["--listen", sock_path]);
    assert_eq!(unix_addr, format!("unix:{sock_path}"));
    let locations = format!(
        "        location / {{ include /etc/nginx/uwsgi_params; uwsgi_pass {tcp_addr}; }}\n\
         \x20       location /unix/ {{ include /etc/nginx/uwsgi_params; uwsgi_pass {unix_addr}; }}"
    );
    let (nginx, port, error_log) = start_nginx(&dir, &locations);
    let base = format!("http://127.0.0.1:{port}");

    let check = |reply: HttpReply, what: &str| {
        assert_eq!(reply.status, 200, "{what}: {}", reply.head);
        assert_eq!(reply.header("Content-Type"), Some("text/plain"), "{what}");
        assert_eq!(reply.header("Content-Length"), Some("11"), "{what}");
        assert_eq!(show(&reply.body, 200), show(b"Hello World", 200), "{what}");
    };
    check(curl(&format!("{base}/"), &[]), "GET / over TCP");
    check(
        curl(&format!("{base}/a/b?c=d"), &[]),
        "GET /a/b?c=d over TCP",
    );
    let data = curl_data(&dir, "post.bin", &all_bytes(50_000, 2));
    check(
        curl(&format!("{base}/form"), &["--data-binary", &data]),
        "POST over TCP",
    );
    check(
        curl(&format!("{base}/unix/"), &[]),
        "GET over the unix socket",
    );
    check(
        curl(&format!("{base}/unix/x"), &["--data-binary", &data]),
        "POST over the unix socket",
    );

    // The same server straight from the crate's client: the raw reply, byte for byte.
    let direct = client_ok(&[&tcp_addr, "/"]);
    let want = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\
                 Connection: close\r\n\r\nHello World";
    assert_eq!(show(&direct, 500), show(want, 500), "client -> server");
    assert_pong(&client_ok(&["--ping", &tcp_addr]), &tcp_addr);
    assert_pong(&client_ok(&["--ping", sock_path]), sock_path);

    stop_all(vec![nginx, tcp_server, unix_server]);
    assert_eq!(
        nginx_errors(&error_log),
        Vec::<String>::new(),
        "nginx error log"
    );
    for name in ["server-tcp", "server-unix"] {
        let log = fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
        assert!(!log.contains("peer "), "{name} complained:\n{log}");
    }
}

// ------------------------------------------------------------------------------------------
// d. curl against keep-alive peers: it finishes on Content-Length, not at EOF

/// A server that answers every request with a Content-Length reply and keeps the connection
/// open (as gunicorn's gthread and asgi workers do in uwsgi mode).
fn keep_alive_server() -> u16 {
    let (listener, port) = loopback_listener();
    thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let reply =
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
                let _ = stream.write_all(reply);
                thread::sleep(Duration::from_secs(30)); // never closes on its own
            });
        }
    });
    port
}

#[test]
fn curl_finishes_on_content_length_against_keep_alive_peers() {
    let port = keep_alive_server();
    let started = Instant::now();
    let reply = client_ok(&[&format!("127.0.0.1:{port}"), "/", "--timeout", "10"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(reply.ends_with(b"\r\n\r\nhello"), "{}", show(&reply, 500));
    let body = client_ok(&[&format!("127.0.0.1:{port}"), "/", "--body-only"]);
    assert_eq!(body, b"hello");

    // gunicorn's gthread worker in uwsgi mode keeps the connection open after its reply.
    let dir = Scratch::new("curl_keep_alive");
    let gthread =
        PeerCtl::start("gunicorn-gthread", &dir, None, None).unwrap_or_else(|e| panic!("{e}"));
    let body_file = dir.join("body.bin");
    fs::write(&body_file, all_bytes(100_000, 3)).expect("write the body");
    let started = Instant::now();
    let reply = parse_http(&client_ok(&[
        &gthread.addr(),
        "/keep?alive=1",
        "--data",
        body_file.to_str().expect("UTF-8"),
        "--timeout",
        "10",
    ]));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, 200, "{}", reply.head);
    let doc: Value = serde_json::from_slice(&reply.body).expect("appview's JSON");
    assert_eq!(doc["body_len"], json!(100_000), "{doc}");
    assert_eq!(doc["path"], json!("/keep"), "{doc}");
}
