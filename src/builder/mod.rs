//! [`PacketBuilder`]: work out the exact length, check every length, then write (rules E1 to E7).

use alloc::vec;
use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

#[cfg(feature = "codec")]
use crate::body::{CONTENT_LENGTH, Digits, length_of};
use crate::error::Error;
#[cfg(feature = "codec")]
use crate::header::HEADER_LEN;
use crate::magic::MagicPolicy;
use crate::modifier::Modifier1;

mod passes;
#[cfg(test)]
mod tests;

#[cfg(feature = "codec")]
use passes::part_len;

/// A key/value pair of byte strings, as [`PacketBuilder::with_vars`] borrows them.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// One piece of a block, in the caller's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part<'a> {
    Var(&'a [u8], &'a [u8]),
    Item(&'a [u8]),
    Raw(&'a [u8]),
}

/// The pieces of a block: first the caller's own slice of pairs (nothing stored, nothing
/// allocated), then the pieces added one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Parts<'a> {
    pairs: &'a [Pair<'a>],
    list: Vec<Part<'a>>,
}

/// Builds one packet: vars, array items or raw bytes, in the order given.
///
/// Nothing is written until every length has been checked, so an error leaves the
/// destination untouched, and no length ever wraps (rules E1 to E3). Pairs are written in the
/// caller's order, duplicates included (E4). The exact size is known before the first byte is
/// written: the destination grows once, and the pairs are copied straight into it.
///
/// A builder over the caller's slice of pairs ([`with_vars`](Self::with_vars)) stores and
/// allocates nothing: that is the way to encode one request after another into a reused
/// buffer. Pieces added one at a time ([`var`](Self::var), [`item`](Self::item),
/// [`raw`](Self::raw)) are kept in a list.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use uwsgi_codec::{PacketBuilder, PacketRef};
///
/// let pairs: [(&[u8], &[u8]); 2] = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/health")];
/// let mut wire = BytesMut::new();
/// PacketBuilder::new(0).with_vars(&pairs).encode(&mut wire)?;
/// let packet = PacketRef::parse(&wire)?.complete().unwrap();
/// assert_eq!(packet.vars().unwrap().get("PATH_INFO"), Some(&b"/health"[..]));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketBuilder<'a> {
    modifier1: Modifier1,
    modifier2: u8,
    parts: Parts<'a>,
    body_len: Option<u64>,
    max_datasize: u16,
    magic: MagicPolicy,
}

impl<'a> PacketBuilder<'a> {
    /// An empty packet with this modifier1 and modifier2 0.
    pub fn new(modifier1: impl Into<Modifier1>) -> Self {
        PacketBuilder {
            modifier1: modifier1.into(),
            modifier2: 0,
            parts: Parts::default(),
            body_len: None,
            max_datasize: u16::MAX,
            magic: MagicPolicy::RoutingOnly,
        }
    }

    /// A ping (`64 00 00 00`).
    pub fn ping() -> Self {
        Self::new(Modifier1::PING)
    }

    /// A pong, the reply to a ping (`64 00 00 01`).
    pub fn pong() -> Self {
        Self::new(Modifier1::PING).with_modifier2(1)
    }

    /// A signal: modifier2 is the signal number.
    pub fn signal(number: u8) -> Self {
        Self::new(Modifier1::SIGNAL).with_modifier2(number)
    }

    /// An echo request carrying `payload`; the reply is the payload, raw.
    pub fn echo(payload: &'a [u8]) -> Self {
        Self::new(Modifier1::ECHO).raw(payload)
    }

    /// The persistent-connection close mark (modifier1 200).
    pub fn close_mark() -> Self {
        Self::new(Modifier1::CLOSE)
    }

    /// A generic reply (modifier1 255): `delivered` gives modifier2 1, else 0 (signal and
    /// spooler status).
    pub fn reply(delivered: bool) -> Self {
        Self::new(Modifier1::RESPONSE).with_modifier2(u8::from(delivered))
    }

    /// An RPC request (modifier1 173, modifier2 0): an array of the function name, then the
    /// arguments.
    pub fn rpc(function: &'a [u8], args: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut builder = Self::new(Modifier1::RPC).item(function);
        builder.parts.list.extend(args.into_iter().map(Part::Item));
        builder
    }

