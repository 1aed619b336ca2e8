//! [`Parser`]: the decoding settings, and the steps that turn bytes into a validated packet
//! (rules H1 to H8).

use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use crate::array::Array;
use crate::error::Error;
use crate::escape::{DebugList, Escaped};
use crate::header::{HEADER_LEN, Header, MAX_DATASIZE};
use crate::magic::MagicPolicy;
use crate::modifier::{BlockKind, Direction, Modifier1, PacketKind};
use crate::owned::Packet;
#[cfg(feature = "codec")]
use crate::packet::Shape;
use crate::packet::{Block, PacketRef};
use crate::sniff::{ForeignProtocol, sniff};
use crate::status::Status;
use crate::triage::{Foreign, REQUEST, SUSPECT, Triage};
use crate::vars::{Vars, VarsRules};

/// Decoding settings: limits, foreign-protocol check, magic policy and packet kinds.
///
/// The defaults accept everything nginx can send: datasize up to 65535, any number of pairs,
/// magic vars allowed, foreign protocols refused, packets read as requests. A server keeps one
/// `Parser` and calls [`parse_pairs`](Self::parse_pairs) (or [`parse`](Self::parse)) for every
/// packet; the settings cost nothing per packet when they are left at their defaults.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{Error, MagicPolicy, Parser};
///
/// let parser = Parser::new().with_max_datasize(4096).with_magic_policy(MagicPolicy::Refuse);
/// let err = parser.parse(&[0x00, 0x01, 0x10, 0x00]).unwrap_err(); // datasize 4097
/// assert_eq!(err, Error::TooLarge { len: 4097, max: 4096 });
/// ```
#[derive(Clone)]
pub struct Parser {
    /// At most [`MAX_DATASIZE`]; a `usize`, so that the header check compares it without
    /// widening. The fast path never reads it: the modifier table says whether it is the
    /// default.
    max_datasize: usize,
    foreign_check: bool,
    foreign_patterns: Vec<[u8; 4]>,
    vars: VarsRules,
    direction: Direction,
    /// `None`: the built-in table, which the compiler can inline.
    kind_fn: Option<fn(&Header, Direction) -> PacketKind>,
    /// What each modifier1 means under these settings, rebuilt by every setter it depends on.
    triage: Triage,
}

/// The settings as set (`custom_kind_fn`: whether [`with_kind_fn`](Parser::with_kind_fn) was
/// called); the modifier table and the rules' flag are derived from them, so they are left out.
impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns = DebugList(self.foreign_patterns.iter().map(|p| Escaped(p)));
        f.debug_struct("Parser")
            .field("max_datasize", &self.max_datasize)
            .field("max_vars", &self.vars.max_vars())
            .field("foreign_check", &self.foreign_check)
            .field("foreign_patterns", &patterns)
            .field("magic_policy", self.vars.magic())
            .field("direction", &self.direction)
            .field("custom_kind_fn", &self.kind_fn.is_some())
            .finish()
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser::DEFAULT
    }
}

impl Parser {
    /// The default settings, as a constant: `PacketRef::parse` uses it without building one.
    pub(crate) const DEFAULT: Parser = Parser {
        max_datasize: MAX_DATASIZE,
        foreign_check: true,
        foreign_patterns: Vec::new(),
        vars: VarsRules::DEFAULT,
        direction: Direction::Request,
        kind_fn: None,
        triage: Triage::new(Foreign::Builtin, true, true),
    };

    /// A parser with the default settings; `const`, so that a server whose settings are the
    /// defaults can keep it in a `static` and reach it without a lazy initialisation.
    ///
    /// ```
    /// use uwsgi_codec::{EMPTY_PAIR, Parser, Status};
    ///
    /// static PARSER: Parser = Parser::new();
    ///
    /// let mut storage = [EMPTY_PAIR; 8];
    /// let wire = b"\x00\x08\x00\x00\x01\x00K\x03\x00abc";
    /// let Status::Complete(packet) = PARSER.parse_pairs(wire, &mut storage)? else { panic!() };
    /// assert_eq!(packet.pairs(), [(&b"K"[..], &b"abc"[..])]);
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    pub const fn new() -> Self {
        Parser::DEFAULT
    }

    /// Refuses packets whose datasize exceeds `max` (`TooLarge`), decided from the 4 header
    /// bytes before any block byte is awaited (rule H3). The default is 65535, the protocol
    /// maximum; values above it mean 65535: the limit never wraps (uWSGI's `buffer-size =
    /// 65536` once became 0).
    pub fn with_max_datasize(mut self, max: usize) -> Self {
        self.max_datasize = max.min(MAX_DATASIZE);
        self.retriage()
    }

