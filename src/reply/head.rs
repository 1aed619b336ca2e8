//! [`ResponseHead`]: the status and headers of a reply, and where its body starts and ends.

use alloc::vec::Vec;

use super::error::Error;
use crate::escape::Escaped;

/// The default bound on a response head, in bytes: 64 KiB.
///
/// nginx refuses heads larger than `uwsgi_buffer_size` (one memory page, 4 or 8 KiB, by
/// default) with `upstream sent too big header` and a 502; 64 KiB leaves room for large
/// cookies while a never-ending head still fails instead of growing without bound.
pub const DEFAULT_MAX_HEAD_LEN: usize = 64 * 1024;

/// How the body of a reply ends ([`ResponseHead::body_framing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyBody {
    /// No body: a reply to `HEAD`, or a 1xx, 204 or 304.
    Empty,
    /// Exactly this many bytes, by `Content-Length`.
    Length(u64),
    /// Everything until the application server closes the connection.
    UntilClose,
}

/// Where a reply's status code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusSource {
    /// An HTTP status line, `HTTP/x.y NNN reason` (what uWSGI writes).
    StatusLine,
    /// A CGI `Status: NNN reason` header (the first one, as nginx 1.23 and later use).
    StatusHeader,
    /// No status, but a `Location` header: 302, as CGI and nginx have it.
    Location,
    /// Neither a status nor a `Location`: 200, as CGI and nginx have it.
    Default,
}

/// The head of an HTTP reply: status, headers in order, and where the body starts.
///
/// Names and values are byte slices of the input; values have their surrounding spaces and
/// tabs removed. Every header line is kept, a CGI `Status` header included.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::Status;
/// use uwsgi_codec::reply::{ResponseHead, StatusSource};
///
/// let reply = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope";
/// let Status::Complete(head) = ResponseHead::parse(reply)? else { unreachable!() };
/// assert_eq!(head.status(), 404);
/// assert_eq!(head.reason(), b"Not Found");
/// assert_eq!(head.version(), Some((1, 1)));
/// assert_eq!(head.source(), StatusSource::StatusLine);
/// assert_eq!(head.header("content-type"), Some(&b"text/plain"[..]));
/// assert_eq!(&reply[head.head_len()..], b"nope");
///
/// // CGI form, as a WSGI or CGI app behind uWSGI may write it.
/// let head = ResponseHead::parse(b"Status: 201 Created\nX-A: 1\n\n")?.complete().unwrap();
/// assert_eq!((head.status(), head.reason()), (201, &b"Created"[..]));
/// assert_eq!(head.headers(), [(&b"Status"[..], &b"201 Created"[..]), (b"X-A", b"1")]);
/// # Ok::<(), uwsgi_codec::reply::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    status: u16,
    reason: &'a [u8],
    version: Option<(u8, u8)>,
    source: StatusSource,
    headers: Vec<(&'a [u8], &'a [u8])>,
    /// The head's bytes, its final empty line included: the reply's first `head_len` bytes.
    head: &'a [u8],
}

impl<'a> ResponseHead<'a> {
    /// The status code, 100 to 999.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase: as sent (possibly empty), or `Moved Temporarily` / `OK` when the
    /// status was implied ([`StatusSource::Location`], [`StatusSource::Default`]).
    pub fn reason(&self) -> &'a [u8] {
        self.reason
    }

    /// The `(major, minor)` version of the status line, `None` for the CGI forms.
    pub fn version(&self) -> Option<(u8, u8)> {
        self.version
    }

    /// Where the status came from.
    pub fn source(&self) -> StatusSource {
        self.source
    }

    /// Every header as `(name, value)`, in order, duplicates included.
    pub fn headers(&self) -> &[(&'a [u8], &'a [u8])] {
        &self.headers
    }

    /// The value of the first header with this name, compared ignoring ASCII case.
    pub fn header(&self, name: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let name = name.as_ref();
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// The length of the head, its final empty line included: the body starts at this
    /// offset of the reply.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// How the body of this reply ends (RFC 9112 §6.3, as nginx reads an upstream reply):
    /// no body for a reply to `HEAD` (`head_request`), for 1xx, 204 and 304; else exactly
    /// `Content-Length` bytes when the head has one; else at the end of the connection.
    ///
    /// # Errors
    ///
    /// `InvalidContentLength` for a `Content-Length` that is not decimal digits fitting a
    /// `u64`, or for two that differ.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::reply::{ReplyBody, ResponseHead};
    ///
    /// let head = ResponseHead::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")?.complete().unwrap();
    /// assert_eq!(head.body_framing(false)?, ReplyBody::Length(5));
    /// assert_eq!(head.body_framing(true)?, ReplyBody::Empty);
    /// let head = ResponseHead::parse(b"Status: 200 OK\n\n")?.complete().unwrap();
    /// assert_eq!(head.body_framing(false)?, ReplyBody::UntilClose);
    /// # Ok::<(), uwsgi_codec::reply::Error>(())
    /// ```
    pub fn body_framing(&self, head_request: bool) -> Result<ReplyBody, Error> {
        if head_request || self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(ReplyBody::Empty);
        }
        let mut length = None;
        for &(name, value) in &self.headers {
            if !name.eq_ignore_ascii_case(b"content-length") {
                continue;
            }
            let offset = self.value_offset(value);
            let n = crate::parse_length(value, 0)
                .ok()
                .filter(|_| !value.is_empty())
                .ok_or(Error::InvalidContentLength { offset })?;
            match length {
                Some(first) if first != n => return Err(Error::InvalidContentLength { offset }),
                _ => length = Some(n),
            }
        }
        Ok(length.map_or(ReplyBody::UntilClose, ReplyBody::Length))
    }

    /// Where `value`, a slice of this head, starts in the reply.
    fn value_offset(&self, value: &[u8]) -> usize {
        (value.as_ptr() as usize).saturating_sub(self.head.as_ptr() as usize)
    }

    /// The bytes of `reply` after the head: the start of the body.
    pub fn body<'b>(&self, reply: &'b [u8]) -> &'b [u8] {
        reply.get(self.head.len()..).unwrap_or_default()
    }
}

