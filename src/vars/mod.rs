//! [`Vars`]: a vars block ("uwsgi dictionary"), validated by one walk that also indexes it, so
//! that reading the pairs afterwards costs no second walk.
//!
//! Each pair's position depends on the lengths before it, so a walk of the block is a chain
//! of dependent loads, and that chain is what bounds the speed of any parser of this format.
//! The validating walk records the key and value lengths of the first [`INDEXED`] pairs; `iter`,
//! `get`, `get_many` and the body length read them back without following the chain again.

mod index;
mod iter;
#[cfg(test)]
mod tests;

use crate::body::{CONTENT_LENGTH, length_of};
use crate::error::Error;
use crate::escape::Escaped;

#[cfg(feature = "codec")]
pub(crate) use index::Named;
pub(crate) use index::{Index, Note, VarsRules, walk_into};
pub use iter::VarsIter;

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
        VarsIter::new(self.block, self.index.lens(), self.len())
    }

    /// Every pair, in wire order, found by walking the block without the index: an iterator
    /// that owns what it needs.
    pub(crate) fn into_walk(self) -> VarsIter<'static, 'a> {
        VarsIter::new(self.block, (&[], &[]), self.len())
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
        last_of_each(self.iter(), keys)
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

/// The value of the last of `pairs` named by each of `keys`, in one pass: `get_many` of
/// [`Vars`] and of [`PacketPairs`](crate::PacketPairs).
#[inline]
pub(crate) fn last_of_each<'a, const N: usize>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    keys: [&[u8]; N],
) -> [Option<&'a [u8]>; N] {
    let mut found = [None; N];
    for (key, value) in pairs {
        for (wanted, slot) in keys.iter().zip(found.iter_mut()) {
            if *wanted == key {
                *slot = Some(value);
            }
        }
    }
    found
}
