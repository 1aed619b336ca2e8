//! [`VarsIter`]: the pairs of a validated block, read back from its index, then by walking.

use crate::header::HEADER_LEN;

/// The pairs of a validated vars block, in wire order, borrowing the [`Vars`](super::Vars)
/// for its index (`'v`) and yielding slices of the block (`'a`). Cannot fail.
#[derive(Debug, Clone)]
pub struct VarsIter<'v, 'a> {
    /// The block's length, for offsets.
    len: usize,
    /// What follows the last pair read.
    rest: &'a [u8],
    /// The key and value lengths of the indexed pairs not read yet.
    lens: Lens<'v>,
    /// Pairs after the indexed ones, not read yet: found by walking.
    walked: usize,
}

/// The key and value lengths of indexed pairs, side by side.
type Lens<'v> = core::iter::Zip<core::slice::Iter<'v, u16>, core::slice::Iter<'v, u16>>;

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
fn split_indexed(bytes: &[u8], klen: u16, vlen: u16) -> Option<(&[u8], &[u8], &[u8])> {
    let (klen, vlen) = (usize::from(klen), usize::from(vlen));
    let (pair, rest) = bytes.split_at_checked(4 + klen + vlen)?;
    Some((pair.get(2..2 + klen)?, pair.get(4 + klen..)?, rest))
}

impl<'v, 'a> VarsIter<'v, 'a> {
    /// The `count` pairs of `block`, the first ones read by their lengths in `lens`.
    #[inline]
    pub(super) fn new(
        block: &'a [u8],
        (klens, vlens): (&'v [u16], &'v [u16]),
        count: usize,
    ) -> Self {
        VarsIter {
            len: block.len(),
            rest: block,
            lens: klens.iter().zip(vlens),
            walked: count.saturating_sub(klens.len()),
        }
    }

    /// The next pair whose key is `key`: the offset of the pair and the value.
    ///
    /// Indexed pairs whose key has another length are skipped by their lengths alone, adding
    /// up where the next one starts without touching the block: `get`, `get_all` and
    /// `content_length` run this over all the pairs.
    #[inline]
    pub(super) fn next_named(&mut self, key: &[u8]) -> Option<(usize, &'a [u8])> {
        let mut skip = 0;
        for (&klen, &vlen) in &mut self.lens {
            let (klen, vlen) = (usize::from(klen), usize::from(vlen));
            if klen != key.len() {
                skip += 4 + klen + vlen;
                continue;
            }
            let here = self.rest.get(skip..)?;
            let (pair, rest) = here.split_at_checked(4 + klen + vlen)?;
            let at = HEADER_LEN + self.len - here.len();
            (self.rest, skip) = (rest, 0);
            // The first byte tells most same-length keys apart without a full compare.
            let candidate = pair.get(2..2 + klen)?;
            if candidate.first() == key.first() && candidate == key {
                return Some((at, pair.get(4 + klen..)?));
            }
        }
        self.rest = self.rest.get(skip..)?;
        while self.walked > 0 {
            self.walked -= 1;
            let at = HEADER_LEN + self.len - self.rest.len();
            let (k, value, rest) = split_walked(self.rest)?;
            self.rest = rest;
            if k == key {
                return Some((at, value));
            }
        }
        None
    }

    /// The next pair with the offset of its key length from the header's first byte.
    #[inline]
    pub(super) fn next_at(&mut self) -> Option<(usize, &'a [u8], &'a [u8])> {
        let at = HEADER_LEN + self.len - self.rest.len();
        let (key, value) = self.next_pair()?;
        Some((at, key, value))
    }

    /// The next pair: from the index while it lasts, then by walking on.
    #[inline(always)]
    fn next_pair(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let (key, value, rest) = match self.lens.next() {
            Some((&klen, &vlen)) => split_indexed(self.rest, klen, vlen)?,
            None if self.walked > 0 => {
                self.walked -= 1;
                split_walked(self.rest)?
            }
            None => return None,
        };
        self.rest = rest;
        Some((key, value))
    }
}

impl<'a> Iterator for VarsIter<'_, 'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_pair()
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
        for (&klen, &vlen) in self.lens {
            let Some((key, value, after)) = split_indexed(rest, klen, vlen) else {
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