    /// Refuses vars blocks with more than `max` pairs (`TooManyVars`); `None`, the default,
    /// sets no limit, because nginx sends one var per client header (rule L2). With
    /// [`parse_pairs`](Self::parse_pairs), the storage's length is already a pair limit, and
    /// the one that costs nothing. This one, like a datasize limit or a magic policy other
    /// than the default, takes `parse_pairs` and the codec's `peek_pairs` off their fast path:
    /// a call out of line before the walk, and for `peek_pairs` a second pass for the body
    /// length.
    pub fn with_max_vars(mut self, max: Option<usize>) -> Self {
        self.vars = core::mem::take(&mut self.vars).with_max_vars(max);
        self.retriage()
    }

    /// Turns the foreign-protocol check (PROTOCOL.md §6) on or off; it is on by default.
    pub fn with_foreign_check(mut self, on: bool) -> Self {
        self.foreign_check = on;
        self.retriage()
    }

    /// Adds a 4-byte preamble to refuse as foreign (for example `*b"PROP"` for WebDAV).
    pub fn with_foreign_pattern(mut self, pattern: [u8; 4]) -> Self {
        self.foreign_patterns.push(pattern);
        self.retriage()
    }

    /// Sets which `UWSGI_*` vars are accepted (rule M2); the default, [`MagicPolicy::Allow`],
    /// accepts them all.
    pub fn with_magic_policy(mut self, policy: MagicPolicy) -> Self {
        self.vars = core::mem::take(&mut self.vars).with_magic(policy);
        self.retriage()
    }

