//! Ask a uwsgi application server for a page, as nginx would: the request's vars from an
//! `http::Request`, the reply's head read as an `http::response::Parts`.
//!
//! `cargo run --features codec,http --example fetch -- 127.0.0.1:3031 /path`

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use uwsgi_codec::codec::{ClientCodec, ClientFrame, ClientMessage};
use uwsgi_codec::http::{RequestVars, RequestVarsConfig, response_parts};
use uwsgi_codec::reply::ResponseHead;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3031".into());
    let path = args.next().unwrap_or_else(|| "/".into());

    let request = http::Request::get(&path)
        .header("host", "localhost")
        .body(())?;
    let socket = TcpStream::connect(&addr).await?;
    let config = RequestVarsConfig::new(socket.peer_addr()?, socket.local_addr()?);
    let vars = RequestVars::from_request(&request, &config); // nginx's uwsgi_params, in order
    let builder = vars.builder(0).with_body_len(0);

    let mut conn = Framed::new(socket, ClientCodec::new());
    conn.send(ClientMessage::Packet(&builder)).await?;
    // The reply to a request is raw HTTP, read until the server closes the connection.
    let mut reply = Vec::new();
    while let Some(frame) = conn.next().await {
        match frame? {
            ClientFrame::Raw(chunk) => reply.extend_from_slice(&chunk),
            ClientFrame::End => break,
            ClientFrame::Packet(_) | ClientFrame::Body(_) => return Err("a framed reply".into()),
        }
    }
    let head = ResponseHead::parse_eof(&reply)?;
    let parts = response_parts(&head)?;
    println!("{} {:?}", parts.status, parts.headers);
    println!("{}", String::from_utf8_lossy(head.body(&reply)));
    Ok(())
}
