//! [`ServerCodec`]: the application-server side, which decodes requests and encodes replies.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Error, Framing, State, Step};
use crate::{
    Direction, Header, MAX_DATASIZE, Modifier1, Packet, PacketBuilder, PacketPairs, Pair, Parser,
    Status,
};

/// What a [`ServerCodec`] decodes from a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// A validated packet: a request head or a service packet (ping, signal, RPC, cache …).
    Packet(Packet),
    /// The next piece of the packet's body (`CONTENT_LENGTH` or cache `size` bytes in all).
    Body(Bytes),
    /// The end of the message: every body byte has been yielded.
    End,
    /// One-request mode: bytes that came after the request's body. They are never parsed (a
    /// body or a pipelined packet there is a smuggling shape); log them and close.
    Trailing(Bytes),
}

impl Step for ServerFrame {
    fn packet(packet: Packet) -> Self {
        ServerFrame::Packet(packet)
    }
    fn body(chunk: Bytes) -> Self {
        ServerFrame::Body(chunk)
    }
    fn end() -> Self {
        ServerFrame::End
    }
}

/// The application-server side: decodes requests (and service packets), encodes replies.
///
/// Decoding yields [`ServerFrame::Packet`], then the body as [`ServerFrame::Body`] chunks
/// (exactly the framed length; body bytes are never read as a packet, rule C6), then
/// [`ServerFrame::End`]. In the default one-request mode (what nginx does: one request per
/// connection) anything after the body comes back as [`ServerFrame::Trailing`] and is never
/// parsed; with [`with_persistent`](Self::with_persistent) the next packet is decoded after
/// the body. An end of input inside a header, block or body is an error from `decode_eof`,
/// never a silent end. After an error the connection is dead.
///
/// Encoding takes [`Bytes`] and writes them as they are: request-family replies are raw HTTP
/// (case 50), and a service reply is a packet that [`PacketBuilder`] or [`RpcReply`] encodes.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_codec::codec::{ServerCodec, ServerFrame};
///
/// let mut codec = ServerCodec::new();
/// let mut src = BytesMut::from(&b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hel"[..]);
/// let Some(ServerFrame::Packet(head)) = codec.decode(&mut src)? else { panic!() };
/// assert_eq!(head.pairs().collect::<Vec<_>>(), [(&b"CONTENT_LENGTH"[..], &b"5"[..])]);
/// assert_eq!(head.body_len()?, 5);
/// assert_eq!(codec.decode(&mut src)?, Some(ServerFrame::Body("hel".into())));
/// assert_eq!(codec.decode(&mut src)?, None); // waiting for 2 more body bytes
/// src.extend_from_slice(b"lo");
/// assert_eq!(codec.decode(&mut src)?, Some(ServerFrame::Body("lo".into())));
/// assert_eq!(codec.decode(&mut src)?, Some(ServerFrame::End));
/// # Ok::<(), uwsgi_codec::codec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerCodec {
    framing: Framing,
    persistent: bool,
    /// The bytes of the heads [`peek_pairs`](Self::peek_pairs) returned, still at the front
    /// of the buffer: the next decode removes them. While it is not 0 the state is the last
    /// head's `Body`, with nothing received.
    peeked: usize,
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

    /// A server codec with these parser settings (limits, magic policy, foreign check), which
    /// read packets as requests. They take effect from the next packet decoded.
    pub fn with_parser(parser: Parser) -> Self {
        ServerCodec {
            framing: Framing::new(parser.with_direction(Direction::Request)),
            persistent: false,
            peeked: 0,
        }
    }

    /// Refuses bodies longer than `max` bytes with `BodyTooLarge` as soon as the head is
    /// decoded, before any body byte is read (rule C9, like uWSGI `--limit-post`); `None`, the
    /// default, sets no limit.
    pub fn with_max_body(mut self, max: Option<u64>) -> Self {
        self.framing.max_body = max;
        self
    }

    /// Decodes packet after packet on one connection (uWSGI `--puwsgi-socket` style): the next
    /// packet only after every body byte has been yielded (rule C8). Off by default.
    pub fn with_persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// The parser settings in force.
    pub fn parser(&self) -> &Parser {
        &self.framing.parser
    }

    /// The body limit in force (`None`: no limit).
    pub fn max_body(&self) -> Option<u64> {
        self.framing.max_body
    }

    /// Whether packets after the first are decoded.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// Reads the next packet's head in place, in the connection buffer, writing its pairs
    /// into `storage` in the same walk, as [`Parser::parse_pairs`] does: the server's fast
    /// path, with no frame built, no bytes split off and no index kept. `None` when more bytes
    /// are needed, or when the codec is not between messages (inside a body, or after the
    /// request in one-request mode): then [`decode`](Decoder::decode) yields what comes next.
    ///
    /// The heads stay at the front of `src`: only borrow the buffer (or append to it) until the
    /// next `decode` (a buffer cut shorter than them fails it with `UnexpectedEof`), which
    /// removes them, then yields the last head's body and `End`, as after
    /// a [`ServerFrame::Packet`]. A head with no body is a whole message: in persistent mode,
    /// peeking again reads the head after it, in the same buffer, so one `storage` serves the
    /// heads of a read up to and including the first with a body (the `End` of each head moved
    /// past is not yielded). Every check of `decode` applies, `BodyTooLarge` included, and
    /// `storage.len()` is a pair limit (`TooManyVars`), as in `parse_pairs`.
    ///
    /// # Errors
    ///
    /// As [`decode`](Decoder::decode) and [`Parser::parse_pairs`]. A peek that fails changes
    /// nothing in the codec: after `TooManyVars` for a storage too small, a larger storage, or
    /// `decode` alone (an owned [`ServerFrame::Packet`]), reads the same head.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// use uwsgi_codec::EMPTY_PAIR;
    /// use uwsgi_codec::codec::{ServerCodec, ServerFrame};
    ///
    /// // Two requests without a body, then one with a body of 5 bytes.
    /// let get = b"\x00\x15\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET";
    /// let post = b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hello";
    /// let mut src = BytesMut::from(&[&get[..], get, post].concat()[..]);
    /// let mut codec = ServerCodec::new().with_persistent(true);
    ///
    /// let mut storage = [EMPTY_PAIR; 64]; // one storage for every head of this read
    /// let mut lengths = Vec::new();
    /// while let Some(head) = codec.peek_pairs(&src, &mut storage)? {
    ///     lengths.push(head.body_len()?);
    /// }
    /// assert_eq!(lengths, [0, 0, 5]); // then `decode` for the body
    /// assert_eq!(codec.decode(&mut src)?, Some(ServerFrame::Body("hello".into())));
    /// assert_eq!(codec.decode(&mut src)?, Some(ServerFrame::End));
    /// assert_eq!(codec.decode(&mut src)?, None);
    /// # Ok::<(), uwsgi_codec::codec::Error>(())
    /// ```
    #[inline]
    pub fn peek_pairs<'s, 'a>(
        &mut self,
        src: &'a [u8],
        storage: &'s mut [Pair<'a>],
    ) -> Result<Option<PacketPairs<'s, 'a>>, Error> {
        let framing = &mut self.framing;
        // Where the next head starts: after the heads peeked, if the last one has no body.
        let start = match framing.state {
            State::Head(_) if !framing.waiting(src) => 0,
            State::Body { expected: 0, .. } if self.peeked != 0 && self.persistent => self.peeked,
            _ => return Ok(None),
        };
        let rest = src.get(start..).unwrap_or_default();
        let (head, expected) = match framing.parser.parse_framed(rest, storage)? {
            Status::Complete(framed) => framed,
            Status::Incomplete(_) => {
                // The header passed its checks: keep it, so that the reads until the head is
                // whole cost one compare each.
                if let (0, Status::Complete(header)) = (start, Header::parse(src)) {
                    framing.enter(State::Head(Some(header)));
                }
                return Ok(None);
            }
        };
        framing.check_body(expected)?;
        framing.enter(State::Body {
            expected,
            received: 0,
        });
        self.peeked = start + head.wire_len();
        Ok(Some(head))
    }

    /// Removes the heads that `peek_pairs` returned from the front of `src`. Out of line: the
    /// owned-frame path never comes here.
    #[inline(never)]
    fn leave_peeked(&mut self, src: &mut BytesMut) -> Result<(), Error> {
        let len = core::mem::take(&mut self.peeked);
        // The caller only borrowed the buffer since the peek: the heads are still there.
        if src.len() < len {
            let (offset, needed) = (src.len(), len - src.len());
            return Err(crate::Error::UnexpectedEof { offset, needed }.into());
        }
        src.advance(len);
        Ok(())
    }

    fn after_end(&self) -> State {
        if self.persistent {
            State::Head(None)
        } else {
            State::Done
        }
    }
}

