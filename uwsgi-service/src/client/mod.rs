//! The client role: what nginx does in front of uWSGI, for `http::Request`s.
//!
//! [`Client::send`] turns a request into the vars nginx would send (`RequestVars`), sends the
//! packet and the body framed by `CONTENT_LENGTH`, reads the reply head into an
//! `http::Response` and streams the rest as its [`ResponseBody`]. One connection per request,
//! as nginx does (it never reuses a uwsgi connection, PROTOCOL.md §1).

mod body;
mod error;
mod exchange;
mod stream;

pub use body::ResponseBody;
pub use error::ClientError;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use http::{Method, Request, Response};
use http_body::Body;
use uwsgi_codec::Modifier1;
use uwsgi_codec::codec::ClientCodec;
use uwsgi_codec::http::RequestVarsConfig;
use uwsgi_codec::reply::DEFAULT_MAX_HEAD_LEN;

use crate::convert;
use crate::frames::FrameReader;
use crate::service::BoxError;
use stream::Address;

/// The timeouts, limits and vars settings of a [`Client`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use uwsgi_service::ClientConfig;
///
/// let config = ClientConfig::new()
///     .with_head_timeout(Duration::from_secs(5))
///     .with_max_buffered_body(None); // refuse bodies of unknown length
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    connect_timeout: Duration,
    head_timeout: Duration,
    idle_timeout: Duration,
    max_buffered_body: Option<usize>,
    max_head: usize,
    modifier1: Modifier1,
    vars: RequestVarsConfig,
}

impl ClientConfig {
    /// How long connecting may take: 10 s (nginx's `uwsgi_connect_timeout` is 60 s, which only
    /// delays the error when a backend is down).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long the reply head may take once the request is sent: 60 s, nginx's
    /// `uwsgi_read_timeout`. A backend that accepts and never answers ends in
    /// [`ClientError::HeadTimeout`].
    pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long a body may go without a byte, either way: 60 s, nginx's `uwsgi_send_timeout`.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// The largest request body of unknown length (chunked) read whole before sending: 1 MiB,
    /// nginx's default `client_max_body_size`. uwsgi frames a body by its length, so such a
    /// body is buffered (as nginx does) or refused.
    pub const DEFAULT_MAX_BUFFERED_BODY: usize = 1 << 20;

    /// The defaults: the `DEFAULT_*` constants, a 64 KiB bound on the reply head
    /// ([`DEFAULT_MAX_HEAD_LEN`]), modifier1 0, and vars (`Transfer-Encoding` left out) as
    /// for a connection from 127.0.0.1 to 127.0.0.1:80 (set the real ones with
    /// [`with_vars`](Self::with_vars) or per request with [`Client::send_with`]).
    pub fn new() -> Self {
        let server = SocketAddr::from(([127, 0, 0, 1], 80));
        let remote = SocketAddr::from(([127, 0, 0, 1], 0));
        ClientConfig {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            head_timeout: Self::DEFAULT_HEAD_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_buffered_body: Some(Self::DEFAULT_MAX_BUFFERED_BODY),
            max_head: DEFAULT_MAX_HEAD_LEN,
            modifier1: Modifier1::WSGI,
            vars: RequestVarsConfig::new(server, remote),
        }
    }

    /// Sets the connect timeout ([`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT)).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the head timeout ([`DEFAULT_HEAD_TIMEOUT`](Self::DEFAULT_HEAD_TIMEOUT)).
    pub fn with_head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// Sets the idle timeout ([`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT)).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the cap on a body of unknown length
    /// ([`DEFAULT_MAX_BUFFERED_BODY`](Self::DEFAULT_MAX_BUFFERED_BODY)); `None` refuses such
    /// bodies with [`ClientError::UnknownLength`].
    pub fn with_max_buffered_body(mut self, cap: Option<usize>) -> Self {
        self.max_buffered_body = cap;
        self
    }

    /// Sets the bound on the reply head ([`DEFAULT_MAX_HEAD_LEN`], 64 KiB).
    pub fn with_max_head(mut self, max: usize) -> Self {
        self.max_head = max;
        self
    }

