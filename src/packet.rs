//! [`Parser`], [`PacketRef`] (borrowed) and [`Packet`] (one `Bytes`): a whole packet,
//! decoded by rules H1 to H8.

use alloc::vec::Vec;
use bytes::{BufMut, Bytes};

use crate::array::{self, Array};
use crate::error::Error;
use crate::header::{HEADER_LEN, Header};
use crate::magic::MagicPolicy;
use crate::modifier::{BlockKind, Direction, Modifier1, PacketKind};
use crate::sniff::{ForeignProtocol, sniff};
use crate::status::Status;
use crate::vars::{self, LengthVar, Vars, VarsRules, Walked, parse_length};

/// The largest block the protocol can carry, and the default limit (rule L1).
pub const MAX_DATASIZE: usize = u16::MAX as usize;

/// Decoding settings: limits, foreign-protocol check, magic policy and packet kinds.
///
/// The defaults accept everything nginx can send: datasize up to 65535, any number of pairs,
/// magic vars allowed, foreign protocols refused, packets read as requests.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{Error, MagicPolicy, Parser};
///
/// let parser = Parser::new().with_max_datasize(4096).with_magic_policy(MagicPolicy::Refuse);
/// let err = parser.parse(&[0x00, 0x01, 0x10, 0x00]).unwrap_err(); // datasize 4097
/// assert!(matches!(err, Error::TooLarge { len: 4097, max: 4096 }));
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    max_datasize: u16,
    foreign_check: bool,
    foreign_patterns: Vec<[u8; 4]>,
    vars: VarsRules,
    direction: Direction,
    /// `None`: the built-in table, which the compiler can inline.
    kind_fn: Option<fn(&Header, Direction) -> PacketKind>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            max_datasize: u16::MAX,
            foreign_check: true,
            foreign_patterns: Vec::new(),
            vars: VarsRules::default(),
            direction: Direction::Request,
            kind_fn: None,
        }
    }
}

impl Parser {
    /// A parser with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses packets whose datasize exceeds `max` (`TooLarge`), decided from the 4 header
    /// bytes before any block byte is awaited. Values above 65535 mean 65535: the limit never
    /// wraps (uWSGI's `buffer-size = 65536` once became 0).
    pub fn with_max_datasize(mut self, max: usize) -> Self {
        self.max_datasize = u16::try_from(max).unwrap_or(u16::MAX);
        self
    }

    /// The datasize limit in force.
    pub fn max_datasize(&self) -> usize {
        usize::from(self.max_datasize)
    }

    /// Refuses vars blocks with more than `max` pairs (`TooManyVars`); `None`, the default,
    /// sets no limit, because nginx sends one var per client header (rule L2).
    pub fn with_max_vars(mut self, max: Option<usize>) -> Self {
        self.vars.max_vars = max;
        self
    }

    /// Turns the foreign-protocol check (PROTOCOL.md §6) on or off; it is on by default.
    pub fn with_foreign_check(mut self, on: bool) -> Self {
        self.foreign_check = on;
        self
    }

    /// Adds a 4-byte preamble to refuse as foreign (for example `*b"PROP"` for WebDAV).
    pub fn with_foreign_pattern(mut self, pattern: [u8; 4]) -> Self {
        self.foreign_patterns.push(pattern);
        self
    }

    /// Sets what happens to `UWSGI_*` vars (rule M2); the default allows them.
    pub fn with_magic_policy(mut self, policy: MagicPolicy) -> Self {
        self.vars.magic = policy;
        self
    }

