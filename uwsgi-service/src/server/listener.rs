//! [`Listener`]: where connections come from, TCP or unix sockets.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

/// A source of connections from a front end: [`TcpListener`] and [`UnixListener`] are
/// listeners; implement it for others.
pub trait Listener: Send + 'static {
    /// A connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection; the front end's address when it has one.
    ///
    /// # Errors
    ///
    /// What `accept(2)` reports (out of file descriptors, a connection aborted before it was
    /// accepted); the server logs it and goes on.
    fn accept(&mut self)
    -> impl Future<Output = io::Result<(Self::Io, Option<SocketAddr>)>> + Send;
}

impl Listener for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, Option<SocketAddr>)> {
        let (stream, addr) = TcpListener::accept(self).await?;
        // The head and the body go out in as few writes as possible: no Nagle delay between.
        let _ = stream.set_nodelay(true);
        Ok((stream, Some(addr)))
    }
}

impl Listener for UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, Option<SocketAddr>)> {
        let (stream, _addr) = UnixListener::accept(self).await?;
        Ok((stream, None))
    }
}
