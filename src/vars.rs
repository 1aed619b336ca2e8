//! [`Vars`]: a vars block ("uwsgi dictionary"), validated by one walk that also indexes it, so
//! that reading the pairs afterwards costs no second walk.
//!
//! Each pair's position depends on the lengths before it, so a walk of the block is a chain
//! of dependent loads, and that chain is what bounds the speed of any parser of this format.
//! The validating walk records the key and value lengths of the first [`INDEXED`] pairs; `iter`,
//! `get`, `get_many` and the body length read them back without following the chain again.

use crate::body::{CONTENT_LENGTH, length_of};
use crate::error::{Error, Field};
use crate::escape::Escaped;
use crate::header::{HEADER_LEN, MAX_DATASIZE};
use crate::magic::MagicPolicy;
use crate::wire::prefixed;

/// How many pairs of a block the validating walk remembers the place of. Real nginx requests
/// carry 15 to 40 vars; the pairs after these are found by walking on from the last one.
pub(crate) const INDEXED: usize = 32;

/// What the validating walk learned about a block: how many pairs it holds, and the key and
/// value lengths of its first [`INDEXED`] pairs (`klen | vlen << 16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    count: u32,
    lens: [u32; INDEXED],
}

impl Index {
    pub(crate) const EMPTY: Index = Index {
        count: 0,
        lens: [0; INDEXED],
    };

    /// Validates `block` and records what this index keeps, in place (rules V1 to V10 and
    /// `rules`); on an error the index says nothing of the block.
    #[inline(always)]
    pub(crate) fn validate(&mut self, block: &[u8], rules: &VarsRules) -> Result<(), Error> {
        if let Some(count) = walk(block, &mut self.lens) {
            self.count = count as u32;
            if rules.is_default() || rules.admit(&Vars::indexed(block, *self)) {
                return Ok(());
            }
        }
        self.count = 0;
        Err(fault(block, rules))
    }

