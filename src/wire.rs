//! Wire primitives shared by vars, arrays and the builder: the length-prefixed field
//! (`u16` little-endian length, then that many bytes), read strictly with nom so that every
//! fault is named with its offset, and written with its length checked.
//!
//! nom carries the error-naming parsers (the strict walks of vars blocks and arrays); the hot
//! walk in `vars.rs` checks the same grammar by hand, one bounds check per length, and hands
//! a bad block to these parsers to say what is wrong with it.

use nom::Parser as _;
use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::le_u16;

use crate::error::{Error, Field};
use crate::header::{HEADER_LEN, MAX_DATASIZE};

/// A fault found by the strict parsers, with the input left where it was found: the offset is
/// worked out once, from how much of the block remains (`block.len() - at.len()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault<'b> {
    at: &'b [u8],
    kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultKind {
    /// The input ends inside a 2-byte length (rules V1, V4, A2).
    Truncated(Field),
    /// A length points past the end of the block (rules V3, V5, A2).
    Overrun {
        field: Field,
        len: usize,
        available: usize,
    },
}

impl<'b> ParseError<&'b [u8]> for Fault<'b> {
    fn from_error_kind(input: &'b [u8], _: ErrorKind) -> Self {
        Fault {
            at: input,
            kind: FaultKind::Truncated(Field::Block),
        }
    }

    fn append(_: &'b [u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl Fault<'_> {
    /// The fault as an [`Error`], for a block that started at packet offset 4.
    pub(crate) fn into_error(self, block: &[u8]) -> Error {
        let offset = HEADER_LEN + block.len().saturating_sub(self.at.len());
        match self.kind {
            FaultKind::Truncated(field) => Error::TruncatedLength { field, offset },
            FaultKind::Overrun {
                field,
                len,
                available,
            } => Error::Overrun {
                field,
                offset,
                len,
                available,
            },
        }
    }
}

/// Parses one length-prefixed `field` at the start of `input`: `(rest, bytes)`.
pub(crate) fn prefixed<'b>(
    field: Field,
    input: &'b [u8],
) -> Result<(&'b [u8], &'b [u8]), Fault<'b>> {
    let truncated = Fault {
        at: input,
        kind: FaultKind::Truncated(field),
    };
    let (after, len) = le_u16::<_, Fault<'b>>.parse(input).map_err(|_| truncated)?;
    take::<_, _, Fault<'b>>(len)
        .parse(after)
        .map_err(|_| Fault {
            at: input,
            kind: FaultKind::Overrun {
                field,
                len: usize::from(len),
                available: after.len(),
            },
        })
}

/// `len` as the 16-bit length of `field`, or `LengthOverflow` (rules E2, E3).
#[inline]
pub(crate) fn fit_u16(field: Field, len: usize) -> Result<u16, Error> {
    if len > MAX_DATASIZE {
        return Err(Error::LengthOverflow { field, len });
    }
    Ok(len as u16)
}

/// Copies `src` to the start of `dst`; the caller has checked that it fits.
///
/// Fields are mostly short (a key is 9 to 20 bytes), and a `memcpy` call per field costs more
/// than the copy: short fields are copied with two overlapping fixed-size moves instead.
#[inline(always)]
pub(crate) fn copy_field(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let (Some(dst), true) = (dst.get_mut(..n), n <= 32) else {
        if let Some(dst) = dst.get_mut(..n) {
            dst.copy_from_slice(src);
        }
        return;
    };
    if n >= 16 {
        copy_ends::<16>(dst, src);
    } else if n >= 8 {
        copy_ends::<8>(dst, src);
    } else if n >= 4 {
        copy_ends::<4>(dst, src);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// Copies the first and last `N` bytes of `src` (`N <= len <= 2 N`), which covers it all.
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}

/// Writes a 2-byte length and `bytes` at the start of `rest`, and moves `rest` past them.
/// The caller has checked the length (`fit_u16`) and the room.
#[inline(always)]
pub(crate) fn put_prefixed(rest: &mut &mut [u8], bytes: &[u8]) {
    let Some((len, tail)) = core::mem::take(rest).split_first_chunk_mut::<2>() else {
        return;
    };
    *len = (bytes.len() as u16).to_le_bytes();
    *rest = tail;
    put(rest, bytes);
}

/// Writes a key/value pair at the start of `rest`, and moves `rest` past it: one bounds
/// check for the pair. The caller has checked the lengths (`fit_u16`) and the room.
#[inline(always)]
pub(crate) fn put_pair(rest: &mut &mut [u8], key: &[u8], value: &[u8]) {
    let Some((pair, tail)) =
        core::mem::take(rest).split_at_mut_checked(4 + key.len() + value.len())
    else {
        return;
    };
    *rest = tail;
    let (klen, pair) = pair.split_at_mut(2);
    klen.copy_from_slice(&(key.len() as u16).to_le_bytes());
    let (k, pair) = pair.split_at_mut(key.len());
    copy_field(k, key);
    let (vlen, v) = pair.split_at_mut(2);
    vlen.copy_from_slice(&(value.len() as u16).to_le_bytes());
    copy_field(v, value);
}

/// Writes `bytes` at the start of `rest`, and moves `rest` past them.
#[inline(always)]
pub(crate) fn put(rest: &mut &mut [u8], bytes: &[u8]) {
    if let Some((head, tail)) = core::mem::take(rest).split_at_mut_checked(bytes.len()) {
        copy_field(head, bytes);
        *rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_overrun_fields_point_at_their_length() {
        let block = b"\x01\x00K\x05\x00ab";
        let (rest, key) = prefixed(Field::Key, block).ok().unwrap_or_default();
        assert_eq!(key, b"K");
        let fault = prefixed(Field::Value, rest)
            .err()
            .map(|f| f.into_error(block));
        let expected = Error::Overrun {
            field: Field::Value,
            offset: 7,
            len: 5,
            available: 2,
        };
        assert_eq!(fault, Some(expected));
        let fault = prefixed(Field::Item, &block[6..])
            .err()
            .map(|f| f.into_error(block));
        let expected = Error::TruncatedLength {
            field: Field::Item,
            offset: 10,
        };
        assert_eq!(fault, Some(expected));
    }

    #[test]
    fn copy_field_copies_every_length() {
        let src: Vec<u8> = (0..80).collect();
        for n in 0..=80 {
            let mut dst = [0xffu8; 80];
            copy_field(&mut dst, &src[..n]);
            assert_eq!(&dst[..n], &src[..n], "length {n}");
            assert!(
                dst[n..].iter().all(|&b| b == 0xff),
                "length {n} wrote past the end"
            );
        }
    }

    #[test]
    fn put_prefixed_writes_length_then_bytes_and_moves_on() {
        let mut dst = [0u8; 8];
        let mut rest = &mut dst[..];
        put_prefixed(&mut rest, b"abc");
        assert_eq!(rest.len(), 3);
        put(&mut rest, b"de");
        assert_eq!(&dst, b"\x03\x00abcde\x00");
    }
}
