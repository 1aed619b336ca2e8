//! The server role: what uWSGI does behind nginx `uwsgi_pass`, for any [`HttpService`].
//!
//! [`serve`] runs the accept loop on a [`Listener`] (TCP or unix) and [`serve_connection`]
//! serves one connection, for custom accept loops. Each connection carries one request, as
//! nginx sends them (PROTOCOL.md §1): the packet, read within the head deadline; the request
//! handed to the service with its body streaming in; the response written as raw HTTP/1.1;
//! the rest of an unread body drained; the connection closed.

mod body;
mod config;
mod connection;
mod listener;
mod peer;
mod pump;
mod reject;
mod response;

pub use body::{BodyError, RequestBody};
pub use config::ServerConfig;
pub use listener::Listener;
pub use peer::PeerInfo;

use std::future::{Future, IntoFuture};
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::AbortHandle;

use crate::service::HttpService;

/// A shutdown signal, boxed.
type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `service` on every connection `listener` accepts, until an error stops the
/// listener or the [graceful shutdown](Serve::with_graceful_shutdown) signal comes.
///
/// Await it (it is [`IntoFuture`]); set limits with [`Serve::with_config`].
///
/// # Examples
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// # async fn run() -> std::io::Result<()> {
/// let app = Router::new().route("/", get(|| async { "Hello from axum behind uwsgi_pass" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
/// uwsgi_service::serve(listener, app).await
/// # }
/// ```
pub fn serve<L, S, M>(listener: L, service: S) -> Serve<L, S, M>
where
    L: Listener,
    S: HttpService<M>,
{
    Serve {
        listener,
        service,
        config: ServerConfig::new(),
        signal: None,
        marker: PhantomData,
    }
}

/// The server that [`serve`] returns; await it to run it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<L, S, M> {
    listener: L,
    service: S,
    config: ServerConfig,
    signal: Option<Signal>,
    marker: PhantomData<fn() -> M>,
}

impl<L, S, M> std::fmt::Debug for Serve<L, S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<L, S, M> Serve<L, S, M>
where
    L: Listener,
    S: HttpService<M>,
    M: 'static,
{
    /// Sets the limits and timeouts ([`ServerConfig::new`] by default).
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Stops accepting when `signal` completes, then waits for the connections in flight to
    /// finish, [`ServerConfig::with_shutdown_timeout`] at most, and closes the rest. A
    /// connection that has sent nothing is not in flight: it is closed once it is a second old
    /// (a front end writes its request as soon as it connects, so a younger one may have its
    /// request on the way), rather than kept until its head deadline.
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// uwsgi_service::serve(listener, app)
    ///     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
    ///     .await
    /// # }
    /// ```
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// Runs the accept loop; returns once the shutdown is complete.
    async fn run(self) -> io::Result<()> {
        let Serve {
            mut listener,
            service,
            config,
            signal,
            ..
        } = self;
        let config = Arc::new(config);
        let mut signal = signal.unwrap_or_else(|| Box::pin(std::future::pending()));
        let max = config.max_connections;
        let slots = Arc::new(Semaphore::new(max));
        // To close what is left at the shutdown deadline; finished ones are pruned now and then
        // (an atomic load each), so the accept path takes no lock.
        let mut running: Vec<AbortHandle> = Vec::new();
        // Turns true at the shutdown signal: connections that have sent nothing close then, or
        // once they are a second old.
        let (closing, shutdown) = watch::channel(false);
        loop {
            // Backpressure: no accept until a connection slot is free.
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => slot,
                () = &mut signal => break,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut signal => break,
            };
            let (io, front_end) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    // Out of file descriptors, most likely: give connections time to end.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let config = Arc::clone(&config);
            let work = connection::run(io, front_end, service.clone(), config, shutdown.clone());
            let task = tokio::spawn(async move {
                work.await;
                drop(slot);
            });
            if running.len() >= max {
                running.retain(|task| !task.is_finished());
            }
            running.push(task.abort_handle());
        }
        drop(listener);
        closing.send_replace(true);
        let in_flight = max - slots.available_permits();
        if in_flight > 0 {
            tracing::info!(
                in_flight,
                "shutting down: waiting for connections in flight"
            );
        }
        // Every slot back means every connection has ended.
        let all_slots = u32::try_from(max).unwrap_or(u32::MAX);
        let finish = slots.acquire_many(all_slots);
        if tokio::time::timeout(config.shutdown_timeout, finish)
            .await
            .is_err()
        {
            let closed = max - slots.available_permits();
            tracing::warn!(
                closed,
                "shutdown deadline passed: closing the remaining connections"
            );
            for task in running {
                task.abort();
            }
        }
        Ok(())
    }
}

impl<L, S, M> IntoFuture for Serve<L, S, M>
where
    L: Listener,
    S: HttpService<M>,
    M: 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Serves one connection from a front end (for a custom accept loop): its request, or its
/// ping, then it closes. `front_end` is the connection's peer address, if it has one.
///
/// # Examples
///
/// ```no_run
/// use uwsgi_service::{ServerConfig, serve_connection};
///
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
/// let config = ServerConfig::new();
/// loop {
///     let (stream, addr) = listener.accept().await?;
///     tokio::spawn(serve_connection(stream, Some(addr), app.clone(), &config));
/// }
/// # }
/// ```
pub fn serve_connection<IO, S, M: 'static>(
    io: IO,
    front_end: Option<SocketAddr>,
    service: S,
    config: &ServerConfig,
) -> impl Future<Output = ()> + Send + 'static
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: HttpService<M>,
{
    let never = connection::never();
    connection::run(io, front_end, service, Arc::new(config.clone()), never)
}
