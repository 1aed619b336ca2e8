//! [`PeerInfo`]: the client and connection facts the front end sends, as a request extension.

use std::net::{IpAddr, SocketAddr};

use uwsgi_codec::Vars;

/// Who the client is and how it connected, as the front end reported it in the vars; every
/// request the service gets carries one as an extension.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use uwsgi_service::PeerInfo;
///
/// let app: Router = Router::new().route(
///     "/",
///     get(|Extension(peer): Extension<PeerInfo>| async move {
///         format!("hello {:?}", peer.remote_addr())
///     }),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// `REMOTE_ADDR`: the client's IP address (the **first** such var, as uWSGI reads it).
    pub remote_ip: Option<IpAddr>,
    /// `REMOTE_PORT`: the client's port.
    pub remote_port: Option<u16>,
    /// `HTTPS` is `on` or `1` (nginx: `uwsgi_param HTTPS $https if_not_empty`), or
    /// `REQUEST_SCHEME` is `https`.
    pub https: bool,
    /// `SERVER_NAME`: the name of the front end's `server` block.
    pub server_name: Option<String>,
    /// `SERVER_PORT`: the port the client connected to.
    pub server_port: Option<u16>,
    /// The front end's own address: the peer of this uwsgi connection (`None` on a unix
    /// socket).
    pub front_end: Option<SocketAddr>,
}

impl PeerInfo {
    /// The client's address, `REMOTE_ADDR` and `REMOTE_PORT` together (port 0 when only the
    /// address came).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_ip
            .map(|ip| SocketAddr::new(ip, self.remote_port.unwrap_or(0)))
    }

    pub(crate) fn from_vars(vars: &Vars<'_>, front_end: Option<SocketAddr>) -> Self {
        let text = |key: &str| vars.get(key).and_then(|v| std::str::from_utf8(v).ok());
        let https = text("HTTPS").is_some_and(|v| v.eq_ignore_ascii_case("on") || v == "1")
            || text("REQUEST_SCHEME").is_some_and(|v| v.eq_ignore_ascii_case("https"));
        PeerInfo {
            remote_ip: vars
                .get_first("REMOTE_ADDR")
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok()),
            remote_port: text("REMOTE_PORT").and_then(|v| v.parse().ok()),
            https,
            server_name: text("SERVER_NAME")
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            server_port: text("SERVER_PORT").and_then(|v| v.parse().ok()),
            front_end,
        }
    }
}