    /// Reads packets as requests (the default) or as replies: the same header means a
    /// different block in each direction (an RPC request holds an array, its reply raw bytes).
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self.retriage()
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
        self.retriage()
    }

    /// Rebuilds the table of what each modifier1 means from the settings, the limit and the
    /// rules included (whether a plain request may skip them: `PLAIN_DEFAULTS`).
    fn retriage(mut self) -> Self {
        let foreign = match (self.foreign_check, self.foreign_patterns.is_empty()) {
            (false, _) => Foreign::Off,
            (true, true) => Foreign::Builtin,
            (true, false) => Foreign::Custom,
        };
        let requests = self.kind_fn.is_none() && self.direction == Direction::Request;
        let defaults = self.max_datasize == MAX_DATASIZE && self.vars.is_default();
        self.triage = Triage::new(foreign, requests, defaults);
        self
    }

    /// The datasize limit in force.
    pub fn max_datasize(&self) -> usize {
        self.max_datasize
    }

    /// The pair limit in force (`None`: no limit).
    pub fn max_vars(&self) -> Option<usize> {
        self.vars.max_vars()
    }

    /// Whether the foreign-protocol check is on.
    pub fn foreign_check(&self) -> bool {
        self.foreign_check
    }

    /// The magic-var policy in force.
    pub fn magic_policy(&self) -> &MagicPolicy {
        self.vars.magic()
    }

    /// The direction packets are read in.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The kind this parser gives a packet with `header`.
    #[inline(always)]
    pub fn kind_of(&self, header: &Header) -> PacketKind {
        // A request family (most packets) costs one table lookup.
        if self.triage.of(header.modifier1.0) & REQUEST != 0 {
            return PacketKind::REQUEST;
        }
        self.listed_kind(*header)
    }

    /// The kind of a packet that the triage table does not settle: out of line, so that the
    /// common path does not prepare the call.
    #[inline(never)]
    fn listed_kind(&self, header: Header) -> PacketKind {
        self.kind_in(&header, self.direction)
    }

    /// The kind this parser's table gives a packet with `header` travelling in `direction`.
    #[inline]
    pub(crate) fn kind_in(&self, header: &Header, direction: Direction) -> PacketKind {
        match self.kind_fn {
            Some(kind_fn) => kind_fn(header, direction),
            None => header.kind(direction),
        }
    }

    /// Reads and checks the header (rules H1 to H3): the foreign-protocol check, then the
    /// datasize limit, from the first 4 bytes alone.
    ///
    /// # Errors
    ///
    /// `ForeignProtocol` or `TooLarge`.
    #[inline(always)]
    pub fn parse_header(&self, buf: &[u8]) -> Result<Status<Header>, Error> {
        let Some(&[modifier1, low, high, modifier2]) = buf.first_chunk::<4>() else {
            return Ok(Status::Incomplete(HEADER_LEN - buf.len()));
        };
        let header = Header::new(
            Modifier1(modifier1),
            u16::from_le_bytes([low, high]),
            modifier2,
        );
        // One table lookup and one comparison on the common path; the rest only when the first
        // byte could start a foreign preamble or the datasize is over the limit.
        if self.triage.of(modifier1) & SUSPECT != 0
            || usize::from(header.datasize) > self.max_datasize
        {
            self.refuse_header(header)?;
        }
        Ok(Status::Complete(header))
    }

    /// The error for a header that `parse_header` suspects: a foreign preamble (rule F1) or a
    /// datasize over the limit (rule H3), in that order; `Ok` if neither holds after all.
    #[cold]
    #[inline(never)]
    fn refuse_header(&self, header: Header) -> Result<(), Error> {
        let four = header.to_bytes();
        let foreign = match sniff(&four) {
            None if self.foreign_patterns.contains(&four) => Some(ForeignProtocol::Custom(four)),
            found => found,
        };
        if let Some(protocol) = foreign.filter(|_| self.foreign_check) {
            let (modifier1, datasize) = (header.modifier1.0, header.datasize);
            return Err(Error::ForeignProtocol {
                protocol,
                modifier1,
                datasize,
            });
        }
        let (len, max) = (usize::from(header.datasize), self.max_datasize);
        if len > max {
            return Err(Error::TooLarge { len, max });
        }
        Ok(())
    }

    /// Parses the packet at the start of `buf` (rules H1 to H5), in one walk of its block.
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
    #[inline(always)]
    pub fn parse<'a>(&self, buf: &'a [u8]) -> Result<Status<PacketRef<'a>>, Error> {
        let mut packet = PacketRef::empty();
        Ok(self.parse_into(buf, &mut packet)?.map(|_| packet))
    }

    /// Parses the packet at the start of `buf` into `packet`, in place (rules H1 to H5), for a
    /// caller that wants the full view without pair storage ([`parse_pairs`](Self::parse_pairs)
    /// is the faster path). On `Complete` it returns the packet's wire length and `packet`
    /// holds it; on `Incomplete` or an error `packet` holds nothing of `buf`.
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{PacketRef, Parser, Status};
    ///
    /// let parser = Parser::new();
    /// let wire = b"\x00\x0b\x00\x00\x03\x00FOO\x04\x00bar!";
    /// let mut packet = PacketRef::empty();
    /// assert_eq!(parser.parse_into(wire, &mut packet)?, Status::Complete(15));
    /// assert_eq!(packet.vars().unwrap().get("FOO"), Some(&b"bar!"[..]));
    /// # Ok::<(), uwsgi_codec::Error>(())
    /// ```
    #[inline(always)]
    pub fn parse_into<'a>(
        &self,
        buf: &'a [u8],
        packet: &mut PacketRef<'a>,
    ) -> Result<Status<usize>, Error> {
        let header = match self.parse_header(buf) {
            Ok(Status::Complete(header)) => header,
            other => {
                *packet = PacketRef::empty();
                return other.map(|status| status.map(|_| 0));
            }
        };
        let Some(wire) = buf.get(..header.packet_len()) else {
            *packet = PacketRef::empty();
            return Ok(Status::Incomplete(header.packet_len() - buf.len()));
        };
        let kind = self.kind_of(&header);
        let bytes = wire.get(HEADER_LEN..).unwrap_or_default();
        let block = packet.reset(wire, header, kind);
        let filled = match kind.block {
            BlockKind::Vars => {
                *block = Block::Vars(Vars::unvalidated(bytes));
                match block {
                    Block::Vars(vars) => vars.validate_into(&self.vars),
                    _ => Ok(()),
                }
            }
            BlockKind::Array => Array::parse(bytes).map(|array| *block = Block::Array(array)),
            BlockKind::Raw => {
                *block = Block::Raw(bytes);
                Ok(())
            }
        };
        if let Err(err) = filled {
            *packet = PacketRef::empty();
            return Err(err);
        }
        Ok(Status::Complete(wire.len()))
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

    /// The packet in `frame`, exactly one whole packet whose header `parse_header` accepted,
    /// and its body length: the decoder's path, which keeps `frame` as the packet's memory.
    #[inline]
    #[cfg(feature = "codec")]
    pub(crate) fn parse_frame(&self, header: Header, frame: Bytes) -> Result<(Packet, u64), Error> {
        let mut packet = Packet::new(frame, header, self.kind_of(&header), Shape::Raw);
        let body_len = packet.validate(&self.vars)?;
        Ok((packet, body_len))
    }
}

/// The default settings, at one address: `PacketRef::parse` borrows it instead of building a
/// `Parser` for every packet.
static DEFAULT: Parser = Parser::DEFAULT;

impl<'a> PacketRef<'a> {
    /// Parses with the default [`Parser`] settings, without building a `Parser`.
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    #[inline(always)]
    pub fn parse(buf: &'a [u8]) -> Result<Status<PacketRef<'a>>, Error> {
        DEFAULT.parse(buf)
    }
}

impl Packet {
    /// Parses with the default [`Parser`] settings.
    ///
    /// # Errors
    ///
    /// As [`Parser::parse`].
    pub fn parse(buf: &Bytes) -> Result<Status<Packet>, Error> {
        DEFAULT.parse_bytes(buf)
    }
}

mod pairs;
#[cfg(test)]
mod tests;

pub use pairs::{EMPTY_PAIR, MAX_PAIRS, PacketPairs};
