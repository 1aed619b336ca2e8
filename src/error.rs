//! [`Error`]: every way a packet, a body or an encoding can fail, with offsets.

#[cfg(feature = "http")]
use crate::http::HttpPart;
use crate::response::HeadFault;
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

/// Why a `CONTENT_LENGTH` (or cache `size`) value is not a body length (PROTOCOL.md C2).
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

/// Everything that can go wrong while decoding or encoding uwsgi packets.
///
/// **Offsets count from the packet's first header byte**, so they match a hex dump of the
/// packet: the header is at offsets 0 to 3 and the block starts at offset 4. Each variant is
/// one fault and carries the numbers that explain it. After any error the stream that produced
/// it is dead: resynchronising inside a uwsgi stream is how requests get smuggled.
#[derive(Debug, thiserror::Error)]
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

    /// The input ended before the whole body arrived.
    #[error("body ended after {received} of {expected} bytes")]
    TruncatedBody {
        /// The framed body length.
        expected: u64,
        /// Body bytes received.
        received: u64,
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

    /// The framed body is longer than the configured maximum (rule C9).
    #[error("body of {len} bytes exceeds the configured maximum of {max}")]
    BodyTooLarge {
        /// The framed body length.
        len: u64,
        /// The configured maximum.
        max: u64,
    },

    /// Encoding: more body bytes than the packet's `CONTENT_LENGTH` frames.
    #[error("body chunk would make {received} body bytes, but the packet framed {expected}")]
    BodyOverrun {
        /// The framed body length.
        expected: u64,
        /// Body bytes given so far, the refused chunk included.
        received: u64,
    },

    /// Reading from or writing to the connection failed (tokio-util's codecs need this).
    #[cfg(feature = "codec")]
    #[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Encoding into a slice: the packet does not fit; nothing was written.
    #[error("the encoded packet needs {needed} bytes, the buffer has {available}")]
    BufferTooSmall {
        /// The packet's encoded length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },

    /// Converting vars to an HTTP request (feature `http`): a var is not valid as the part
    /// of the request it maps to (a method with a space, a header value with a line feed…).
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[error("the var at offset {offset} is not a valid HTTP {part}")]
    InvalidHttp {
        /// Offset of the offending byte, or of the start of the value when no single byte is
        /// to blame (counted like every offset: from the packet's first header byte).
        offset: usize,
        /// The part of the request that could not be made.
        part: HttpPart,
    },

    /// Reading a reply: a first line that starts with `HTTP/` but is not
    /// `HTTP/x.y NNN[ reason]`. Offsets in reply errors count from the reply's first byte.
    #[error("invalid HTTP status line: unexpected byte at offset {offset} of the reply")]
    InvalidStatusLine {
        /// Offset of the offending byte.
        offset: usize,
    },

    /// Reading a reply: a CGI `Status` header that is not `NNN[ reason]` with a code of 100
    /// to 999 (nginx: `upstream sent invalid status`, 502).
    #[error("invalid CGI Status header: unexpected byte at offset {offset} of the reply")]
    InvalidStatus {
        /// Offset of the offending byte (the end of the value if it is too short).
        offset: usize,
    },

    /// Reading a reply: a line of the head is not a `name: value` header (nginx: `upstream
    /// sent invalid header`, 502). Binary and uwsgi-framed replies end up here.
    #[error("invalid reply header: {fault} at offset {offset} of the reply")]
    InvalidResponseHeader {
        /// Offset of the offending byte.
        offset: usize,
        /// What is wrong with the line.
        fault: HeadFault,
    },

    /// Reading a reply: the head has not ended within the configured bound.
    #[error("reply head exceeds the configured maximum of {max} bytes")]
    ResponseHeadTooLarge {
        /// The configured bound.
        max: usize,
    },

    /// Reading a reply: the input ended inside the head (nginx: `upstream prematurely closed
    /// connection while reading response header`, 502).
    #[error("reply ended inside its head after {offset} bytes")]
    TruncatedResponseHead {
        /// Bytes of the reply received.
        offset: usize,
    },
}

impl Error {
    /// The variant's name, stable and machine-readable (as the test vectors spell it).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ForeignProtocol { .. } => "ForeignProtocol",
            Error::TooLarge { .. } => "TooLarge",
            Error::TruncatedLength { .. } => "TruncatedLength",
            Error::Overrun { .. } => "Overrun",
            Error::EmptyKey { .. } => "EmptyKey",
            Error::TooManyVars { .. } => "TooManyVars",
            Error::UnexpectedEof { .. } => "UnexpectedEof",
            Error::DatagramLength { .. } => "DatagramLength",
            Error::InvalidContentLength { .. } => "InvalidContentLength",
            Error::ConflictingContentLength { .. } => "ConflictingContentLength",
            Error::TruncatedBody { .. } => "TruncatedBody",
            Error::MagicVar { .. } => "MagicVar",
            Error::LengthOverflow { .. } => "LengthOverflow",
            Error::BufferTooSmall { .. } => "BufferTooSmall",
            Error::BodyTooLarge { .. } => "BodyTooLarge",
            Error::BodyOverrun { .. } => "BodyOverrun",
            #[cfg(feature = "http")]
            Error::InvalidHttp { .. } => "InvalidHttp",
            Error::InvalidStatusLine { .. } => "InvalidStatusLine",
            Error::InvalidStatus { .. } => "InvalidStatus",
            Error::InvalidResponseHeader { .. } => "InvalidResponseHeader",
            Error::ResponseHeadTooLarge { .. } => "ResponseHeadTooLarge",
            Error::TruncatedResponseHead { .. } => "TruncatedResponseHead",
            #[cfg(feature = "codec")]
            Error::Io(_) => "Io",
        }
    }

    /// The offset from the packet's first header byte that the error points at, if it has one.
    ///
    /// `ForeignProtocol` points at 0 and `TooLarge` at the datasize field (1).
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Error::ForeignProtocol { .. } => Some(0),
            Error::TooLarge { .. } => Some(1),
            Error::TruncatedLength { offset, .. }
            | Error::Overrun { offset, .. }
            | Error::EmptyKey { offset }
            | Error::TooManyVars { offset, .. }
            | Error::UnexpectedEof { offset, .. }
            | Error::InvalidContentLength { offset, .. }
            | Error::ConflictingContentLength { offset, .. }
            | Error::MagicVar { offset }
            | Error::InvalidStatusLine { offset }
            | Error::InvalidStatus { offset }
            | Error::InvalidResponseHeader { offset, .. }
            | Error::TruncatedResponseHead { offset } => Some(offset),
            #[cfg(feature = "http")]
            Error::InvalidHttp { offset, .. } => Some(offset),
            Error::ResponseHeadTooLarge { .. } => None,
            Error::DatagramLength { .. }
            | Error::TruncatedBody { .. }
            | Error::LengthOverflow { .. }
            | Error::BufferTooSmall { .. }
            | Error::BodyTooLarge { .. }
            | Error::BodyOverrun { .. } => None,
            #[cfg(feature = "codec")]
            Error::Io(_) => None,
        }
    }

    /// A one-line hint for a person reading a log: what usually causes this error.
    pub fn hint(&self) -> &'static str {
        match self {
            Error::ForeignProtocol { .. } => {
                "the message names the protocol and the fix: check what the front end sends to this port"
            }
            Error::TooLarge { .. } => {
                "a large cookie or header set; raise the limit (up to 65535), as with uWSGI --buffer-size"
            }
            Error::TruncatedLength { .. } | Error::Overrun { .. } => {
                "the sender miscounted a length (nginx <= 1.31.4 with a uwsgi_param name of 256+ bytes, or a raw uwsgi_string tail)"
            }
            Error::EmptyKey { .. } => {
                "a zero-length key is invalid; often a trailing 00 00 or padding"
            }
            Error::TooManyVars { .. } => {
                "raise or remove the pair limit: nginx sends one var per header"
            }
            Error::UnexpectedEof { .. } => {
                "the peer closed the connection in the middle of a packet"
            }
            Error::DatagramLength { .. } => "a datagram must hold exactly 4 + datasize bytes",
            Error::InvalidContentLength { .. } => {
                "CONTENT_LENGTH must be empty or ASCII digits only, at most 18446744073709551615"
            }
            Error::ConflictingContentLength { .. } => {
                "two framings of one body disagree: refuse the message, it cannot be framed safely"
            }
            Error::TruncatedBody { .. } => {
                "the peer closed the connection before sending the whole body"
            }
            Error::MagicVar { .. } => {
                "UWSGI_* vars came from a peer that the policy does not trust"
            }
            Error::LengthOverflow { .. } => {
                "a key, value, item or block larger than 65535 bytes cannot be encoded"
            }
            Error::BufferTooSmall { .. } => "give a buffer of at least encoded_len() bytes",
            Error::BodyTooLarge { .. } => "raise the body limit, as with uWSGI --limit-post",
            Error::BodyOverrun { .. } => "send exactly as many body bytes as CONTENT_LENGTH says",
            #[cfg(feature = "http")]
            Error::InvalidHttp { .. } => {
                "the front end sent a var that no HTTP request can carry (control bytes, a bad method or version)"
            }
            Error::InvalidStatusLine { .. } => {
                "the reply starts with HTTP/ but not with a valid `HTTP/x.y NNN reason` line"
            }
            Error::InvalidStatus { .. } => {
                "a CGI Status header must be three digits, optionally a space and a reason"
            }
            Error::InvalidResponseHeader { .. } => {
                "not an HTTP reply: a binary or uwsgi-framed reply (ping, RPC) or a broken header line"
            }
            Error::ResponseHeadTooLarge { .. } => {
                "the reply head never ended: raise the bound or check that the peer sends HTTP"
            }
            Error::TruncatedResponseHead { .. } => {
                "the application server closed the connection before the end of the reply head"
            }
            #[cfg(feature = "codec")]
            Error::Io(_) => "the connection failed",
        }
    }
}
