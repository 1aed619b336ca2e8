//! The two passes of an encode: [`Planner`] checks every piece and sums the lengths,
//! [`Writer`] copies the pieces where the last one ended.

use super::{PacketBuilder, Part};
use crate::body::{CONTENT_LENGTH, Digits, parse_length};
use crate::error::{Error, Field};
use crate::header::{HEADER_LEN, Header, MAX_DATASIZE};
use crate::magic::{MagicPolicy, is_magic};
use crate::wire::{fit_u16, put, put_pair, put_prefixed};

/// What `plan` worked out: the block length and how `CONTENT_LENGTH` is written.
pub(super) struct Plan {
    datasize: u16,
    digits: Option<Digits>,
    append_content_length: bool,
    /// Only borrowed, ordinary pairs: written as they are, but for the one `CONTENT_LENGTH`
    /// (at this index) of a builder that frames a body.
    plain: Option<Plain>,
}

/// What the one-loop plan of borrowed pairs found.
#[derive(Clone, Copy)]
struct Plain {
    size: usize,
    content_length_at: Option<usize>,
}

impl Plan {
    pub(super) fn packet_len(&self) -> usize {
        HEADER_LEN + usize::from(self.datasize)
    }
}

impl PacketBuilder<'_> {
    /// Checks every length and works out the block length, writing nothing.
    #[inline]
    pub(super) fn plan(&self) -> Result<Plan, Error> {
        let digits = self.body_len.map(Digits::new);
        let plain = self.plain(digits.as_ref().map(Digits::as_bytes));
        let (mut size, has_content_length) = match plain {
            Some(plain) => (plain.size, plain.content_length_at.is_some()),
            None => {
                let mut planner = Planner {
                    magic: &self.magic,
                    digits: digits.as_ref().map(Digits::as_bytes),
                    size: 0,
                    first_written: None,
                };
                for &(key, value) in self.parts.pairs {
                    planner.add(Part::Var(key, value))?;
                }
                for &part in &self.parts.list {
                    planner.add(part)?;
                }
                (planner.size, planner.first_written.is_some())
            }
        };
        let append_content_length = !has_content_length && self.body_len.is_some_and(|len| len > 0);
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
            plain,
        })
    }

    /// The plan of a builder that holds only borrowed pairs, every one ordinary: a key of 1 to
    /// 65535 bytes, a value of at most 65535, no `UWSGI_` key, at most one `CONTENT_LENGTH`
    /// when the builder frames a body (`digits`), and that one the placeholder or the body
    /// length itself; and the block within 65535 bytes. That is what a client encoding request
    /// after request has, and one tight loop sums it; `None` sends anything else to the
    /// [`Planner`], which checks each piece and names the first fault.
    #[inline(always)]
    fn plain(&self, digits: Option<&[u8]>) -> Option<Plain> {
        let pairs = self.parts.pairs;
        // More pairs than a block holds: the planner names the overflow. Fewer, each under
        // 2 x 65536 + 4 bytes, cannot overflow the sum, even in 32 bits.
        if !self.parts.list.is_empty() || pairs.len() > MAX_DATASIZE / 4 {
            return None;
        }
        let mut size = 0usize;
        let mut ordinary = true;
        let mut content_length_at = None;
        for (i, &(key, value)) in pairs.iter().enumerate() {
            // A key of 1 to 65536 bytes and a value of at most 65535 (a 65536-byte key
            // makes the block too long, below); a key that starts with `U` may be magic.
            ordinary &= (key.len().wrapping_sub(1) | value.len()) <= MAX_DATASIZE;
            if key.first() == Some(&b'U') && is_magic(key) {
                return None;
            }
            let mut value_len = value.len();
            if let Some(digits) = digits.filter(|_| key == CONTENT_LENGTH) {
                let written = filled(value, digits);
                let agrees = written.is_empty() || written == digits;
                if content_length_at.is_some() || !agrees {
                    return None;
                }
                content_length_at = Some(i);
                value_len = written.len();
            }
            size = size.wrapping_add(4 + key.len()).wrapping_add(value_len);
        }
        (ordinary && size <= MAX_DATASIZE).then_some(Plain {
            size,
            content_length_at,
        })
    }

    /// Writes the planned packet into `out`, which is exactly `plan.packet_len()` long.
    #[inline]
    pub(super) fn write(&self, plan: &Plan, out: &mut [u8]) {
        let Some((header, rest)) = out.split_first_chunk_mut::<HEADER_LEN>() else {
            return;
        };
        *header = Header::new(self.modifier1, plan.datasize, self.modifier2).to_bytes();
        let digits = plan.digits.as_ref().map(Digits::as_bytes);
        // `plan` checked every length: the pieces fill `out` exactly.
        if let Some(plain) = plan.plain {
            let mut rest = rest;
            let pairs = self.parts.pairs;
            let at = plain.content_length_at.unwrap_or(pairs.len());
            let (before, from) = pairs.split_at_checked(at).unwrap_or((pairs, &[]));
            for &(key, value) in before {
                put_pair(&mut rest, key, value);
            }
            if let (Some((&(key, value), after)), Some(digits)) = (from.split_first(), digits) {
                put_pair(&mut rest, key, filled(value, digits));
                for &(key, value) in after {
                    put_pair(&mut rest, key, value);
                }
            }
            if let Some(digits) = digits.filter(|_| plan.append_content_length) {
                put_pair(&mut rest, CONTENT_LENGTH, digits);
            }
            return;
        }
        let mut writer = Writer { rest, digits };
        for &(key, value) in self.parts.pairs {
            writer.put(Part::Var(key, value));
        }
        for &part in &self.parts.list {
            writer.put(part);
        }
        if let Some(digits) = digits.filter(|_| plan.append_content_length) {
            writer.put(Part::Var(CONTENT_LENGTH, digits));
        }
    }
}

