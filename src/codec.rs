//! tokio-util codecs for both roles: [`ServerCodec`] (what uWSGI does behind nginx) and
//! [`ClientCodec`] (what nginx does in front of uWSGI), with exact body framing
//! (PROTOCOL.md §4 and §5, rules C1 to C9).
//!
//! Both decode into [`Frame`]s: a message is `Packet`, then its body as `Body` chunks as they
//! arrive (exactly the framed length, never buffered whole), then `End`.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::builder::PacketBuilder;
use crate::error::Error;
use crate::header::Header;
use crate::modifier::{BlockKind, Direction, Modifier1, PacketKind};
use crate::packet::{Packet, PacketRef, Parser};
use crate::status::Status;

/// One item decoded from a uwsgi connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A validated packet: a request head, a service packet or a framed reply.
    Packet(Packet),
    /// The next piece of the packet's body (`CONTENT_LENGTH` or cache `size` bytes in all).
    Body(Bytes),
    /// The end of the message: every body byte has been yielded.
    End,
    /// Server, one-request mode: bytes that came after the request's body. They are never
    /// parsed (a body or a pipelined packet there is a smuggling shape); log and close.
    Trailing(Bytes),
    /// Client: bytes of a reply that is not uwsgi-framed (raw HTTP, echo, raw RPC), passed
    /// through as they arrive until the connection ends.
    Raw(Bytes),
}

/// Where the decoder is in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a packet.
    Head,
    /// Yielding body bytes.
    Body { expected: u64, received: u64 },
    /// The body is complete; `End` comes next.
    End,
    /// One-request mode, after `End`: anything more is trailing.
    Done,
}

/// The packet-then-body state machine both roles share.
#[derive(Debug, Clone)]
struct Framing {
    parser: Parser,
    max_body: Option<u64>,
    state: State,
}

impl Framing {
    fn new(parser: Parser) -> Self {
        Framing {
            parser,
            max_body: None,
            state: State::Head,
        }
    }

    /// Decodes the next packet, body chunk or end; `after_end` is the state after `End`.
    fn decode(&mut self, src: &mut BytesMut, after_end: State) -> Result<Option<Frame>, Error> {
        match self.state {
            State::Head => self.decode_head(src),
            State::Body { expected, received } => {
                if received == expected {
                    self.state = State::End;
                    return self.decode(src, after_end);
                }
                if src.is_empty() {
                    return Ok(None);
                }
                let wanted = expected - received;
                let take = usize::try_from(wanted).map_or(src.len(), |w| w.min(src.len()));
                let received = received + take as u64;
                self.state = State::Body { expected, received };
                Ok(Some(Frame::Body(src.split_to(take).freeze())))
            }
            State::End => {
                self.state = after_end;
                Ok(Some(Frame::End))
            }
            State::Done => Ok(None),
        }
    }

    fn decode_head(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let header = match self.parser.parse_header(src)? {
            Status::Complete(header) => header,
            Status::Incomplete(needed) => {
                src.reserve(needed);
                return Ok(None);
            }
        };
        let len = header.packet_len();
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let packet = self
            .parser
            .parse_frame(header, src.split_to(len).freeze())?;
        let expected = packet.body_len()?;
        if let Some(max) = self.max_body.filter(|&max| expected > max) {
            return Err(Error::BodyTooLarge { len: expected, max });
        }
        self.state = State::Body {
            expected,
            received: 0,
        };
        Ok(Some(Frame::Packet(packet)))
    }

    /// At the end of input: a clean end only between messages (rules H7 and C7).
    fn decode_eof(&mut self, src: &mut BytesMut, after_end: State) -> Result<Option<Frame>, Error> {
        if let Some(frame) = self.decode(src, after_end)? {
            return Ok(Some(frame));
        }
        match self.state {
            State::Head if src.is_empty() => Ok(None),
            State::Head => {
                let needed = match Header::parse(src) {
                    Status::Complete(header) => header.packet_len().saturating_sub(src.len()),
                    Status::Incomplete(needed) => needed,
                };
                Err(Error::UnexpectedEof {
                    offset: src.len(),
                    needed,
                })
            }
            State::Body { expected, received } => Err(Error::TruncatedBody { expected, received }),
            State::End | State::Done => Ok(None),
        }
    }
}

