//! The `gateway` example (an HTTP/1.1 server in front of uwsgi, nginx's role) between curl and
//! real uWSGI 2.0: the classic hello app, a Django project, and 1 MiB bodies both ways; then
//! against scripted backends for the reply-head parser, the vars and the 502s.
//!
//! Needs the peers of `bash .ci/install-peers` (uWSGI with its python3 plugin, curl, Django in
//! `target/peer-venv`). The harness is `tests/support`: every process runs under a `Peer` guard
//! that stops it by its process group id on drop, panics included; ports are free loopback
//! ports; files go under `target/peer-tmp/<test>-<pid>/`.
#![cfg(feature = "codec")]

mod support;

use std::io::{Read as _, Write as _};
use std::net::Shutdown;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use support::{
    HttpReply, Peer, Scratch, UWSGI_PARAMS, curl, curl_data, curl_output, loopback_listener,
    parse_http, start_example, start_uwsgi, start_uwsgi_django,
};
use uwsgi_codec::Packet;

const MIB: usize = 1 << 20;

/// uWSGI's buffer for the gateway's backends: room for every header the tests send.
const BUFFER_SIZE: u16 = 32768;

/// The gateway in front of `backend`; returns the guard and `HOST:PORT` from its first line.
fn start_gateway(dir: &Path, name: &str, backend: &str) -> (Peer, String) {
    let args = ["--listen", "127.0.0.1:0", "--backend", backend];
    start_example(dir, name, "gateway", &args)
}

// ------------------------------------------------------------------------------------------
// Bodies

/// The two ways curl sends a request body here: with a Content-Length, then chunked.
const FRAMINGS: [Option<&str>; 2] = [None, Some("Transfer-Encoding: chunked")];

/// curl POSTing `data` (an `@PATH`) to `url`, with a `-H` for each of `headers` and `framing`.
fn post(url: &str, data: &str, headers: &[&str], framing: Option<&str>) -> HttpReply {
    let mut args = vec!["--data-binary", data];
    args.extend(
        headers
            .iter()
            .chain(&framing)
            .flat_map(|&header| ["-H", header]),
    );
    curl(url, &args)
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
    let socket_path = socket.to_str().expect("UTF-8");
    let app = [
        "--socket",
        socket_path,
        "--wsgi-file",
        "tests/peers/hello.py",
    ];
    let (mut uwsgi, uport) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    uwsgi.wait_until("unix socket", || socket.exists());
    let (tcp, tcp_addr) = start_gateway(&dir, "gateway-tcp", &format!("127.0.0.1:{uport}"));
    let (unix, unix_addr) = start_gateway(&dir, "gateway-unix", socket_path);

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
    let (_uwsgi, uport) = start_uwsgi_django(&dir, BUFFER_SIZE);
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
    let data = curl_data(&dir, "post.bin", &pattern(3000, 5));
    let octets = "Content-Type: application/octet-stream";
    for framing in FRAMINGS {
        let reply = post(&format!("http://{addr}/hello/"), &data, &[octets], framing);
        assert_eq!(reply.status, 200, "{framing:?}: {}", reply.head);
        assert_eq!(
            reply.text(),
            "<p>Django says hello to world</p>\n<p>POST /hello/ 3000</p>\n",
            "{framing:?}"
        );
    }

    let reply = curl(&format!("http://{addr}/nowhere/"), &[]);
    assert_eq!(reply.status, 404, "{}", reply.head);
    assert_eq!(gateway.log(), "", "the gateway logged errors");
}

#[test]
fn megabyte_bodies_both_ways() {
    let dir = Scratch::new("gateway_big");
    let app = ["--wsgi-file", "tests/peers/big.py"];
    let (_uwsgi, uport) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
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
    let data = curl_data(&dir, "upload.bin", &upload);
    for framing in FRAMINGS {
        let reply = post(&format!("http://{addr}/echo"), &data, &[], framing);
        assert_eq!(reply.status, 200, "{framing:?}: {}", reply.head);
        assert_eq!(reply.header("Content-Length"), Some("1000003"));
        assert_same_bytes(&format!("POST /echo {framing:?}"), &reply.body, &upload);
    }
    assert_eq!(gateway.log(), "", "the gateway logged errors");

    // A chunked body over the 10 MiB buffer: 413, never sent on.
    let data = curl_data(&dir, "huge.bin", &pattern(11 * MIB, 9));
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
    let (listener, port) = loopback_listener();
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
    assert_eq!(
        keys[..UWSGI_PARAMS.len()],
        UWSGI_PARAMS,
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
