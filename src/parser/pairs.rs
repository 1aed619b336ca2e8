//! [`Parser::parse_pairs`]: the server's fast path. One validating walk writes every pair of a
//! vars block into storage the caller keeps, as httparse fills its headers, so reading the
//! pairs afterwards is reading a slice ([`PacketPairs`]).

use core::fmt;

use super::Parser;
use crate::array::Array;
use crate::body::length_of;
use crate::builder::Pair;
use crate::error::Error;
use crate::escape::{DebugList, Escaped};
use crate::header::{HEADER_LEN, Header, MAX_DATASIZE};
use crate::modifier::{BlockKind, BodyFraming, Modifier1, PacketKind};
use crate::packet::header_accessors;
use crate::status::Status;
use crate::triage::{PLAIN_DEFAULTS, PLAIN_REQUEST, Triage};
use crate::vars::{Note, VarsRules, last_of_each, walk_into};

/// An empty pair, to fill storage for [`Parser::parse_pairs`] with.
pub const EMPTY_PAIR: Pair<'static> = (&[], &[]);

/// The most pairs a packet's vars block can hold (65535 bytes, 5 bytes a pair at least):
/// storage of this many pairs never refuses a packet for its pair count.
pub const MAX_PAIRS: usize = MAX_DATASIZE / 5;

/// The default parser, for [`PacketPairs::parse`].
static DEFAULT: Parser = Parser::DEFAULT;

/// The default rules, which the common path of [`Parser::parse_pairs`] applies when the
/// parser's table says its rules are the defaults: as a constant, the checks they decide fold
/// away.
const DEFAULT_RULES: &VarsRules = &VarsRules::DEFAULT;

/// A packet validated by [`Parser::parse_pairs`], its pairs in the caller's storage (`'s`),
/// borrowing the packet's bytes (`'a`).
///
/// The pairs are the packet's vars in wire order, duplicates kept, bytes as sent; for a packet
/// whose block is not a vars block (an array, raw bytes) there are none, and
/// [`array`](Self::array) or [`block_bytes`](Self::block_bytes) read the block.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{EMPTY_PAIR, PacketPairs, Status};
///
/// // H(0,27,0) kv("REQUEST_METHOD","GET") kv("A","1")
/// let wire = b"\x00\x1b\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET\x01\x00A\x01\x001";
/// let mut storage = [EMPTY_PAIR; 64]; // kept and reused, one per connection
/// let Status::Complete(packet) = PacketPairs::parse(wire, &mut storage)? else {
///     unreachable!("the packet is whole")
/// };
/// assert_eq!(packet.pairs(), [(&b"REQUEST_METHOD"[..], &b"GET"[..]), (b"A", b"1")]);
/// assert_eq!(packet.get("A"), Some(&b"1"[..]));
/// assert_eq!(packet.body_len()?, 0);
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PacketPairs<'s, 'a> {
    /// The packet's wire bytes, its header first (read again from there: a field of its own
    /// cost the codec's `peek_pairs` 10 instructions a request to pack and store).
    wire: &'a [u8],
    kind: PacketKind,
    pairs: &'s [Pair<'a>],
}

