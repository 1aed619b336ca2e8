//! [`ResponseHead`] and [`ResponseHeadParser`]: the head of the raw HTTP reply that an
//! application server sends back for a request-family packet (PROTOCOL.md §2.5 and §8), read
//! the way nginx's uwsgi module reads it, but strictly.
//!
//! A reply starts either with an HTTP status line (`HTTP/x.y NNN reason`) or directly with
//! CGI-style headers, where a `Status: NNN reason` header gives the status (`Location` alone
//! means 302, neither means 200). The head ends at the first empty line; the body follows.

use alloc::vec::Vec;

use crate::error::Error;
use crate::escape::Escaped;
use crate::status::Status;

/// The default bound on a response head, in bytes: 64 KiB.
///
/// nginx refuses heads larger than `uwsgi_buffer_size` (one memory page, 4 or 8 KiB, by
/// default) with `upstream sent too big header` and a 502; 64 KiB leaves room for large
/// cookies while a never-ending head still fails instead of growing without bound.
pub const DEFAULT_MAX_HEAD_LEN: usize = 64 * 1024;

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
/// use uwsgi_codec::{ResponseHead, Status, StatusSource};
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
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    status: u16,
    reason: &'a [u8],
    version: Option<(u8, u8)>,
    source: StatusSource,
    headers: Vec<(&'a [u8], &'a [u8])>,
    head_len: usize,
}

impl<'a> ResponseHead<'a> {
    /// Parses the head at the start of `buf` with the default bound
    /// ([`DEFAULT_MAX_HEAD_LEN`]).
    ///
    /// `Incomplete(n)` means the head has not ended yet and at least `n` more bytes are
    /// needed (how many exactly cannot be known before the empty line arrives). Each call
    /// scans `buf` from its start; to feed a reply in many small pieces, use a
    /// [`ResponseHeadParser`], which resumes where it stopped.
    ///
    /// # Errors
    ///
    /// - `InvalidStatusLine`: a first line that starts with `HTTP/` but is not
    ///   `HTTP/x.y NNN[ reason]`;
    /// - `InvalidResponseHeader`: a line that is not `name: value` (a binary or uwsgi-framed
    ///   reply fails here: a pong `64 00 00 01` at offset 1);
    /// - `InvalidStatus`: a CGI `Status` header that is not `NNN[ reason]`;
    /// - `ResponseHeadTooLarge`: no end of head within the bound.
    ///
    /// Offsets count from the reply's first byte, and each error is reported as soon as the
    /// bytes that prove it are there.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Error, HeadFault, ResponseHead, Status};
    ///
    /// let reply = b"HTTP/2.0 200 OK\nContent-Length: 2\n\nhi";
    /// assert_eq!(ResponseHead::parse(&reply[..20])?.map(|_| ()), Status::Incomplete(1));
    /// let head = ResponseHead::parse(reply)?.complete().unwrap();
    /// assert_eq!((head.status(), head.version(), head.head_len()), (200, Some((2, 0)), 35));
    ///
    /// let err = ResponseHead::parse(b"\x64\x00\x00\x01").unwrap_err(); // a uwsgi pong
    /// assert!(matches!(err, Error::InvalidResponseHeader { offset: 1, fault: HeadFault::NameByte }));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse(buf: &'a [u8]) -> Result<Status<ResponseHead<'a>>, Error> {
        ResponseHeadParser::new().parse(buf)
    }

    /// Parses `buf` as the whole reply (the connection has closed): like
    /// [`ResponseHead::parse`], but a head that has not ended is an error.
    ///
    /// # Errors
    ///
    /// As [`ResponseHead::parse`], and `TruncatedResponseHead` when `buf` ends inside the
    /// head, an empty `buf` included (nginx: `upstream prematurely closed connection`, 502).
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Error, ResponseHead};
    ///
    /// let err = ResponseHead::parse_eof(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n").unwrap_err();
    /// assert!(matches!(err, Error::TruncatedResponseHead { offset: 25 }));
    /// ```
    pub fn parse_eof(buf: &'a [u8]) -> Result<ResponseHead<'a>, Error> {
        ResponseHeadParser::new().parse_eof(buf)
    }

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
        self.head_len
    }

    /// The bytes of `reply` after the head: the start of the body.
    pub fn body<'b>(&self, reply: &'b [u8]) -> &'b [u8] {
        reply.get(self.head_len..).unwrap_or_default()
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
            .field("head_len", &self.head_len)
            .finish()
    }
}

/// Where the scan is, byte by byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// At the start of a line.
    LineStart,
    /// After a carriage return that starts a line: a line feed ends the head.
    EndCr,
    /// Inside a header name.
    Name,
    /// After the colon of a header line.
    Value,
    /// After a carriage return in a header line.
    ValueCr,
    /// Status line: this many bytes of `DIGIT "." DIGIT SP` read after `HTTP/`.
    Version(u8),
    /// Status line: this many digits of the code read.
    Code(u8),
    /// Status line: after the three digits.
    AfterCode,
    /// Status line: inside the reason phrase.
    Reason,
    /// Status line: after its carriage return.
    StatusCr,
    /// The head has ended; the value is its length.
    Done(usize),
}

