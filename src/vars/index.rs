//! The validating walks: one pass over a vars block that checks its grammar and the rules and
//! records where its first pairs are ([`Index`]), or writes every pair into the caller's
//! storage ([`walk_into`]); [`fault`] names the first fault in wire order when a walk refuses a
//! block.

use super::Vars;
use crate::EMPTY_PAIR;
#[cfg(feature = "codec")]
use crate::body::length_of;
use crate::builder::Pair;
use crate::error::{Error, Field};
use crate::header::HEADER_LEN;
use crate::magic::MagicPolicy;
use crate::wire::prefixed;

/// How many pairs of a block the validating walk remembers the place of. Real nginx requests
/// carry 15 to 40 vars; the pairs after these are found by walking on from the last one.
pub(crate) const INDEXED: usize = 32;

/// What the validating walk learned about a block: how many pairs it holds, and the key and
/// value lengths of its first [`INDEXED`] pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub(super) count: u32,
    /// Key lengths, then value lengths, of the indexed pairs: two arrays, so that the walk
    /// stores each length as it reads it.
    klens: [u16; INDEXED],
    vlens: [u16; INDEXED],
}

impl Index {
    pub(crate) const EMPTY: Index = Index {
        count: 0,
        klens: [0; INDEXED],
        vlens: [0; INDEXED],
    };

    /// Validates `block` and records what this index keeps, in place (rules V1 to V10 and
    /// `rules`); on an error the index says nothing of the block.
    #[inline(always)]
    pub(crate) fn validate(&mut self, block: &[u8], rules: &VarsRules) -> Result<(), Error> {
        self.validate_noting(block, rules, None)
    }

    /// As [`validate`](Self::validate), counting in `named` the pairs whose key could be its
    /// key (that key's length and first byte) and noting where the last starts: the decoder's
    /// walk, which learns the body length on the way.
    #[inline(always)]
    pub(crate) fn validate_noting(
        &mut self,
        block: &[u8],
        rules: &VarsRules,
        named: Option<&mut Named>,
    ) -> Result<(), Error> {
        if let Some(count) = walk(block, &mut self.klens, &mut self.vlens, named) {
            self.count = count as u32;
            let admitted = || {
                let vars = Vars::indexed(block, *self);
                rules.admit(vars.len(), vars.iter().map(|(key, _)| key))
            };
            if rules.is_default() || admitted() {
                return Ok(());
            }
        }
        self.count = 0;
        Err(fault(block, rules.max_vars, &rules.magic))
    }

    /// The pairs of `block`, which this index was made for, read from the index where it is.
    #[inline]
    pub(crate) fn iter<'v, 'a>(&'v self, block: &'a [u8]) -> super::VarsIter<'v, 'a> {
        super::VarsIter::new(block, self.lens(), self.count as usize)
    }

    /// The key and value lengths recorded, one entry per indexed pair.
    #[inline]
    pub(super) fn lens(&self) -> (&[u16], &[u16]) {
        let indexed = (self.count as usize).min(INDEXED);
        let klens = self.klens.get(..indexed).unwrap_or_default();
        let vlens = self.vlens.get(..indexed).unwrap_or_default();
        (klens, vlens)
    }
}

/// What a vars block is checked against besides its grammar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VarsRules {
    /// The most pairs accepted; `None` for no limit (the default, rule L2).
    max_vars: Option<usize>,
    /// What to do with `UWSGI_*` keys (rule M2).
    magic: MagicPolicy,
    /// Whether either rule can refuse a block whose grammar is valid: false for the defaults,
    /// so that a walk tests one flag rather than both rules (set by [`new`](Self::new)).
    checked: bool,
}

impl VarsRules {
    pub(crate) const DEFAULT: VarsRules = VarsRules::new(None, MagicPolicy::Allow);

    /// Rules with this pair limit and magic policy. The fields are private, and every way to
    /// change them goes through here, so `checked` always agrees with the two rules.
    pub(crate) const fn new(max_vars: Option<usize>, magic: MagicPolicy) -> VarsRules {
        let checked = max_vars.is_some() || !matches!(magic, MagicPolicy::Allow);
        VarsRules {
            max_vars,
            magic,
            checked,
        }
    }

