//! Addresses, connections and listeners: TCP (`HOST:PORT`) or a unix socket (anything with a
//! `/`, an optional `unix:` prefix dropped), for every subcommand.

use std::os::unix::fs::FileTypeExt as _;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A connection of either kind.
pub(crate) trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// Where a peer listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `HOST:PORT`.
    Tcp(String),
    /// A unix socket path.
    Unix(String),
}

impl Target {
    /// `unix:PATH` or anything with a `/` is a socket path; else `HOST:PORT`.
    pub(crate) fn parse(text: &str) -> Result<Target, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Target::Unix(path.to_owned()));
        }
        if text.contains('/') {
            return Ok(Target::Unix(text.to_owned()));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Target::Tcp(text.to_owned()))
            }
            _ => Err(format!("{text:?}: want HOST:PORT or a unix socket path")),
        }
    }

    /// Connects within `timeout`; returns the connection and our end of it (`REMOTE_ADDR`,
    /// `REMOTE_PORT` as a front end would send them; `127.0.0.1`, `0` on a unix socket).
    pub(crate) async fn connect(
        &self,
        timeout: Duration,
    ) -> Result<(Box<dyn Conn>, (String, String)), String> {
        let connect = async {
            match self {
                Target::Tcp(addr) => {
                    let stream = TcpStream::connect(addr.as_str()).await?;
                    let _ = stream.set_nodelay(true);
                    let local = stream.local_addr()?;
                    let ours = (local.ip().to_string(), local.port().to_string());
                    Ok::<_, std::io::Error>((Box::new(stream) as Box<dyn Conn>, ours))
                }
                Target::Unix(path) => {
                    let stream = UnixStream::connect(path).await?;
                    Ok((
                        Box::new(stream) as Box<dyn Conn>,
                        ("127.0.0.1".into(), "0".into()),
                    ))
                }
            }
        };
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(connected)) => Ok(connected),
            Ok(Err(err)) => Err(format!("cannot connect to {self}: {}", short_error(&err))),
            Err(_) => Err(format!("cannot connect to {self}: timed out")),
        }
    }

    /// `SERVER_NAME` and `SERVER_PORT` for a request to this target.
    pub(crate) fn server_name_port(&self) -> (String, String) {
        match self {
            Target::Tcp(addr) => match addr.rsplit_once(':') {
                Some((host, port)) => (host.trim_matches(['[', ']']).to_owned(), port.to_owned()),
                None => (addr.clone(), "80".into()),
            },
            Target::Unix(_) => ("localhost".into(), "80".into()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(addr) => f.write_str(addr),
            Target::Unix(path) => write!(f, "unix:{path}"),
        }
    }
}

/// An I/O error without the `(os error N)` tail.
pub(crate) fn short_error(err: &std::io::Error) -> String {
    let text = err.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

/// A bound listener of either kind.
pub(crate) enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix socket, and its path (removed when the listener is dropped).
    Unix(UnixListener, String),
}

impl Listener {
    /// Binds `addr`; returns the listener and what a front end's `uwsgi_pass` takes
    /// (`HOST:PORT` as bound, or `unix:PATH`). A stale socket file (only that) is replaced.
    pub(crate) async fn bind(addr: &str) -> Result<(Listener, String), String> {
        let fail = |err: std::io::Error| format!("cannot listen on {addr}: {}", short_error(&err));
        match Target::parse(addr)? {
            Target::Tcp(addr) => {
                let listener = TcpListener::bind(addr.as_str()).await.map_err(fail)?;
                let bound = listener.local_addr().map_err(fail)?.to_string();
                Ok((Listener::Tcp(listener), bound))
            }
            Target::Unix(path) => {
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if meta.file_type().is_socket() => {
                        std::fs::remove_file(&path).map_err(fail)?;
                    }
                    Ok(_) => return Err(format!("cannot listen on {path}: not a socket")),
                    Err(_) => {}
                }
                let listener = UnixListener::bind(&path).map_err(fail)?;
                Ok((
                    Listener::Unix(listener, path.clone()),
                    format!("unix:{path}"),
                ))
            }
        }
    }

    /// The next connection, and a name for log lines.
    pub(crate) async fn accept(&self, count: u64) -> std::io::Result<(Box<dyn Conn>, String)> {
        Ok(match self {
            Listener::Tcp(tcp) => {
                let (stream, peer) = tcp.accept().await?;
                let _ = stream.set_nodelay(true);
                (Box::new(stream) as Box<dyn Conn>, peer.to_string())
            }
            Listener::Unix(unix, _) => (Box::new(unix.accept().await?.0), format!("unix#{count}")),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Seconds from the command line as a duration: positive and at most an hour.
pub(crate) fn seconds(value: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
        .ok_or(format!("{what} {value}: want 0 < SECS <= 3600"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("127.0.0.1:3031"),
            Ok(Target::Tcp("127.0.0.1:3031".into()))
        );
        assert_eq!(
            Target::parse("unix:/tmp/a"),
            Ok(Target::Unix("/tmp/a".into()))
        );
        assert_eq!(Target::parse("/tmp/a"), Ok(Target::Unix("/tmp/a".into())));
        assert!(Target::parse("localhost").is_err());
        assert!(Target::parse(":80").is_err());
        let (name, port) = Target::Tcp("[::1]:80".into()).server_name_port();
        assert_eq!((name.as_str(), port.as_str()), ("::1", "80"));
    }
}
