//! An axum app behind nginx `uwsgi_pass` (nginx's `location` block: see the README).
//! `cargo run -p uwsgi-service --example axum -- 127.0.0.1:3031`
use axum::{Router, extract::Path, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(|| async { "Hello from axum behind uwsgi_pass\n" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move { format!("Hello, {name}!\n") }),
        );
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3031".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    uwsgi_service::serve(listener, app).await
}