impl Decoder for ServerCodec {
    type Item = ServerFrame;
    type Error = Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ServerFrame>, Error> {
        // Before the mode checks: the read that leaves a packet incomplete costs one compare.
        if self.framing.waiting(src) {
            return Ok(None);
        }
        if self.peeked != 0 {
            self.leave_peeked(src)?;
        }
        if self.framing.state == State::Done {
            return Ok((!src.is_empty()).then(|| ServerFrame::Trailing(src.split().freeze())));
        }
        // `waiting` is checked above: straight to the step, not through `Framing::decode`.
        let after_end = self.after_end();
        self.framing.step(src, after_end)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ServerFrame>, Error> {
        if self.peeked != 0 {
            self.leave_peeked(src)?;
        }
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

/// An RPC return value, framed as uWSGI frames it (PROTOCOL.md §2.5): up to 65535 bytes as
/// `ad <len> 00` + value; longer as `ad <dictlen> 05` + `CONTENT_LENGTH` + the value.
///
/// ```
/// use uwsgi_codec::codec::RpcReply;
///
/// assert_eq!(&RpcReply(b"ok").to_bytes()?[..], b"\xad\x02\x00\x00ok");
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcReply<'a>(pub &'a [u8]);

impl RpcReply<'_> {
    /// Writes the reply at the end of `dst`.
    ///
    /// # Errors
    ///
    /// None in practice: the framing always fits.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), crate::Error> {
        let value = self.0;
        if value.len() <= MAX_DATASIZE {
            return PacketBuilder::new(Modifier1::RPC)
                .raw(value)
                .encode(dst)
                .map(drop);
        }
        let head = PacketBuilder::new(Modifier1::RPC)
            .with_modifier2(5)
            .with_body_len(value.len() as u64);
        dst.reserve(head.encoded_len()? + value.len());
        head.encode(dst)?;
        dst.extend_from_slice(value);
        Ok(())
    }

    /// The reply's bytes, for [`ServerCodec`]'s encoder.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn to_bytes(&self) -> Result<Bytes, crate::Error> {
        let mut dst = BytesMut::new();
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }
}
