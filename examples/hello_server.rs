//! The smallest application server on the codec: answers every request with "Hello, world!".
//!
//! `cargo run --features codec --example hello_server -- 127.0.0.1:3031`, then put it behind
//! nginx with `uwsgi_pass 127.0.0.1:3031;` (for real apps, see the `uwsgi-service` crate).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;
use uwsgi_codec::codec::{ServerCodec, ServerFrame};
use uwsgi_codec::{Modifier1, PacketBuilder};

const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3031".into());
    let listener = TcpListener::bind(&addr).await?;
    loop {
        let (socket, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let mut conn = Framed::new(socket, ServerCodec::new());
            while let Some(frame) = conn.next().await {
                let reply = match frame {
                    // A ping (modifier1 100) gets a pong; a request gets the page.
                    Ok(ServerFrame::Packet(p)) if p.modifier1() == Modifier1::PING => {
                        PacketBuilder::pong().to_vec()
                    }
                    Ok(ServerFrame::End) => Ok(HELLO.to_vec()),
                    Ok(_) => continue, // the request's vars and body: read and dropped here
                    Err(err) => return eprintln!("{peer}: {err}"),
                };
                // One request per connection, as nginx sends them: answer, then close.
                if let Ok(bytes) = reply {
                    let _ = conn.send(Bytes::from(bytes)).await;
                }
                return;
            }
        });
    }
}