/// The application-server side: decodes requests (and service packets), encodes replies.
///
/// Decoding yields `Packet`, then the body as `Body` chunks (exactly the framed length; body
/// bytes are never read as a packet, rule C6), then `End`. In the default one-request mode
/// (what nginx does: one request per connection) anything after the body comes back as
/// `Trailing` and is never parsed; with [`persistent`](Self::persistent) the next packet is
/// decoded after the body. An end of input inside a header, block or body is an error from
/// `decode_eof`, never a silent end. After an error the connection is dead.
///
/// Encoding: `Bytes` and `&[u8]` pass through unchanged (request-family replies are raw HTTP,
/// case 50); a `&PacketBuilder` or [`RpcReply`] frames a service reply.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_codec::{Frame, ServerCodec};
///
/// let mut codec = ServerCodec::new();
/// let mut src = BytesMut::from(&b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hel"[..]);
/// let Some(Frame::Packet(head)) = codec.decode(&mut src)? else { panic!() };
/// assert_eq!(head.body_len()?, 5);
/// assert_eq!(codec.decode(&mut src)?, Some(Frame::Body("hel".into())));
/// assert_eq!(codec.decode(&mut src)?, None); // waiting for 2 more body bytes
/// src.extend_from_slice(b"lo");
/// assert_eq!(codec.decode(&mut src)?, Some(Frame::Body("lo".into())));
/// assert_eq!(codec.decode(&mut src)?, Some(Frame::End));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerCodec {
    framing: Framing,
    persistent: bool,
}

impl Default for ServerCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerCodec {
    /// A server codec with the default [`Parser`]: limit 65535, no pair limit, no body limit,
    /// one request per connection.
    pub fn new() -> Self {
        Self::with_parser(Parser::new())
    }

    /// A server codec with these parser settings (limits, magic policy, foreign check).
    /// They take effect from the next packet decoded.
    pub fn with_parser(parser: Parser) -> Self {
        ServerCodec {
            framing: Framing::new(parser.with_direction(Direction::Request)),
            persistent: false,
        }
    }

    /// Refuses bodies longer than `max` bytes with `BodyTooLarge` as soon as the head is
    /// decoded, before any body byte is read (rule C9, like uWSGI `--limit-post`).
    pub fn with_max_body(mut self, max: u64) -> Self {
        self.framing.max_body = Some(max);
        self
    }

    /// Decodes packet after packet on one connection (uWSGI `--puwsgi-socket` style): the next
    /// packet only after every body byte has been yielded (rule C8).
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    fn after_end(&self) -> State {
        if self.persistent {
            State::Head
        } else {
            State::Done
        }
    }

    /// The parser settings in force.
    pub fn parser(&self) -> &Parser {
        &self.framing.parser
    }
}

impl Decoder for ServerCodec {
    type Item = Frame;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if self.framing.state == State::Done {
            return Ok((!src.is_empty()).then(|| Frame::Trailing(src.split().freeze())));
        }
        let after_end = self.after_end();
        self.framing.decode(src, after_end)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if self.framing.state == State::Done {
            return self.decode(src);
        }
        let after_end = self.after_end();
        self.framing.decode_eof(src, after_end)
    }
}

impl Encoder<Bytes> for ServerCodec {
    type Error = Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

impl Encoder<&[u8]> for ServerCodec {
    type Error = Error;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(item);
        Ok(())
    }
}

impl Encoder<&PacketBuilder<'_>> for ServerCodec {
    type Error = Error;

    fn encode(&mut self, item: &PacketBuilder<'_>, dst: &mut BytesMut) -> Result<(), Error> {
        item.encode(dst).map(drop)
    }
}

/// An RPC return value, framed as uWSGI frames it (PROTOCOL.md §2.5): up to 65535 bytes as
/// `ad <len> 00` + value; longer as `ad <dictlen> 05` + `CONTENT_LENGTH` + the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcReply<'a>(pub &'a [u8]);

impl Encoder<RpcReply<'_>> for ServerCodec {
    type Error = Error;

    fn encode(&mut self, item: RpcReply<'_>, dst: &mut BytesMut) -> Result<(), Error> {
        let value = item.0;
        if value.len() <= crate::MAX_DATASIZE {
            return PacketBuilder::new(Modifier1::RPC)
                .raw(value)
                .encode(dst)
                .map(drop);
        }
        let head = PacketBuilder::new(Modifier1::RPC)
            .modifier2(5)
            .body_len(value.len() as u64);
        dst.reserve(head.encoded_len()? + value.len());
        head.encode(dst)?;
        dst.extend_from_slice(value);
        Ok(())
    }
}

/// What the client expects back for the request it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A uwsgi-framed reply (pong, RPC, signal, cache).
    Framed,
    /// Raw bytes until the connection ends (HTTP, echo, raw RPC).
    Raw { ended: bool },
}