impl core::fmt::Debug for ResponseHead<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .field("reason", &Escaped(self.reason))
            .field("version", &self.version)
            .field("source", &self.source)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|&(n, v)| (Escaped(n), Escaped(v)))
                    .collect::<Vec<_>>(),
            )
            .field("head_len", &self.head.len())
            .finish()
    }
}

/// Removes spaces and tabs around `raw`; returns how many were skipped at the start.
pub(super) fn trim(raw: &[u8]) -> (usize, &[u8]) {
    let start = raw
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    (start, raw.get(start..end).unwrap_or_default())
}

/// Parses a CGI `Status` value, `NNN` or `NNN reason` with a first digit of 1 to 9; `offset`
/// is where the value starts in the reply.
pub(super) fn cgi_status(value: &[u8], offset: usize) -> Result<(u16, &[u8]), Error> {
    let mut code: u16 = 0;
    for i in 0..3 {
        let digit = value.get(i).copied().filter(|&b| {
            if i == 0 {
                (b'1'..=b'9').contains(&b)
            } else {
                b.is_ascii_digit()
            }
        });
        let Some(digit) = digit else {
            return Err(Error::InvalidStatus { offset: offset + i });
        };
        code = code * 10 + u16::from(digit - b'0');
    }
    match value.get(3) {
        None => Ok((code, &[])),
        Some(b' ') => Ok((code, value.get(4..).unwrap_or_default())),
        Some(_) => Err(Error::InvalidStatus { offset: offset + 3 }),
    }
}

/// Reads a head that the scan accepted (`head` ends with its empty line) and that has `lines`
/// lines before it.
pub(super) fn build(head: &[u8], lines: usize) -> Result<ResponseHead<'_>, Error> {
    let mut headers = Vec::with_capacity(lines);
    let mut status_line = None;
    let mut offset = 0;
    let mut first = true;
    for raw_line in head.split(|&b| b == b'\n') {
        let line_offset = offset;
        offset += raw_line.len() + 1;
        let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        if line.is_empty() {
            break;
        }
        if core::mem::take(&mut first) && line.starts_with(b"HTTP/") {
            status_line = Some(line);
            continue;
        }
        let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
        let name = line.get(..colon).unwrap_or_default();
        let raw = line.get(colon + 1..).unwrap_or_default();
        let (skipped, value) = trim(raw);
        headers.push((name, value, line_offset + colon + 1 + skipped));
    }
    let (status, reason, version, source) = if let Some(line) = status_line {
        // Checked by the scan: `HTTP/` DIGIT `.` DIGIT SP 3DIGIT [SP reason].
        let digit = |i: usize| line.get(i).map_or(0, |b| b.wrapping_sub(b'0'));
        let code = u16::from(digit(9)) * 100 + u16::from(digit(10)) * 10 + u16::from(digit(11));
        let reason = line.get(13..).unwrap_or_default();
        let version = Some((digit(5), digit(7)));
        (code, reason, version, StatusSource::StatusLine)
    } else if let Some(&(_, value, at)) = headers
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(b"status"))
    {
        let (code, reason) = cgi_status(value, at)?;
        (code, reason, None, StatusSource::StatusHeader)
    } else if headers
        .iter()
        .any(|(name, _, _)| name.eq_ignore_ascii_case(b"location"))
    {
        (302, &b"Moved Temporarily"[..], None, StatusSource::Location)
    } else {
        (200, &b"OK"[..], None, StatusSource::Default)
    };
    Ok(ResponseHead {
        status,
        reason,
        version,
        source,
        headers: headers.into_iter().map(|(n, v, _)| (n, v)).collect(),
        head,
    })
}