    /// Sets the packet's modifier1 (0, WSGI, by default; nginx's `uwsgi_modifier1`).
    pub fn with_modifier1(mut self, modifier1: impl Into<Modifier1>) -> Self {
        self.modifier1 = modifier1.into();
        self
    }

    /// Sets the addresses, document root, server name, header mapping and
    /// `Transfer-Encoding` handling the vars are made with, for [`Client::send`].
    ///
    /// `Transfer-Encoding` is left out by default ([`TransferEncoding::Drop`](crate::TransferEncoding::Drop)): the body after a
    /// packet is always framed by its length (rule C5), and `chunked` beside a length is the
    /// shape of a smuggling attempt to any decoder that checks.
    /// `with_transfer_encoding(TransferEncoding::Keep)` sends it as nginx does.
    pub fn with_vars(mut self, vars: RequestVarsConfig) -> Self {
        self.vars = vars;
        self
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends `http::Request`s to a uWSGI backend and streams back its replies.
///
/// # Examples
///
/// ```no_run
/// use uwsgi_service::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new("127.0.0.1:3031"); // or a unix socket path: "/run/app.sock"
/// let request = http::Request::get("/hello").header("host", "example.com").body(String::new())?;
/// let response = client.send(request).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    address: Arc<Address>,
    config: Arc<ClientConfig>,
}

impl Client {
    /// A client for the backend at `address`: `HOST:PORT`, or a unix socket path (anything
    /// with a `/`), with the default [`ClientConfig`].
    pub fn new(address: &str) -> Self {
        Client {
            address: Arc::new(Address::parse(address)),
            config: Arc::new(ClientConfig::new()),
        }
    }

    /// Sets the timeouts, limits and vars settings.
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Sends `request` with the vars settings of the [`ClientConfig`].
    ///
    /// # Errors
    ///
    /// [`ClientError`], naming the cause: the connection, the request (too large for a
    /// packet, a body of unknown length over the cap), a timeout, a reset (with the
    /// `--buffer-size` hint after a packet over 4096 bytes), an invalid reply.
    pub async fn send<B>(&self, request: Request<B>) -> Result<Response<ResponseBody>, ClientError>
    where
        B: Body<Error: Into<BoxError>>,
    {
        self.send_with(request, &self.config.vars).await
    }

    /// Sends `request` with these vars settings: for a proxy, the addresses of the
    /// connection the request came on.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_with<B>(
        &self,
        request: Request<B>,
        vars: &RequestVarsConfig,
    ) -> Result<Response<ResponseBody>, ClientError>
    where
        B: Body<Error: Into<BoxError>>,
    {
        let config = &*self.config;
        let (parts, body) = request.into_parts();
        let head_request = parts.method == Method::HEAD;
        let body = exchange::prepare(body, config.max_buffered_body, config.idle_timeout).await?;
        let vars = convert::request_vars(&parts, vars);
        let mut packet = BytesMut::new();
        vars.builder(config.modifier1)
            .with_body_len(body.len())
            .encode(&mut packet)
            .map_err(ClientError::Encode)?;
        let packet_len = packet.len();

        let stream = self.address.connect(config.connect_timeout).await?;
        let (read, mut write) = tokio::io::split(stream);
        let sent = exchange::send(&mut write, packet, body, config.idle_timeout).await;
        // A backend that answers before reading the whole body may close on it: its answer
        // still counts, else the broken send is the cause.
        let broken = match sent {
            Ok(()) => None,
            Err(ClientError::Send(err)) => Some(ClientError::reading_head(err, packet_len)),
            Err(other) => return Err(other),
        };
        let mut reader = FrameReader::new(read, ClientCodec::new());
        let head = exchange::read_head(
            &mut reader,
            head_request,
            config.max_head,
            config.head_timeout,
            packet_len,
        );
        let (parts, framing, first) = match (head.await, broken) {
            (Ok(head), _) => head,
            (Err(_), Some(broken)) => return Err(broken),
            (Err(err), None) => return Err(err),
        };
        let body = ResponseBody::new(reader, first, framing, config.idle_timeout);
        Ok(Response::from_parts(parts, body))
    }
}