/// A resumable response-head parser: keeps its place between calls, so feeding a reply in
/// pieces costs one pass over the head in all.
///
/// Give [`parse`](Self::parse) the reply received so far each time, from its first byte: the
/// bytes already seen must not change (append only). A shorter buffer than last time starts
/// the scan over.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{ResponseHeadParser, Status};
///
/// let reply = b"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>404</h1>";
/// let mut parser = ResponseHeadParser::new().with_max_head_len(4096);
/// for end in 0..50 {
///     assert!(matches!(parser.parse(&reply[..end])?, Status::Incomplete(_)));
/// }
/// let head = parser.parse(reply)?.complete().unwrap();
/// assert_eq!((head.status(), head.head_len()), (404, 50));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHeadParser {
    max_head_len: usize,
    pos: usize,
    lex: Lex,
    first_line: bool,
    line_start: usize,
    colon: usize,
    status_line: bool,
    status_header_seen: bool,
    lines: usize,
}

impl Default for ResponseHeadParser {
    fn default() -> Self {
        ResponseHeadParser {
            max_head_len: DEFAULT_MAX_HEAD_LEN,
            pos: 0,
            lex: Lex::LineStart,
            first_line: true,
            line_start: 0,
            colon: 0,
            status_line: false,
            status_header_seen: false,
            lines: 0,
        }
    }
}

impl ResponseHeadParser {
    /// A parser with the default bound, [`DEFAULT_MAX_HEAD_LEN`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses heads longer than `max` bytes (the final empty line included) with
    /// `ResponseHeadTooLarge`, as soon as `max` bytes have arrived without the end of the head.
    pub fn with_max_head_len(mut self, max: usize) -> Self {
        self.max_head_len = max;
        self
    }

    /// The bound on the head length in force.
    pub fn max_head_len(&self) -> usize {
        self.max_head_len
    }

    /// Forgets the reply seen so far, keeping the bound, to parse another one.
    pub fn reset(&mut self) {
        *self = ResponseHeadParser {
            max_head_len: self.max_head_len,
            ..ResponseHeadParser::default()
        };
    }

    /// Parses the head at the start of `buf`, resuming the scan where the previous call
    /// stopped.
    ///
    /// # Errors
    ///
    /// As [`ResponseHead::parse`]. After an error the reply is unusable; [`reset`](Self::reset)
    /// before parsing another.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Status<ResponseHead<'a>>, Error> {
        if buf.len() < self.pos {
            self.reset();
        }
        if let Lex::Done(head_len) = self.lex {
            if let Some(head) = buf.get(..head_len) {
                return build(head, self.lines).map(Status::Complete);
            }
        }
        let limit = buf.len().min(self.max_head_len);
        while self.pos < limit {
            let Some(&byte) = buf.get(self.pos) else {
                break;
            };
            self.step(buf, byte)?;
            self.pos += 1;
            if let Lex::Done(head_len) = self.lex {
                let head = buf.get(..head_len).unwrap_or_default();
                return build(head, self.lines).map(Status::Complete);
            }
        }
        if self.pos >= self.max_head_len {
            return Err(Error::ResponseHeadTooLarge {
                max: self.max_head_len,
            });
        }
        Ok(Status::Incomplete(1))
    }

    /// Parses `buf` as the whole reply: a head that has not ended is an error.
    ///
    /// # Errors
    ///
    /// As [`ResponseHead::parse_eof`].
    pub fn parse_eof<'a>(&mut self, buf: &'a [u8]) -> Result<ResponseHead<'a>, Error> {
        match self.parse(buf)? {
            Status::Complete(head) => Ok(head),
            Status::Incomplete(_) => Err(Error::TruncatedResponseHead { offset: buf.len() }),
        }
    }

    /// Takes one byte at `self.pos`.
    fn step(&mut self, buf: &[u8], byte: u8) -> Result<(), Error> {
        let pos = self.pos;
        let header_fault = |fault| Error::InvalidResponseHeader { offset: pos, fault };
        let status_line_fault = Error::InvalidStatusLine { offset: pos };
        self.lex = match self.lex {
            Lex::LineStart => match byte {
                b'\n' => Lex::Done(pos + 1),
                b'\r' => Lex::EndCr,
                b' ' | b'\t' => return Err(header_fault(HeadFault::Folded)),
                b':' => return Err(header_fault(HeadFault::EmptyName)),
                b if is_tchar(b) => {
                    self.line_start = pos;
                    Lex::Name
                }
                _ => return Err(header_fault(HeadFault::NameByte)),
            },
            Lex::EndCr => match byte {
                b'\n' => Lex::Done(pos + 1),
                _ => return Err(header_fault(HeadFault::BareCr)),
            },
            Lex::Name => match byte {
                b':' => {
                    self.colon = pos;
                    Lex::Value
                }
                b'/' if self.first_line && pos == 4 && buf.get(..4) == Some(b"HTTP") => {
                    Lex::Version(0)
                }
                b'\r' | b'\n' => return Err(header_fault(HeadFault::MissingColon)),
                b if is_tchar(b) => Lex::Name,
                _ => return Err(header_fault(HeadFault::NameByte)),
            },
            Lex::Value => match byte {
                b'\r' => Lex::ValueCr,
                b'\n' => self.end_header_line(buf, pos)?,
                b if is_ctl(b) => return Err(header_fault(HeadFault::ValueByte)),
                _ => Lex::Value,
            },
            Lex::ValueCr => match byte {
                b'\n' => self.end_header_line(buf, pos - 1)?,
                _ => return Err(header_fault(HeadFault::BareCr)),
            },
            Lex::Version(n) => match (n, byte) {
                (0 | 2, b'0'..=b'9') | (1, b'.') => Lex::Version(n + 1),
                (3, b' ') => Lex::Code(0),
                _ => return Err(status_line_fault),
            },
            Lex::Code(n) => match (n, byte) {
                (0, b'1'..=b'9') | (1, b'0'..=b'9') => Lex::Code(n + 1),
                (2, b'0'..=b'9') => Lex::AfterCode,
                _ => return Err(status_line_fault),
            },
            Lex::AfterCode => match byte {
                b' ' => Lex::Reason,
                b'\r' => Lex::StatusCr,
                b'\n' => self.end_status_line(),
                _ => return Err(status_line_fault),
            },
            Lex::Reason => match byte {
                b'\r' => Lex::StatusCr,
                b'\n' => self.end_status_line(),
                b if is_ctl(b) => return Err(status_line_fault),
                _ => Lex::Reason,
            },
            Lex::StatusCr => match byte {
                b'\n' => self.end_status_line(),
                _ => return Err(status_line_fault),
            },
            Lex::Done(len) => Lex::Done(len),
        };
        Ok(())
    }

    fn end_status_line(&mut self) -> Lex {
        self.status_line = true;
        self.first_line = false;
        self.lines += 1;
        Lex::LineStart
    }

    /// A header line ended at `end` (its CR or LF): checks the first CGI `Status` header.
    fn end_header_line(&mut self, buf: &[u8], end: usize) -> Result<Lex, Error> {
        self.first_line = false;
        self.lines += 1;
        let name = buf.get(self.line_start..self.colon).unwrap_or_default();
        if !self.status_line && !self.status_header_seen && name.eq_ignore_ascii_case(b"status") {
            self.status_header_seen = true;
            let raw = buf.get(self.colon + 1..end).unwrap_or_default();
            let (skipped, value) = trim(raw);
            cgi_status(value, self.colon + 1 + skipped)?;
        }
        Ok(Lex::LineStart)
    }
}

