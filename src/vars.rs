//! [`Vars`]: a vars block ("uwsgi dictionary"), validated once, then read without errors.

use crate::error::{ContentLengthFault, Error, Field};
use crate::header::HEADER_LEN;
use crate::magic::MagicPolicy;

/// Reads the little-endian `u16` length at `pos`, if two bytes are there.
#[inline(always)]
pub(crate) fn read_len(block: &[u8], pos: usize) -> Option<usize> {
    match block.get(pos..pos.checked_add(2)?) {
        Some(&[low, high]) => Some(usize::from(u16::from_le_bytes([low, high]))),
        _ => None,
    }
}

/// What a vars block is checked against besides its grammar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VarsRules {
    /// The most pairs accepted; `None` for no limit (the default, rule L2).
    pub(crate) max_vars: Option<usize>,
    /// What to do with `UWSGI_*` keys (rule M2).
    pub(crate) magic: MagicPolicy,
}

/// Checks `block` against rules V1 to V10 (and the optional pair and magic rules) in one pass,
/// returning the number of pairs. Offsets in errors count from the header's first byte.
pub(crate) fn validate(block: &[u8], rules: &VarsRules) -> Result<usize, Error> {
    let end = block.len();
    let mut pos = 0;
    let mut count = 0;
    let check_magic = rules.magic != MagicPolicy::Allow;
    while pos < end {
        let at = pos + HEADER_LEN;
        if rules.max_vars == Some(count) {
            return Err(Error::TooManyVars {
                max: count,
                offset: at,
            });
        }
        let Some(klen) = read_len(block, pos) else {
            return Err(Error::TruncatedLength {
                field: Field::Key,
                offset: at,
            });
        };
        if klen == 0 {
            return Err(Error::EmptyKey { offset: at });
        }
        let available = end - pos - 2;
        if klen > available {
            return Err(Error::Overrun {
                field: Field::Key,
                offset: at,
                len: klen,
                available,
            });
        }
        let vpos = pos + 2 + klen;
        let Some(vlen) = read_len(block, vpos) else {
            return Err(Error::TruncatedLength {
                field: Field::Value,
                offset: vpos + HEADER_LEN,
            });
        };
        let available = end - vpos - 2;
        if vlen > available {
            let offset = vpos + HEADER_LEN;
            return Err(Error::Overrun {
                field: Field::Value,
                offset,
                len: vlen,
                available,
            });
        }
        if check_magic {
            let key = block.get(pos + 2..vpos).unwrap_or_default();
            if !rules.magic.accepts(key) {
                return Err(Error::MagicVar { offset: at });
            }
        }
        count += 1;
        pos = vpos + 2 + vlen;
    }
    Ok(count)
}

/// A validated vars block: key/value pairs in wire order, duplicates kept, bytes as sent.
///
/// Validation happened once, when the block was parsed; reading it cannot fail.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::PacketRef;
///
/// // H(0,22,0) kv("HTTP_X","a") kv("HTTP_X","b")
/// let wire = b"\x00\x16\x00\x00\x06\x00HTTP_X\x01\x00a\x06\x00HTTP_X\x01\x00b";
/// let packet = PacketRef::parse(wire)?.complete().unwrap();
/// let vars = packet.vars().unwrap();
/// assert_eq!(vars.len(), 2);
/// assert_eq!(vars.get("HTTP_X"), Some(&b"b"[..]));       // the last, as WSGI environs see it
/// assert_eq!(vars.get_first("HTTP_X"), Some(&b"a"[..]));
/// assert_eq!(vars.get_all("HTTP_X").collect::<Vec<_>>(), [b"a", b"b"]);
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Vars<'a> {
    block: &'a [u8],
    count: usize,
}