    /// The lengths recorded, one entry per indexed pair.
    #[inline]
    fn lens(&self) -> &[u32] {
        let indexed = (self.count as usize).min(INDEXED);
        self.lens.get(..indexed).unwrap_or_default()
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

impl VarsRules {
    pub(crate) const DEFAULT: VarsRules = VarsRules {
        max_vars: None,
        magic: MagicPolicy::Allow,
    };

    /// Whether these are the default rules, which a valid grammar always passes.
    #[inline(always)]
    fn is_default(&self) -> bool {
        self.max_vars.is_none() && matches!(self.magic, MagicPolicy::Allow)
    }

    /// Whether a block whose grammar is valid passes the pair limit and the magic policy.
    fn admit(&self, vars: &Vars<'_>) -> bool {
        self.max_vars.is_none_or(|max| vars.len() <= max)
            && (self.magic == MagicPolicy::Allow || vars.iter().all(|(k, _)| self.magic.accepts(k)))
    }
}

/// The grammar alone, in one pass, recording the lengths of the first pairs in `lens`: the
/// number of pairs, or `None` for any fault (`fault` names it).
///
/// Two bounds checks per pair: the key must end at least 2 bytes before the block does (which
/// proves the value length readable), and the next pair must start inside the block. A value
/// that overruns the block moves `pos` past its end; the loop stops and `pos == len` fails.
#[inline(always)]
fn walk(block: &[u8], lens: &mut [u32]) -> Option<usize> {
    // A packet's block is at most 65535 bytes: knowing it, the compiler drops the overflow
    // checks of the offset arithmetic. A longer bare block takes the same walk without it.
    if block.len() <= MAX_DATASIZE {
        walk_block(block, lens)
    } else {
        walk_block(block, lens)
    }
}

#[inline(always)]
fn walk_block(block: &[u8], lens: &mut [u32]) -> Option<usize> {
    let mut pos = 0;
    let mut indexed = 0;
    for slot in lens.iter_mut() {
        let Some((klen, vlen, next)) = pair_lengths(block, pos) else {
            break;
        };
        *slot = klen | vlen << 16;
        indexed += 1;
        pos = next;
    }
    let mut count = indexed;
    if indexed == lens.len() {
        while let Some((_, _, next)) = pair_lengths(block, pos) {
            count += 1;
            pos = next;
        }
    }
    (pos == block.len()).then_some(count)
}

/// The key and value lengths of the pair at `pos` and where the next one starts; `None` at
/// the end of the block or for a pair that cannot be read (an empty key, lengths past the end).
#[inline(always)]
fn pair_lengths(block: &[u8], pos: usize) -> Option<(u32, u32, usize)> {
    let &[k0, k1] = block.get(pos..pos + 2)? else {
        return None;
    };
    let klen = u16::from_le_bytes([k0, k1]);
    let value_at = pos + 4 + usize::from(klen);
    let &[v0, v1] = block.get(value_at - 2..value_at)? else {
        return None;
    };
    let vlen = u16::from_le_bytes([v0, v1]);
    (klen != 0).then_some((
        u32::from(klen),
        u32::from(vlen),
        value_at + usize::from(vlen),
    ))
}

/// The first fault of a block that `walk` or the rules refused: rules V1 to V5 with their
/// offsets (nom's strict parsers), the pair limit and the magic policy, in wire order.
#[cold]
#[inline(never)]
fn fault(block: &[u8], rules: &VarsRules) -> Error {
    let mut input = block;
    let mut count = 0;
    while !input.is_empty() {
        let at = HEADER_LEN + block.len() - input.len();
        if rules.max_vars == Some(count) {
            return Error::TooManyVars {
                max: count,
                offset: at,
            };
        }
        let (rest, key) = match prefixed(Field::Key, input) {
            Ok(field) => field,
            Err(fault) => return fault.into_error(block),
        };
        if key.is_empty() {
            return Error::EmptyKey { offset: at };
        }
        let (rest, _) = match prefixed(Field::Value, rest) {
            Ok(field) => field,
            Err(fault) => return fault.into_error(block),
        };
        if !rules.magic.accepts(key) {
            return Error::MagicVar { offset: at };
        }
        count += 1;
        input = rest;
    }
    // Unreachable for a block that `walk` and the rules refused; an empty key is the one
    // fault `walk` can see that the loop above names in every case.
    Error::EmptyKey {
        offset: HEADER_LEN + block.len(),
    }
}

/// A validated vars block: key/value pairs in wire order, duplicates kept, bytes as sent.
///
/// Validation happened once, when the block was parsed; reading it cannot fail. The vars of a
/// parsed packet ([`PacketRef::vars`](crate::PacketRef::vars)) come with the index that the
/// validating walk made, so reading them does not walk the block again.
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
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    block: &'a [u8],
    /// What the validating walk learned: the pair count and the first pairs' lengths.
    index: Index,
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
        Vars::validate(block, &VarsRules::DEFAULT)
    }

    /// Checks `block` against rules V1 to V10 and `rules` (pair limit, magic policy) in one
    /// walk that also indexes it. Offsets in errors count from the header's first byte.
    #[inline(always)]
    pub(crate) fn validate(block: &'a [u8], rules: &VarsRules) -> Result<Vars<'a>, Error> {
        let mut vars = Vars::unvalidated(block);
        vars.validate_into(rules)?;
        Ok(vars)
    }

    /// Validates the block into `self` in place, as `validate` does: no copy of the index.
    #[inline(always)]
    pub(crate) fn validate_into(&mut self, rules: &VarsRules) -> Result<(), Error> {
        self.index.validate(self.block, rules)
    }

    /// The block, not validated yet: what `validate_into` fills in place.
    #[inline(always)]
    pub(crate) fn unvalidated(block: &'a [u8]) -> Vars<'a> {
        Vars {
            block,
            index: Index::EMPTY,
        }
    }

    /// The vars of a block that `validate` accepted into `index`.
    #[inline]
    pub(crate) fn indexed(block: &'a [u8], index: Index) -> Vars<'a> {
        Vars { block, index }
    }

    /// The index that the validating walk made.
    #[inline]
    pub(crate) fn index(&self) -> Index {
        self.index
    }

    /// The number of pairs, duplicates included.
    #[inline]
    pub fn len(&self) -> usize {
        self.index.count as usize
    }

    /// Whether the block has no pairs (datasize 0 is valid: rule V7).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.index.count == 0
    }

    /// The raw block bytes, exactly as received.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// Every pair, in wire order.
    #[inline]
    pub fn iter(&self) -> VarsIter<'_, 'a> {
        let lens = self.index.lens();
        VarsIter {
            len: self.block.len(),
            rest: self.block,
            lens: lens.iter(),
            walked: self.len() - lens.len(),
        }
    }

    /// Every pair, in wire order, found by walking the block without the index: an iterator
    /// that owns what it needs.
    pub(crate) fn into_walk(self) -> VarsIter<'static, 'a> {
        VarsIter {
            len: self.block.len(),
            rest: self.block,
            lens: [].iter(),
            walked: self.len(),
        }
    }

    /// The value of the **last** pair with this exact key (rule V10), as uWSGI and WSGI
    /// environs see it.
    #[inline]
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        self.get_all(key).last()
    }

    /// The last value of each of `keys`, found in one pass over the pairs: what a server
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
    pub fn get_all<K: AsRef<[u8]>>(
        &self,
        key: K,
    ) -> impl Iterator<Item = &'a [u8]> + use<'_, 'a, K> {
        self.named(key).map(|(_, value)| value)
    }