/// RFC 9110 `tchar`: the bytes of a header name (and of a method).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// A control byte that may not appear in a header value or reason phrase (a tab may).
pub(crate) fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Removes spaces and tabs around `raw`; returns how many were skipped at the start.
fn trim(raw: &[u8]) -> (usize, &[u8]) {
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
fn cgi_status(value: &[u8], offset: usize) -> Result<(u16, &[u8]), Error> {
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
fn build(head: &[u8], lines: usize) -> Result<ResponseHead<'_>, Error> {
    let head_len = head.len();
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
        head_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_counts_the_skipped_prefix() {
        assert_eq!(trim(b" \t a b \t"), (3, &b"a b"[..]));
        assert_eq!(trim(b"   "), (3, &b""[..]));
        assert_eq!(trim(b""), (0, &b""[..]));
    }

    #[test]
    fn cgi_status_needs_three_digits_then_a_space() {
        assert_eq!(cgi_status(b"404", 0).ok(), Some((404, &b""[..])));
        assert_eq!(cgi_status(b"999 x", 0).ok(), Some((999, &b"x"[..])));
        assert!(matches!(
            cgi_status(b"40", 8),
            Err(Error::InvalidStatus { offset: 10 })
        ));
        assert!(matches!(
            cgi_status(b"099", 8),
            Err(Error::InvalidStatus { offset: 8 })
        ));
        assert!(matches!(
            cgi_status(b"4041", 8),
            Err(Error::InvalidStatus { offset: 11 })
        ));
    }

    #[test]
    fn build_points_at_the_same_byte_as_the_scan() {
        let head = b"X: 1\r\nStatus: abc\r\n\r\n";
        assert!(matches!(
            build(head, 2),
            Err(Error::InvalidStatus { offset: 14 })
        ));
        assert!(matches!(
            ResponseHead::parse(head),
            Err(Error::InvalidStatus { offset: 14 })
        ));
    }

    #[test]
    fn a_name_starting_with_http_is_a_header_after_the_first_line() {
        let head = ResponseHead::parse(b"X: 1\nHTTP-Foo: 2\n\n")
            .ok()
            .and_then(Status::complete);
        assert_eq!(head.map(|h| h.headers().len()), Some(2));
        assert!(matches!(
            ResponseHead::parse(b"X: 1\nHTTP/1.1 200 OK\n\n"),
            Err(Error::InvalidResponseHeader {
                offset: 9,
                fault: HeadFault::NameByte
            })
        ));
    }
}
