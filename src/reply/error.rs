//! [`Error`]: what can go wrong while reading the head of a reply, and [`HeadFault`].

/// What can go wrong while reading the head of an HTTP reply (the reply layer).
///
/// **Offsets count from the reply's first byte** (the first byte after the request was
/// sent), not from any packet: a request-family reply is raw HTTP, not a uwsgi packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A first line that starts with `HTTP/` but is not `HTTP/x.y NNN[ reason]`.
    #[error("invalid HTTP status line: unexpected byte at offset {offset} of the reply")]
    InvalidStatusLine {
        /// Offset of the offending byte.
        offset: usize,
    },

    /// A CGI `Status` header that is not `NNN[ reason]` with a code of 100 to 999 (nginx:
    /// `upstream sent invalid status`, 502).
    #[error("invalid CGI Status header: unexpected byte at offset {offset} of the reply")]
    InvalidStatus {
        /// Offset of the offending byte (the end of the value if it is too short).
        offset: usize,
    },

    /// A line of the head is not a `name: value` header (nginx: `upstream sent invalid
    /// header`, 502). Binary and uwsgi-framed replies end up here.
    #[error("invalid reply header: {fault} at offset {offset} of the reply")]
    InvalidResponseHeader {
        /// Offset of the offending byte.
        offset: usize,
        /// What is wrong with the line.
        fault: HeadFault,
    },

    /// The head has not ended within the configured bound.
    #[error("reply head exceeds the configured maximum of {max} bytes")]
    ResponseHeadTooLarge {
        /// The configured bound.
        max: usize,
    },

    /// The input ended inside the head (nginx: `upstream prematurely closed connection while
    /// reading response header`, 502).
    #[error("reply ended inside its head after {offset} bytes")]
    TruncatedResponseHead {
        /// Bytes of the reply received.
        offset: usize,
    },

    /// A `Content-Length` header that is not a decimal length, or two that differ: the body
    /// cannot be framed.
    #[error("invalid reply Content-Length at offset {offset} of the reply")]
    InvalidContentLength {
        /// Offset of the value.
        offset: usize,
    },
}

crate::error::described!(Error, "the reply's first byte");

impl Error {
    /// Name, offset and hint of every variant, in one table.
    fn describe(&self) -> (&'static str, Option<usize>, &'static str) {
        match *self {
            Error::InvalidStatusLine { offset } => (
                "InvalidStatusLine",
                Some(offset),
                "the reply starts with HTTP/ but not with a valid `HTTP/x.y NNN reason` line",
            ),
            Error::InvalidStatus { offset } => (
                "InvalidStatus",
                Some(offset),
                "a CGI Status header must be three digits, optionally a space and a reason",
            ),
            Error::InvalidResponseHeader { offset, .. } => (
                "InvalidResponseHeader",
                Some(offset),
                "not an HTTP reply: a binary or uwsgi-framed reply (ping, RPC) or a broken header line",
            ),
            Error::ResponseHeadTooLarge { .. } => (
                "ResponseHeadTooLarge",
                None,
                "the reply head never ended: raise the bound or check that the peer sends HTTP",
            ),
            Error::TruncatedResponseHead { offset } => (
                "TruncatedResponseHead",
                Some(offset),
                "the application server closed the connection before the end of the reply head",
            ),
            Error::InvalidContentLength { offset } => (
                "InvalidContentLength",
                Some(offset),
                "the application sent a Content-Length that is not one decimal number",
            ),
        }
    }
}

/// Why a line of a response head is not a header (see [`Error::InvalidResponseHeader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeadFault {
    /// A byte that cannot be part of a header name (RFC 9110 `tchar`): a NUL or other
    /// control byte, a space before the colon, a byte of 0x80 or more. Binary and
    /// uwsgi-framed replies fail here (a pong `64 00 00 01` at offset 1).
    NameByte,
    /// A line that starts with `:`.
    EmptyName,
    /// A line that ends before any `:`.
    MissingColon,
    /// A control byte (other than a tab) in a header value.
    ValueByte,
    /// A carriage return not followed by a line feed.
    BareCr,
    /// A line that starts with a space or a tab: obsolete line folding (RFC 9112 §5.2).
    Folded,
}

impl HeadFault {
    /// What the fault is, in a few words, as error messages print it.
    pub fn description(self) -> &'static str {
        match self {
            HeadFault::NameByte => "a byte that cannot be part of a header name",
            HeadFault::EmptyName => "a header line with an empty name",
            HeadFault::MissingColon => "a header line without a colon",
            HeadFault::ValueByte => "a control byte in a header value",
            HeadFault::BareCr => "a carriage return not followed by a line feed",
            HeadFault::Folded => "a folded (continuation) header line",
        }
    }
}

impl core::fmt::Display for HeadFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.description())
    }
}