impl<'s, 'a> PacketPairs<'s, 'a> {
    /// Parses the packet at the start of `buf` with the default settings, as
    /// [`Parser::parse_pairs`] does.
    ///
    /// # Errors
    ///
    /// As [`Parser::parse_pairs`].
    #[inline(always)]
    pub fn parse(
        buf: &'a [u8],
        storage: &'s mut [Pair<'a>],
    ) -> Result<Status<PacketPairs<'s, 'a>>, Error> {
        DEFAULT.parse_pairs(buf, storage)
    }

    header_accessors!(from_wire wire);

    /// The packet's exact wire bytes, header included.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.wire
    }

    /// The block bytes, whatever their kind.
    #[inline]
    pub fn block_bytes(&self) -> &'a [u8] {
        self.wire.get(HEADER_LEN..).unwrap_or_default()
    }

    /// The vars, in wire order: empty unless the block is a vars block.
    #[inline]
    pub fn pairs(&self) -> &'s [Pair<'a>] {
        self.pairs
    }

    /// The items, if the block is an array.
    #[inline]
    pub fn array(&self) -> Option<Array<'a>> {
        // Validated when the packet was parsed: this cannot fail.
        let is_array = self.kind.block == BlockKind::Array;
        is_array
            .then(|| Array::parse(self.block_bytes()).ok())
            .flatten()
    }

    /// The value of the last var named `key`, as a WSGI environ sees repeated keys.
    #[inline]
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let key = key.as_ref();
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|&(_, v)| v)
    }

    /// The value of the last var named by each of `keys`, found in one pass over the pairs,
    /// as [`Vars::get_many`](crate::Vars::get_many) finds them: what a server does to read the
    /// few vars it routes on.
    ///
    /// ```
    /// use uwsgi_codec::{EMPTY_PAIR, PacketPairs};
    ///
    /// // H(0,17,0) kv("A","1") kv("B","") kv("A","2")
    /// let wire = b"\x00\x11\x00\x00\x01\x00A\x01\x001\x01\x00B\x00\x00\x01\x00A\x01\x002";
    /// let mut storage = [EMPTY_PAIR; 8];
    /// let packet = PacketPairs::parse(wire, &mut storage)?.complete().unwrap();
    /// let [a, b, c] = packet.get_many([b"A", b"B", b"C"]);
    /// assert_eq!((a, b, c), (Some(&b"2"[..]), Some(&b""[..]), None));
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    #[inline]
    pub fn get_many<const N: usize>(&self, keys: [&[u8]; N]) -> [Option<&'a [u8]>; N] {
        last_of_each(self.pairs.iter().copied(), keys)
    }

    /// The value of the first var named `key`.
    #[inline]
    pub fn get_first(&self, key: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let key = key.as_ref();
        self.pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    /// The length of the body that follows the packet, by the rules of
    /// [`PacketRef::body_len`](crate::PacketRef::body_len), with the same errors and offsets.
    ///
    /// # Errors
    ///
    /// `InvalidContentLength` or `ConflictingContentLength`.
    pub fn body_len(&self) -> Result<u64, Error> {
        match self.kind.body {
            BodyFraming::None => Ok(0),
            BodyFraming::ContentLength => self.length_among(self.pairs.iter(), b"CONTENT_LENGTH"),
            BodyFraming::CacheSize => self.length_among(self.pairs.iter(), b"size"),
        }
    }

    /// The body length that the vars named `key` among `pairs` give. The key's length is a
    /// constant, so that each pair costs a length compare, and a key of that length a compare
    /// of `K` bytes in registers, not a call to `memcmp`.
    #[inline(always)]
    fn length_among<'p, const K: usize>(
        &self,
        pairs: impl Iterator<Item = &'p Pair<'a>>,
        key: &[u8; K],
    ) -> Result<u64, Error>
    where
        'a: 'p,
    {
        self.length_of_named(pairs.filter(|(k, _)| k.len() == K && **k == key[..]), K)
    }

    /// The body length that `named`, the pairs whose key is the body-length key of `key_len`
    /// bytes, give.
    #[inline(always)]
    fn length_of_named<'p>(
        &self,
        named: impl Iterator<Item = &'p Pair<'a>>,
        key_len: usize,
    ) -> Result<u64, Error>
    where
        'a: 'p,
    {
        // A pair's offset is where its key length sits: 2 bytes before the key.
        let start = self.wire.as_ptr() as usize;
        length_of(
            named.map(|&(k, v)| ((k.as_ptr() as usize).wrapping_sub(start + 2), v)),
            key_len,
        )
    }
}

