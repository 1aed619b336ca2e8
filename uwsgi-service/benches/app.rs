//! The benchmark's app and tools (run by `benches/compare.sh`, not a test).
//!
//! ```text
//! bench-app uwsgi ADDR        the app behind uwsgi_pass (uwsgi-service, default config)
//! bench-app http ADDR         the same app served by hyper (axum::serve), for proxy_pass
//! bench-app idle ADDR N SECS  opens N connections to ADDR, holds them SECS seconds, closes
//! ```
//!
//! The app answers `GET /` with `Hello World`, as uWSGI's classic hello app does.

use std::time::Duration;

use axum::{Router, routing::get};

fn app() -> Router {
    Router::new().route("/", get(|| async { "Hello World" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "uwsgi" | "http" => {
            let listener = tokio::net::TcpListener::bind(arg(1)).await?;
            println!("listening on {}", listener.local_addr()?);
            if arg(0) == "uwsgi" {
                uwsgi_service::serve(listener, app()).await
            } else {
                axum::serve(listener, app()).await
            }
        }
        "idle" => {
            let count: usize = arg(2).parse().unwrap_or(1000);
            let hold = Duration::from_secs(arg(3).parse().unwrap_or(3));
            let mut held = Vec::with_capacity(count);
            for _ in 0..count {
                held.push(tokio::net::TcpStream::connect(arg(1)).await?);
            }
            println!("holding {} connections", held.len());
            tokio::time::sleep(hold).await;
            Ok(())
        }
        _ => Err(std::io::Error::other(
            "usage: bench-app uwsgi|http ADDR | idle ADDR N SECS",
        )),
    }
}