/// The front-end side: encodes requests and service packets, decodes their replies.
///
/// Encoding a `&PacketBuilder` writes a packet; what it frames (its `CONTENT_LENGTH`) must
/// then follow as `Bytes` body chunks, never more (rule E7). Encoding also tells the decoder
/// what comes back: a request family, an echo or a raw RPC (modifier2 1) gets raw bytes,
/// yielded as `Raw` chunks and `End` at the end of input, never read as a packet; other
/// service packets get a framed reply, yielded as `Packet`, its `Body` (RPC modifier2 5,
/// cache magic) and `End`. Bytes after a complete framed reply are not read; the end of
/// input before any reply byte is a clean end (rule H7), not an error.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use uwsgi_codec::{ClientCodec, Frame, Modifier1, PacketBuilder};
///
/// let mut codec = ClientCodec::new();
/// let mut out = BytesMut::new();
/// codec.encode(&PacketBuilder::ping(), &mut out)?;
/// assert_eq!(&out[..], [0x64, 0, 0, 0]);
///
/// let mut reply = BytesMut::from(&[0x64, 0, 0, 1][..]);
/// let Some(Frame::Packet(pong)) = codec.decode(&mut reply)? else { panic!() };
/// assert_eq!((pong.header().modifier1, pong.header().modifier2), (Modifier1::PING, 1));
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientCodec {
    framing: Framing,
    expect: Expect,
    body: Option<(u64, u64)>,
}

impl Default for ClientCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCodec {
    /// A client codec with the default limits; it expects a raw reply until told otherwise.
    pub fn new() -> Self {
        Self::with_parser(Parser::new())
    }

    /// A client codec whose framed replies are read with these settings.
    pub fn with_parser(parser: Parser) -> Self {
        ClientCodec {
            framing: Framing::new(parser.with_direction(Direction::Reply)),
            expect: Expect::Raw { ended: false },
            body: None,
        }
    }

    /// Whether a request with this header gets a raw reply (PROTOCOL.md §2.5).
    fn raw_reply(packet: &PacketRef<'_>) -> bool {
        let header = packet.header();
        let rpc_dict_reply = header.modifier1 == Modifier1::RPC && header.modifier2 == 5;
        (packet.kind() == PacketKind::REQUEST && !rpc_dict_reply)
            || header.modifier1 == Modifier1::ECHO
            || (header.modifier1 == Modifier1::RPC && header.modifier2 == 1)
    }
}

impl Encoder<&PacketBuilder<'_>> for ClientCodec {
    type Error = Error;

    fn encode(&mut self, item: &PacketBuilder<'_>, dst: &mut BytesMut) -> Result<(), Error> {
        if let Some((expected, received)) = self.body.filter(|(e, r)| e != r) {
            return Err(Error::TruncatedBody { expected, received });
        }
        let start = dst.len();
        item.encode(dst)?;
        let written = dst.get(start..).unwrap_or_default();
        let framing = Parser::new()
            .with_foreign_check(false)
            .with_kind_fn(self.framing.parser.kind_fn())
            .parse(written)
            .and_then(|status| {
                let packet = status.complete().ok_or(Error::UnexpectedEof {
                    offset: 0,
                    needed: 0,
                })?;
                let body_len = match packet.kind().block {
                    BlockKind::Vars => packet.body_len()?,
                    _ => 0,
                };
                Ok((body_len, Self::raw_reply(&packet)))
            });
        let (body_len, raw_reply) = match framing {
            Ok(framing) => framing,
            Err(err) => {
                dst.truncate(start); // a raw part made a block no strict peer would accept
                return Err(err);
            }
        };
        self.body = Some((body_len, 0));
        self.expect = if raw_reply {
            Expect::Raw { ended: false }
        } else {
            Expect::Framed
        };
        self.framing.state = State::Head;
        Ok(())
    }
}

impl Encoder<Bytes> for ClientCodec {
    type Error = Error;

    /// A body chunk of the request just encoded.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        let (expected, received) = self.body.unwrap_or((0, 0));
        let received = received.saturating_add(item.len() as u64);
        if received > expected {
            return Err(Error::BodyOverrun { expected, received });
        }
        self.body = Some((expected, received));
        dst.extend_from_slice(&item);
        Ok(())
    }
}

impl Decoder for ClientCodec {
    type Item = Frame;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.expect {
            Expect::Raw { .. } if src.is_empty() => Ok(None),
            Expect::Raw { .. } => Ok(Some(Frame::Raw(src.split().freeze()))),
            Expect::Framed => self.framing.decode(src, State::Done),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.expect {
            Expect::Raw { ended: false } if src.is_empty() => {
                self.expect = Expect::Raw { ended: true };
                Ok(Some(Frame::End))
            }
            Expect::Raw { .. } => self.decode(src),
            Expect::Framed => {
                let frame = self.framing.decode_eof(src, State::Done)?;
                if frame.is_none() && !src.is_empty() {
                    src.advance(src.len()); // bytes after a complete reply: not ours to read
                }
                Ok(frame)
            }
        }
    }
}
