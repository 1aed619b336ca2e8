//! `proxy`: an HTTP/1.1 server in front of a uWSGI backend (nginx's `uwsgi_pass` role), built on
//! uwsgi-service's client. The first stdout line is `listening on ADDR`.
//!
//! ```text
//! cargo run -p uwsgi-service --example proxy -- --listen 127.0.0.1:8080 --backend 127.0.0.1:3031
//! cargo run -p uwsgi-service --example proxy -- --backend /run/app.sock
//! ```
//!
//! Each request gets its own backend connection: nginx's `uwsgi_params` and headers, the body
//! streamed (a chunked one read whole first, 413 over 10 MiB), the reply streamed back with
//! hop-by-hop headers dropped. A failure is a 502 (504 on a timeout) and one stderr line.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uwsgi_service::{Client, ClientConfig, ClientError, RequestVarsConfig};

const USAGE: &str = "usage: proxy [--listen 127.0.0.1:8080] --backend HOST:PORT|SOCKET_PATH";

#[derive(Clone)]
struct Proxy {
    client: Client,
    local: SocketAddr,
}

async fn forward(
    State(proxy): State<Proxy>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    let vars = RequestVarsConfig::new(proxy.local, remote);
    let err = match proxy.client.send_with(request, &vars).await {
        Ok(response) => return response.map(Body::new),
        Err(err) => err,
    };
    let status = match &err {
        ClientError::UnknownLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ClientError::Encode(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        err if err.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    eprintln!("proxy: {line}: {} ({err})", status.as_u16());
    (status, format!("{status}\n")).into_response()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let (mut listen, mut backend) = ("127.0.0.1:8080".to_owned(), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            ("--backend", Some(addr)) => backend = Some(addr),
            _ => return Err(USAGE.into()),
        }
    }
    let backend = backend.ok_or(USAGE)?;
    let listener = tokio::net::TcpListener::bind(&listen).await;
    let listener = listener.map_err(|e| format!("{listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {local}");
    let config = ClientConfig::new().with_max_buffered_body(Some(10 << 20));
    let client = Client::new(&backend).with_config(config);
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Proxy { client, local });
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
