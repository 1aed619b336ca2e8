//! [`Packet`]: a complete, validated packet that owns its bytes, one shared [`Bytes`].

use bytes::Bytes;

use crate::array::Array;
use crate::error::Error;
use crate::header::{HEADER_LEN, Header};
#[cfg(feature = "codec")]
use crate::modifier::BlockKind;
use crate::modifier::{Modifier1, PacketKind};
use crate::packet::{Block, PacketRef, Shape};
use crate::vars::{Index, Vars, VarsIter};
#[cfg(feature = "codec")]
use crate::vars::{Named, VarsRules};

/// A complete, validated packet that owns its bytes: one [`Bytes`], shared, never copied.
///
/// It has every accessor of [`PacketRef`], under the same names and with the same meaning;
/// where `PacketRef` lends what it holds (`vars`, `array`, `block`), `Packet` hands out a view
/// of its own bytes. It adds the accessors that hand out [`Bytes`]: keys, values and items as
/// slices of the packet ([`Bytes::slice_ref`]), which outlive the read buffer without a copy.
/// [`view`](Self::view) gives the borrowed form.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_codec::Packet;
///
/// let wire = Bytes::from_static(b"\x00\x08\x00\x00\x01\x00K\x03\x00abc");
/// let packet = Packet::parse(&wire)?.complete().unwrap();
/// let value: Bytes = packet.get_bytes("K").unwrap();
/// assert_eq!(value, "abc");
/// assert_eq!(value.as_ptr(), wire[9..].as_ptr()); // the same memory
/// assert_eq!(packet.vars().unwrap().get("K"), Some(&b"abc"[..]));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    bytes: Bytes,
    header: Header,
    kind: PacketKind,
    shape: Shape,
}

impl Packet {
    pub(crate) fn new(bytes: Bytes, header: Header, kind: PacketKind, shape: Shape) -> Packet {
        Packet {
            bytes,
            header,
            kind,
            shape,
        }
    }

    pub(crate) fn from_view(buf: &Bytes, view: &PacketRef<'_>) -> Packet {
        let bytes = buf.slice_ref(view.as_bytes());
        Packet::new(bytes, view.header(), view.kind(), view.block().shape())
    }

    /// Validates the block in place, as `kind` says (rule H5), and returns the body length:
    /// the decoder's path, which builds the packet where it will stay, copies no index, and
    /// learns where the length key's pair is in the same walk.
    ///
    /// # Errors
    ///
    /// A validation error, else [`body_len`](Self::body_len)'s.
    #[inline(always)]
    #[cfg(feature = "codec")]
    pub(crate) fn validate(&mut self, rules: &VarsRules) -> Result<u64, Error> {
        // The block: the datasize bytes after the header.
        let end = HEADER_LEN + usize::from(self.header.datasize);
        let block = self.bytes.get(HEADER_LEN..end).unwrap_or_default();
        match self.kind.block {
            BlockKind::Vars => {
                let key = self.kind.body.length_key().unwrap_or_default();
                let mut named = Named::new(key);
                self.shape = Shape::Vars(Index::EMPTY);
                if let Shape::Vars(index) = &mut self.shape {
                    index.validate_noting(block, rules, Some(&mut named))?;
                }
                // A key with no length is never noted: no body.
                named
                    .body_len(block, key)
                    .unwrap_or_else(|| self.body_len())
            }
            BlockKind::Array => {
                self.shape = Shape::Array(Array::parse(block)?.len());
                Ok(0)
            }
            BlockKind::Raw => {
                self.shape = Shape::Raw;
                Ok(0)
            }
        }
    }

    /// The borrowed form of this packet.
    #[inline]
    pub fn view(&self) -> PacketRef<'_> {
        PacketRef::new(&self.bytes, self.header, self.kind, self.block())
    }

    crate::packet::header_accessors!(bytes);

    /// The packet's exact wire bytes, header included.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The packet's wire bytes, giving up the packet.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The block, read as its kind.
    #[inline]
    pub fn block(&self) -> Block<'_> {
        self.shape
            .block(self.bytes.get(HEADER_LEN..).unwrap_or_default())
    }

    /// The vars, if the block is a vars block.
    #[inline]
    pub fn vars(&self) -> Option<Vars<'_>> {
        match self.block() {
            Block::Vars(vars) => Some(vars),
            _ => None,
        }
    }

    /// The pairs of a vars block, in wire order (none for other kinds): what
    /// [`vars`](Self::vars)`().iter()` yields, read from the packet's own index rather than
    /// from a copy of it (`vars()` copies the index into the `Vars` it returns). The way to
    /// read every pair of a frame the codec decoded.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use uwsgi_codec::Packet;
    ///
    /// let wire = Bytes::from_static(b"\x00\x0c\x00\x00\x01\x00A\x01\x001\x01\x00B\x01\x002");
    /// let packet = Packet::parse(&wire)?.complete().unwrap();
    /// let pairs: Vec<_> = packet.pairs().collect();
    /// assert_eq!(pairs, [(&b"A"[..], &b"1"[..]), (b"B", b"2")]);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    #[inline]
    pub fn pairs(&self) -> VarsIter<'_, '_> {
        let block = self.bytes.get(HEADER_LEN..).unwrap_or_default();
        match &self.shape {
            Shape::Vars(index) => index.iter(block),
            _ => Index::EMPTY.iter(&[]),
        }
    }

    /// The items, if the block is an array.
    pub fn array(&self) -> Option<Array<'_>> {
        match self.block() {
            Block::Array(array) => Some(array),
            _ => None,
        }
    }

    /// As [`PacketRef::body_len`].
    ///
    /// # Errors
    ///
    /// As [`PacketRef::body_len`].
    pub fn body_len(&self) -> Result<u64, Error> {
        self.block().body_len(self.kind)
    }

    /// The last value of `key` as a `Bytes` slice of the packet.
    pub fn get_bytes(&self, key: impl AsRef<[u8]>) -> Option<Bytes> {
        let value = self.vars()?.get(key)?;
        Some(self.bytes.slice_ref(value))
    }

    /// Every pair as `Bytes` slices of the packet, in wire order (empty for other kinds).
    pub fn vars_bytes(&self) -> impl Iterator<Item = (Bytes, Bytes)> + '_ {
        let vars = self.vars().into_iter().flat_map(Vars::into_walk);
        vars.map(|(k, v)| (self.bytes.slice_ref(k), self.bytes.slice_ref(v)))
    }

    /// Every item as a `Bytes` slice of the packet (empty for other kinds).
    pub fn items_bytes(&self) -> impl Iterator<Item = Bytes> + '_ {
        let items = self.array().into_iter().flat_map(|array| array.iter());
        items.map(|item| self.bytes.slice_ref(item))
    }
}

impl From<Packet> for Bytes {
    fn from(packet: Packet) -> Bytes {
        packet.bytes
    }
}

impl core::fmt::Debug for Packet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Packet").field(&self.view()).finish()
    }
}