impl Parser {
    /// Parses and validates the packet at the start of `buf`, writing the pairs of a vars block
    /// into `storage` in the same walk: the fastest way to read a request, and the one a server
    /// should use. Keep one `storage` per connection; a few dozen pairs is what nginx sends,
    /// one per header beyond its `uwsgi_params`, and [`MAX_PAIRS`] never refuses a packet.
    ///
    /// Every check of [`parse`](Self::parse) applies, with the same errors and offsets, and no
    /// pair of a block that fails validation is ever handed out: on an error, `storage` holds
    /// none of its pairs. `storage.len()` acts as a pair
    /// limit: a vars block with more pairs is refused with `TooManyVars`, as
    /// [`with_max_vars`](Self::with_max_vars) refuses it.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse), and `TooManyVars { max: storage.len(), .. }` for a vars
    /// block that `storage` cannot hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{EMPTY_PAIR, Error, Parser, Status};
    ///
    /// let parser = Parser::new();
    /// let mut storage = [EMPTY_PAIR; 1];
    /// // H(0,12,0) kv("A","1") kv("B","2")
    /// let wire = b"\x00\x0c\x00\x00\x01\x00A\x01\x001\x01\x00B\x01\x002";
    /// assert!(matches!(parser.parse_pairs(&wire[..9], &mut storage)?, Status::Incomplete(7)));
    /// let err = parser.parse_pairs(wire, &mut storage).unwrap_err();
    /// assert_eq!(err, Error::TooManyVars { max: 1, offset: 10 });
    /// # Ok::<(), Error>(())
    /// ```
    #[inline(always)]
    pub fn parse_pairs<'s, 'a>(
        &self,
        buf: &'a [u8],
        storage: &'s mut [Pair<'a>],
    ) -> Result<Status<PacketPairs<'s, 'a>>, Error> {
        // A plain request under the default limit and rules (the table's bit says so): the
        // path that reads no setting but the table, the default rules as a constant.
        if let Some((wire, _)) = whole_request(buf, &self.triage, PLAIN_DEFAULTS) {
            let pairs = request_pairs(wire, storage, DEFAULT_RULES, &mut ())?;
            return Ok(Status::Complete(pairs));
        }
        self.parse_pairs_general(buf, storage)
    }

    /// [`parse_pairs`](Self::parse_pairs), and the length of the body the packet frames
    /// ([`PacketPairs::body_len`]), found by the same walk for a plain request under the
    /// default limit and rules: the walk notes the `CONTENT_LENGTH` pairs, so that only a
    /// repeated one takes a pass afterwards. Any other packet's is found by a second pass. The
    /// server codec's path.
    #[inline(always)]
    #[cfg(feature = "codec")]
    pub(crate) fn parse_framed<'s, 'a>(
        &self,
        buf: &'a [u8],
        storage: &'s mut [Pair<'a>],
    ) -> Result<Status<(PacketPairs<'s, 'a>, u64)>, Error> {
        if let Some((wire, _)) = whole_request(buf, &self.triage, PLAIN_DEFAULTS) {
            let mut named = LengthKeys::new();
            let pairs = request_pairs(wire, storage, DEFAULT_RULES, &mut named)?;
            let body_len = named.body_len(&pairs)?;
            return Ok(Status::Complete((pairs, body_len)));
        }
        // Inline: the same fallback out of line cost the path above 14 to 16 ns a request
        // (`ratios`, three runs each) for 14 instructions more.
        Ok(match self.parse_pairs_general(buf, storage)? {
            Status::Complete(pairs) => Status::Complete((pairs, pairs.body_len()?)),
            Status::Incomplete(needed) => Status::Incomplete(needed),
        })
    }

    /// A whole plain request under this parser's own datasize limit: the path off the fast
    /// one, which a parser whose limit or rules are not the defaults takes.
    #[inline(always)]
    fn limited_request<'a>(&self, buf: &'a [u8]) -> Option<(&'a [u8], Header)> {
        let (wire, header) = whole_request(buf, &self.triage, PLAIN_REQUEST)?;
        (usize::from(header.datasize) <= self.max_datasize).then_some((wire, header))
    }

    /// [`parse_pairs`](Self::parse_pairs) off its common path: a plain request under the
    /// parser's own limit and rules, else any packet, every header rule and every kind.
    #[inline(never)]
    fn parse_pairs_general<'s, 'a>(
        &self,
        buf: &'a [u8],
        storage: &'s mut [Pair<'a>],
    ) -> Result<Status<PacketPairs<'s, 'a>>, Error> {
        if let Some((wire, _)) = self.limited_request(buf) {
            let pairs = request_pairs(wire, storage, &self.vars, &mut ())?;
            return Ok(Status::Complete(pairs));
        }
        let header = match self.parse_header(buf)? {
            Status::Complete(header) => header,
            Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
        };
        let Some(wire) = buf.get(..header.packet_len()) else {
            return Ok(Status::Incomplete(header.packet_len() - buf.len()));
        };
        let kind = self.kind_of(&header);
        let block = wire.get(HEADER_LEN..).unwrap_or_default();
        let count = match kind.block {
            BlockKind::Vars => walk_into(block, &mut *storage, &self.vars, &mut ())?,
            BlockKind::Array => Array::parse(block).map(|_| 0)?,
            BlockKind::Raw => 0,
        };
        Ok(Status::Complete(PacketPairs {
            wire,
            kind,
            pairs: filled(storage, count),
        }))
    }
}

