//! [`Vars`]: a vars block ("uwsgi dictionary"), validated once, then read without errors.

use crate::error::{ContentLengthFault, Error, Field};
use crate::header::HEADER_LEN;
use crate::magic::MagicPolicy;

/// A length-prefixed field (`u16` little-endian length, then that many bytes) at the start
/// of `block[pos..]`, read with nom's complete parsers: running out inside a block of known
/// length is a fault, named with the offsets of rules V1 to V5 and A2. Off the hot path.
pub(crate) fn length_prefixed(block: &[u8], pos: usize, field: Field) -> Result<&[u8], Error> {
    use nom::Parser;
    use nom::bytes::complete::take;
    use nom::number::complete::le_u16;

    let offset = pos + HEADER_LEN;
    let input = block.get(pos..).unwrap_or_default();
    let (after_len, len) = le_u16::<_, ()>
        .parse(input)
        .map_err(|_| Error::TruncatedLength { field, offset })?;
    let (_, bytes) = take::<_, _, ()>(len)
        .parse(after_len)
        .map_err(|_| Error::Overrun {
            field,
            offset,
            len: usize::from(len),
            available: after_len.len(),
        })?;
    Ok(bytes)
}

/// What a vars block is checked against besides its grammar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VarsRules {
    /// The most pairs accepted; `None` for no limit (the default, rule L2).
    pub(crate) max_vars: Option<usize>,
    /// What to do with `UWSGI_*` keys (rule M2).
    pub(crate) magic: MagicPolicy,
}

/// What validating a vars block found: the pair count and the body-length var.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Walked {
    pub(crate) count: usize,
    pub(crate) length: LengthVar,
}

/// Splits the pair at the start of `bytes` into key, value and what follows.
#[inline(always)]
fn split_pair(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (&klen, rest) = bytes.split_first_chunk::<2>()?;
    let (key, rest) = rest.split_at_checked(usize::from(u16::from_le_bytes(klen)))?;
    let (&vlen, rest) = rest.split_first_chunk::<2>()?;
    let (value, rest) = rest.split_at_checked(usize::from(u16::from_le_bytes(vlen)))?;
    Some((key, value, rest))
}

/// Where the var that frames the body sits in a block, found by the validating walk so that
/// the body length costs no second walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LengthVar {
    /// No such var: the body is empty (rule C1).
    #[default]
    Absent,
    /// Exactly one, with its value at `start..start + len` of the block.
    Once { start: u16, len: u16 },
    /// More than one: rule C3 needs them all compared.
    Repeated,
}

impl LengthVar {
    fn saw(&mut self, start: usize, len: usize) {
        *self = match (*self, u16::try_from(start), u16::try_from(len)) {
            (LengthVar::Absent, Ok(start), Ok(len)) => LengthVar::Once { start, len },
            _ => LengthVar::Repeated,
        };
    }
}

/// Checks `block` against rules V1 to V10 (and the optional pair and magic rules) in one pass,
/// returning what the walk found (pairs, where the var named `length_key` is). Offsets in
/// errors count from the header's first byte.
#[inline]
pub(crate) fn validate(
    block: &[u8],
    rules: &VarsRules,
    length_key: &[u8],
) -> Result<Walked, Error> {
    if rules.max_vars.is_none() && rules.magic == MagicPolicy::Allow {
        if let Some(walked) = walk(block, length_key) {
            return Ok(walked);
        }
    }
    validate_strict(block, rules, length_key)
}

/// The hot path: the grammar alone, one bounds check per length, `None` on any fault (the
/// strict walk then says which). Each pair's position depends on the lengths before it, so
/// this chain of loads is what bounds the speed of any parser of this format.
#[inline]
fn walk(block: &[u8], length_key: &[u8]) -> Option<Walked> {
    let mut rest = block;
    let mut walked = Walked::default();
    while let Some((&klen, after)) = rest.split_first_chunk::<2>() {
        let klen = usize::from(u16::from_le_bytes(klen));
        if klen == 0 {
            return None;
        }
        let (key, after) = after.split_at_checked(klen)?;
        let (&vlen, after) = after.split_first_chunk::<2>()?;
        let (value, after) = after.split_at_checked(usize::from(u16::from_le_bytes(vlen)))?;
        if klen == length_key.len() && key == length_key {
            walked
                .length
                .saw(block.len() - value.len() - after.len(), value.len());
        }
        walked.count += 1;
        rest = after;
    }
    rest.is_empty().then_some(walked)
}

