//! [`ClientError`]: why a request to uWSGI failed, naming the cause.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::service::BoxError;

/// uWSGI's default `--buffer-size`: the largest request packet it reads unless told otherwise.
pub(crate) const UWSGI_DEFAULT_BUFFER: usize = 4096;

/// Why a request to a uWSGI backend failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The backend could not be reached.
    Connect {
        /// The backend's address.
        address: String,
        /// What `connect(2)` said, or a timeout.
        source: io::Error,
    },
    /// The request's vars do not fit a uwsgi packet (over 65535 bytes: a huge cookie?), or
    /// its `content-length` disagrees with its body.
    Encode(uwsgi_codec::Error),
    /// A request body of unknown length (chunked) is larger than the buffer cap, or buffering
    /// is off; uwsgi frames every body by its length, so it must be known before sending.
    UnknownLength {
        /// The cap in force (`None`: unknown lengths are refused).
        cap: Option<usize>,
    },
    /// The request body sent more or fewer bytes than its length said.
    BodyLength {
        /// The length sent in `CONTENT_LENGTH`.
        expected: u64,
        /// The bytes the body gave.
        actual: u64,
    },
    /// The request body failed.
    RequestBody(BoxError),
    /// Writing the request failed.
    Send(io::Error),
    /// The backend reset or closed the connection before answering. After a packet over
    /// 4096 bytes, the likely cause is uWSGI's default `--buffer-size` (4096): it drops a
    /// larger packet with no answer.
    Reset {
        /// The request packet's size in bytes (header included).
        packet_len: usize,
        /// The reset, or `UnexpectedEof` for a close without a byte.
        source: io::Error,
    },
    /// No complete reply head within the head timeout.
    HeadTimeout {
        /// The timeout in force.
        timeout: Duration,
    },
    /// Nothing moved on the connection for the idle timeout (sending the body or reading the
    /// reply body).
    Idle {
        /// The timeout in force.
        timeout: Duration,
    },
    /// The reply's head is not valid HTTP (nginx would answer 502).
    InvalidReply(uwsgi_codec::reply::Error),
    /// The reply's head cannot be an `http::Response` head (a version `http` has no value for,
    /// two `Content-Length`s that differ …).
    InvalidReplyHead(uwsgi_codec::http::Error),
    /// The reply ended before its `Content-Length`.
    TruncatedReply {
        /// The announced length.
        expected: u64,
        /// Body bytes received.
        received: u64,
    },
    /// Reading the reply failed.
    Read(io::Error),
}

impl ClientError {
    /// Whether uWSGI's default `--buffer-size` is the likely cause.
    pub fn is_buffer_size_likely(&self) -> bool {
        matches!(self, ClientError::Reset { packet_len, .. } if *packet_len > UWSGI_DEFAULT_BUFFER)
    }

    /// Whether this is one of the timeouts.
    pub fn is_timeout(&self) -> bool {
        match self {
            ClientError::HeadTimeout { .. } | ClientError::Idle { .. } => true,
            ClientError::Connect { source, .. } => source.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// The error for an I/O failure while reading the reply head.
    pub(crate) fn reading_head(err: io::Error, packet_len: usize) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => ClientError::Reset {
                packet_len,
                source: err,
            },
            _ => ClientError::Read(err),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { address, source } => {
                write!(f, "cannot connect to the uWSGI backend {address}: {source}")
            }
            ClientError::Encode(err) => write!(f, "the request does not fit a uwsgi packet: {err}"),
            ClientError::UnknownLength { cap: Some(cap) } => write!(
                f,
                "a request body of unknown length over the {cap}-byte buffer cap: uwsgi needs the length before the body"
            ),
            ClientError::UnknownLength { cap: None } => f.write_str(
                "a request body of unknown length, and buffering is off: uwsgi needs the length before the body",
            ),
            ClientError::BodyLength { expected, actual } => write!(
                f,
                "the request body gave {actual} bytes where its length said {expected}"
            ),
            ClientError::RequestBody(err) => write!(f, "the request body failed: {err}"),
            ClientError::Send(err) => write!(f, "sending the request to uWSGI: {err}"),
            ClientError::Reset { packet_len, source } if *packet_len > UWSGI_DEFAULT_BUFFER => {
                write!(
                    f,
                    "uWSGI closed the connection without an answer ({source}) after a request \
                     packet of {packet_len} bytes: uWSGI's default --buffer-size is \
                     {UWSGI_DEFAULT_BUFFER}, the likely cause; start it with a larger \
                     --buffer-size (65535 at most)"
                )
            }
            ClientError::Reset { packet_len, source } => write!(
                f,
                "uWSGI closed the connection without an answer ({source}) after a request packet of {packet_len} bytes"
            ),
            ClientError::HeadTimeout { timeout } => {
                write!(f, "no reply head from uWSGI within {timeout:?} (head timeout)")
            }
            ClientError::Idle { timeout } => {
                write!(f, "the connection to uWSGI was idle for {timeout:?} (idle timeout)")
            }
            ClientError::InvalidReply(err) => write!(f, "invalid reply from uWSGI: {err}"),
            ClientError::InvalidReplyHead(err) => write!(f, "invalid reply from uWSGI: {err}"),
            ClientError::TruncatedReply { expected, received } => write!(
                f,
                "the reply ended after {received} of its {expected} body bytes"
            ),
            ClientError::Read(err) => write!(f, "reading the reply from uWSGI: {err}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } | ClientError::Reset { source, .. } => Some(source),
            ClientError::Send(err) | ClientError::Read(err) => Some(err),
            ClientError::Encode(err) => Some(err),
            ClientError::InvalidReply(err) => Some(err),
            ClientError::InvalidReplyHead(err) => Some(err),
            ClientError::RequestBody(err) => Some(&**err),
            _ => None,
        }
    }
}