    /// Sets modifier2 (0 by default).
    pub fn with_modifier2(mut self, modifier2: u8) -> Self {
        self.modifier2 = modifier2;
        self
    }

    /// Appends these pairs, borrowed as they are: on a builder that has nothing yet, nothing
    /// is stored or allocated.
    pub fn with_vars(mut self, pairs: &'a [Pair<'a>]) -> Self {
        if self.parts.pairs.is_empty() && self.parts.list.is_empty() {
            self.parts.pairs = pairs;
        } else {
            let vars = pairs.iter().map(|&(k, v)| Part::Var(k, v));
            self.parts.list.extend(vars);
        }
        self
    }

    /// Appends a key/value pair.
    pub fn var<K, V>(mut self, key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        self.push_var(key, value);
        self
    }

    /// Appends a key/value pair, in place.
    pub fn push_var<K, V>(&mut self, key: &'a K, value: &'a V)
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        self.parts
            .list
            .push(Part::Var(key.as_ref(), value.as_ref()));
    }

    /// Appends every pair, in order.
    pub fn extend_vars(mut self, pairs: impl IntoIterator<Item = Pair<'a>>) -> Self {
        let vars = pairs.into_iter().map(|(k, v)| Part::Var(k, v));
        self.parts.list.extend(vars);
        self
    }

    /// Appends an array item (RPC argument, cache field).
    pub fn item<I: AsRef<[u8]> + ?Sized>(mut self, item: &'a I) -> Self {
        self.push_item(item);
        self
    }

    /// Appends an array item, in place.
    pub fn push_item<I: AsRef<[u8]> + ?Sized>(&mut self, item: &'a I) {
        self.parts.list.push(Part::Item(item.as_ref()));
    }

    /// Appends bytes as they are, counted in datasize: a ping payload, an echo, a cache key.
    ///
    /// Like nginx's `uwsgi_string` (rule E6), bytes appended to a vars block can make a block
    /// that strict decoders reject.
    pub fn raw<R: AsRef<[u8]> + ?Sized>(mut self, bytes: &'a R) -> Self {
        self.parts.list.push(Part::Raw(bytes.as_ref()));
        self
    }

    /// Frames a body of `len` bytes (rule E7): an empty `CONTENT_LENGTH` is an nginx-style
    /// placeholder and gets the decimal length (left empty when `len` is 0); with no
    /// `CONTENT_LENGTH` at all one is appended when `len > 0`; any other value must already be
    /// exactly the decimal length.
    pub fn with_body_len(mut self, len: u64) -> Self {
        self.body_len = Some(len);
        self
    }

    /// Refuses blocks longer than `max` with `TooLarge` (values above 65535 mean 65535, the
    /// default), for a peer with a smaller buffer such as uWSGI's default `--buffer-size 4096`.
    pub fn with_max_datasize(mut self, max: usize) -> Self {
        self.max_datasize = u16::try_from(max).unwrap_or(u16::MAX);
        self
    }

    /// Sets which magic vars may be written (rule M3). The default,
    /// [`MagicPolicy::RoutingOnly`], refuses the code- and process-affecting ones
    /// (`UWSGI_FILE` and the like), which make uWSGI run code; [`MagicPolicy::Allow`] writes
    /// them too.
    pub fn with_magic_policy(mut self, policy: MagicPolicy) -> Self {
        self.magic = policy;
        self
    }

    /// Header byte 0.
    pub fn modifier1(&self) -> Modifier1 {
        self.modifier1
    }

    /// Header byte 3.
    pub fn modifier2(&self) -> u8 {
        self.modifier2
    }

    /// Whether raw bytes were appended (rule E6): the block may not be what its kind says.
    #[cfg(feature = "codec")]
    pub(crate) fn has_raw(&self) -> bool {
        self.parts.list.iter().any(|p| matches!(p, Part::Raw(_)))
    }

    /// Every piece, in order (off the hot path: `plan` and `write` loop over the two lists).
    #[cfg(feature = "codec")]
    fn parts(&self) -> impl Iterator<Item = Part<'a>> + '_ {
        let pairs = self.parts.pairs.iter().map(|&(k, v)| Part::Var(k, v));
        pairs.chain(self.parts.list.iter().copied())
    }

    /// The body length the packet frames, `key` being the var that frames it for the
    /// packet's kind (rules C1 to C3): the one given to [`with_body_len`](Self::with_body_len)
    /// when that is `CONTENT_LENGTH` (the builder writes it), else what its own `key` vars say
    /// (a cache request is framed by `size`, §2.4). Raw bytes are not read here: the caller
    /// parses a packet that has them.
    #[cfg(feature = "codec")]
    pub(crate) fn framed_body_len(&self, key: &[u8]) -> Result<u64, Error> {
        if let Some(len) = self.body_len.filter(|_| key == CONTENT_LENGTH) {
            return Ok(len);
        }
        let digits = self.body_len.map(Digits::new);
        let offsets = self.parts().scan(HEADER_LEN, |offset, part| {
            let at = *offset;
            *offset += part_len(part, digits.as_ref());
            Some((at, part))
        });
        let named = offsets.filter_map(|(at, part)| match part {
            Part::Var(k, v) if k == key => Some((at, v)),
            _ => None,
        });
        length_of(named, key.len())
    }

    /// The exact number of bytes [`encode`](Self::encode) writes.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn encoded_len(&self) -> Result<usize, Error> {
        Ok(self.plan()?.packet_len())
    }

    /// Grows `dst` once by the exact length, then writes the packet at its end; returns the
    /// number of bytes written.
    ///
    /// # Errors
    ///
    /// Nothing is written on any error:
    /// - `EmptyKey`: a key of 0 bytes (offset where it would have been);
    /// - `LengthOverflow`: a key, value or item over 65535 bytes, or a block over 65535;
    /// - `TooLarge`: a block over [`with_max_datasize`](Self::with_max_datasize);
    /// - `MagicVar`: a magic var that the [magic policy](Self::with_magic_policy) refuses;
    /// - `ConflictingContentLength` / `InvalidContentLength`: a `CONTENT_LENGTH` that
    ///   disagrees with [`with_body_len`](Self::with_body_len), or two that would be written
    ///   with different bytes (a decoder refuses those, rule C3).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use uwsgi_codec::{Error, Field, PacketBuilder};
    ///
    /// let big = vec![b'x'; 65536];
    /// let mut wire = BytesMut::new();
    /// let err = PacketBuilder::new(0).var("K", &big).encode(&mut wire).unwrap_err();
    /// assert_eq!(err, Error::LengthOverflow { field: Field::Value, len: 65536 });
    /// assert!(wire.is_empty());
    /// ```
    #[inline]
    pub fn encode(&self, dst: &mut BytesMut) -> Result<usize, Error> {
        let plan = self.plan()?;
        let len = plan.packet_len();
        let start = dst.len();
        dst.resize(start + len, 0);
        if let Some(out) = dst.get_mut(start..) {
            self.write(&plan, out);
        }
        Ok(len)
    }

    /// Writes the packet into any [`BufMut`]; returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode), and `BufferTooSmall` when `dst` has less room than the
    /// packet needs. Nothing is written on any error.
    pub fn encode_buf(&self, dst: &mut impl BufMut) -> Result<usize, Error> {
        let plan = self.plan()?;
        let needed = plan.packet_len();
        if dst.remaining_mut() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: dst.remaining_mut(),
            });
        }
        let mut packet = vec![0; needed];
        self.write(&plan, &mut packet);
        dst.put_slice(&packet);
        Ok(needed)
    }

    /// Writes the packet at the start of `dst`; returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode), and `BufferTooSmall` when `dst` is shorter than the
    /// packet. Nothing is written on any error.
    ///
    /// ```
    /// use uwsgi_codec::PacketBuilder;
    ///
    /// let mut buf = [0u8; 16];
    /// let n = PacketBuilder::ping().encode_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], [0x64, 0, 0, 0]);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    #[inline]
    pub fn encode_slice(&self, dst: &mut [u8]) -> Result<usize, Error> {
        let plan = self.plan()?;
        let needed = plan.packet_len();
        let available = dst.len();
        let out = dst
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        self.write(&plan, out);
        Ok(needed)
    }

    /// The packet as a new `Vec`, allocated once at the exact length.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let plan = self.plan()?;
        let mut out = vec![0; plan.packet_len()];
        self.write(&plan, &mut out);
        Ok(out)
    }
}
