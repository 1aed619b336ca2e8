//! The body length: reading it from `CONTENT_LENGTH` (rules C1 to C3) and writing it as
//! decimal digits (rule E7).

use crate::error::{ContentLengthFault, Error};

/// The var that frames a request body (rule C1).
pub(crate) const CONTENT_LENGTH: &[u8] = b"CONTENT_LENGTH";

/// Parses a length value (rule C2): empty is 0, else ASCII digits only, fitting a `u64`.
/// `offset` is where the value starts, so errors point at the offending byte.
///
/// # Errors
///
/// `InvalidContentLength` with `NotDigit` or `Overflow`.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{ContentLengthFault, Error, parse_length};
///
/// assert_eq!(parse_length(b"", 0)?, 0);
/// assert_eq!(parse_length(b"007", 0)?, 7);
/// assert!(matches!(
///     parse_length(b"5abc", 84),
///     Err(Error::InvalidContentLength { offset: 85, reason: ContentLengthFault::NotDigit })
/// ));
/// # Ok::<(), Error>(())
/// ```
#[inline]
pub fn parse_length(value: &[u8], offset: usize) -> Result<u64, Error> {
    let mut n: u64 = 0;
    for (i, &byte) in value.iter().enumerate() {
        let fault = |reason| Error::InvalidContentLength {
            offset: offset + i,
            reason,
        };
        if !byte.is_ascii_digit() {
            return Err(fault(ContentLengthFault::NotDigit));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(byte - b'0')))
            .ok_or_else(|| fault(ContentLengthFault::Overflow))?;
    }
    Ok(n)
}

/// The body length given by the vars named by a key of `key_len` bytes, as (offset of the
/// pair, value), by rules C1 to C3: none is 0, byte-identical repeats agree, any other repeat
/// is `ConflictingContentLength` at the later pair.
#[inline(always)]
pub(crate) fn length_of<'a>(
    named: impl Iterator<Item = (usize, &'a [u8])>,
    key_len: usize,
) -> Result<u64, Error> {
    let mut first: Option<(&[u8], u64)> = None;
    for (offset, v) in named {
        let value_at = offset + 4 + key_len;
        match first {
            Some((bytes, _)) if bytes == v => {}
            Some((_, first)) => {
                let second = parse_length(v, value_at)?;
                return Err(Error::ConflictingContentLength {
                    first,
                    second,
                    offset,
                });
            }
            None => first = Some((v, parse_length(v, value_at)?)),
        }
    }
    Ok(first.map_or(0, |(_, n)| n))
}

/// The decimal digits of a body length, kept inline so that a builder can borrow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digits {
    buf: [u8; 20],
    start: u8,
}

impl Digits {
    pub(crate) fn new(mut n: u64) -> Digits {
        let mut digits = Digits {
            buf: [b'0'; 20],
            start: 20,
        };
        loop {
            digits.start -= 1;
            if let Some(slot) = digits.buf.get_mut(usize::from(digits.start)) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                return digits;
            }
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(usize::from(self.start)..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_max_fits_and_one_more_overflows() {
        assert_eq!(parse_length(b"18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(
            parse_length(b"18446744073709551616", 0),
            Err(Error::InvalidContentLength {
                offset: 19,
                reason: ContentLengthFault::Overflow
            })
        );
    }

    #[test]
    fn identical_repeats_agree_and_different_spellings_conflict() {
        let same = [(4, &b"5"[..]), (23, b"5")];
        assert_eq!(length_of(same.into_iter(), CONTENT_LENGTH.len()), Ok(5));
        let padded = [(4, &b"5"[..]), (23, b"05")];
        assert_eq!(
            length_of(padded.into_iter(), CONTENT_LENGTH.len()),
            Err(Error::ConflictingContentLength {
                first: 5,
                second: 5,
                offset: 23
            })
        );
    }

    #[test]
    fn digits_of_edge_values() {
        assert_eq!(Digits::new(0).as_bytes(), b"0");
        assert_eq!(Digits::new(70000).as_bytes(), b"70000");
        assert_eq!(Digits::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }
}
