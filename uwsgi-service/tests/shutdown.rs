//! Graceful shutdown over loopback TCP, with no peer: a connection that has sent nothing is
//! closed at once, one whose packet is arriving is still answered, and the server stops long
//! before the head deadline and the shutdown timeout (both 120 s here).

mod common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use uwsgi_service::uwsgi_codec::PacketBuilder;
use uwsgi_service::{RequestBody, ServerConfig};

use common::Served;

/// Answers every request with its path.
async fn app(
    request: http::Request<RequestBody>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = Bytes::copy_from_slice(request.uri().path().as_bytes());
    Ok(http::Response::new(Full::new(path)))
}

fn get(path: &str) -> Vec<u8> {
    PacketBuilder::new(0)
        .var("REQUEST_METHOD", "GET")
        .var("PATH_INFO", path)
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .to_vec()
        .expect("encode")
}

/// Everything the server writes on `stream` until it closes it, within 10 s.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("closed within 10 s")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_silent_connections_and_answers_arriving_ones() {
    let long = Duration::from_secs(120);
    let config = ServerConfig::new()
        .with_head_timeout(long)
        .with_shutdown_timeout(long);
    let mut served = Served::start(hyper::service::service_fn(app), config).await;
    let addr = ("127.0.0.1", served.port);

    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut arriving = TcpStream::connect(addr).await.expect("connect");
    let wire = get("/arriving");
    arriving.write_all(&wire[..10]).await.expect("write");
    // One accept loop takes connections in order: this answer means both above were accepted.
    let mut last = TcpStream::connect(addr).await.expect("connect");
    last.write_all(&get("/last")).await.expect("write");
    assert!(read_to_close(&mut last).await.ends_with("\r\n\r\n/last"));

    served.shut_down();
    assert_eq!(
        read_to_close(&mut silent).await,
        "",
        "nothing sent, nothing answered"
    );
    arriving.write_all(&wire[10..]).await.expect("write");
    let answer = read_to_close(&mut arriving).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n/arriving"), "{answer}");
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut served.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop: {stopped:?}"
    );
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}
