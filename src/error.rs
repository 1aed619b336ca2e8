//! [`Error`]: what can go wrong while decoding or encoding one packet, with offsets.

use crate::sniff::ForeignProtocol;

/// Which length-prefixed field of a block an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The key of a vars pair.
    Key,
    /// The value of a vars pair.
    Value,
    /// An item of an array (RPC, cache).
    Item,
    /// The whole block that `datasize` covers.
    Block,
}

impl Field {
    /// The field's name in lower case, as error messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Key => "key",
            Field::Value => "value",
            Field::Item => "item",
            Field::Block => "block",
        }
    }
}

impl core::fmt::Display for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a `CONTENT_LENGTH` (or cache `size`) value is not a body length (rule C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentLengthFault {
    /// A byte other than an ASCII digit: a sign, a space, a letter, `_`, `,` …
    NotDigit,
    /// The digits do not fit a `u64`.
    Overflow,
}

impl core::fmt::Display for ContentLengthFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ContentLengthFault::NotDigit => "a byte that is not an ASCII digit",
            ContentLengthFault::Overflow => "more than a 64-bit length",
        })
    }
}

/// What can go wrong while decoding or encoding one packet (the core layer).
///
/// **Offsets count from the packet's first header byte**, so they match a hex dump of the
/// packet: the header is at offsets 0 to 3 and the block starts at offset 4. Each variant is
/// one fault and carries the numbers that explain it. After any error the stream that produced
/// it is dead: resynchronising inside a uwsgi stream is how requests get smuggled.
///
/// The layers above have their own errors and wrap this one: `codec::Error` (a connection:
/// bodies, I/O), `reply::Error` (the head of an HTTP reply) and `http::Error` (conversions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes 0 to 3 are the start of another protocol, not a uwsgi header (PROTOCOL.md §6).
    #[error(
        "{protocol} where a uwsgi packet was expected (bytes 0-3 would read as modifier1 {modifier1}, datasize {datasize}): {}",
        .protocol.fix()
    )]
    ForeignProtocol {
        /// The protocol that was recognised.
        protocol: ForeignProtocol,
        /// Byte 0, as a uwsgi decoder would have read it.
        modifier1: u8,
        /// Bytes 1 and 2, as a uwsgi decoder would have read them.
        datasize: u16,
    },

    /// `datasize` exceeds the configured maximum; decided from the 4 header bytes alone.
    #[error(
        "datasize {len} exceeds the configured maximum of {max} bytes (datasize field at offset 1)"
    )]
    TooLarge {
        /// The declared (or, when encoding, computed) block size.
        len: usize,
        /// The configured maximum.
        max: usize,
    },

    /// The block ends inside a 2-byte length prefix (or right before one that must follow).
    #[error("block ends inside the 2-byte {field} length at offset {offset}")]
    TruncatedLength {
        /// The field whose length is missing.
        field: Field,
        /// Offset of the first byte of the missing length (the block end if none is left).
        offset: usize,
    },

    /// A length prefix declares more bytes than the block has left.
    #[error(
        "{field} length at offset {offset} declares {len} bytes, but only {available} are left in the block"
    )]
    Overrun {
        /// The field whose length is too long.
        field: Field,
        /// Offset of the 2-byte length prefix.
        offset: usize,
        /// The declared length.
        len: usize,
        /// Bytes left in the block after the prefix.
        available: usize,
    },

    /// A key of length zero (invalid everywhere; a trailing `00 00` is one too).
    #[error("zero-length key at offset {offset}")]
    EmptyKey {
        /// Offset of the `00 00` key length (when encoding: where it would have been).
        offset: usize,
    },

    /// More pairs than the configured maximum.
    #[error(
        "more than the configured maximum of {max} vars: pair at offset {offset} is one too many"
    )]
    TooManyVars {
        /// The configured maximum number of pairs.
        max: usize,
        /// Offset of the first pair past the maximum.
        offset: usize,
    },

    /// The input ended inside a packet (header or block).
    #[error("input ended inside a packet: {offset} bytes received, {needed} more needed")]
    UnexpectedEof {
        /// Bytes of the packet received.
        offset: usize,
        /// Bytes still missing (from the header while it is incomplete, else from the packet).
        needed: usize,
    },

    /// A datagram is not exactly one packet (`len != 4 + datasize`).
    #[error("datagram of {len} bytes does not hold exactly one packet of datasize {datasize}")]
    DatagramLength {
        /// The declared datasize.
        datasize: usize,
        /// The datagram's length.
        len: usize,
    },

    /// A `CONTENT_LENGTH` (or cache `size`) value is not a plain decimal `u64`.
    #[error("invalid body length at offset {offset}: {reason}")]
    InvalidContentLength {
        /// Offset of the first offending byte.
        offset: usize,
        /// What is wrong with it.
        reason: ContentLengthFault,
    },

    /// Two `CONTENT_LENGTH` vars that differ: two framings of one request.
    #[error(
        "conflicting body lengths {first} and {second} (the later at offset {offset}): a request smuggling shape"
    )]
    ConflictingContentLength {
        /// The value of the first `CONTENT_LENGTH`.
        first: u64,
        /// The value of the later, different one.
        second: u64,
        /// Offset of the later pair.
        offset: usize,
    },

    /// A magic `UWSGI_*` var that the configured policy refuses (PROTOCOL.md §9).
    #[error(
        "magic var at offset {offset} refused by policy (UWSGI_* vars steer the application server)"
    )]
    MagicVar {
        /// Offset of the pair.
        offset: usize,
    },

    /// Encoding: a length does not fit the 16-bit field that carries it.
    #[error("{field} of {len} bytes does not fit a 16-bit length (at most 65535)")]
    LengthOverflow {
        /// Which length overflowed.
        field: Field,
        /// The length that does not fit.
        len: usize,
    },

    /// Encoding into a slice: the packet does not fit; nothing was written.
    #[error("the encoded packet needs {needed} bytes, the buffer has {available}")]
    BufferTooSmall {
        /// The packet's encoded length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },
}