    /// The pair limit.
    pub(crate) fn max_vars(&self) -> Option<usize> {
        self.max_vars
    }

    /// The magic policy.
    pub(crate) fn magic(&self) -> &MagicPolicy {
        &self.magic
    }

    /// Rules with another pair limit.
    pub(crate) fn with_max_vars(self, max_vars: Option<usize>) -> VarsRules {
        VarsRules::new(max_vars, self.magic)
    }

    /// Rules with another magic policy.
    pub(crate) fn with_magic(self, magic: MagicPolicy) -> VarsRules {
        VarsRules::new(self.max_vars, magic)
    }

    /// Whether these are the default rules, which a valid grammar always passes.
    #[inline(always)]
    pub(crate) fn is_default(&self) -> bool {
        !self.checked
    }

    /// Whether a block whose grammar is valid, of `count` pairs with these keys, passes the
    /// pair limit and the magic policy. Out of line: a caller that loops over packets would
    /// otherwise keep every rule in a register or on the stack across its loop, defaults
    /// included.
    #[inline(never)]
    fn admit<'k>(&self, count: usize, mut keys: impl Iterator<Item = &'k [u8]>) -> bool {
        self.max_vars.is_none_or(|max| count <= max)
            && (self.magic == MagicPolicy::Allow || keys.all(|key| self.magic.accepts(key)))
    }
}

/// Validates `block` against the grammar and `rules` in one pass that writes each pair into
/// `out`, as httparse fills its headers: the number of pairs written. A block with more pairs
/// than `out` holds is refused with `TooManyVars { max: out.len() }`, as a pair limit would
/// refuse it; the first fault in wire order wins. On an error `out` holds no pair of the block.
#[inline(always)]
pub(crate) fn walk_into<'a>(
    block: &'a [u8],
    out: &mut [Pair<'a>],
    rules: &VarsRules,
    note: &mut impl Note,
) -> Result<usize, Error> {
    if let Some(count) = walk_pairs(block, out, note) {
        let keys = || out.iter().take(count).map(|&(key, _)| key);
        if rules.is_default() || rules.admit(count, keys()) {
            return Ok(count);
        }
    }
    Err(refuse(block, out, rules))
}

/// What [`walk_into`] notes of each pair besides writing it: its key and its place in the
/// storage, shown as the walk reaches the key (before the value is checked; the notes of a
/// block that fails are never read). Nothing for `parse_pairs` (`()`, which compiles away);
/// the keys that could name the body length, for the server codec.
pub(crate) trait Note {
    fn note(&mut self, key: &[u8], index: usize);
}

impl Note for () {
    #[inline(always)]
    fn note(&mut self, _: &[u8], _: usize) {}
}

