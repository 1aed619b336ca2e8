//! Graceful shutdown, with no peer: a connection that has sent nothing is closed about a
//! second after its accept, one whose packet is arriving or already in the socket is still
//! answered, and the server stops long before the head deadline and the shutdown timeout.
//! A connection served on its own (`serve_connection`) never sees a shutdown.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use uwsgi_service::uwsgi_codec::PacketBuilder;
use uwsgi_service::{Listener, RequestBody, ServerConfig, serve_connection};

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
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> String {
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

/// A TCP listener that fires the shutdown signal as it hands out its first connection, and
/// builds each stream as a custom listener may (`from_std`), so tokio knows nothing yet of
/// what the socket holds.
struct SignalAtAccept {
    inner: TcpListener,
    signal: Option<oneshot::Sender<()>>,
}

impl Listener for SignalAtAccept {
    type Io = TcpStream;

    async fn accept(&mut self) -> std::io::Result<(TcpStream, Option<SocketAddr>)> {
        let (stream, addr) = self.inner.accept().await?;
        let stream = TcpStream::from_std(stream.into_std()?)?;
        if let Some(signal) = self.signal.take() {
            let _ = signal.send(());
        }
        Ok((stream, Some(addr)))
    }
}

/// A request already in the socket when its connection is accepted, and the shutdown signal
/// at that accept: the answer the front end reads.
async fn answer_at_shutdown() -> String {
    let inner = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = inner.local_addr().expect("local address");
    let mut front = TcpStream::connect(addr).await.expect("connect");
    front
        .write_all(&get("/in-the-socket"))
        .await
        .expect("write");
    let (signal, signalled) = oneshot::channel::<()>();
    let listener = SignalAtAccept {
        inner,
        signal: Some(signal),
    };
    let long = Duration::from_secs(120);
    let config = ServerConfig::new()
        .with_head_timeout(long)
        .with_shutdown_timeout(long);
    let serve = uwsgi_service::serve(listener, hyper::service::service_fn(app))
        .with_config(config)
        .with_graceful_shutdown(async move {
            let _ = signalled.await;
        });
    let served = tokio::spawn(serve.into_future());
    let answer = read_to_close(&mut front).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), served).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop: {stopped:?}"
    );
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_the_socket_at_the_signal_is_answered() {
    for round in 0..20 {
        let answer = answer_at_shutdown().await;
        assert!(
            answer.ends_with("\r\n\r\n/in-the-socket"),
            "round {round}: {answer:?}"
        );
    }
}

/// On its own, a connection waits for its request until the head deadline, however late it
/// comes (the clock is paused: tokio moves it on when every task waits).
#[tokio::test(start_paused = true)]
async fn serve_connection_never_shuts_down() {
    let (mut front, server) = tokio::io::duplex(1 << 16);
    let config = ServerConfig::new().with_head_timeout(Duration::from_secs(60));
    let service = hyper::service::service_fn(app);
    let served = tokio::spawn(serve_connection(server, None, service, &config));
    tokio::time::sleep(Duration::from_secs(30)).await;
    front.write_all(&get("/late")).await.expect("write");
    front.shutdown().await.expect("shutdown");
    let answer = read_to_close(&mut front).await;
    assert!(answer.ends_with("\r\n\r\n/late"), "{answer:?}");
    served.await.expect("the connection task");
}

/// In-memory connections, handed out one by one; the shutdown signal fires once all are out.
struct InMemory {
    connections: Vec<DuplexStream>,
    signal: Option<oneshot::Sender<()>>,
}

impl Listener for InMemory {
    type Io = DuplexStream;

    async fn accept(&mut self) -> std::io::Result<(DuplexStream, Option<SocketAddr>)> {
        if let Some(connection) = self.connections.pop() {
            return Ok((connection, None));
        }
        if let Some(signal) = self.signal.take() {
            let _ = signal.send(());
        }
        std::future::pending().await
    }
}

/// The grace a silent connection gets, on a paused clock: a request written half a second
/// after the signal is answered, a connection that stays silent is closed, and the server
/// has stopped well before the head deadline (120 s).
#[tokio::test(start_paused = true)]
async fn a_request_sent_just_after_the_signal_is_answered() {
    let (mut late, late_server) = tokio::io::duplex(1 << 16);
    let (mut silent, silent_server) = tokio::io::duplex(1 << 16);
    let (signal, signalled) = oneshot::channel::<()>();
    let listener = InMemory {
        connections: vec![silent_server, late_server],
        signal: Some(signal),
    };
    let long = Duration::from_secs(120);
    let config = ServerConfig::new()
        .with_head_timeout(long)
        .with_shutdown_timeout(long);
    let start = tokio::time::Instant::now();
    let serve = uwsgi_service::serve(listener, hyper::service::service_fn(app))
        .with_config(config)
        .with_graceful_shutdown(async move {
            let _ = signalled.await;
        });
    let served = tokio::spawn(serve.into_future());
    tokio::time::sleep(Duration::from_millis(500)).await;
    late.write_all(&get("/late")).await.expect("write");
    let answer = read_to_close(&mut late).await;
    assert!(answer.ends_with("\r\n\r\n/late"), "{answer:?}");
    let answer = read_to_close(&mut silent).await;
    assert_eq!(answer, "", "nothing sent, nothing answered");
    served.await.expect("the server task").expect("the server");
    let stopped_after = start.elapsed();
    assert!(
        stopped_after < Duration::from_secs(5),
        "stopped after {stopped_after:?} on the paused clock"
    );
}