    /// Reads packets as requests (the default) or as replies: the same header means a
    /// different block in each direction (an RPC request holds an array, its reply raw bytes).
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Replaces the table that gives each packet its block kind and body framing
    /// ([`PacketKind::of`], PROTOCOL.md §3 rule 2).
    ///
    /// ```
    /// use uwsgi_codec::{BlockKind, Direction, Header, PacketKind, PacketRef, Parser};
    ///
    /// fn everything_raw(_: &Header, _: Direction) -> PacketKind { PacketKind::RAW }
    /// let parser = Parser::new().with_kind_fn(everything_raw);
    /// let packet = parser.parse(b"\x00\x01\x00\x00x")?.complete().unwrap();
    /// assert_eq!(packet.kind().block, BlockKind::Raw);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    pub fn with_kind_fn(mut self, kind_fn: fn(&Header, Direction) -> PacketKind) -> Self {
        self.kind_fn = Some(kind_fn);
        self
    }

    /// The packet-kind table in force.
    #[cfg(feature = "codec")]
    pub(crate) fn kind_fn(&self) -> fn(&Header, Direction) -> PacketKind {
        self.kind_fn.unwrap_or(PacketKind::of)
    }

    /// The kind this parser gives a packet with `header`.
    #[inline]
    pub fn kind_of(&self, header: &Header) -> PacketKind {
        match self.kind_fn {
            Some(kind_fn) => kind_fn(header, self.direction),
            None => PacketKind::of(header, self.direction),
        }
    }

    /// Reads and checks the header (rules H1 to H3): the foreign-protocol check, then the
    /// datasize limit, from the first 4 bytes alone.
    ///
    /// # Errors
    ///
    /// `ForeignProtocol` or `TooLarge`.
    #[inline]
    pub fn parse_header(&self, buf: &[u8]) -> Result<Status<Header>, Error> {
        let header = match Header::parse(buf) {
            Status::Complete(header) => header,
            Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
        };
        if let Some(protocol) = self.foreign(buf) {
            let (modifier1, datasize) = (header.modifier1.0, header.datasize);
            return Err(Error::ForeignProtocol {
                protocol,
                modifier1,
                datasize,
            });
        }
        if header.datasize > self.max_datasize {
            let (len, max) = (usize::from(header.datasize), self.max_datasize());
            return Err(Error::TooLarge { len, max });
        }
        Ok(Status::Complete(header))
    }

    #[inline]
    fn foreign(&self, buf: &[u8]) -> Option<ForeignProtocol> {
        if !self.foreign_check {
            return None;
        }
        let four = buf.first_chunk::<4>()?;
        sniff(four).or_else(|| {
            self.foreign_patterns
                .contains(four)
                .then_some(ForeignProtocol::Custom(*four))
        })
    }

    /// Parses the packet at the start of `buf` (rules H1 to H5).
    ///
    /// Bytes after the packet (a request body, the next packet) are left alone:
    /// [`PacketRef::wire_len`] says where the packet ends.
    ///
    /// # Errors
    ///
    /// `ForeignProtocol` and `TooLarge` from the header; `TruncatedLength`, `EmptyKey`,
    /// `Overrun`, `TooManyVars` or `MagicVar` from the block.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Parser, Status};
    ///
    /// let wire = b"\x00\x0b\x00\x00\x03\x00FOO\x04\x00bar!";
    /// assert_eq!(Parser::new().parse(&wire[..6])?.map(|_| ()), Status::Incomplete(9));
    /// let packet = Parser::new().parse(wire)?.complete().unwrap();
    /// assert_eq!(packet.wire_len(), 15);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    #[inline]
    pub fn parse<'a>(&self, buf: &'a [u8]) -> Result<Status<PacketRef<'a>>, Error> {
        let header = match self.parse_header(buf)? {
            Status::Complete(header) => header,
            Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
        };
        let Some(wire) = buf.get(..header.packet_len()) else {
            return Ok(Status::Incomplete(header.packet_len() - buf.len()));
        };
        let layout = self.layout(header, wire)?;
        Ok(Status::Complete(PacketRef { layout, wire }))
    }

    /// Validates the block of `wire`, a whole packet whose header has been checked (rule H5).
    #[inline]
    fn layout(&self, header: Header, wire: &[u8]) -> Result<Layout, Error> {
        let block = wire.get(HEADER_LEN..).unwrap_or_default();
        let kind = self.kind_of(&header);
        let walked = match kind.block {
            BlockKind::Vars => vars::validate(
                block,
                &self.vars,
                kind.body.length_key().unwrap_or_default(),
            )?,
            BlockKind::Array => Walked {
                count: array::validate(block)?,
                ..Walked::default()
            },
            BlockKind::Raw => Walked::default(),
        };
        Ok(Layout {
            header,
            kind,
            walked,
        })
    }

    /// The packet in `frame`, exactly one whole packet whose header `parse_header` accepted:
    /// the decoder's path, which keeps `frame` as the packet's memory.
    #[cfg(feature = "codec")]
    pub(crate) fn parse_frame(&self, header: Header, frame: Bytes) -> Result<Packet, Error> {
        let layout = self.layout(header, &frame)?;
        Ok(Packet {
            layout,
            bytes: frame,
        })
    }

    /// Parses `buf` as everything there is (a file, a closed connection): a packet at its
    /// start, `None` if it is empty (a clean end, rule H7).
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`], and `UnexpectedEof` when `buf` ends inside a packet.
    pub fn parse_eof<'a>(&self, buf: &'a [u8]) -> Result<Option<PacketRef<'a>>, Error> {
        match self.parse(buf)? {
            Status::Complete(packet) => Ok(Some(packet)),
            Status::Incomplete(_) if buf.is_empty() => Ok(None),
            Status::Incomplete(needed) => Err(Error::UnexpectedEof {
                offset: buf.len(),
                needed,
            }),
        }
    }

    /// Parses a datagram, which holds exactly one packet (rule H8).
    ///
    /// # Errors
    ///
    /// As [`Parser::parse_eof`], and `DatagramLength` unless `buf` is exactly `4 + datasize`
    /// bytes long.
    pub fn parse_datagram<'a>(&self, buf: &'a [u8]) -> Result<PacketRef<'a>, Error> {
        if let Status::Complete(header) = self.parse_header(buf)? {
            if buf.len() != header.packet_len() {
                let datasize = usize::from(header.datasize);
                return Err(Error::DatagramLength {
                    datasize,
                    len: buf.len(),
                });
            }
        }
        let needed = HEADER_LEN - buf.len().min(HEADER_LEN);
        self.parse_eof(buf)?
            .ok_or(Error::UnexpectedEof { offset: 0, needed })
    }

    /// Parses the packet at the start of `buf` into an owned [`Packet`] that shares `buf`'s
    /// memory: no byte is copied.
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    pub fn parse_bytes(&self, buf: &Bytes) -> Result<Status<Packet>, Error> {
        Ok(self.parse(buf)?.map(|view| Packet::from_view(buf, &view)))
    }
}

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

/// A complete, validated packet borrowed from the input.
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
    layout: Layout,
    wire: &'a [u8],
}

/// What validating a packet found out, shared by the borrowed and the owned packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    header: Header,
    kind: PacketKind,
    walked: Walked,
}

impl<'a> PacketRef<'a> {
    /// Parses with the default [`Parser`].
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    pub fn parse(buf: &'a [u8]) -> Result<Status<PacketRef<'a>>, Error> {
        Parser::default().parse(buf)
    }

    /// The header.
    #[inline]
    pub fn header(&self) -> Header {
        self.layout.header
    }

    /// Header byte 0.
    #[inline]
    pub fn modifier1(&self) -> Modifier1 {
        self.layout.header.modifier1
    }

    /// Header byte 3.
    #[inline]
    pub fn modifier2(&self) -> u8 {
        self.layout.header.modifier2
    }

    /// The block length the header declares.
    #[inline]
    pub fn datasize(&self) -> u16 {
        self.layout.header.datasize
    }

    /// How the block was read and what follows the packet.
    #[inline]
    pub fn kind(&self) -> PacketKind {
        self.layout.kind
    }

    /// The bytes the packet takes on the wire: `4 + datasize`.
    #[inline]
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

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
    pub fn block(&self) -> Block<'a> {
        let (block, walked) = (self.block_bytes(), &self.layout.walked);
        match self.layout.kind.block {
            BlockKind::Vars => Block::Vars(Vars::from_validated(block, walked.count)),
            BlockKind::Array => Block::Array(Array::from_validated(block, walked.count)),
            BlockKind::Raw => Block::Raw(block),
        }
    }

    /// The vars, if the block is a vars block.
    #[inline]
    pub fn vars(&self) -> Option<Vars<'a>> {
        match self.block() {
            Block::Vars(vars) => Some(vars),
            _ => None,
        }
    }

    /// The items, if the block is an array.
    pub fn array(&self) -> Option<Array<'a>> {
        match self.block() {
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
        match self.layout.walked.length {
            LengthVar::Absent => Ok(0),
            LengthVar::Once { start, len } => {
                let start = usize::from(start);
                let end = start + usize::from(len);
                let value = self.block_bytes().get(start..end).unwrap_or_default();
                parse_length(value, HEADER_LEN + start)
            }
            LengthVar::Repeated => match (self.layout.kind.body.length_key(), self.vars()) {
                (Some(key), Some(vars)) => vars.length_var(key),
                _ => Ok(0),
            },
        }
    }

    /// Writes the packet's bytes: parse then encode is the identity (rule E5).
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.wire);
    }
}

impl core::fmt::Debug for PacketRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PacketRef")
            .field("header", &self.layout.header)
            .field("kind", &self.layout.kind)
            .field("block", &self.block())
            .finish()
    }
}

/// A complete, validated packet that owns its bytes: one [`Bytes`], shared, never copied.
///
/// Keys, values and items come out as `Bytes` slices of it ([`Bytes::slice_ref`]), so they
/// outlive the read buffer without a copy.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_codec::Packet;
///
/// let wire = Bytes::from_static(b"\x00\x08\x00\x00\x01\x00K\x03\x00abc");
/// let packet = Packet::parse(&wire)?.complete().unwrap();
/// let value: Bytes = packet.get("K").unwrap();
/// assert_eq!(value, "abc");
/// assert_eq!(value.as_ptr(), wire[9..].as_ptr()); // the same memory
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    layout: Layout,
    bytes: Bytes,
}

impl Packet {
    /// Parses with the default [`Parser`].
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    pub fn parse(buf: &Bytes) -> Result<Status<Packet>, Error> {
        Parser::default().parse_bytes(buf)
    }

    fn from_view(buf: &Bytes, view: &PacketRef<'_>) -> Packet {
        Packet {
            layout: view.layout,
            bytes: buf.slice_ref(view.wire),
        }
    }

    /// A borrowed view, which has every accessor.
    #[inline]
    pub fn view(&self) -> PacketRef<'_> {
        PacketRef {
            layout: self.layout,
            wire: &self.bytes,
        }
    }

    /// The header.
    #[inline]
    pub fn header(&self) -> Header {
        self.layout.header
    }

    /// Header byte 0.
    #[inline]
    pub fn modifier1(&self) -> Modifier1 {
        self.layout.header.modifier1
    }

    /// Header byte 3.
    #[inline]
    pub fn modifier2(&self) -> u8 {
        self.layout.header.modifier2
    }

    /// How the block was read and what follows the packet.
    #[inline]
    pub fn kind(&self) -> PacketKind {
        self.layout.kind
    }

    /// The packet's exact wire bytes.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The packet's wire bytes, giving up the packet.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The last value of `key` as a `Bytes` slice of the packet.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<Bytes> {
        let value = self.view().vars()?.get(key)?;
        Some(self.bytes.slice_ref(value))
    }

    /// Every pair as `Bytes` slices of the packet, in wire order (empty for other kinds).
    pub fn vars_bytes(&self) -> impl Iterator<Item = (Bytes, Bytes)> + '_ {
        let vars = self.view().vars().into_iter().flat_map(|vars| vars.iter());
        vars.map(|(k, v)| (self.bytes.slice_ref(k), self.bytes.slice_ref(v)))
    }

    /// Every item as a `Bytes` slice of the packet (empty for other kinds).
    pub fn items_bytes(&self) -> impl Iterator<Item = Bytes> + '_ {
        let items = self
            .view()
            .array()
            .into_iter()
            .flat_map(|array| array.iter());
        items.map(|item| self.bytes.slice_ref(item))
    }

    /// As [`PacketRef::body_len`].
    ///
    /// # Errors
    ///
    /// As [`PacketRef::body_len`].
    pub fn body_len(&self) -> Result<u64, Error> {
        self.view().body_len()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_checked_before_the_block_arrives() {
        let parser = Parser::new().with_max_datasize(10);
        assert!(matches!(
            parser.parse(&[0, 11, 0, 0]),
            Err(Error::TooLarge { len: 11, max: 10 })
        ));
        assert!(matches!(
            parser.parse(&[0, 10, 0, 0]),
            Ok(Status::Incomplete(10))
        ));
    }

    #[test]
    fn limit_above_the_protocol_maximum_clamps_instead_of_wrapping() {
        assert_eq!(Parser::new().with_max_datasize(65536).max_datasize(), 65535);
        assert_eq!(
            Parser::new().with_max_datasize(usize::MAX).max_datasize(),
            65535
        );
    }

    #[test]
    fn datagram_must_be_exactly_one_packet() {
        let parser = Parser::new();
        assert!(parser.parse_datagram(&[100, 0, 0, 0]).is_ok());
        assert!(matches!(
            parser.parse_datagram(&[100, 1, 0, 0]),
            Err(Error::DatagramLength {
                datasize: 1,
                len: 4
            })
        ));
        assert!(matches!(
            parser.parse_datagram(&[100, 0, 0, 0, 9]),
            Err(Error::DatagramLength {
                datasize: 0,
                len: 5
            })
        ));
        assert!(matches!(
            parser.parse_datagram(&[100, 0]),
            Err(Error::UnexpectedEof {
                offset: 2,
                needed: 2
            })
        ));
    }

    #[test]
    fn custom_foreign_pattern_is_refused() {
        let parser = Parser::new().with_foreign_pattern(*b"PROP");
        assert!(matches!(
            parser.parse(b"PROPFIND"),
            Err(Error::ForeignProtocol { protocol: ForeignProtocol::Custom(p), .. }) if &p == b"PROP"
        ));
    }

    #[test]
    fn reply_direction_reads_an_rpc_reply_as_raw() {
        let parser = Parser::new().with_direction(Direction::Reply);
        let packet = parser
            .parse(b"\xad\x03\x00\x00a|b")
            .ok()
            .and_then(Status::complete);
        assert_eq!(packet.map(|p| p.block()), Some(Block::Raw(b"a|b")));
    }
}
