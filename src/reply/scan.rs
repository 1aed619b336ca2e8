//! [`ResponseHeadParser`]: a byte-by-byte scan of a reply head that resumes where it stopped.

use super::error::{Error, HeadFault};
use super::head::{DEFAULT_MAX_HEAD_LEN, ResponseHead, build, cgi_status, trim};
use super::token::{is_ctl, is_tchar};
use crate::status::Status;

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
    /// use uwsgi_codec::Status;
    /// use uwsgi_codec::reply::{Error, HeadFault, ResponseHead};
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
    /// use uwsgi_codec::reply::{Error, ResponseHead};
    ///
    /// let err = ResponseHead::parse_eof(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n").unwrap_err();
    /// assert!(matches!(err, Error::TruncatedResponseHead { offset: 25 }));
    /// ```
    pub fn parse_eof(buf: &'a [u8]) -> Result<ResponseHead<'a>, Error> {
        ResponseHeadParser::new().parse_eof(buf)
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
/// use uwsgi_codec::Status;
/// use uwsgi_codec::reply::ResponseHeadParser;
///
/// let reply = b"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>404</h1>";
/// let mut parser = ResponseHeadParser::new().with_max_head_len(4096);
/// for end in 0..50 {
///     assert!(matches!(parser.parse(&reply[..end])?, Status::Incomplete(_)));
/// }
/// let head = parser.parse(reply)?.complete().unwrap();
/// assert_eq!((head.status(), head.head_len()), (404, 50));
/// # Ok::<(), uwsgi_codec::reply::Error>(())
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