impl<'a> Vars<'a> {
    /// Validates a bare vars block (the bytes after a header) with the default rules.
    ///
    /// Offsets in errors still count from the header's first byte, as if the block were at
    /// offset 4 of a packet.
    ///
    /// # Errors
    ///
    /// `TruncatedLength`, `EmptyKey` or `Overrun` for a block that breaks rules V1 to V5.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Error, Vars};
    ///
    /// let vars = Vars::parse(b"\x01\x00K\x01\x00v")?;
    /// assert_eq!(vars.get("K"), Some(&b"v"[..]));
    /// assert!(matches!(Vars::parse(b"\x00\x00"), Err(Error::EmptyKey { offset: 4 })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse(block: &'a [u8]) -> Result<Vars<'a>, Error> {
        Self::parse_with(block, &VarsRules::default())
    }

    /// A block that `validate` already accepted with `count` pairs.
    pub(crate) fn from_validated(block: &'a [u8], count: usize) -> Vars<'a> {
        Vars { block, count }
    }

    pub(crate) fn parse_with(block: &'a [u8], rules: &VarsRules) -> Result<Vars<'a>, Error> {
        let count = validate(block, rules)?;
        Ok(Vars { block, count })
    }

    /// The number of pairs, duplicates included.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the block has no pairs (datasize 0 is valid: rule V7).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The raw block bytes, exactly as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// Every pair, in wire order.
    pub fn iter(&self) -> VarsIter<'a> {
        VarsIter {
            block: self.block,
            pos: 0,
        }
    }

    /// The value of the **last** pair with this exact key (rule V10), as uWSGI and WSGI
    /// environs see it.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        self.get_all(key).last()
    }

    /// The value of the first pair with this exact key.
    pub fn get_first(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        self.get_all(key).next()
    }

    /// The values of every pair with this exact key, in wire order.
    pub fn get_all<K: AsRef<[u8]>>(&self, key: K) -> impl Iterator<Item = &'a [u8]> + use<'a, K> {
        self.iter()
            .filter(move |(k, _)| *k == key.as_ref())
            .map(|(_, v)| v)
    }

    /// The last value of `key` as UTF-8: `None` if absent, `Some(Err)` if not UTF-8.
    ///
    /// Keys and values are bytes (uWSGI reads them as latin-1); this never forces them.
    pub fn get_utf8(&self, key: impl AsRef<[u8]>) -> Option<Result<&'a str, core::str::Utf8Error>> {
        self.get(key).map(core::str::from_utf8)
    }

    /// Every pair with the offset of its key length from the header's first byte.
    pub fn iter_with_offsets(&self) -> impl Iterator<Item = (usize, &'a [u8], &'a [u8])> + use<'a> {
        let mut iter = self.iter();
        core::iter::from_fn(move || {
            let offset = iter.pos + HEADER_LEN;
            iter.next().map(|(k, v)| (offset, k, v))
        })
    }

    /// The body length given by `CONTENT_LENGTH` (rules C1 to C3): 0 when absent or empty.
    ///
    /// # Errors
    ///
    /// `InvalidContentLength` for a value that is not plain ASCII digits fitting a `u64`;
    /// `ConflictingContentLength` when two `CONTENT_LENGTH` vars differ in any byte.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Error, Vars};
    ///
    /// assert_eq!(Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x00\x30\x37")?.content_length()?, 7);
    /// assert_eq!(Vars::parse(b"\x0e\x00CONTENT_LENGTH\x00\x00")?.content_length()?, 0);
    /// let err = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x00-1")?.content_length();
    /// assert!(matches!(err, Err(Error::InvalidContentLength { offset: 22, .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn content_length(&self) -> Result<u64, Error> {
        self.length_var(b"CONTENT_LENGTH")
    }

    /// The body length given by every var named `key`, by the rules of `CONTENT_LENGTH`
    /// (used for the cache's `size`).
    ///
    /// # Errors
    ///
    /// As [`Vars::content_length`].
    pub fn length_var(&self, key: &[u8]) -> Result<u64, Error> {
        let mut first: Option<(&[u8], u64)> = None;
        for (offset, k, v) in self.iter_with_offsets() {
            if k != key {
                continue;
            }
            match first {
                Some((bytes, _)) if bytes == v => {}
                Some((_, first)) => {
                    let second = parse_length(v, offset + 4 + k.len())?;
                    return Err(Error::ConflictingContentLength {
                        first,
                        second,
                        offset,
                    });
                }
                None => first = Some((v, parse_length(v, offset + 4 + k.len())?)),
            }
        }
        Ok(first.map_or(0, |(_, n)| n))
    }
}

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

