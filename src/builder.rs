//! [`PacketBuilder`]: work out the exact length, check every length, then write (rules E1 to E7).

use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

use crate::error::Error;
use crate::error::Field;
use crate::header::{HEADER_LEN, Header};
use crate::magic::{MagicClass, magic_class};
use crate::modifier::Modifier1;
use crate::packet::MAX_DATASIZE;
use crate::vars::parse_length;

const CONTENT_LENGTH: &[u8] = b"CONTENT_LENGTH";

/// One piece of a block, in the caller's order.
#[derive(Debug, Clone, Copy)]
enum Part<'a> {
    Var(&'a [u8], &'a [u8]),
    Item(&'a [u8]),
    Raw(&'a [u8]),
}

/// Builds one packet: vars, array items or raw bytes, in the order given.
///
/// Nothing is written until every length has been checked, so an error leaves the
/// destination untouched, and no length ever wraps (rules E1 to E3). Pairs are written in the
/// caller's order, duplicates included (E4).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use uwsgi_codec::{PacketBuilder, PacketRef};
///
/// let mut wire = BytesMut::new();
/// PacketBuilder::new(0)
///     .var("REQUEST_METHOD", "GET")
///     .var("PATH_INFO", "/health")
///     .encode(&mut wire)?;
/// let packet = PacketRef::parse(&wire)?.complete().unwrap();
/// assert_eq!(packet.vars().unwrap().get("PATH_INFO"), Some(&b"/health"[..]));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[must_use]
#[derive(Debug, Clone)]
pub struct PacketBuilder<'a> {
    modifier1: Modifier1,
    modifier2: u8,
    parts: Vec<Part<'a>>,
    body_len: Option<u64>,
    max_datasize: u16,
    allow_magic: bool,
}