    /// The pairs with this exact key, as (offset of the pair, value), in wire order. The
    /// index gives each key's length: pairs with a key of another length are not compared.
    #[inline]
    fn named<K: AsRef<[u8]>>(
        &self,
        key: K,
    ) -> impl Iterator<Item = (usize, &'a [u8])> + use<'_, 'a, K> {
        let mut iter = self.iter();
        core::iter::from_fn(move || iter.next_named(key.as_ref()))
    }

    /// The last value of `key` as UTF-8: `None` if absent, `Some(Err)` if not UTF-8.
    ///
    /// Keys and values are bytes (uWSGI reads them as latin-1); this never forces them.
    pub fn get_utf8(&self, key: impl AsRef<[u8]>) -> Option<Result<&'a str, core::str::Utf8Error>> {
        self.get(key).map(core::str::from_utf8)
    }

    /// Every pair with the offset of its key length, counted from the header's first byte.
    pub fn iter_with_offsets(
        &self,
    ) -> impl Iterator<Item = (usize, &'a [u8], &'a [u8])> + use<'_, 'a> {
        let mut iter = self.iter();
        core::iter::from_fn(move || iter.next_at())
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
        self.length_var(CONTENT_LENGTH)
    }

    /// The body length given by every var named `key`, by the rules of `CONTENT_LENGTH`
    /// (used for the cache's `size`).
    ///
    /// # Errors
    ///
    /// As [`Vars::content_length`].
    pub fn length_var(&self, key: &[u8]) -> Result<u64, Error> {
        length_of(self.named(key), key.len())
    }
}

impl PartialEq for Vars<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.block == other.block
    }
}

impl Eq for Vars<'_> {}

impl<'v, 'a> IntoIterator for &'v Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = VarsIter<'v, 'a>;
    #[inline]
    fn into_iter(self) -> VarsIter<'v, 'a> {
        self.iter()
    }
}

impl core::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (Escaped(k), Escaped(v))))
            .finish()
    }
}

/// The pairs of a validated vars block, in wire order, borrowing the [`Vars`] for its index
/// (`'v`) and yielding slices of the block (`'a`). Cannot fail.
#[derive(Debug, Clone)]
pub struct VarsIter<'v, 'a> {
    /// The block's length, for offsets.
    len: usize,
    /// What follows the last pair read.
    rest: &'a [u8],
    /// The lengths of the indexed pairs not read yet.
    lens: core::slice::Iter<'v, u32>,
    /// Pairs after the indexed ones, not read yet: found by walking.
    walked: usize,
}

/// Splits the pair at the start of `bytes` into key, value and what follows, by its lengths.
#[inline(always)]
fn split_walked(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (&klen, rest) = bytes.split_first_chunk::<2>()?;
    let (key, rest) = rest.split_at_checked(usize::from(u16::from_le_bytes(klen)))?;
    let (&vlen, rest) = rest.split_first_chunk::<2>()?;
    let (value, rest) = rest.split_at_checked(usize::from(u16::from_le_bytes(vlen)))?;
    Some((key, value, rest))
}