impl<'a> IntoIterator for &Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = VarsIter<'a>;
    fn into_iter(self) -> VarsIter<'a> {
        self.iter()
    }
}

impl core::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::escape::Escaped;
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (Escaped(k), Escaped(v))))
            .finish()
    }
}

/// The pairs of a validated vars block, in wire order. Cannot fail.
#[derive(Debug, Clone)]
pub struct VarsIter<'a> {
    block: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for VarsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let klen = read_len(self.block, self.pos)?;
        let kpos = self.pos + 2;
        let key = self.block.get(kpos..kpos + klen)?;
        let vpos = kpos + klen + 2;
        let vlen = read_len(self.block, vpos - 2)?;
        let value = self.block.get(vpos..vpos + vlen)?;
        self.pos = vpos + vlen;
        Some((key, value))
    }
}

impl core::iter::FusedIterator for VarsIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn kv(k: &[u8], v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u16::try_from(k.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(v);
        out
    }

    #[test]
    fn one_trailing_byte_is_a_truncated_key_length() {
        let mut block = kv(b"A", b"b");
        block.push(0);
        assert!(matches!(
            Vars::parse(&block),
            Err(Error::TruncatedLength {
                field: Field::Key,
                offset: 10
            })
        ));
    }

    #[test]
    fn key_ending_at_block_end_lacks_its_value_length() {
        assert!(matches!(
            Vars::parse(b"\x01\x00K"),
            Err(Error::TruncatedLength {
                field: Field::Value,
                offset: 7
            })
        ));
    }

    #[test]
    fn pair_limit_counts_the_first_excess_pair() {
        let block = [kv(b"A", b""), kv(b"B", b""), kv(b"C", b"")].concat();
        let rules = VarsRules {
            max_vars: Some(2),
            ..VarsRules::default()
        };
        assert!(matches!(
            Vars::parse_with(&block, &rules),
            Err(Error::TooManyVars { max: 2, offset: 14 })
        ));
        let rules = VarsRules {
            max_vars: Some(3),
            ..VarsRules::default()
        };
        assert_eq!(
            Vars::parse_with(&block, &rules).map(|v| v.len()).ok(),
            Some(3)
        );
    }

    #[test]
    fn refused_magic_points_at_its_pair() {
        let block = [kv(b"PATH_INFO", b"/"), kv(b"UWSGI_FILE", b"exec://x")].concat();
        let rules = VarsRules {
            magic: MagicPolicy::Refuse,
            ..VarsRules::default()
        };
        assert!(matches!(
            Vars::parse_with(&block, &rules),
            Err(Error::MagicVar { offset: 18 })
        ));
    }

    #[test]
    fn offsets_follow_the_pairs() {
        let block = [kv(b"A", b"xy"), kv(b"B", b"")].concat();
        let vars = Vars::parse(&block).ok();
        let offsets: Vec<usize> = vars
            .iter()
            .flat_map(|v| v.iter_with_offsets())
            .map(|(o, _, _)| o)
            .collect();
        assert_eq!(offsets, [4, 11]);
    }

    #[test]
    fn identical_duplicates_agree_and_different_spellings_conflict() {
        let same = [kv(b"CONTENT_LENGTH", b"5"), kv(b"CONTENT_LENGTH", b"5")].concat();
        assert_eq!(
            Vars::parse(&same).and_then(|v| v.content_length()).ok(),
            Some(5)
        );
        let padded = [kv(b"CONTENT_LENGTH", b"5"), kv(b"CONTENT_LENGTH", b"05")].concat();
        assert!(matches!(
            Vars::parse(&padded).and_then(|v| v.content_length()),
            Err(Error::ConflictingContentLength {
                first: 5,
                second: 5,
                offset: 23
            })
        ));
    }

    #[test]
    fn u64_max_fits_and_one_more_overflows() {
        assert_eq!(
            parse_length(b"18446744073709551615", 0).ok(),
            Some(u64::MAX)
        );
        assert!(matches!(
            parse_length(b"18446744073709551616", 0),
            Err(Error::InvalidContentLength {
                offset: 19,
                reason: ContentLengthFault::Overflow
            })
        ));
    }
}
