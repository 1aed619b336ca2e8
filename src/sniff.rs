//! Foreign-protocol diagnostics (PROTOCOL.md §6): recognise other protocols from 4 bytes.
//!
//! Without this check an HTTP request on a uwsgi socket reads as modifier1 71 with a 21573-byte
//! block, and the server waits for bytes that never come; with it, the error names the protocol
//! and the fix as soon as 4 bytes are in.

/// A protocol recognised from the first 4 bytes of what should have been a uwsgi header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForeignProtocol {
    /// An HTTP/1.x request line (`GET `, `POST`, `PUT `, `HEAD`, `DELE`, `OPTI`, `PATC`,
    /// `CONN`, `TRAC`).
    HttpRequest,
    /// The HTTP/2 prior-knowledge preface `PRI * HTTP/2.0`.
    Http2,
    /// A PROXY protocol v1 header (`PROXY TCP4 …`).
    ProxyV1,
    /// A PROXY protocol v2 signature (`0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A`).
    ProxyV2,
    /// A TLS handshake record (`16 03 00..=03`).
    Tls,
    /// An SSH client greeting (`SSH-`).
    Ssh,
    /// A FastCGI `BEGIN_REQUEST` record (version 1, type 1).
    FastCgi,
    /// An SCGI netstring length (`70:C…`, `123:`, `1234`).
    Scgi,
    /// An HTTP response (`HTTP`), where a packet was expected.
    HttpResponse,
    /// One of the caller's own 4-byte patterns (see `Parser::with_foreign_pattern`).
    Custom([u8; 4]),
}

impl ForeignProtocol {
    /// What the protocol is, as a noun phrase for a log line.
    pub fn name(self) -> &'static str {
        match self {
            ForeignProtocol::HttpRequest => "an HTTP/1.x request",
            ForeignProtocol::Http2 => "an HTTP/2 (h2c) preface",
            ForeignProtocol::ProxyV1 => "a PROXY protocol v1 header",
            ForeignProtocol::ProxyV2 => "a PROXY protocol v2 header",
            ForeignProtocol::Tls => "a TLS handshake",
            ForeignProtocol::Ssh => "an SSH client greeting",
            ForeignProtocol::FastCgi => "a FastCGI record",
            ForeignProtocol::Scgi => "an SCGI request",
            ForeignProtocol::HttpResponse => "an HTTP response",
            ForeignProtocol::Custom(_) => "a preamble the caller listed as foreign",
        }
    }

    /// How to fix the deployment that sent it.
    pub fn fix(self) -> &'static str {
        match self {
            ForeignProtocol::HttpRequest => {
                "point HTTP clients at an HTTP port (uWSGI --http-socket), or use uwsgi_pass instead of proxy_pass"
            }
            ForeignProtocol::Http2 => "terminate HTTP/2 in a front end that speaks uwsgi",
            ForeignProtocol::ProxyV1 | ForeignProtocol::ProxyV2 => {
                "disable send-proxy / proxy_protocol towards this backend, or strip it first"
            }
            ForeignProtocol::Tls => {
                "terminate TLS in front, or use a TLS listener (uWSGI --suwsgi-socket, nginx suwsgi://) and decode after decryption"
            }
            ForeignProtocol::Ssh => "an SSH client is connected to the uwsgi port",
            ForeignProtocol::FastCgi => "the front end uses fastcgi_pass; use uwsgi_pass",
            ForeignProtocol::Scgi => {
                "the front end uses scgi_pass / scgi.protocol = \"scgi\"; use uwsgi_pass / \"uwsgi\""
            }
            ForeignProtocol::HttpResponse => {
                "request-family replies are raw HTTP, not uwsgi-framed: read them as HTTP"
            }
            ForeignProtocol::Custom(_) => "the peer speaks a protocol the caller excluded",
        }
    }
}

impl core::fmt::Display for ForeignProtocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognises a foreign protocol from the first 4 bytes of `buf`.
///
/// Returns `None` when fewer than 4 bytes are given (never a guess from fewer: `H` is also a
/// uwsgi modifier) or when the bytes can be a uwsgi header.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{ForeignProtocol, sniff};
///
/// assert_eq!(sniff(b"GET / HTTP/1.1\r\n"), Some(ForeignProtocol::HttpRequest));
/// assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02, 0x00]), Some(ForeignProtocol::Tls));
/// assert_eq!(sniff(&[0, 62, 0, 0]), None); // a uwsgi header
/// assert_eq!(sniff(b"GET"), None); // too short to tell
/// ```
#[inline]
pub fn sniff(buf: &[u8]) -> Option<ForeignProtocol> {
    let &[b0, b1, b2, b3, ..] = buf else {
        return None;
    };
    if !may_start_foreign(b0) {
        return None;
    }
    sniff_four([b0, b1, b2, b3])
}

