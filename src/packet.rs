//! [`PacketRef`]: a complete, validated packet borrowed from the input, and its [`Block`].

use bytes::BufMut;

use crate::array::Array;
use crate::error::Error;
use crate::header::{HEADER_LEN, Header};
use crate::modifier::{Modifier1, PacketKind};
use crate::vars::{Index, Vars};

/// The block of a packet, read as its kind says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block<'a> {
    /// Key/value pairs.
    Vars(Vars<'a>),
    /// Length-prefixed items.
    Array(Array<'a>),
    /// Opaque bytes.
    Raw(&'a [u8]),
}

impl Block<'_> {
    /// What validating the block learned, without the borrow: what an owned packet keeps.
    pub(crate) fn shape(&self) -> Shape {
        match self {
            Block::Vars(vars) => Shape::Vars(vars.index()),
            Block::Array(array) => Shape::Array(array.len()),
            Block::Raw(_) => Shape::Raw,
        }
    }

    /// The body length that follows a packet of `kind` with this block (PROTOCOL.md §5).
    pub(crate) fn body_len(&self, kind: PacketKind) -> Result<u64, Error> {
        match (kind.body.length_key(), self) {
            (Some(key), Block::Vars(vars)) => vars.length_var(key),
            _ => Ok(0),
        }
    }
}

/// A [`Block`] without its borrow: the index of a vars block, the item count of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Vars(Index),
    Array(usize),
    Raw,
}

impl Shape {
    /// The block of these `bytes`, which the walk that made this shape validated.
    #[inline]
    pub(crate) fn block(self, bytes: &[u8]) -> Block<'_> {
        match self {
            Shape::Vars(index) => Block::Vars(Vars::indexed(bytes, index)),
            Shape::Array(count) => Block::Array(Array::from_validated(bytes, count)),
            Shape::Raw => Block::Raw(bytes),
        }
    }
}

/// The header accessors [`PacketRef`], [`Packet`](crate::Packet) and
/// [`PacketPairs`](crate::PacketPairs) share, over the field that holds the packet's wire
/// bytes, and the header: a field of its own, or (`from_wire`) read again from the wire bytes.
macro_rules! header_accessors {
    ($wire:ident) => {
        /// The header.
        #[inline]
        pub fn header(&self) -> Header {
            self.header
        }

        $crate::packet::header_accessors!(@fields $wire);
    };
    (from_wire $wire:ident) => {
        /// The header.
        #[inline]
        pub fn header(&self) -> Header {
            // The wire bytes of a parsed packet start with its header: never the fallback.
            Header::parse(self.$wire)
                .complete()
                .unwrap_or(Header::new(Modifier1(0), 0, 0))
        }

        $crate::packet::header_accessors!(@fields $wire);
    };
    (@fields $wire:ident) => {
        /// Header byte 0.
        #[inline]
        pub fn modifier1(&self) -> Modifier1 {
            self.header().modifier1
        }

        /// Header byte 3.
        #[inline]
        pub fn modifier2(&self) -> u8 {
            self.header().modifier2
        }

        /// The block length the header declares.
        #[inline]
        pub fn datasize(&self) -> u16 {
            self.header().datasize
        }

        /// How the block was read and what follows the packet.
        #[inline]
        pub fn kind(&self) -> PacketKind {
            self.kind
        }

        /// The bytes the packet takes on the wire: `4 + datasize`.
        #[inline]
        pub fn wire_len(&self) -> usize {
            self.$wire.len()
        }
    };
}
pub(crate) use header_accessors;

/// A complete, validated packet borrowed from the input.
///
/// Parsing walked the block once, validating it and remembering where its pairs are, so
/// reading the [`vars`](Self::vars) walks nothing again. Keys and values borrow the input.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{Modifier1, PacketRef};
///
/// // H(0,31,0) kv("REQUEST_METHOD","GET") kv("X","y")
/// let wire = b"\x00\x1b\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET\x01\x00X\x01\x00y";
/// let packet = PacketRef::parse(wire)?.complete().unwrap();
/// assert_eq!(packet.modifier1(), Modifier1::WSGI);
/// assert_eq!(packet.vars().unwrap().get("REQUEST_METHOD"), Some(&b"GET"[..]));
/// assert_eq!(packet.body_len()?, 0);
/// assert_eq!(packet.as_bytes(), &wire[..]);
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PacketRef<'a> {
    wire: &'a [u8],
    header: Header,
    kind: PacketKind,
    block: Block<'a>,
}

impl<'a> PacketRef<'a> {
    /// An empty packet (modifier1 0, an empty raw block), to parse into with
    /// [`Parser::parse_into`](crate::Parser::parse_into).
    #[inline(always)]
    pub fn empty() -> PacketRef<'a> {
        PacketRef {
            wire: &[],
            header: Header::new(Modifier1::WSGI, 0, 0),
            kind: PacketKind::RAW,
            block: Block::Raw(&[]),
        }
    }

    /// Sets the header and kind of a packet being parsed in place, and returns its block to
    /// fill.
    #[inline(always)]
    pub(crate) fn reset(
        &mut self,
        wire: &'a [u8],
        header: Header,
        kind: PacketKind,
    ) -> &mut Block<'a> {
        self.wire = wire;
        self.header = header;
        self.kind = kind;
        &mut self.block
    }

    #[inline]
    pub(crate) fn new(wire: &'a [u8], header: Header, kind: PacketKind, block: Block<'a>) -> Self {
        PacketRef {
            wire,
            header,
            kind,
            block,
        }
    }

    header_accessors!(wire);

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

    /// The block, read as its kind.
    #[inline]
    pub fn block(&self) -> &Block<'a> {
        &self.block
    }

    /// The vars, if the block is a vars block.
    #[inline]
    pub fn vars(&self) -> Option<&Vars<'a>> {
        match &self.block {
            Block::Vars(vars) => Some(vars),
            _ => None,
        }
    }

    /// The items, if the block is an array.
    #[inline]
    pub fn array(&self) -> Option<&Array<'a>> {
        match &self.block {
            Block::Array(array) => Some(array),
            _ => None,
        }
    }

    /// The length of the body that follows the packet: `CONTENT_LENGTH` for request families
    /// and RPC modifier2 5 replies, `size` for cache modifier2 17, otherwise 0 (PROTOCOL.md §5).
    ///
    /// # Errors
    ///
    /// `InvalidContentLength` or `ConflictingContentLength`, as [`Vars::content_length`].
    pub fn body_len(&self) -> Result<u64, Error> {
        self.block.body_len(self.kind)
    }

    /// Writes the packet's bytes: parse then encode is the identity (rule E5).
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.wire);
    }
}

impl core::fmt::Debug for PacketRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PacketRef")
            .field("header", &self.header)
            .field("kind", &self.kind)
            .field("block", &self.block)
            .finish()
    }
}
