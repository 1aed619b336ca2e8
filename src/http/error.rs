//! [`Error`]: what can go wrong converting to and from the `http` crate's types, and
//! [`HttpPart`].

use crate::reply;

/// What can go wrong converting between uwsgi messages and the `http` crate's types (the http
/// layer).
///
/// **The offsets this type carries itself count from the packet's first header byte**, as the
/// core [`crate::Error`]'s do: [`InvalidHttp`](Error::InvalidHttp) points into the vars
/// block of the request packet, and so does [`offset`](Error::offset). A wrapped
/// [`reply::Error`] keeps its own origin, the reply's first byte: read it from
/// [`reply`](Error::reply). The response-side faults of the `http` crate's own limits carry
/// indexes and numbers, no offset.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::Vars;
/// use uwsgi_codec::http::{Error, HttpPart, request_parts};
///
/// // kv("REQUEST_METHOD", "GE T"): the space is at offset 24 of the packet.
/// let vars = Vars::parse(b"\x0e\x00REQUEST_METHOD\x04\x00GE T")?;
/// let err = request_parts(&vars).unwrap_err();
/// assert_eq!(err, Error::InvalidHttp { offset: 24, part: HttpPart::Method });
/// assert_eq!((err.kind(), err.offset()), ("InvalidHttp", Some(24)));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A var cannot become the part of the HTTP request it maps to.
    #[error("the var at offset {offset} is not a valid HTTP {part}")]
    InvalidHttp {
        /// Offset of the offending byte, or of the value's start when no single byte is to
        /// blame, counted from the packet's first header byte.
        offset: usize,
        /// The part of the request that could not be made.
        part: HttpPart,
    },

    /// The reply's status line names a version that [`http::Version`](::http::Version) has
    /// no value for (`HTTP/1.2`, `HTTP/4.0` …).
    #[error("the reply's status line names HTTP/{major}.{minor}, which has no http::Version")]
    UnsupportedVersion {
        /// The major version digit.
        major: u8,
        /// The minor version digit.
        minor: u8,
    },

    /// A reply header that the `http` crate refuses as a
    /// [`HeaderName`](::http::HeaderName) or [`HeaderValue`](::http::HeaderValue). The reply
    /// parser lets through only token names and values without control bytes, so the one way
    /// here is a name over 65535 bytes, which needs a head bound raised above 64 KiB.
    #[error("reply header {index} is not a valid http {part}")]
    ResponseHeader {
        /// The header's index in [`ResponseHead::headers`](crate::reply::ResponseHead::headers).
        index: usize,
        /// [`HttpPart::HeaderName`] or [`HttpPart::HeaderValue`].
        part: HttpPart,
    },

    /// A reply with more distinct header names than an [`http::HeaderMap`](::http::HeaderMap)
    /// holds, which only a head bound raised above 64 KiB lets through.
    #[error("reply header {index} is one name more than an http::HeaderMap holds")]
    TooManyHeaders {
        /// The index, in [`ResponseHead::headers`](crate::reply::ResponseHead::headers), of
        /// the first header that did not fit.
        index: usize,
    },

    /// The request's body length cannot be framed: `InvalidContentLength` or
    /// `ConflictingContentLength` (rules C2 and C3), offsets from the packet's first byte.
    #[error(transparent)]
    Packet(#[from] crate::Error),

    /// A reply fault, with its offset counted from the reply's first byte, as
    /// [`reply::Error`] counts: from [`response_parts`](super::response_parts), a reply
    /// `Content-Length` that cannot frame the body (`InvalidContentLength`); from a caller's
    /// `?`, any error of reading the reply head.
    #[error(transparent)]
    Reply(#[from] reply::Error),
}

impl Error {
    /// The variant's name, stable and machine-readable; a wrapped error gives its own
    /// variant's name (`InvalidContentLength` …).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidHttp { .. } => "InvalidHttp",
            Error::UnsupportedVersion { .. } => "UnsupportedVersion",
            Error::ResponseHeader { .. } => "ResponseHeader",
            Error::TooManyHeaders { .. } => "TooManyHeaders",
            Error::Packet(err) => err.kind(),
            Error::Reply(err) => err.kind(),
        }
    }

    /// The offset from the **packet's** first header byte that the error points at, if it
    /// has one: `None` for the response-side variants (a [`Reply`](Error::Reply) error has
    /// its own offset from the reply's first byte, see [`reply`](Error::reply)).
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::InvalidHttp { offset, .. } => Some(*offset),
            Error::Packet(err) => err.offset(),
            _ => None,
        }
    }

    /// A one-line hint for a person reading a log: what usually causes this error.
    pub fn hint(&self) -> &'static str {
        match self {
            Error::InvalidHttp { .. } => {
                "the front end sent a var that no HTTP request could have produced"
            }
            Error::UnsupportedVersion { .. } => {
                "uWSGI copies SERVER_PROTOCOL into its status line: send HTTP/1.0 or HTTP/1.1"
            }
            Error::ResponseHeader { .. } | Error::TooManyHeaders { .. } => {
                "the application sent a head larger than any HTTP server takes"
            }
            Error::Packet(err) => err.hint(),
            Error::Reply(err) => err.hint(),
        }
    }

    /// The core error, if this is a request body-length fault.
    pub fn packet(&self) -> Option<&crate::Error> {
        match self {
            Error::Packet(err) => Some(err),
            _ => None,
        }
    }

    /// The reply error, if this is a reply body-length fault.
    pub fn reply(&self) -> Option<&reply::Error> {
        match self {
            Error::Reply(err) => Some(err),
            _ => None,
        }
    }
}

/// `Error::InvalidHttp { offset, part }`.
pub(super) fn invalid(offset: usize, part: HttpPart) -> Error {
    Error::InvalidHttp { offset, part }
}

/// The part of an HTTP message that a var or a reply header could not become (see
/// [`Error::InvalidHttp`] and [`Error::ResponseHeader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpPart {
    /// `REQUEST_METHOD`: empty, or a byte that is not a token character.
    Method,
    /// The request target (`PATH_INFO`, `SCRIPT_NAME` and `QUERY_STRING`, or `REQUEST_URI`)
    /// that [`Uri`](::http::Uri) refuses even after percent-encoding, for example one over
    /// 65534 bytes.
    Uri,
    /// `REQUEST_SCHEME` or `UWSGI_SCHEME`: not a valid URI scheme (absolute form only).
    Scheme,
    /// `HTTP_HOST`, or `SERVER_NAME` and `SERVER_PORT`: not a valid `host[:port]` (absolute
    /// form only).
    Authority,
    /// `SERVER_PROTOCOL`: not one of the versions [`RequestConfig::parts`] lists.
    ///
    /// [`RequestConfig::parts`]: super::RequestConfig::parts
    Version,
    /// An `HTTP_*` key whose rest is empty or has a byte that is not a token character.
    HeaderName,
    /// A header value with a control byte (a line feed, a NUL …); a tab is allowed.
    HeaderValue,
}

impl HttpPart {
    /// The part's name, as error messages print it.
    pub fn name(self) -> &'static str {
        match self {
            HttpPart::Method => "method",
            HttpPart::Uri => "request target",
            HttpPart::Scheme => "scheme",
            HttpPart::Authority => "host",
            HttpPart::Version => "version",
            HttpPart::HeaderName => "header name",
            HttpPart::HeaderValue => "header value",
        }
    }
}

impl core::fmt::Display for HttpPart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