/// The error for a block that [`walk_into`] refused, its pairs wiped from `out` first. Out of
/// line as a whole, so that nothing of it is computed on the way to a valid block.
#[cold]
#[inline(never)]
fn refuse(block: &[u8], out: &mut [Pair<'_>], rules: &VarsRules) -> Error {
    // A pair takes 5 bytes at least, so the walk wrote at most `len / 5` slots: wiped, so that
    // no pair of a refused block stays where the caller could read it.
    for slot in out.iter_mut().take(block.len() / 5) {
        *slot = EMPTY_PAIR;
    }
    let limit = rules.max_vars.map_or(out.len(), |max| max.min(out.len()));
    fault(block, Some(limit), &rules.magic)
}

/// The grammar alone, writing every pair into `out`: the number of pairs, or `None` for a
/// fault or a block with more pairs than `out` holds. The grammar of [`walk`], with a slot
/// for each pair in place of its lengths.
#[inline(always)]
fn walk_pairs<'a>(block: &'a [u8], out: &mut [Pair<'a>], note: &mut impl Note) -> Option<usize> {
    // The walk is a chain of dependent loads (where a pair starts depends on every length
    // before it), and that chain is its cost. The state is the previous value: `rest` starts
    // with it and `skip` is its length. Each length is then loaded from the sum of two
    // registers, which the load computes itself, so no add waits between one load and the
    // next: 11 % less time a packet (`ratios`, 68 to 60 ns on `pipelined`) than the walk that
    // kept where the next pair starts, for 3 % fewer instructions.
    let mut rest = block;
    let mut skip = 0;
    let mut count = 0;
    // Driven by the block rather than by the slots: a loop over the slots made the compiler
    // work out their number up front, 8 to 11 instructions a packet that a health check feels.
    loop {
        // `skip <= rest.len()`: the value was checked to fit.
        let left = rest.len().wrapping_sub(skip);
        if left < 2 {
            // Done, unless a byte is left over: a torn key length. `left != 1` rather than
            // `left == 0`, which the compiler turns into `rest.len() == skip` and so keeps
            // both alive through the loop: 2 instructions a pair.
            return (left != 1).then_some(count);
        }
        let slot = out.get_mut(count)?;
        let at = rest.get(skip..)?;
        let &klen = at.first_chunk::<2>()?;
        let klen = usize::from(u16::from_le_bytes(klen));
        if klen == 0 {
            return None;
        }
        let (head, value_on) = at.split_at_checked(klen + 4)?;
        let key = head.get(2..klen + 2)?;
        // The key and its note come before the value length, so that the value's check is
        // the last before the next pair: the compiler carries it there in place of
        // `rest.get(skip..)`'s (the other order cost 1 instruction a pair, 4 with the codec's
        // notes).
        note.note(key, count);
        let &vlen = head.last_chunk::<2>()?;
        let vlen = usize::from(u16::from_le_bytes(vlen));
        let value = value_on.get(..vlen)?;
        *slot = (key, value);
        count += 1;
        (rest, skip) = (value_on, vlen);
    }
}

/// The grammar alone, in one pass, recording the key and value lengths of the first
/// [`INDEXED`] pairs in `klens` and `vlens`, and showing each key to `named`: the number of
/// pairs, or `None` for any fault (`fault` names it).
#[inline(always)]
fn walk(
    block: &[u8],
    klens: &mut [u16; INDEXED],
    vlens: &mut [u16; INDEXED],
    mut named: Option<&mut Named>,
) -> Option<usize> {
    // The state and the order of `walk_pairs`, for the same reasons, the lengths written
    // before the value's check too, so that the check leads straight into the next pair (the
    // lengths and notes of a refused block are never read). Against the walk by offsets that
    // this replaced: 10 % less time a frame through the server codec, 16 % for `PacketRef`
    // parse + visit (`ratios`), for 4 % more instructions.
    let (mut rest, mut skip, mut count) = (block, 0, 0);
    loop {
        let left = rest.len().wrapping_sub(skip);
        if left < 2 {
            return (left != 1).then_some(count);
        }
        let at = rest.get(skip..)?;
        let &klen = at.first_chunk::<2>()?;
        let klen = u16::from_le_bytes(klen);
        if klen == 0 {
            return None;
        }
        let (head, value_on) = at.split_at_checked(usize::from(klen) + 4)?;
        if let Some(named) = named.as_deref_mut() {
            named.note(block, klen, block.len() - at.len());
        }
        let &vlen = head.last_chunk::<2>()?;
        let vlen = u16::from_le_bytes(vlen);
        if let (Some(klen_slot), Some(vlen_slot)) = (klens.get_mut(count), vlens.get_mut(count)) {
            (*klen_slot, *vlen_slot) = (klen, vlen);
        }
        if usize::from(vlen) > value_on.len() {
            return None;
        }
        count += 1;
        (rest, skip) = (value_on, usize::from(vlen));
    }
}

/// The pairs whose key could be a given key (the body-length key: a key of its length and
/// first byte), noted by the validating walk as it reaches each key, so that the body length
/// is read without a pass over the pairs. The first byte tells the other 14-byte keys that
/// nginx sends (`REQUEST_METHOD`, `REQUEST_SCHEME`) from `CONTENT_LENGTH` during the walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Named {
    key_len: usize,
    first: Option<u8>,
    /// How many pairs' keys could be the key.
    count: usize,
    /// Where the last of them starts in the block.
    at: usize,
}