/// The common case of [`Parser::parse_pairs`]: a whole request packet whose first byte has
/// `flag` in `triage` (neither foreign nor unusual, [`PLAIN_REQUEST`]; and under the default
/// limit and rules, [`PLAIN_DEFAULTS`]); its wire bytes and header. `None` for anything else,
/// which the general path checks in full.
#[inline(always)]
fn whole_request<'a>(buf: &'a [u8], triage: &Triage, flag: u8) -> Option<(&'a [u8], Header)> {
    let Status::Complete(header) = Header::parse(buf) else {
        return None;
    };
    if triage.of(header.modifier1.0) & flag == 0 {
        return None;
    }
    let (wire, _) = buf.split_at_checked(header.packet_len())?;
    Some((wire, header))
}

/// A request that [`whole_request`] found, its vars walked into `storage` (each pair's key
/// shown to `note` as the walk reaches it).
#[inline(always)]
fn request_pairs<'s, 'a>(
    wire: &'a [u8],
    storage: &'s mut [Pair<'a>],
    rules: &VarsRules,
    note: &mut impl Note,
) -> Result<PacketPairs<'s, 'a>, Error> {
    let block = wire.get(HEADER_LEN..).unwrap_or_default();
    let count = walk_into(block, &mut *storage, rules, note)?;
    Ok(PacketPairs {
        wire,
        kind: PacketKind::REQUEST,
        pairs: filled(storage, count),
    })
}

/// The `CONTENT_LENGTH` pairs of a request, noted by the walk as it reaches each key (a pair
/// noted in a block that then fails is never looked up: the walk's error returns first), so
/// that the body length needs no pass over the pairs: none is 0, one is its value, and only
/// repeats (rules C2 and C3) take a pass.
#[cfg(feature = "codec")]
struct LengthKeys {
    /// How many pairs are named `CONTENT_LENGTH`.
    count: usize,
    /// The index of the last of them.
    at: usize,
}

#[cfg(feature = "codec")]
impl LengthKeys {
    /// The key whose pairs are noted.
    const KEY: &[u8; 14] = b"CONTENT_LENGTH";

    #[inline(always)]
    fn new() -> Self {
        LengthKeys { count: 0, at: 0 }
    }

    /// The body length of `packet`, whose walk noted the pairs here.
    #[inline(always)]
    fn body_len(&self, packet: &PacketPairs<'_, '_>) -> Result<u64, Error> {
        match self.count {
            0 => Ok(0),
            1 => packet.length_of_named(packet.pairs.get(self.at).into_iter(), Self::KEY.len()),
            _ => packet.length_among(packet.pairs.iter(), Self::KEY),
        }
    }
}

#[cfg(feature = "codec")]
impl Note for LengthKeys {
    #[inline(always)]
    fn note(&mut self, key: &[u8], index: usize) {
        // The first byte first: it tells `CONTENT_LENGTH` from the other 14-byte keys nginx
        // sends (`REQUEST_METHOD`, `REQUEST_SCHEME`) with one compare. The whole compare here,
        // in the walk, rather than after it over noted candidates: 10 instructions less a
        // request, and 1.7 ns (`ratios`, the codec line, two runs each).
        if key.len() == Self::KEY.len() && key.first() == Self::KEY.first() && key == Self::KEY {
            self.at = index;
            self.count += 1;
        }
    }
}

/// The first `count` pairs of `storage`, which the walk filled. `count` never exceeds the
/// storage; the `min` tells the compiler so (a bare `get` costs a test and two conditional
/// moves a packet).
#[inline(always)]
fn filled<'s, 'a>(storage: &'s mut [Pair<'a>], count: usize) -> &'s [Pair<'a>] {
    let storage: &'s [Pair<'a>] = storage;
    storage.get(..count.min(storage.len())).unwrap_or_default()
}

/// The header, the kind, then the block as it is read: the pairs as escaped text, as
/// [`PacketRef`](crate::PacketRef) prints them; an array's items; other bytes, escaped.
impl fmt::Debug for PacketPairs<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("PacketPairs");
        out.field("header", &self.header())
            .field("kind", &self.kind);
        match (self.kind.block, self.array()) {
            (BlockKind::Vars, _) => {
                let pairs = self.pairs.iter().map(|&(k, v)| (Escaped(k), Escaped(v)));
                out.field("pairs", &DebugList(pairs))
            }
            (_, Some(array)) => out.field("array", &array),
            _ => out.field("raw", &Escaped(self.block_bytes())),
        };
        out.finish()
    }
}
