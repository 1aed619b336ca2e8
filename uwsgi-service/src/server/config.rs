//! [`ServerConfig`]: the server's limits and timeouts, each with its default and the reason.

use std::time::Duration;

use uwsgi_codec::http::{RequestConfig, TargetSource, UriForm};

/// The limits, timeouts and request settings of a server.
///
/// Every default is a named constant below with the reason for its value. Settings take
/// effect for connections accepted after they are set.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use uwsgi_service::{ServerConfig, TargetSource};
///
/// let config = ServerConfig::new()
///     .with_head_timeout(Duration::from_secs(2))
///     .with_max_body(64 << 20)
///     .with_target_source(TargetSource::RequestUri);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) head_timeout: Duration,
    pub(crate) body_idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_head: usize,
    pub(crate) max_body: u64,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) request: RequestConfig,
}

impl ServerConfig {
    /// How long a new connection has to deliver its whole request packet: 5 s. A front end
    /// sends the packet right after it connects (nginx connects once it has the request head,
    /// and the body too when it buffers it), so a packet still incomplete after 5 s is a
    /// stalled or hostile peer. It is a deadline from the accept, not an idle timeout: bytes
    /// dripped one at a time do not extend it.
    pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long the request body may go without a byte: 60 s, nginx's `uwsgi_send_timeout`.
    pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long one write of the response may make no progress: 60 s, nginx's
    /// `uwsgi_read_timeout`, after which nginx gives up on the reply anyway.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
    /// The largest request packet (its datasize): 65535, the protocol's maximum, which nginx
    /// never exceeds. A larger one is answered 431.
    pub const DEFAULT_MAX_HEAD: usize = uwsgi_codec::MAX_DATASIZE;
    /// The largest request body: 16 MiB, answered 413 beyond. nginx refuses bodies over its
    /// `client_max_body_size` (1 MiB by default) itself; this bound also caps what the server
    /// reads and discards when the service answers without reading the body.
    pub const DEFAULT_MAX_BODY: u64 = 16 << 20;
    /// Connections served at once: 1024. Past it the server stops accepting until one ends,
    /// so new connections wait in the listen backlog (backpressure) rather than in memory.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// How long a graceful shutdown waits for requests in flight: 30 s, then the remaining
    /// connections are closed.
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

    /// The defaults: the `DEFAULT_*` constants and [`RequestConfig::new`]
    /// ([`TargetSource::PathInfo`], [`UriForm::Origin`]).
    pub fn new() -> Self {
        ServerConfig {
            head_timeout: Self::DEFAULT_HEAD_TIMEOUT,
            body_idle_timeout: Self::DEFAULT_BODY_IDLE_TIMEOUT,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
            max_head: Self::DEFAULT_MAX_HEAD,
            max_body: Self::DEFAULT_MAX_BODY,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            request: RequestConfig::new(),
        }
    }

    /// Sets the head deadline ([`DEFAULT_HEAD_TIMEOUT`](Self::DEFAULT_HEAD_TIMEOUT)).
    pub fn with_head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// Sets the body idle timeout ([`DEFAULT_BODY_IDLE_TIMEOUT`](Self::DEFAULT_BODY_IDLE_TIMEOUT)).
    pub fn with_body_idle_timeout(mut self, timeout: Duration) -> Self {
        self.body_idle_timeout = timeout;
        self
    }

    /// Sets the write timeout ([`DEFAULT_WRITE_TIMEOUT`](Self::DEFAULT_WRITE_TIMEOUT)).
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets the largest request packet ([`DEFAULT_MAX_HEAD`](Self::DEFAULT_MAX_HEAD)).
    pub fn with_max_head(mut self, max: usize) -> Self {
        self.max_head = max;
        self
    }

    /// Sets the largest request body ([`DEFAULT_MAX_BODY`](Self::DEFAULT_MAX_BODY)).
    pub fn with_max_body(mut self, max: u64) -> Self {
        self.max_body = max;
        self
    }

    /// Sets how many connections are served at once
    /// ([`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)); at least 1.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets how long a graceful shutdown waits
    /// ([`DEFAULT_SHUTDOWN_TIMEOUT`](Self::DEFAULT_SHUTDOWN_TIMEOUT)).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets where the request target comes from ([`TargetSource::PathInfo`] by default).
    ///
    /// nginx sends the target twice: `REQUEST_URI`, exactly as the client sent it and never
    /// changed by a rewrite, and `PATH_INFO` (`$uri`), decoded, normalised and **changed by
    /// `rewrite … break`**, `index` and `try_files`. With the default, an app sees the path
    /// nginx routed (what WSGI apps behind uWSGI see); with [`TargetSource::RequestUri`], a
    /// rewrite in the `location` is invisible to the app.
    pub fn with_target_source(mut self, source: TargetSource) -> Self {
        self.request = self.request.with_target_source(source);
        self
    }

    /// Sets the form of the request URI ([`UriForm::Origin`], `/path?query`, by default: what
    /// hyper hands an axum app).
    pub fn with_uri_form(mut self, form: UriForm) -> Self {
        self.request = self.request.with_uri_form(form);
        self
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}
