//! The server behind real nginx 1.22 (`uwsgi_pass`), serving an axum app in this process.
//! Needs `bash .ci/install-peers`.

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::{FNV_START, Served, fnv, http10, nginx_in_front, pattern};
use http_body_util::BodyExt as _;
use uwsgi_service::{PeerInfo, ServerConfig};
use uwsgi_test_support::{Scratch, curl, curl_data, nginx_errors};

const MB5: usize = 5_000_000;

/// Reads the body chunk by chunk: `bytes=N chunks=C hash=H te=T cl=L`.
async fn upload(headers: HeaderMap, body: Body) -> String {
    let (mut bytes, mut chunks, mut hash) = (0, 0, FNV_START);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.expect("a body frame").into_data() else {
            continue;
        };
        bytes += data.len();
        chunks += 1;
        hash = fnv(hash, &data);
    }
    let header = |name| {
        headers
            .get(name)
            .map_or("-".to_owned(), |v| v.to_str().unwrap_or("?").to_owned())
    };
    let (te, cl) = (header("transfer-encoding"), header("content-length"));
    format!("bytes={bytes} chunks={chunks} hash={hash:x} te={te} cl={cl}")
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/upload", post(upload))
        .route(
            "/ignore",
            post(|| async { (StatusCode::NOT_FOUND, "not here\n") }),
        )
        .route(
            "/cookie",
            get(|h: HeaderMap| async move { h.get("cookie").map_or(0, |v| v.len()).to_string() }),
        )
        .route(
            "/new/{x}",
            get(|Path(x): Path<String>, uri: Uri| async move { format!("new {x} {uri}") }),
        )
        .route(
            "/peer",
            get(|Extension(peer): Extension<PeerInfo>| async move {
                format!("{:?} {:?}", peer.remote_addr(), peer.server_port)
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow done"
            }),
        )
        .route(
            "/packet",
            get(|r: Request| async move {
                format!(
                    "{}",
                    r.extensions()
                        .get::<uwsgi_service::uwsgi_codec::Packet>()
                        .is_some()
                )
            }),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_post_chunked_cookie_rewrite_and_peer_through_nginx() {
    let dir = Scratch::new("service_nginx");
    let served = Served::start(app(), ServerConfig::new()).await;
    let (_nginx, port, error_log) = nginx_in_front(&dir, &format!("127.0.0.1:{}", served.port));
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    let reply = curl(&url("/"), &[]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "hello"),
        "{}",
        reply.head
    );
    assert_eq!(reply.header("content-length"), Some("5"));
    assert_eq!(curl(&url("/packet"), &[]).text(), "true");

    // 5 MB streamed to the app: many chunks, every byte.
    let big = pattern(MB5, 1);
    let data = curl_data(&dir, "big.bin", &big);
    let want = format!("bytes={MB5} chunks=");
    let reply = curl(&url("/upload"), &["--data-binary", &data]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    let text = reply.text();
    assert!(text.starts_with(&want), "{text}");
    assert!(
        text.contains(&format!("hash={:x} te=- cl={MB5}", fnv(FNV_START, &big))),
        "{text}"
    );
    let chunks: usize = text
        .split("chunks=")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(chunks > 1, "the body came in one piece: {text}");

    // A chunked upload: nginx de-chunks it; the app sees a length and no Transfer-Encoding.
    let small = pattern(70_000, 2);
    let data = curl_data(&dir, "small.bin", &small);
    let reply = curl(
        &url("/upload"),
        &["--data-binary", &data, "-H", "Transfer-Encoding: chunked"],
    );
    let want = "bytes=70000 chunks=";
    assert!(reply.text().starts_with(want), "{}", reply.text());
    assert!(
        reply
            .text()
            .ends_with(&format!("hash={:x} te=- cl=70000", fnv(FNV_START, &small))),
        "{}",
        reply.text()
    );

    // The app answers 404 without reading 5 MB: nginx passes the 404 on, not a 502.
    let data = curl_data(&dir, "ignored.bin", &big);
    let reply = curl(&url("/ignore"), &["--data-binary", &data]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (404, "not here\n"),
        "{}",
        reply.head
    );

    // A 30 KB cookie.
    let cookie = format!("Cookie: c={}", "x".repeat(30_000));
    let reply = curl(&url("/cookie"), &["-H", &cookie]);
    assert_eq!(
        (reply.status, reply.text()),
        (200, "30002".to_owned()),
        "{}",
        reply.head
    );

    // nginx's rewrite reaches the app (PATH_INFO), the query too.
    let reply = curl(&url("/old/abc?q=1"), &[]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "new abc /new/abc?q=1"),
        "{}",
        reply.head
    );

    // The client's address and the server port, from the vars.
    let reply = curl(&url("/peer"), &[]);
    let text = reply.text();
    assert!(text.starts_with("Some(127.0.0.1:"), "{text}");
    assert!(text.ends_with(&format!("Some({port})")), "{text}");
    assert!(!text.starts_with("Some(127.0.0.1:0)"), "{text}");

    assert_eq!(nginx_errors(&error_log), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_uri_target_source_ignores_the_rewrite() {
    let dir = Scratch::new("service_nginx_request_uri");
    let config = ServerConfig::new().with_target_source(uwsgi_service::TargetSource::RequestUri);
    let served = Served::start(app(), config).await;
    let (_nginx, port, _) = nginx_in_front(&dir, &format!("127.0.0.1:{}", served.port));
    let reply = curl(&format!("http://127.0.0.1:{port}/old/abc"), &[]);
    assert_eq!(
        reply.status,
        404,
        "the app saw the rewritten path: {}",
        reply.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests() {
    let dir = Scratch::new("service_nginx_concurrent");
    let served = Served::start(app(), ServerConfig::new()).await;
    let (_nginx, port, error_log) = nginx_in_front(&dir, &format!("127.0.0.1:{}", served.port));
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let request = format!("GET /new/{i} HTTP/1.0\r\nHost: t");
            tokio::spawn(async move { http10(port, &request).await })
        })
        .collect();
    for (i, request) in requests.into_iter().enumerate() {
        let reply = request.await.expect("a request task");
        assert_eq!(reply.status, 200, "{i}: {}", reply.head);
        assert_eq!(reply.text(), format!("new {i} /new/{i}"));
    }
    assert_eq!(nginx_errors(&error_log), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_packet_is_closed_at_the_head_deadline_while_others_are_served() {
    let dir = Scratch::new("service_nginx_drip");
    let config = ServerConfig::new().with_head_timeout(Duration::from_secs(2));
    let served = Served::start(app(), config).await;
    let (_nginx, port, _) = nginx_in_front(&dir, &format!("127.0.0.1:{}", served.port));
    let upstream = served.port;
    let dripper = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", upstream)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let start = Instant::now();
        // A header announcing 16 bytes, then one byte every 300 ms (never complete in time).
        stream.write_all(&[0, 16, 0, 0]).expect("header");
        for _ in 0..30 {
            let mut byte = [0u8; 1];
            match stream.read(&mut byte) {
                Ok(0) => return start.elapsed(),
                Ok(_) => panic!("the server answered a dripping packet"),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return start.elapsed(),
            }
            if stream.write_all(b"k").is_err() {
                return start.elapsed();
            }
        }
        panic!("still open after 9 s");
    });
    std::thread::sleep(Duration::from_millis(500));
    let reply = curl(&format!("http://127.0.0.1:{port}/"), &[]);
    assert_eq!(reply.status, 200, "another request during the drip");
    let closed_after = dripper.join().expect("the dripper");
    assert!(
        closed_after >= Duration::from_millis(1800) && closed_after < Duration::from_millis(3500),
        "closed after {closed_after:?}, want about 2 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_completes_the_request_in_flight() {
    let dir = Scratch::new("service_nginx_shutdown");
    let mut served = Served::start(app(), ServerConfig::new()).await;
    let (_nginx, port, _) = nginx_in_front(&dir, &format!("127.0.0.1:{}", served.port));
    let url = format!("http://127.0.0.1:{port}/slow");
    let slow = std::thread::spawn(move || curl(&url, &[]));
    tokio::time::sleep(Duration::from_millis(400)).await;
    served.shut_down();
    let reply = slow.join().expect("the slow request");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "slow done"),
        "{}",
        reply.head
    );
    let stopped = tokio::time::timeout(Duration::from_secs(5), &mut served.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop: {stopped:?}"
    );
    let after = curl(&format!("http://127.0.0.1:{port}/"), &[]);
    assert_eq!(after.status, 502, "no longer accepting");
}

#[test]
fn the_axum_example_behind_nginx() {
    let dir = Scratch::new("service_nginx_example");
    let (_app, addr) = uwsgi_test_support::start_example(&dir, "axum", "axum", &["127.0.0.1:0"]);
    let (_nginx, port, error_log) = nginx_in_front(&dir, &addr);
    let reply = curl(&format!("http://127.0.0.1:{port}/"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.text(), "Hello from axum behind uwsgi_pass\n");
    let reply = curl(&format!("http://127.0.0.1:{port}/hello/nginx"), &[]);
    assert_eq!(reply.text(), "Hello, nginx!\n");
    assert_eq!(nginx_errors(&error_log), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_behind_nginx() {
    let dir = Scratch::new("service_nginx_unix");
    let socket = dir.join("app.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind a unix socket");
    tokio::spawn(uwsgi_service::serve(listener, app()).into_future());
    let (_nginx, port, _) = nginx_in_front(&dir, &format!("unix:{}", socket.display()));
    let reply = curl(&format!("http://127.0.0.1:{port}/peer"), &[]);
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert!(
        reply.text().starts_with("Some(127.0.0.1:"),
        "{}",
        reply.text()
    );
}