/// The walk that names the fault: rules V1 to V5 with their offsets, the pair limit and the
/// magic policy. It is the only walk when a pair limit or magic policy is set, and otherwise
/// runs only for a bad block.
#[inline(never)]
fn validate_strict(block: &[u8], rules: &VarsRules, length_key: &[u8]) -> Result<Walked, Error> {
    let (mut pos, mut walked) = (0, Walked::default());
    while pos < block.len() {
        let at = pos + HEADER_LEN;
        if rules.max_vars == Some(walked.count) {
            return Err(Error::TooManyVars {
                max: walked.count,
                offset: at,
            });
        }
        let key = length_prefixed(block, pos, Field::Key)?;
        if key.is_empty() {
            return Err(Error::EmptyKey { offset: at });
        }
        let value = length_prefixed(block, pos + 2 + key.len(), Field::Value)?;
        if !rules.magic.accepts(key) {
            return Err(Error::MagicVar { offset: at });
        }
        if key == length_key {
            walked.length.saw(pos + 4 + key.len(), value.len());
        }
        walked.count += 1;
        pos += 4 + key.len() + value.len();
    }
    Ok(walked)
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
    #[inline]
    pub(crate) fn from_validated(block: &'a [u8], count: usize) -> Vars<'a> {
        Vars { block, count }
    }

    pub(crate) fn parse_with(block: &'a [u8], rules: &VarsRules) -> Result<Vars<'a>, Error> {
        let walked = validate(block, rules, b"")?;
        Ok(Vars::from_validated(block, walked.count))
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
    #[inline]
    pub fn iter(&self) -> VarsIter<'a> {
        VarsIter {
            block: self.block,
            rest: self.block,
        }
    }

    /// The value of the **last** pair with this exact key (rule V10), as uWSGI and WSGI
    /// environs see it.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        self.get_all(key).last()
    }

    /// The last value of each of `keys`, found in one walk over the block: what a server
    /// does to read the few vars it routes on (`REQUEST_METHOD`, `PATH_INFO`, …).
    ///
    /// ```
    /// use uwsgi_codec::Vars;
    ///
    /// let vars = Vars::parse(b"\x01\x00A\x01\x001\x01\x00B\x00\x00\x01\x00A\x01\x002")?;
    /// let [a, b, c] = vars.get_many([b"A", b"B", b"C"]);
    /// assert_eq!((a, b, c), (Some(&b"2"[..]), Some(&b""[..]), None));
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    pub fn get_many<const N: usize>(&self, keys: [&[u8]; N]) -> [Option<&'a [u8]>; N] {
        let mut found = [None; N];
        for (key, value) in self.iter() {
            for (wanted, slot) in keys.iter().zip(found.iter_mut()) {
                if *wanted == key {
                    *slot = Some(value);
                }
            }
        }
        found
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
        core::iter::from_fn(move || iter.next_at().map(|(at, k, v)| (at + HEADER_LEN, k, v)))
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
    /// What follows the last pair read.
    rest: &'a [u8],
}

impl<'a> VarsIter<'a> {
    /// The next pair with its position in the block.
    #[inline]
    fn next_at(&mut self) -> Option<(usize, &'a [u8], &'a [u8])> {
        let start = self.block.len() - self.rest.len();
        let (key, value, rest) = split_pair(self.rest)?;
        self.rest = rest;
        Some((start, key, value))
    }
}

impl<'a> Iterator for VarsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_at().map(|(_, key, value)| (key, value))
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
    fn strict_walk_finds_the_length_var_too() {
        let block = [kv(b"CONTENT_LENGTH", b"5"), kv(b"X", b"")].concat();
        let rules = VarsRules {
            max_vars: Some(8),
            ..VarsRules::default()
        };
        let walked = validate(&block, &rules, b"CONTENT_LENGTH").ok();
        let expected = Walked {
            count: 2,
            length: LengthVar::Once { start: 18, len: 1 },
        };
        assert_eq!(walked, Some(expected));
        assert_eq!(
            walked,
            validate(&block, &VarsRules::default(), b"CONTENT_LENGTH").ok()
        );
        let twice = [kv(b"CONTENT_LENGTH", b"5"), kv(b"CONTENT_LENGTH", b"5")].concat();
        let walked = validate(&twice, &rules, b"CONTENT_LENGTH").ok();
        assert_eq!(walked.map(|w| w.length), Some(LengthVar::Repeated));
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
