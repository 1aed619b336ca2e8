//! [`Error`]: what can go wrong on a connection: a bad packet, a bad body, or I/O.

/// What can go wrong while decoding or encoding a uwsgi connection (the codec layer).
///
/// A packet fault is the core [`crate::Error`], with offsets from the packet's first header
/// byte; the body and I/O faults carry no offset. After any error the connection is dead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A packet could not be decoded or encoded.
    #[error(transparent)]
    Packet(#[from] crate::Error),

    /// The input ended before the whole body arrived (rule C7).
    #[error("body ended after {received} of {expected} bytes")]
    TruncatedBody {
        /// The framed body length.
        expected: u64,
        /// Body bytes received.
        received: u64,
    },

    /// The framed body is longer than the configured maximum (rule C9).
    #[error("body of {len} bytes exceeds the configured maximum of {max}")]
    BodyTooLarge {
        /// The framed body length.
        len: u64,
        /// The configured maximum.
        max: u64,
    },

    /// Encoding: more body bytes than the packet's `CONTENT_LENGTH` frames, or a new packet
    /// before the body of the last one is complete.
    #[error("{received} body bytes given where the packet framed {expected}")]
    BodyMismatch {
        /// The framed body length.
        expected: u64,
        /// Body bytes given, the refused chunk included.
        received: u64,
    },

    /// Reading from or writing to the connection failed (tokio-util's codecs need this).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The variant's name, stable and machine-readable; a packet fault gives the core
    /// error's name (as the test vectors spell them).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Packet(err) => err.kind(),
            Error::TruncatedBody { .. } => "TruncatedBody",
            Error::BodyTooLarge { .. } => "BodyTooLarge",
            Error::BodyMismatch { .. } => "BodyMismatch",
            Error::Io(_) => "Io",
        }
    }

    /// A one-line hint for a person reading a log: what usually causes this error.
    pub fn hint(&self) -> &'static str {
        match self {
            Error::Packet(err) => err.hint(),
            Error::TruncatedBody { .. } => {
                "the peer closed the connection before sending the whole body"
            }
            Error::BodyTooLarge { .. } => "raise the body limit, as with uWSGI --limit-post",
            Error::BodyMismatch { .. } => {
                "send exactly as many body bytes as CONTENT_LENGTH says, then the next packet"
            }
            Error::Io(_) => "the connection failed",
        }
    }

    /// The core error, if this is a packet fault.
    pub fn packet(&self) -> Option<&crate::Error> {
        match self {
            Error::Packet(err) => Some(err),
            _ => None,
        }
    }
}
