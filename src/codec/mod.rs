//! tokio-util codecs for both roles (feature `codec`): [`ServerCodec`], what uWSGI does behind
//! nginx, and [`ClientCodec`], what nginx does in front of uWSGI, with exact body framing
//! (PROTOCOL.md §4 and §5, rules C1 to C9).
//!
//! Each role decodes into its own frame type, so no caller matches a frame it can never get:
//! a message is a packet, then its body as chunks as they arrive (exactly the framed length,
//! never buffered whole), then the end. Each role encodes one item type.
//!
//! ```text
//! ServerCodec  decodes ServerFrame: Packet, Body*, End, [Trailing]   encodes Bytes (the reply)
//! ClientCodec  decodes ClientFrame: Packet, Body*, End | Raw*, End   encodes ClientMessage
//! ```
//!
//! A server that takes what it needs from each head before it reads the body can skip the owned
//! frame: [`ServerCodec::peek_pairs`] reads heads in place in the read buffer, into the
//! caller's pair storage, as the core's `parse_pairs` does, and `decode` yields the rest. On
//! requests without a body it costs about half what an owned `Packet` frame costs
//! (`benches/ratios.rs`).

mod client;
mod error;
mod server;

pub use client::{ClientCodec, ClientFrame, ClientMessage};
pub use error::Error;
pub use server::{RpcReply, ServerCodec, ServerFrame};

use bytes::{Bytes, BytesMut};

use crate::{Header, Packet, Parser, Status};

/// The frames the packet-then-body state machine makes, which each role's frame type has:
/// the machine builds the role's frame directly, so a packet is not moved from one type into
/// another on its way out.
trait Step: Sized {
    fn packet(packet: Packet) -> Self;
    fn body(chunk: Bytes) -> Self;
    fn end() -> Self;
}

/// Where the decoder is in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a packet; the header once it has been read and checked, so that a packet
    /// arriving a byte at a time is not parsed again at every byte.
    Head(Option<Header>),
    /// Yielding body bytes; `End` comes once all are in.
    Body { expected: u64, received: u64 },
    /// After `End`, in one-request mode (server) or after the reply (client).
    Done,
}

/// The packet-then-body state machine both roles share.
#[derive(Debug, Clone)]
struct Framing {
    parser: Parser,
    max_body: Option<u64>,
    state: State,
    /// In `State::Head(Some(header))`, `header.packet_len()`; 0 in every other state (every
    /// change of state goes through `enter`). A read that leaves the buffer shorter than this
    /// is answered by one compare (see `waiting`).
    awaited: usize,
}

impl Framing {
    fn new(parser: Parser) -> Self {
        Framing {
            parser,
            max_body: None,
            state: State::Head(None),
            awaited: 0,
        }
    }

    /// Moves to `state`, with `awaited` in step with it.
    #[inline(always)]
    fn enter(&mut self, state: State) {
        self.awaited = match state {
            State::Head(Some(header)) => header.packet_len(),
            _ => 0,
        };
        self.state = state;
    }

    /// Whether `src` is still short of the packet whose header is known: the one answer a
    /// peer that sends a request in many small reads gets at each read but the last, decided
    /// inline by one compare (the server codec makes it before its mode checks).
    #[inline(always)]
    fn waiting(&self, src: &[u8]) -> bool {
        src.len() < self.awaited
    }

    /// Decodes the next packet, body chunk or end; `after_end` is the state after `End`.
    #[inline(always)]
    fn decode<F: Step>(
        &mut self,
        src: &mut BytesMut,
        after_end: State,
    ) -> Result<Option<F>, Error> {
        if self.waiting(src) {
            return Ok(None);
        }
        self.step(src, after_end)
    }

    /// What [`decode`](Self::decode) does once there is something to decide.
    #[inline]
    fn step<F: Step>(&mut self, src: &mut BytesMut, after_end: State) -> Result<Option<F>, Error> {
        match self.state {
            State::Head(header) => self.decode_head(src, header),
            State::Body { expected, received } if received < expected => {
                if src.is_empty() {
                    return Ok(None);
                }
                let wanted = expected - received;
                let take = usize::try_from(wanted).map_or(src.len(), |w| w.min(src.len()));
                let received = received + take as u64;
                self.enter(State::Body { expected, received });
                Ok(Some(F::body(src.split_to(take).freeze())))
            }
            State::Body { .. } => {
                self.enter(after_end);
                Ok(Some(F::end()))
            }
            State::Done => Ok(None),
        }
    }

    /// Refuses a body over the limit (rule C9), before any of its bytes is read.
    #[inline(always)]
    fn check_body(&self, expected: u64) -> Result<(), Error> {
        match self.max_body.filter(|&max| expected > max) {
            Some(max) => Err(Error::BodyTooLarge { len: expected, max }),
            None => Ok(()),
        }
    }

    #[inline]
    fn decode_head<F: Step>(
        &mut self,
        src: &mut BytesMut,
        known: Option<Header>,
    ) -> Result<Option<F>, Error> {
        let header = match known {
            Some(header) => header,
            None => match self.parser.parse_header(src)? {
                Status::Complete(header) => {
                    self.enter(State::Head(Some(header)));
                    header
                }
                Status::Incomplete(needed) => {
                    src.reserve(needed);
                    return Ok(None);
                }
            },
        };
        let len = header.packet_len();
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let (packet, expected) = self
            .parser
            .parse_frame(header, src.split_to(len).freeze())?;
        self.check_body(expected)?;
        self.enter(State::Body {
            expected,
            received: 0,
        });
        Ok(Some(F::packet(packet)))
    }

    /// At the end of input: a clean end only between messages (rules H7 and C7).
    fn decode_eof<F: Step>(
        &mut self,
        src: &mut BytesMut,
        after_end: State,
    ) -> Result<Option<F>, Error> {
        if let Some(step) = self.decode(src, after_end)? {
            return Ok(Some(step));
        }
        match self.state {
            State::Head(_) if src.is_empty() => Ok(None),
            State::Head(_) => {
                let needed = match Header::parse(src) {
                    Status::Complete(header) => header.packet_len().saturating_sub(src.len()),
                    Status::Incomplete(needed) => needed,
                };
                let offset = src.len();
                Err(crate::Error::UnexpectedEof { offset, needed }.into())
            }
            State::Body { expected, received } => Err(Error::TruncatedBody { expected, received }),
            State::Done => Ok(None),
        }
    }
}