/// Whether a foreign preamble can start with this byte. Most headers start with a byte no
/// pattern starts with (0 for WSGI), so a decoder asks this first: one table lookup.
#[inline(always)]
fn may_start_foreign(b0: u8) -> bool {
    STARTS_A_PATTERN.get(usize::from(b0)) == Some(&true)
}

/// The first bytes of the patterns below.
// Indexing in a const item is checked when the crate compiles: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
pub(crate) const STARTS_A_PATTERN: [bool; 256] = {
    let mut table = [false; 256];
    let firsts = b"GPHDOCTS\r\x16\x01123456789";
    let mut i = 0;
    while i < firsts.len() {
        table[firsts[i] as usize] = true;
        i += 1;
    }
    table
};

#[cold]
#[inline(never)]
fn sniff_four(four: [u8; 4]) -> Option<ForeignProtocol> {
    let [b0, b1, b2, b3] = four;
    let four = [b0, b1, b2, b3];
    let digit = |b: u8| b.is_ascii_digit();
    let nonzero_digit = |b: u8| (b'1'..=b'9').contains(&b);
    let protocol = match &four {
        b"GET " | b"POST" | b"PUT " | b"HEAD" | b"DELE" | b"OPTI" | b"PATC" | b"CONN" | b"TRAC" => {
            ForeignProtocol::HttpRequest
        }
        b"PRI " => ForeignProtocol::Http2,
        b"PROX" => ForeignProtocol::ProxyV1,
        b"\r\n\r\n" => ForeignProtocol::ProxyV2,
        b"SSH-" => ForeignProtocol::Ssh,
        b"HTTP" => ForeignProtocol::HttpResponse,
        [0x16, 0x03, 0x00..=0x03, _] => ForeignProtocol::Tls,
        [0x01, 0x01, _, _] => ForeignProtocol::FastCgi,
        _ if nonzero_digit(b0)
            && digit(b1)
            && (b2 == b':' || (digit(b2) && (b3 == b':' || digit(b3)))) =>
        {
            ForeignProtocol::Scgi
        }
        _ => return None,
    };
    Some(protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scgi_shapes_match_only_with_a_colon_or_four_digits() {
        assert_eq!(sniff(b"70:C"), Some(ForeignProtocol::Scgi));
        assert_eq!(sniff(b"123:"), Some(ForeignProtocol::Scgi));
        assert_eq!(sniff(b"1234"), Some(ForeignProtocol::Scgi));
        assert_eq!(sniff(b"123x"), None);
        assert_eq!(sniff(b"07:C"), None);
        assert_eq!(sniff(b"7:CO"), None);
    }

    #[test]
    fn h_alone_is_a_uwsgi_modifier() {
        assert_eq!(sniff(&[0x48, 0, 0, 0]), None);
        assert_eq!(sniff(b"HEAD"), Some(ForeignProtocol::HttpRequest));
        assert_eq!(sniff(b"HTTP"), Some(ForeignProtocol::HttpResponse));
    }

    #[test]
    fn every_pattern_starts_with_a_listed_byte() {
        for b0 in 0..=255u8 {
            for rest in [
                *b"ET ",
                *b"OST",
                *b"RI ",
                *b"ROX",
                *b"\n\r\n",
                *b"SH-",
                *b"TTP",
                *b"\x03\x01\x02",
                *b"\x01\x00\x01",
                *b"0:x",
                *b"23:",
                *b"234",
            ] {
                let four = [b0, rest[0], rest[1], rest[2]];
                if sniff_four(four).is_some() {
                    assert!(STARTS_A_PATTERN[usize::from(b0)], "{four:?}");
                }
            }
        }
    }

    #[test]
    fn tls_needs_a_known_minor_version() {
        assert_eq!(sniff(&[0x16, 0x03, 0x03, 0x00]), Some(ForeignProtocol::Tls));
        assert_eq!(sniff(&[0x16, 0x03, 0x04, 0x00]), None);
        assert_eq!(sniff(&[0x16, 0x02, 0x01, 0x00]), None);
    }
}
