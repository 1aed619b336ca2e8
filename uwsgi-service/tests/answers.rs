//! What the server writes for each kind of request, over an in-memory connection: the answers
//! HTTP can still give (400, 413, 431, 501, 500), a pong, bodiless replies, and a
//! `hyper::service::service_fn` served unchanged.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uwsgi_service::uwsgi_codec::PacketBuilder;
use uwsgi_service::{RequestBody, ServerConfig, serve_connection};

type Reply = http::Response<Full<Bytes>>;

/// Answers `/204`, `/fail` (an error: 500), else echoes the path and body (a body that fails
/// to arrive is an error too).
async fn app(request: http::Request<RequestBody>) -> Result<Reply, std::io::Error> {
    use http_body_util::BodyExt as _;
    let path = request.uri().path().to_owned();
    let mut response = match path.as_str() {
        "/204" => http::Response::new(Full::default()),
        "/fail" => return Err(std::io::Error::other("the app failed")),
        _ => {
            let body = request.into_body().collect().await;
            let body = body.map_err(std::io::Error::other)?.to_bytes();
            let text = format!("{path} {}", String::from_utf8_lossy(&body));
            http::Response::new(Full::new(Bytes::from(text)))
        }
    };
    if path == "/204" {
        *response.status_mut() = http::StatusCode::NO_CONTENT;
    }
    Ok(response)
}

/// What the server writes back for `input` (the front end closes its side after sending it).
async fn exchange(input: Vec<u8>, config: ServerConfig) -> String {
    let (mut front, server) = tokio::io::duplex(1 << 16);
    let service = hyper::service::service_fn(app);
    let served = tokio::spawn(serve_connection(server, None, service, &config));
    front.write_all(&input).await.expect("write");
    front.shutdown().await.expect("shutdown");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), front.read_to_end(&mut out))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    served.await.expect("the connection task");
    String::from_utf8_lossy(&out).into_owned()
}

fn request(method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut builder = PacketBuilder::new(0)
        .var("REQUEST_METHOD", method)
        .var("PATH_INFO", path)
        .var("SERVER_PROTOCOL", "HTTP/1.1");
    for (key, value) in extra {
        builder = builder.var(*key, *value);
    }
    if !body.is_empty() {
        builder = builder.with_body_len(body.len() as u64);
    }
    let mut wire = builder.to_vec().expect("encode");
    wire.extend_from_slice(body);
    wire
}

#[tokio::test]
async fn a_request_is_answered_with_a_length_framed_reply() {
    let out = exchange(request("POST", "/echo", &[], b"hello"), ServerConfig::new()).await;
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n/echo hello"
    );
}

#[tokio::test]
async fn head_and_204_send_no_body() {
    let out = exchange(request("HEAD", "/head", &[], b""), ServerConfig::new()).await;
    assert_eq!(out, "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n");
    let out = exchange(request("GET", "/204", &[], b""), ServerConfig::new()).await;
    assert_eq!(out, "HTTP/1.1 204 No Content\r\n\r\n");
}

#[tokio::test]
async fn ping_gets_a_pong() {
    let out = exchange(
        PacketBuilder::ping().to_vec().expect("ping"),
        ServerConfig::new(),
    )
    .await;
    assert_eq!(out.as_bytes(), [0x64, 0, 0, 1]);
}

#[tokio::test]
async fn failures_get_an_http_answer() {
    let cases: [(&str, Vec<u8>, ServerConfig); 6] = [
        (
            "400",
            request("GET", "/", &[("CONTENT_LENGTH", "5x")], b""),
            ServerConfig::new(),
        ),
        (
            "400",
            request("GET", "/", &[("HTTP_X", "a\nb")], b""),
            ServerConfig::new(),
        ),
        (
            "400",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ServerConfig::new(),
        ),
        (
            "431",
            request("GET", "/", &[], b""),
            ServerConfig::new().with_max_head(20),
        ),
        (
            "413",
            request("POST", "/", &[], b"too long"),
            ServerConfig::new().with_max_body(4),
        ),
        (
            "501",
            PacketBuilder::new(110)
                .with_modifier2(1)
                .to_vec()
                .expect("signal"),
            ServerConfig::new(),
        ),
    ];
    for (status, input, config) in cases {
        let out = exchange(input, config).await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {out:?}"
        );
        assert!(out.contains("content-length: "), "{status}: {out:?}");
    }
    let out = exchange(request("GET", "/fail", &[], b""), ServerConfig::new()).await;
    assert!(out.starts_with("HTTP/1.1 500 "), "{out:?}");
}

#[tokio::test]
async fn a_front_end_that_leaves_mid_body_ends_the_connection() {
    let mut input = request("POST", "/echo", &[], b"hello");
    input.truncate(input.len() - 2);
    let out = exchange(input, ServerConfig::new()).await;
    // The app's body read fails with `Truncated`; the app fails, which is a 500.
    assert!(out.starts_with("HTTP/1.1 500 "), "{out:?}");
}

#[tokio::test]
async fn infallible_services_work_too() {
    let (mut front, server) = tokio::io::duplex(1024);
    let service = hyper::service::service_fn(|_request: http::Request<RequestBody>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    tokio::spawn(serve_connection(
        server,
        None,
        service,
        &ServerConfig::new(),
    ));
    front
        .write_all(&request("GET", "/", &[], b""))
        .await
        .expect("write");
    let mut out = Vec::new();
    front.read_to_end(&mut out).await.expect("read");
    assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
}