impl Named {
    /// Notes nothing yet, for `key`.
    #[inline(always)]
    #[cfg(feature = "codec")]
    pub(crate) fn new(key: &[u8]) -> Named {
        Named {
            key_len: key.len(),
            first: key.first().copied(),
            count: 0,
            at: 0,
        }
    }

    /// Notes the pair at `pos` of the `block` being walked, whose key is `klen` bytes long.
    #[inline(always)]
    fn note(&mut self, block: &[u8], klen: u16, pos: usize) {
        if usize::from(klen) == self.key_len && block.get(pos + 2).copied() == self.first {
            self.at = pos;
            self.count += 1;
        }
    }

    /// The body length that the pairs of the validated `block` named `key` (whose length and
    /// first byte this noted) give, with the offsets of its errors: none is 0, one is its
    /// value. `None` when more than one pair could be named `key`, for a pass over the pairs
    /// (the key's repeats, rules C2 and C3).
    #[inline]
    #[cfg(feature = "codec")]
    pub(crate) fn body_len(&self, block: &[u8], key: &[u8]) -> Option<Result<u64, Error>> {
        match self.count {
            0 => Some(Ok(0)),
            1 => {
                let (head, rest) = block.get(self.at..)?.split_at_checked(key.len() + 4)?;
                if !same_key(head.get(2..key.len() + 2)?, key) {
                    return Some(Ok(0));
                }
                let vlen = u16::from_le_bytes(*head.last_chunk::<2>()?);
                let value = rest.get(..usize::from(vlen))?;
                let named = core::iter::once((HEADER_LEN + self.at, value));
                Some(length_of(named, key.len()))
            }
            _ => None,
        }
    }
}

/// `a == b`, compared inline as two overlapping 8-byte words when they are 8 to 16 bytes long
/// (`CONTENT_LENGTH` is 14) rather than by a call to `bcmp`.
#[inline(always)]
#[cfg(feature = "codec")]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), a.last_chunk::<8>()) {
        (Some(a0), Some(a1)) if a.len() <= 16 => {
            b.first_chunk::<8>() == Some(a0) && b.last_chunk::<8>() == Some(a1)
        }
        _ => a == b,
    }
}

/// The first fault of a block that a walk or the rules refused: rules V1 to V5 with their
/// offsets (nom's strict parsers), the pair limit and the magic policy, in wire order.
#[cold]
#[inline(never)]
fn fault(block: &[u8], max_vars: Option<usize>, magic: &MagicPolicy) -> Error {
    let mut input = block;
    let mut count = 0;
    while !input.is_empty() {
        let at = HEADER_LEN + block.len() - input.len();
        if max_vars == Some(count) {
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
        if !magic.accepts(key) {
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

#[cfg(all(test, feature = "codec"))]
mod tests {
    use alloc::vec::Vec;

    use super::same_key;

    /// `same_key` is slice equality: for every pair of lengths up to 20, and for a difference
    /// at any byte of keys of any of those lengths (each of the two words, and their overlap).
    #[test]
    fn same_key_is_slice_equality() {
        let base: Vec<u8> = (b'A'..b'A' + 20).collect();
        for a_len in 0..=base.len() {
            for b_len in 0..=base.len() {
                let (a, b) = (&base[..a_len], &base[..b_len]);
                assert_eq!(same_key(a, b), a == b, "lengths {a_len} and {b_len}");
            }
        }
        for len in 1..=base.len() {
            let key = &base[..len];
            assert!(same_key(key, &base[..len]), "length {len}");
            for at in 0..len {
                let mut other = key.to_vec();
                other[at] ^= 0x20;
                assert!(!same_key(key, &other), "length {len}, byte {at}");
            }
        }
    }
}
