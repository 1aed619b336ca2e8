//! [`ClientCodec`]: the front-end side, which encodes requests and decodes their replies.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Error, Framing, State, Step};
use crate::{BlockKind, Direction, Header, Packet, PacketBuilder, Parser};

/// What a [`ClientCodec`] decodes from a connection: the reply to the request it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A framed reply: a pong, an RPC or cache reply, a signal or spooler status.
    Packet(Packet),
    /// The next piece of a framed reply's body (RPC modifier2 5, cache magic).
    Body(Bytes),
    /// Bytes of a reply that is not uwsgi-framed (the raw HTTP response to a request family,
    /// an echo, a raw RPC value), passed through as they arrive until the connection ends.
    Raw(Bytes),
    /// The end of the reply.
    End,
}

impl Step for ClientFrame {
    fn packet(packet: Packet) -> Self {
        ClientFrame::Packet(packet)
    }
    fn body(chunk: Bytes) -> Self {
        ClientFrame::Body(chunk)
    }
    fn end() -> Self {
        ClientFrame::End
    }
}

/// What a [`ClientCodec`] encodes: a request's packet, then its body in chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage<'a> {
    /// A request or service packet; what it frames (its `CONTENT_LENGTH`) must follow as
    /// [`Body`](ClientMessage::Body) chunks, never more (rule E7).
    Packet(&'a PacketBuilder<'a>),
    /// The next piece of the body of the packet just sent.
    Body(Bytes),
}

/// How the reply to the request sent is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// A uwsgi-framed reply, read by the shared framing.
    Framed,
    /// Raw bytes until the connection ends; `ended` once `End` has been yielded.
    Raw { ended: bool },
}

/// The front-end side: encodes requests and service packets, decodes their replies.
///
/// Encoding a [`ClientMessage::Packet`] writes the packet and learns from the builder what it
/// frames and what comes back: a request family, an echo or a raw RPC (modifier2 1) gets raw
/// bytes, yielded as [`ClientFrame::Raw`] chunks and [`ClientFrame::End`] at the end of input,
/// never read as a packet; other service packets get a framed reply, yielded as
/// [`ClientFrame::Packet`], its [`ClientFrame::Body`] (RPC modifier2 5, cache magic) and
/// [`ClientFrame::End`]. Bytes after a complete framed reply are not read; the end of input
/// before any reply byte is a clean end (rule H7), not an error.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use uwsgi_codec::codec::{ClientCodec, ClientFrame, ClientMessage};
/// use uwsgi_codec::{Modifier1, PacketBuilder};
///
/// let mut codec = ClientCodec::new();
/// let mut out = BytesMut::new();
/// codec.encode(ClientMessage::Packet(&PacketBuilder::ping()), &mut out)?;
/// assert_eq!(&out[..], [0x64, 0, 0, 0]);
///
/// let mut reply = BytesMut::from(&[0x64, 0, 0, 1][..]);
/// let Some(ClientFrame::Packet(pong)) = codec.decode(&mut reply)? else { panic!() };
/// assert_eq!((pong.modifier1(), pong.modifier2()), (Modifier1::PING, 1));
/// # Ok::<(), uwsgi_codec::codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientCodec {
    framing: Framing,
    reply: Reply,
    /// Body bytes the last packet framed, and how many have been sent.
    body: (u64, u64),
}

impl Default for ClientCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCodec {
    /// A client codec with the default limits; it expects a raw reply until a packet is sent.
    pub fn new() -> Self {
        Self::with_parser(Parser::new())
    }

    /// A client codec whose framed replies are read with these settings.
    pub fn with_parser(parser: Parser) -> Self {
        ClientCodec {
            framing: Framing::new(parser.with_direction(Direction::Reply)),
            reply: Reply::Raw { ended: false },
            body: (0, 0),
        }
    }

    /// The parser settings framed replies are read with.
    pub fn parser(&self) -> &Parser {
        &self.framing.parser
    }

    fn encode_packet(&mut self, item: &PacketBuilder<'_>, dst: &mut BytesMut) -> Result<(), Error> {
        let (expected, sent) = self.body;
        if sent != expected {
            return Err(Error::BodyMismatch {
                expected,
                received: sent,
            });
        }
        let (modifier1, modifier2) = (item.modifier1(), item.modifier2());
        let header = Header::new(modifier1, 0, modifier2);
        let kind = self.framing.parser.kind_in(&header, Direction::Request);
        let mut body_len = match kind.body.length_key() {
            Some(key) if kind.block == BlockKind::Vars => item.framed_body_len(key)?,
            _ => 0,
        };
        let start = dst.len();
        item.encode(dst)?;
        if item.has_raw() {
            // Raw bytes (rule E6) can make a block that no strict peer accepts, or hide or make
            // a framing var: what a server frames is what it reads from the bytes written.
            let written = dst.get(start..).unwrap_or_default();
            let framed = Parser::new()
                .with_foreign_check(false)
                .parse_datagram(written)
                .and_then(|packet| packet.body_len());
            match framed {
                Ok(len) => body_len = len,
                Err(err) => {
                    dst.truncate(start);
                    return Err(err.into());
                }
            }
        }
        self.body = (body_len, 0);
        self.reply = if modifier1.framed_reply(modifier2) {
            self.framing.enter(State::Head(None));
            Reply::Framed
        } else {
            Reply::Raw { ended: false }
        };
        Ok(())
    }
}

impl Encoder<ClientMessage<'_>> for ClientCodec {
    type Error = Error;

    fn encode(&mut self, item: ClientMessage<'_>, dst: &mut BytesMut) -> Result<(), Error> {
        match item {
            ClientMessage::Packet(builder) => self.encode_packet(builder, dst),
            ClientMessage::Body(chunk) => {
                let (expected, sent) = self.body;
                let received = sent.saturating_add(chunk.len() as u64);
                if received > expected {
                    return Err(Error::BodyMismatch { expected, received });
                }
                self.body = (expected, received);
                dst.extend_from_slice(&chunk);
                Ok(())
            }
        }
    }
}

impl Decoder for ClientCodec {
    type Item = ClientFrame;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ClientFrame>, Error> {
        match self.reply {
            Reply::Raw { .. } if src.is_empty() => Ok(None),
            Reply::Raw { .. } => Ok(Some(ClientFrame::Raw(src.split().freeze()))),
            Reply::Framed => Ok(self.framing.decode(src, State::Done)?),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ClientFrame>, Error> {
        match self.reply {
            Reply::Raw { ended: false } if src.is_empty() => {
                self.reply = Reply::Raw { ended: true };
                Ok(Some(ClientFrame::End))
            }
            Reply::Raw { .. } => self.decode(src),
            Reply::Framed => {
                let frame = self.framing.decode_eof(src, State::Done)?;
                if frame.is_none() && !src.is_empty() {
                    src.advance(src.len()); // bytes after a complete reply: not ours to read
                }
                Ok(frame)
            }
        }
    }
}