/// Splits the pair at the start of `bytes` into key, value and what follows, by its index
/// entry: one bounds check, no dependent load.
#[inline(always)]
fn split_indexed(bytes: &[u8], lens: u32) -> Option<(&[u8], &[u8], &[u8])> {
    let (klen, vlen) = ((lens & 0xffff) as usize, (lens >> 16) as usize);
    let (pair, rest) = bytes.split_at_checked(4 + klen + vlen)?;
    Some((pair.get(2..2 + klen)?, pair.get(4 + klen..)?, rest))
}

impl<'a> VarsIter<'_, 'a> {
    /// The next pair whose key is `key`: the offset of the pair and the value.
    #[inline]
    fn next_named(&mut self, key: &[u8]) -> Option<(usize, &'a [u8])> {
        loop {
            let at = HEADER_LEN + self.len - self.rest.len();
            match self.lens.next() {
                Some(&lens) => {
                    let klen = (lens & 0xffff) as usize;
                    let (pair, rest) = self
                        .rest
                        .split_at_checked(4 + klen + (lens >> 16) as usize)?;
                    self.rest = rest;
                    if klen == key.len() && pair.get(2..2 + klen) == Some(key) {
                        return Some((at, pair.get(4 + klen..)?));
                    }
                }
                None if self.walked > 0 => {
                    self.walked -= 1;
                    let (k, value, rest) = split_walked(self.rest)?;
                    self.rest = rest;
                    if k == key {
                        return Some((at, value));
                    }
                }
                None => return None,
            }
        }
    }

    /// The next pair with the offset of its key length from the header's first byte.
    #[inline]
    fn next_at(&mut self) -> Option<(usize, &'a [u8], &'a [u8])> {
        let at = HEADER_LEN + self.len - self.rest.len();
        let (key, value, rest) = match self.lens.next() {
            Some(&lens) => split_indexed(self.rest, lens)?,
            None if self.walked > 0 => {
                self.walked -= 1;
                split_walked(self.rest)?
            }
            None => return None,
        };
        self.rest = rest;
        Some((at, key, value))
    }
}

impl<'a> Iterator for VarsIter<'_, 'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (key, value, rest) = match self.lens.next() {
            Some(&lens) => split_indexed(self.rest, lens)?,
            None if self.walked > 0 => {
                self.walked -= 1;
                split_walked(self.rest)?
            }
            None => return None,
        };
        self.rest = rest;
        Some((key, value))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.lens.len() + self.walked;
        (left, Some(left))
    }

    /// Two plain loops, indexed pairs then walked ones: what `for_each`, `last`, `count`
    /// and `filter` run on.
    #[inline]
    fn fold<B, F: FnMut(B, Self::Item) -> B>(self, init: B, mut f: F) -> B {
        let mut acc = init;
        let mut rest = self.rest;
        for &lens in self.lens {
            let Some((key, value, after)) = split_indexed(rest, lens) else {
                return acc;
            };
            rest = after;
            acc = f(acc, (key, value));
        }
        for _ in 0..self.walked {
            let Some((key, value, after)) = split_walked(rest) else {
                return acc;
            };
            rest = after;
            acc = f(acc, (key, value));
        }
        acc
    }
}

impl ExactSizeIterator for VarsIter<'_, '_> {}

