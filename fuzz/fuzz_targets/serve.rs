//! The uwsgi-service server connection fed arbitrary bytes over an in-memory duplex, as a
//! front end that sends them and closes its side: it never panics, it always ends (within
//! 10 s, where real time runs: the head deadline and the idle timeout are 1 s), and what it
//! writes back is nothing, a pong, or an HTTP/1.1 response.
#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use uwsgi_service::{RequestBody, ServerConfig, serve_connection};

/// Reads the whole request body, then answers with its length.
async fn app(request: http::Request<RequestBody>) -> Result<http::Response<String>, Infallible> {
    let mut body = std::pin::pin!(request.into_body());
    let mut len = 0;
    while let Some(frame) =
        std::future::poll_fn(|cx| http_body::Body::poll_frame(body.as_mut(), cx)).await
    {
        match frame.map(http_body::Frame::into_data) {
            Ok(Ok(data)) => len += data.len(),
            _ => break,
        }
    }
    Ok(http::Response::new(len.to_string()))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let config = ServerConfig::new()
        .with_head_timeout(Duration::from_secs(1))
        .with_body_idle_timeout(Duration::from_secs(1))
        .with_max_body(1 << 20);
    runtime().block_on(async {
        let (mut front, server) = tokio::io::duplex(64 * 1024);
        let service = hyper::service::service_fn(app);
        let connection = serve_connection(server, None, service, &config);
        let front_end = async {
            let _ = front.write_all(data).await;
            let _ = front.shutdown().await;
            let mut out = Vec::new();
            let _ = front.read_to_end(&mut out).await;
            out
        };
        let both = async { tokio::join!(connection, front_end).1 };
        let out = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("the connection ended");
        assert!(
            out.is_empty() || out == [0x64, 0, 0, 1] || out.starts_with(b"HTTP/1.1 "),
            "unexpected answer: {:?}",
            String::from_utf8_lossy(&out)
        );
    });
});