/// The decimal digits of a body length, kept inline so the builder can borrow them.
#[derive(Debug, Clone, Copy)]
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn new(mut n: u64) -> Digits {
        let mut digits = Digits {
            buf: [b'0'; 20],
            start: 20,
        };
        loop {
            digits.start -= 1;
            if let Some(slot) = digits.buf.get_mut(digits.start) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                return digits;
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

/// What `plan` worked out: the block length and how `CONTENT_LENGTH` is written.
struct Plan {
    datasize: u16,
    digits: Option<Digits>,
    append_content_length: bool,
}

impl<'a> PacketBuilder<'a> {
    /// An empty packet with this modifier1 and modifier2 0.
    pub fn new(modifier1: impl Into<Modifier1>) -> Self {
        PacketBuilder {
            modifier1: modifier1.into(),
            modifier2: 0,
            parts: Vec::new(),
            body_len: None,
            max_datasize: u16::MAX,
            allow_magic: false,
        }
    }

    /// A ping (`64 00 00 00`).
    pub fn ping() -> Self {
        Self::new(Modifier1::PING)
    }

    /// A pong, the reply to a ping (`64 00 00 01`).
    pub fn pong() -> Self {
        Self::new(Modifier1::PING).modifier2(1)
    }

    /// A signal: modifier2 is the signal number.
    pub fn signal(number: u8) -> Self {
        Self::new(Modifier1::SIGNAL).modifier2(number)
    }

    /// An echo request carrying `payload`; the reply is the payload, raw.
    pub fn echo(payload: &'a [u8]) -> Self {
        Self::new(Modifier1::ECHO).raw(payload)
    }

    /// The persistent-connection close mark (modifier1 200).
    pub fn close_mark() -> Self {
        Self::new(Modifier1::CLOSE)
    }

    /// A generic reply (modifier1 255): `delivered` gives modifier2 1, else 0 (signal and
    /// spooler status).
    pub fn reply(delivered: bool) -> Self {
        Self::new(Modifier1::RESPONSE).modifier2(u8::from(delivered))
    }

    /// An RPC request (modifier1 173, modifier2 0): an array of the function name, then the
    /// arguments.
    pub fn rpc(function: &'a [u8], args: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut builder = Self::new(Modifier1::RPC).item(function);
        builder.parts.extend(args.into_iter().map(Part::Item));
        builder
    }

    /// Sets modifier2.
    pub fn modifier2(mut self, modifier2: u8) -> Self {
        self.modifier2 = modifier2;
        self
    }

    /// Appends a key/value pair.
    pub fn var<K, V>(mut self, key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        self.push_var(key, value);
        self
    }

    /// Appends a key/value pair, in place.
    pub fn push_var<K, V>(&mut self, key: &'a K, value: &'a V)
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        self.parts.push(Part::Var(key.as_ref(), value.as_ref()));
    }

    /// Appends every pair, in order.
    pub fn vars(mut self, pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        self.parts
            .extend(pairs.into_iter().map(|(k, v)| Part::Var(k, v)));
        self
    }

    /// Appends an array item (RPC argument, cache field).
    pub fn item<I: AsRef<[u8]> + ?Sized>(mut self, item: &'a I) -> Self {
        self.push_item(item);
        self
    }

    /// Appends an array item, in place.
    pub fn push_item<I: AsRef<[u8]> + ?Sized>(&mut self, item: &'a I) {
        self.parts.push(Part::Item(item.as_ref()));
    }

    /// Appends bytes as they are, counted in datasize: a ping payload, an echo, a cache key.
    ///
    /// Like nginx's `uwsgi_string` (rule E6), bytes appended to a vars block can make a block
    /// that strict decoders reject.
    pub fn raw<R: AsRef<[u8]> + ?Sized>(mut self, bytes: &'a R) -> Self {
        self.parts.push(Part::Raw(bytes.as_ref()));
        self
    }

    /// Frames a body of `len` bytes (rule E7): an empty `CONTENT_LENGTH` is an nginx-style
    /// placeholder and gets the decimal length (left empty when `len` is 0); with no
    /// `CONTENT_LENGTH` at all one is appended when `len > 0`; any other value must already be
    /// exactly the decimal length.
    pub fn body_len(mut self, len: u64) -> Self {
        self.body_len = Some(len);
        self
    }

    /// Refuses blocks longer than `max` with `TooLarge` (values above 65535 mean 65535), for a
    /// peer with a smaller buffer such as uWSGI's default `--buffer-size 4096`.
    pub fn max_datasize(mut self, max: usize) -> Self {
        self.max_datasize = u16::try_from(max).unwrap_or(u16::MAX);
        self
    }

    /// Allows the code- and process-affecting magic vars (`UWSGI_FILE` and the like, rule M3),
    /// which are refused by default because they make uWSGI run code. Routing-only magic
    /// vars (`UWSGI_SCHEME`, `UWSGI_APPID`, `UWSGI_CACHE_GET`) are always allowed.
    pub fn allow_magic(mut self, allow: bool) -> Self {
        self.allow_magic = allow;
        self
    }

    /// Checks every length and works out the block length, writing nothing.
    fn plan(&self) -> Result<Plan, Error> {
        let digits = self.body_len.map(Digits::new);
        let mut size: usize = 0;
        // The first `CONTENT_LENGTH` as it will be written: every other one must be written
        // with the same bytes, or the decoder's rule C3 refuses the packet.
        let mut first_written: Option<&[u8]> = None;
        for part in &self.parts {
            let offset = HEADER_LEN.saturating_add(size);
            let part_len = match *part {
                Part::Var(key, value) => {
                    if key.is_empty() {
                        return Err(Error::EmptyKey { offset });
                    }
                    fit_u16(Field::Key, key.len())?;
                    fit_u16(Field::Value, value.len())?;
                    if !self.allow_magic && magic_class(key) == Some(MagicClass::CodeOrProcess) {
                        return Err(Error::MagicVar { offset });
                    }
                    let value = match &digits {
                        Some(digits) if key == CONTENT_LENGTH => {
                            let written = check_content_length(value, digits.as_bytes(), offset)?;
                            match first_written {
                                Some(first) if first != written => {
                                    return Err(Error::ConflictingContentLength {
                                        first: parse_length(first, 0)?,
                                        second: parse_length(written, 0)?,
                                        offset,
                                    });
                                }
                                _ => first_written = Some(written),
                            }
                            written
                        }
                        _ => value,
                    };
                    4 + key.len() + value.len()
                }
                Part::Item(item) => 2 + fit_u16(Field::Item, item.len())?,
                Part::Raw(bytes) => bytes.len(),
            };
            size = size.saturating_add(part_len);
        }
        let append_content_length =
            first_written.is_none() && self.body_len.is_some_and(|len| len > 0);
        if let Some(digits) = digits.filter(|_| append_content_length) {
            size = size.saturating_add(4 + CONTENT_LENGTH.len() + digits.as_bytes().len());
        }
        let datasize = u16::try_from(size).map_err(|_| Error::LengthOverflow {
            field: Field::Block,
            len: size,
        })?;
        if datasize > self.max_datasize {
            return Err(Error::TooLarge {
                len: size,
                max: usize::from(self.max_datasize),
            });
        }
        Ok(Plan {
            datasize,
            digits,
            append_content_length,
        })
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn encoded_len(&self) -> Result<usize, Error> {
        Ok(HEADER_LEN + usize::from(self.plan()?.datasize))
    }

    /// Reserves the exact length once, then writes the packet at the end of `dst`; returns
    /// the number of bytes written.
    ///
    /// # Errors
    ///
    /// Nothing is written on any error:
    /// - `EmptyKey`: a key of 0 bytes (offset where it would have been);
    /// - `LengthOverflow`: a key, value or item over 65535 bytes, or a block over 65535;
    /// - `TooLarge`: a block over [`max_datasize`](Self::max_datasize);
    /// - `MagicVar`: a code-affecting `UWSGI_*` key without [`allow_magic`](Self::allow_magic);
    /// - `ConflictingContentLength` / `InvalidContentLength`: a `CONTENT_LENGTH` that
    ///   disagrees with [`body_len`](Self::body_len), or two that would be written with
    ///   different bytes (a decoder refuses those, rule C3).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use uwsgi_codec::{Error, Field, PacketBuilder};
    ///
    /// let big = vec![b'x'; 65536];
    /// let mut wire = BytesMut::new();
    /// let err = PacketBuilder::new(0).var("K", &big).encode(&mut wire).unwrap_err();
    /// assert!(matches!(err, Error::LengthOverflow { field: Field::Value, len: 65536 }));
    /// assert!(wire.is_empty());
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) -> Result<usize, Error> {
        let plan = self.plan()?;
        dst.reserve(HEADER_LEN + usize::from(plan.datasize));
        Ok(self.write(&plan, dst))
    }

    /// Writes the packet into any [`BufMut`]; returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode), and `BufferTooSmall` when `dst` has less room than the
    /// packet needs. Nothing is written on any error.
    pub fn encode_buf(&self, dst: &mut impl BufMut) -> Result<usize, Error> {
        let plan = self.plan()?;
        let needed = HEADER_LEN + usize::from(plan.datasize);
        if dst.remaining_mut() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: dst.remaining_mut(),
            });
        }
        Ok(self.write(&plan, dst))
    }

    /// Writes the packet at the start of `dst`; returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// As [`encode_buf`](Self::encode_buf).
    ///
    /// ```
    /// use uwsgi_codec::PacketBuilder;
    ///
    /// let mut buf = [0u8; 16];
    /// let n = PacketBuilder::ping().encode_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], [0x64, 0, 0, 0]);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    pub fn encode_slice(&self, dst: &mut [u8]) -> Result<usize, Error> {
        let mut dst = dst;
        self.encode_buf(&mut dst)
    }

    /// The packet as a new `Vec`, allocated once at the exact length.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let plan = self.plan()?;
        let mut out = Vec::with_capacity(HEADER_LEN + usize::from(plan.datasize));
        self.write(&plan, &mut out);
        Ok(out)
    }

    fn write(&self, plan: &Plan, dst: &mut impl BufMut) -> usize {
        Header::new(self.modifier1, plan.datasize, self.modifier2).encode(dst);
        let digits = plan
            .digits
            .as_ref()
            .map(Digits::as_bytes)
            .unwrap_or_default();
        for part in &self.parts {
            match *part {
                Part::Var(key, value) => {
                    let value = match plan.digits {
                        Some(_) if key == CONTENT_LENGTH => filled(value, digits),
                        _ => value,
                    };
                    put_prefixed(dst, key);
                    put_prefixed(dst, value);
                }
                Part::Item(item) => put_prefixed(dst, item),
                Part::Raw(bytes) => dst.put_slice(bytes),
            }
        }
        if plan.append_content_length {
            put_prefixed(dst, CONTENT_LENGTH);
            put_prefixed(dst, digits);
        }
        HEADER_LEN + usize::from(plan.datasize)
    }
}