impl core::iter::FusedIterator for VarsIter<'_, '_> {}

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

    fn indexed_vars(block: &[u8], rules: &VarsRules) -> Result<Vec<(Vec<u8>, Vec<u8>)>, Error> {
        let vars = Vars::validate(block, rules)?;
        Ok(vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
    }

    #[test]
    fn one_trailing_byte_is_a_truncated_key_length() {
        let mut block = kv(b"A", b"b");
        block.push(0);
        assert_eq!(
            Vars::parse(&block),
            Err(Error::TruncatedLength {
                field: Field::Key,
                offset: 10
            })
        );
    }

    #[test]
    fn key_ending_at_block_end_lacks_its_value_length() {
        assert_eq!(
            Vars::parse(b"\x01\x00K"),
            Err(Error::TruncatedLength {
                field: Field::Value,
                offset: 7
            })
        );
    }

    #[test]
    fn pairs_past_the_index_are_walked_and_read_in_order() {
        let names: Vec<Vec<u8>> = (0..INDEXED + 9)
            .map(|i| alloc::format!("K{i}").into_bytes())
            .collect();
        let block: Vec<u8> = names.iter().flat_map(|k| kv(k, k)).collect();
        let pairs = indexed_vars(&block, &VarsRules::DEFAULT).unwrap_or_default();
        assert_eq!(pairs.len(), INDEXED + 9);
        for (name, (k, v)) in names.iter().zip(&pairs) {
            assert_eq!((k, v), (name, name));
        }
        let Ok(vars) = Vars::parse(&block) else {
            panic!("a valid block")
        };
        assert_eq!(vars.get("K40"), Some(&b"K40"[..]));
        assert_eq!(vars.iter().count(), INDEXED + 9);
        assert_eq!(vars.iter().len(), INDEXED + 9);
        let indexed: Vec<_> = vars.iter_with_offsets().collect();
        let mut walk = vars.into_walk();
        let walked: Vec<_> = core::iter::from_fn(|| walk.next_at()).collect();
        assert_eq!(indexed, walked);
    }

    #[test]
    fn pair_limit_counts_the_first_excess_pair() {
        let block = [kv(b"A", b""), kv(b"B", b""), kv(b"C", b"")].concat();
        let rules = |max| VarsRules {
            max_vars: Some(max),
            ..VarsRules::DEFAULT
        };
        assert_eq!(
            indexed_vars(&block, &rules(2)),
            Err(Error::TooManyVars { max: 2, offset: 14 })
        );
        assert_eq!(indexed_vars(&block, &rules(3)).map(|v| v.len()), Ok(3));
    }

    #[test]
    fn refused_magic_points_at_its_pair() {
        let block = [kv(b"PATH_INFO", b"/"), kv(b"UWSGI_FILE", b"exec://x")].concat();
        let rules = VarsRules {
            magic: MagicPolicy::Refuse,
            ..VarsRules::DEFAULT
        };
        assert_eq!(
            indexed_vars(&block, &rules),
            Err(Error::MagicVar { offset: 18 })
        );
    }

    #[test]
    fn the_first_fault_in_wire_order_wins() {
        // A refused magic var before a bad length: the magic var is named.
        let mut block = [kv(b"UWSGI_FILE", b"x"), kv(b"A", b"")].concat();
        block.push(7);
        let rules = VarsRules {
            magic: MagicPolicy::Refuse,
            ..VarsRules::DEFAULT
        };
        assert_eq!(
            indexed_vars(&block, &rules),
            Err(Error::MagicVar { offset: 4 })
        );
    }

    #[test]
    fn the_body_length_reads_the_framing_var_once_twice_or_not_at_all() {
        let once = [kv(b"A", b""), kv(b"CONTENT_LENGTH", b"12"), kv(b"B", b"")].concat();
        assert_eq!(Vars::parse(&once).and_then(|v| v.content_length()), Ok(12));
        let twice = [kv(b"CONTENT_LENGTH", b"3"), kv(b"CONTENT_LENGTH", b"03")].concat();
        assert_eq!(
            Vars::parse(&twice).and_then(|v| v.content_length()),
            Err(Error::ConflictingContentLength {
                first: 3,
                second: 3,
                offset: 23
            })
        );
        let none = kv(b"CONTENT_TYPE", b"x");
        assert_eq!(Vars::parse(&none).and_then(|v| v.content_length()), Ok(0));
        let size = [kv(b"size", b"9"), kv(b"CONTENT_LENGTH", b"4")].concat();
        assert_eq!(
            Vars::parse(&size).and_then(|v| v.length_var(b"size")),
            Ok(9)
        );
        let bad = kv(b"CONTENT_LENGTH", b"4x");
        assert_eq!(
            Vars::parse(&bad).and_then(|v| v.content_length()),
            Err(Error::InvalidContentLength {
                offset: 23,
                reason: crate::ContentLengthFault::NotDigit
            })
        );
    }

    #[test]
    fn offsets_follow_the_pairs() {
        let block = [kv(b"A", b"xy"), kv(b"B", b"")].concat();
        let offsets: Vec<usize> = Vars::parse(&block)
            .map(|v| v.iter_with_offsets().map(|(o, _, _)| o).collect())
            .unwrap_or_default();
        assert_eq!(offsets, [4, 11]);
    }
}