/// The first pass of an encode: checks each piece and sums the lengths (rules E1 to E3, E7).
struct Planner<'p> {
    magic: &'p MagicPolicy,
    /// The body length to write into `CONTENT_LENGTH`, when the builder frames a body.
    digits: Option<&'p [u8]>,
    size: usize,
    /// The first `CONTENT_LENGTH` as it will be written: every other one must be written with
    /// the same bytes, or a decoder refuses the packet (rule C3).
    first_written: Option<&'p [u8]>,
}

impl<'p> Planner<'p> {
    #[inline(always)]
    fn add(&mut self, part: Part<'p>) -> Result<(), Error> {
        let offset = HEADER_LEN.saturating_add(self.size);
        let len = match part {
            Part::Var(key, value) => {
                if key.len().wrapping_sub(1) >= MAX_DATASIZE || value.len() > MAX_DATASIZE {
                    return Err(bad_pair(key, value, offset));
                }
                if !self.magic.accepts(key) {
                    return Err(Error::MagicVar { offset });
                }
                let value = match self.digits {
                    Some(digits) if key == CONTENT_LENGTH => {
                        self.content_length(value, digits, offset)?
                    }
                    _ => value,
                };
                4 + key.len() + value.len()
            }
            Part::Item(item) => 2 + usize::from(fit_u16(Field::Item, item.len())?),
            Part::Raw(bytes) => bytes.len(),
        };
        self.size = self.size.saturating_add(len);
        Ok(())
    }

    /// The `CONTENT_LENGTH` value written for a caller's `value`, checked against the body
    /// length and against the other `CONTENT_LENGTH`s (rule E7).
    fn content_length(
        &mut self,
        value: &'p [u8],
        digits: &'p [u8],
        offset: usize,
    ) -> Result<&'p [u8], Error> {
        let written = check_content_length(value, digits, offset)?;
        match self.first_written {
            Some(first) if first != written => Err(Error::ConflictingContentLength {
                first: parse_length(first, 0)?,
                second: parse_length(written, 0)?,
                offset,
            }),
            _ => {
                self.first_written = Some(written);
                Ok(written)
            }
        }
    }
}

/// The error for a pair whose key is empty or whose key or value is too long.
#[cold]
fn bad_pair(key: &[u8], value: &[u8], offset: usize) -> Error {
    match (
        fit_u16(Field::Key, key.len()),
        fit_u16(Field::Value, value.len()),
    ) {
        (Err(err), _) | (_, Err(err)) => err,
        _ => Error::EmptyKey { offset },
    }
}

/// The second pass of an encode: writes each piece where the last one ended.
struct Writer<'o, 'd> {
    rest: &'o mut [u8],
    digits: Option<&'d [u8]>,
}

impl Writer<'_, '_> {
    #[inline(always)]
    fn put(&mut self, part: Part<'_>) {
        match part {
            Part::Var(key, value) => {
                let value = match self.digits {
                    Some(digits) if key == CONTENT_LENGTH => filled(value, digits),
                    _ => value,
                };
                put_pair(&mut self.rest, key, value);
            }
            Part::Item(item) => put_prefixed(&mut self.rest, item),
            Part::Raw(bytes) => put(&mut self.rest, bytes),
        }
    }
}

/// The bytes a piece takes in the block, with `CONTENT_LENGTH` as it will be written.
#[cfg(feature = "codec")]
#[inline(always)]
pub(super) fn part_len(part: Part<'_>, digits: Option<&Digits>) -> usize {
    match part {
        Part::Var(key, value) => {
            let value = match digits {
                Some(digits) if key == CONTENT_LENGTH => filled(value, digits.as_bytes()),
                _ => value,
            };
            4 + key.len() + value.len()
        }
        Part::Item(item) => 2 + item.len(),
        Part::Raw(bytes) => bytes.len(),
    }
}

/// The `CONTENT_LENGTH` value written for a caller's `value` when framing a body of
/// `digits` (rule E7): an empty placeholder gets the digits, unless the body is empty.
#[inline(always)]
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