/// Writes a length prefix and the bytes; `plan` has checked that the length fits.
fn put_prefixed(dst: &mut impl BufMut, bytes: &[u8]) {
    dst.put_u16_le(u16::try_from(bytes.len()).unwrap_or(u16::MAX));
    dst.put_slice(bytes);
}

fn fit_u16(field: Field, len: usize) -> Result<usize, Error> {
    if len > MAX_DATASIZE {
        return Err(Error::LengthOverflow { field, len });
    }
    Ok(len)
}

/// The `CONTENT_LENGTH` value written for a caller's `value` when framing a body of
/// `digits` (rule E7): an empty placeholder gets the digits, unless the body is empty.
fn filled<'v>(value: &'v [u8], digits: &'v [u8]) -> &'v [u8] {
    if value.is_empty() && digits != b"0" {
        digits
    } else {
        value
    }
}

/// Checks a caller's `CONTENT_LENGTH` against the framed body length and returns the value
/// to write; `offset` is where the pair would be.
fn check_content_length<'v>(
    value: &'v [u8],
    digits: &'v [u8],
    offset: usize,
) -> Result<&'v [u8], Error> {
    let written = filled(value, digits);
    if written.is_empty() || written == digits {
        return Ok(written);
    }
    let first = parse_length(value, offset + 4 + CONTENT_LENGTH.len())?;
    let second = parse_length(digits, 0)?;
    Err(Error::ConflictingContentLength {
        first,
        second,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_placeholder_stays_empty_for_an_empty_body() {
        let builder = PacketBuilder::new(0).var("CONTENT_LENGTH", "").body_len(0);
        let wire = builder.to_vec().unwrap_or_default();
        assert_eq!(wire.len(), 22);
        assert_eq!(builder.encoded_len().ok(), Some(22));
        assert!(wire.ends_with(b"CONTENT_LENGTH\x00\x00"));
    }

    #[test]
    fn digits_of_edge_values() {
        assert_eq!(Digits::new(0).as_bytes(), b"0");
        assert_eq!(Digits::new(70000).as_bytes(), b"70000");
        assert_eq!(Digits::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }
}