/// `kind()`, `offset()` and `hint()` of an error type, read from its one `describe()` table
/// of (name, offset, hint); `$origin` says where offsets count from.
macro_rules! described {
    ($error:ty, $origin:literal) => {
        impl $error {
            /// The variant's name, stable and machine-readable (as the test vectors spell it).
            pub fn kind(&self) -> &'static str {
                self.describe().0
            }

            #[doc = concat!("The offset from ", $origin, " that the error points at, if it has one.")]
            pub fn offset(&self) -> Option<usize> {
                self.describe().1
            }

            /// A one-line hint for a person reading a log: what usually causes this error.
            pub fn hint(&self) -> &'static str {
                self.describe().2
            }
        }
    };
}
pub(crate) use described;

described!(Error, "the packet's first header byte");

impl Error {
    /// Name, offset and hint of every variant, in one table (`ForeignProtocol` points at
    /// offset 0, `TooLarge` at the datasize field, 1).
    fn describe(&self) -> (&'static str, Option<usize>, &'static str) {
        match *self {
            Error::ForeignProtocol { .. } => (
                "ForeignProtocol",
                Some(0),
                "the message names the protocol and the fix: check what the front end sends to this port",
            ),
            Error::TooLarge { .. } => (
                "TooLarge",
                Some(1),
                "a large cookie or header set; raise the limit (up to 65535), as with uWSGI --buffer-size",
            ),
            Error::TruncatedLength { offset, .. } => (
                "TruncatedLength",
                Some(offset),
                "the sender miscounted a length (nginx <= 1.31.4 with a uwsgi_param name of 256+ bytes, or a raw uwsgi_string tail)",
            ),
            Error::Overrun { offset, .. } => (
                "Overrun",
                Some(offset),
                "the sender miscounted a length (nginx <= 1.31.4 with a uwsgi_param name of 256+ bytes, or a raw uwsgi_string tail)",
            ),
            Error::EmptyKey { offset } => (
                "EmptyKey",
                Some(offset),
                "a zero-length key is invalid; often a trailing 00 00 or padding",
            ),
            Error::TooManyVars { offset, .. } => (
                "TooManyVars",
                Some(offset),
                "raise or remove the pair limit: nginx sends one var per header",
            ),
            Error::UnexpectedEof { offset, .. } => (
                "UnexpectedEof",
                Some(offset),
                "the peer closed the connection in the middle of a packet",
            ),
            Error::DatagramLength { .. } => (
                "DatagramLength",
                None,
                "a datagram must hold exactly 4 + datasize bytes",
            ),
            Error::InvalidContentLength { offset, .. } => (
                "InvalidContentLength",
                Some(offset),
                "CONTENT_LENGTH must be empty or ASCII digits only, at most 18446744073709551615",
            ),
            Error::ConflictingContentLength { offset, .. } => (
                "ConflictingContentLength",
                Some(offset),
                "two framings of one body disagree: refuse the message, it cannot be framed safely",
            ),
            Error::MagicVar { offset } => (
                "MagicVar",
                Some(offset),
                "UWSGI_* vars came from a peer that the policy does not trust",
            ),
            Error::LengthOverflow { .. } => (
                "LengthOverflow",
                None,
                "a key, value, item or block larger than 65535 bytes cannot be encoded",
            ),
            Error::BufferTooSmall { .. } => (
                "BufferTooSmall",
                None,
                "give a buffer of at least encoded_len() bytes",
            ),
        }
    }
}
