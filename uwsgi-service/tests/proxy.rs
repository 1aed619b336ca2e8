//! The `proxy` example (an HTTP/1.1 server in front of uWSGI, on the client) between curl and
//! real uWSGI 2.0: the hello app over TCP and a unix socket, Django with both body framings,
//! 1 MiB both ways, and a dead backend. Needs `bash .ci/install-peers`. (It replaces the root
//! crate's `examples/gateway.rs` and `tests/gateway.rs`.)

mod common;

use std::path::Path;

use common::pattern;
use uwsgi_test_support::{
    HttpReply, Peer, Scratch, curl, curl_data, free_port, start_example, start_uwsgi,
    start_uwsgi_django,
};

const BUFFER_SIZE: u16 = 32768;
/// curl's two ways to send a body: with a Content-Length, then chunked.
const FRAMINGS: [&[&str]; 2] = [&[], &["-H", "Transfer-Encoding: chunked"]];

fn start_proxy(dir: &Path, name: &str, backend: &str) -> (Peer, String) {
    let args = ["--listen", "127.0.0.1:0", "--backend", backend];
    start_example(dir, name, "proxy", &args)
}

fn post(url: &str, data: &str, framing: &[&str]) -> HttpReply {
    let mut args = vec![
        "--data-binary",
        data,
        "-H",
        "Content-Type: application/octet-stream",
    ];
    args.extend_from_slice(framing);
    curl(url, &args)
}

#[test]
fn hello_app_over_tcp_and_unix_socket() {
    let dir = Scratch::new("proxy_hello");
    let socket = dir.join("hello.sock");
    let socket_path = socket.to_str().expect("UTF-8");
    let app = [
        "--socket",
        socket_path,
        "--wsgi-file",
        "tests/peers/hello.py",
    ];
    let (mut uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    uwsgi.wait_until("unix socket", || socket.exists());
    let (tcp, tcp_addr) = start_proxy(&dir, "proxy-tcp", &format!("127.0.0.1:{port}"));
    let (unix, unix_addr) = start_proxy(&dir, "proxy-unix", socket_path);
    for addr in [&tcp_addr, &unix_addr] {
        let reply = curl(&format!("http://{addr}/a"), &[]);
        assert_eq!(reply.status, 200, "{}", reply.head);
        assert_eq!(reply.header("Content-Type"), Some("text/html"));
        assert_eq!(reply.text(), "Hello World");
    }
    assert!(uwsgi.log().contains("GET /a =>"), "{}", uwsgi.log());
    assert_eq!(tcp.log(), "", "the proxy logged errors");
    assert_eq!(unix.log(), "", "the proxy logged errors");
}

#[test]
fn django_get_and_post_with_both_framings() {
    let dir = Scratch::new("proxy_django");
    let (_uwsgi, port) = start_uwsgi_django(&dir, BUFFER_SIZE);
    let (proxy, addr) = start_proxy(&dir, "proxy", &format!("127.0.0.1:{port}"));
    let reply = curl(&format!("http://{addr}/hello/?name=proxy%21"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(
        reply.text(),
        "<p>Django says hello to proxy!</p>\n<p>GET /hello/ 0</p>\n"
    );
    let data = curl_data(&dir, "post.bin", &pattern(3000, 5));
    for framing in FRAMINGS {
        let reply = post(&format!("http://{addr}/hello/"), &data, framing);
        assert_eq!(reply.status, 200, "{framing:?}: {}", reply.head);
        let want = "<p>Django says hello to world</p>\n<p>POST /hello/ 3000</p>\n";
        assert_eq!(reply.text(), want, "{framing:?}");
    }
    assert_eq!(curl(&format!("http://{addr}/nowhere/"), &[]).status, 404);
    assert_eq!(proxy.log(), "", "the proxy logged errors");
}

#[test]
fn a_mebibyte_both_ways() {
    let dir = Scratch::new("proxy_big");
    let app = ["--wsgi-file", "tests/peers/big.py"];
    let (_uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    let (_proxy, addr) = start_proxy(&dir, "proxy", &format!("127.0.0.1:{port}"));
    let big: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    for path in ["/big", "/stream"] {
        let reply = curl(&format!("http://{addr}{path}"), &[]);
        assert_eq!(reply.status, 200, "{}", reply.head);
        assert!(reply.body == big, "{path}: {} bytes", reply.body.len());
    }
    let up = pattern(1 << 20, 9);
    let data = curl_data(&dir, "up.bin", &up);
    for framing in FRAMINGS {
        let reply = post(&format!("http://{addr}/echo"), &data, framing);
        assert_eq!(reply.status, 200, "{framing:?}: {}", reply.head);
        assert!(
            reply.body == up,
            "{framing:?}: {} bytes echoed",
            reply.body.len()
        );
    }
}

#[test]
fn a_dead_backend_is_a_502_and_one_line() {
    let dir = Scratch::new("proxy_dead");
    let (proxy, addr) = start_proxy(&dir, "proxy", &format!("127.0.0.1:{}", free_port()));
    let reply = curl(&format!("http://{addr}/x"), &[]);
    assert_eq!(reply.status, 502, "{}", reply.head);
    let log = proxy.log();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.starts_with("proxy: GET /x: 502 (cannot connect"),
        "{log}"
    );
}
