//! The client against real uWSGI 2.0 (python3 plugin): the hello app, Django, the environ app
//! (exactly the vars sent), a 1 MiB reply streamed, and the two ways a backend fails: silence
//! (a timeout error) and uWSGI's default 4096-byte buffer (the hinted error). Needs
//! `bash .ci/install-peers`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::pattern;
use http_body_util::{BodyExt as _, Full};
use uwsgi_service::{Client, ClientConfig, ClientError, RequestVarsConfig, ResponseBody};
use uwsgi_test_support::{Scratch, start_uwsgi, start_uwsgi_django};

/// uWSGI's buffer for the tests that need room for headers.
const BUFFER_SIZE: u16 = 32768;

fn get(path: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(path)
        .header("host", "example.test")
        .body(Full::default())
        .expect("a request")
}

async fn body(response: http::Response<ResponseBody>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .expect("the reply body")
        .to_bytes()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_app_over_tcp_and_unix_socket() {
    let dir = Scratch::new("service_client_hello");
    let socket = dir.join("hello.sock");
    let socket_arg = socket.to_str().expect("UTF-8").to_owned();
    let app = [
        "--socket",
        &socket_arg,
        "--wsgi-file",
        "tests/peers/hello.py",
    ];
    let (mut uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    uwsgi.wait_until("unix socket", || socket.exists());
    for address in [format!("127.0.0.1:{port}"), socket_arg.clone()] {
        let response = Client::new(&address).send(get("/")).await.expect("a reply");
        assert_eq!(response.status(), 200, "{address}");
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(body(response).await, b"Hello World", "{address}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_get_and_post() {
    let dir = Scratch::new("service_client_django");
    let (_uwsgi, port) = start_uwsgi_django(&dir, BUFFER_SIZE);
    let client = Client::new(&format!("127.0.0.1:{port}"));

    let response = client
        .send(get("/hello/?name=client"))
        .await
        .expect("a reply");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let text = String::from_utf8(body(response).await).expect("UTF-8");
    assert_eq!(
        text,
        "<p>Django says hello to client</p>\n<p>GET /hello/ 0</p>\n"
    );

    let post = http::Request::post("/hello/")
        .header("host", "example.test")
        .header("content-type", "application/octet-stream")
        .body(Full::new(Bytes::from(pattern(3000, 5))))
        .expect("a request");
    let response = client.send(post).await.expect("a reply");
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(body(response).await).expect("UTF-8");
    assert_eq!(
        text,
        "<p>Django says hello to world</p>\n<p>POST /hello/ 3000</p>\n"
    );

    let response = client.send(get("/nowhere/")).await.expect("a reply");
    assert_eq!(response.status(), 404);
}

/// A body of unknown length, as a chunked upload is: two chunks, no size hint.
struct Chunks(Vec<Bytes>);

fn unknown_length(bytes: Vec<u8>) -> Chunks {
    let bytes = Bytes::from(bytes);
    let half = bytes.len() / 2;
    Chunks(vec![bytes.slice(half..), bytes.slice(..half)])
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop().map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environ_app_receives_exactly_the_vars_sent() {
    let dir = Scratch::new("service_client_environ");
    let app = ["--wsgi-file", "tests/peers/environ.py"];
    let (_uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    let server = "192.0.2.1:8080".parse().expect("an address");
    let remote = "198.51.100.7:50123".parse().expect("an address");
    let vars = RequestVarsConfig::new(server, remote).with_document_root("/srv/www");
    let client = Client::new(&format!("127.0.0.1:{port}"));
    let request = || {
        http::Request::post("http://example.test/a%20b/c?x=1&y=%41")
            .header("user-agent", "uwsgi-service-test")
            .header("x-foo", "1")
            .header("transfer-encoding", "chunked")
            .body(unknown_length(b"hello body".to_vec()))
            .expect("a request")
    };
    let expected = uwsgi_service::uwsgi_codec::http::RequestVars::from_request(
        &{
            let mut r = request().map(|_| ());
            r.headers_mut().remove("transfer-encoding");
            r
        },
        &vars,
    );
    let response = client.send_with(request(), &vars).await.expect("a reply");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).expect("JSON");
    let hex = |v: &serde_json::Value| v.as_str().map(decode_hex);
    let received: Vec<(Vec<u8>, Vec<u8>)> = json["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .filter_map(|var| Some((hex(&var["key_hex"])?, hex(&var["value_hex"])?)))
        .filter(|(key, _)| !key.starts_with(b"wsgi.") && !key.starts_with(b"uwsgi."))
        .collect();
    let mut sent: Vec<(Vec<u8>, Vec<u8>)> = expected
        .pairs()
        .map(|(k, v)| {
            (
                k.to_vec(),
                if k == b"CONTENT_LENGTH" {
                    b"10".to_vec()
                } else {
                    v.to_vec()
                },
            )
        })
        .collect();
    let mut received_sorted = received.clone();
    sent.sort();
    received_sorted.sort();
    assert_eq!(
        received_sorted, sent,
        "uWSGI's environ is not the vars sent"
    );
    assert!(!received.iter().any(|(k, _)| k == b"HTTP_TRANSFER_ENCODING"));
    assert_eq!(json["body_len"], 10);
    assert_eq!(json["body_hex"], "68656c6c6f20626f6479");
}

fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mebibyte_reply_is_streamed() {
    let dir = Scratch::new("service_client_big");
    let app = ["--wsgi-file", "tests/peers/big.py"];
    let (_uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", BUFFER_SIZE, &app);
    let client = Client::new(&format!("127.0.0.1:{port}"));
    let big: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    for path in ["/big", "/stream"] {
        let response = client.send(get(path)).await.expect("a reply");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let (mut got, mut frames) = (Vec::new(), 0);
        while let Some(frame) = body.frame().await {
            got.extend_from_slice(&frame.expect("a frame").into_data().expect("data"));
            frames += 1;
        }
        assert!(
            got == big,
            "{path}: {} bytes, not the 1 MiB sent",
            got.len()
        );
        assert!(frames > 1, "{path}: one frame, not streamed");
    }
    // And 1 MiB up, echoed.
    let echo = http::Request::post("/echo")
        .body(Full::new(Bytes::from(big.clone())))
        .expect("a request");
    let response = client.send(echo).await.expect("a reply");
    assert!(body(response).await == big, "the echo differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_backend_ends_in_a_timeout_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    // Accepts, reads, never answers.
    let silent = tokio::spawn(async move {
        let (_stream, _) = listener.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let config = ClientConfig::new().with_head_timeout(Duration::from_millis(500));
    let client = Client::new(&address).with_config(config);
    let started = std::time::Instant::now();
    let err = client.send(get("/")).await.expect_err("no reply");
    assert!(matches!(err, ClientError::HeadTimeout { .. }), "{err}");
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(err.to_string().contains("head timeout"), "{err}");
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_buffer_uwsgi_ends_in_the_hinted_error() {
    let dir = Scratch::new("service_client_buffer");
    let app = ["--wsgi-file", "tests/peers/hello.py"];
    let (_uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", 4096, &app);
    let request = http::Request::get("/")
        .header("cookie", format!("c={}", "x".repeat(6000)))
        .body(Full::<Bytes>::default())
        .expect("a request");
    let err = Client::new(&format!("127.0.0.1:{port}"))
        .send(request)
        .await
        .expect_err("a reset");
    assert!(err.is_buffer_size_likely(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("--buffer-size") && text.contains("4096"),
        "{text}"
    );
}
