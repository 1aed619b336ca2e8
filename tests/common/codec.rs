//! Feeding the tokio-util codecs the way `Framed` does: after each read, `decode` until it
//! returns `None`; at the end of input, `decode_eof` until it returns `None`. Errors come back
//! as a [`Fault`], which compares exactly (`codec::Error` holds an `io::Error` and cannot).

use std::collections::VecDeque;
use std::io;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;
use uwsgi_codec::codec::{self, ClientFrame, ServerCodec, ServerFrame};
use uwsgi_codec::{EMPTY_PAIR, Error, Packet};

/// A `codec::Error`, comparable: the variant and every number it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `codec::Error::Packet`: the core error.
    Packet(Error),
    /// `codec::Error::TruncatedBody`.
    TruncatedBody { expected: u64, received: u64 },
    /// `codec::Error::BodyTooLarge`.
    BodyTooLarge { len: u64, max: u64 },
    /// `codec::Error::BodyMismatch`.
    BodyMismatch { expected: u64, received: u64 },
    /// `codec::Error::Io`, by its kind.
    Io(io::ErrorKind),
    /// A variant added later, by its `kind()`.
    Other(&'static str),
}

impl From<codec::Error> for Fault {
    fn from(err: codec::Error) -> Self {
        match err {
            codec::Error::Packet(err) => Fault::Packet(err),
            codec::Error::TruncatedBody { expected, received } => {
                Fault::TruncatedBody { expected, received }
            }
            codec::Error::BodyTooLarge { len, max } => Fault::BodyTooLarge { len, max },
            codec::Error::BodyMismatch { expected, received } => {
                Fault::BodyMismatch { expected, received }
            }
            codec::Error::Io(err) => Fault::Io(err.kind()),
            other => Fault::Other(other.kind()),
        }
    }
}

impl From<Error> for Fault {
    fn from(err: Error) -> Self {
        Fault::Packet(err)
    }
}

/// Frames whose chunks (body, trailing, raw) merge, so that streams cut differently compare
/// equal.
pub(crate) trait Merge: Sized {
    /// Appends `next` to `self` when both are chunks of the same kind; `false` otherwise.
    fn absorb(&mut self, next: &Self) -> bool;
}

fn append(a: &mut Bytes, b: &Bytes) -> bool {
    *a = [&a[..], &b[..]].concat().into();
    true
}

/// `impl Merge` for a frame type whose chunk variants are `$chunk`.
macro_rules! merge_chunks {
    ($frame:ident: $($chunk:ident),+) => {
        impl Merge for $frame {
            fn absorb(&mut self, next: &Self) -> bool {
                match (self, next) {
                    $(($frame::$chunk(a), $frame::$chunk(b)) => append(a, b),)+
                    _ => false,
                }
            }
        }
    };
}

merge_chunks!(ServerFrame: Body, Trailing);
merge_chunks!(ClientFrame: Body, Raw);

/// `frames` with consecutive chunks of one kind merged.
pub(crate) fn merged<F: Merge>(frames: Vec<F>) -> Vec<F> {
    let mut out: Vec<F> = Vec::with_capacity(frames.len());
    for frame in frames {
        if !out.last_mut().is_some_and(|last| last.absorb(&frame)) {
            out.push(frame);
        }
    }
    out
}

/// Where a run stopped with an error.
#[derive(Debug)]
pub(crate) struct Stop {
    /// The error.
    pub(crate) fault: Fault,
    /// How many input bytes had been fed.
    pub(crate) fed: usize,
    /// Whether it came from `decode_eof`.
    pub(crate) at_eof: bool,
}

/// What a decoder yielded for an input, and the error it stopped with, if any.
#[derive(Debug)]
pub(crate) struct Run<F> {
    /// The frames, in order, unmerged.
    pub(crate) frames: Vec<F>,
    /// The error, always after the last frame.
    pub(crate) stop: Option<Stop>,
}

impl<F> Run<F> {
    /// The frames, or the error.
    pub(crate) fn result(self) -> Result<Vec<F>, Fault> {
        match self.stop {
            None => Ok(self.frames),
            Some(stop) => Err(stop.fault),
        }
    }
}

/// Feeds `pieces` in order (a read each), draining `decode` after each, then drains
/// `decode_eof`; stops at the first error. Panics if the decoder yields frames forever.
pub(crate) fn run<'a, D>(codec: &mut D, pieces: impl IntoIterator<Item = &'a [u8]>) -> Run<D::Item>
where
    D: Decoder<Error = codec::Error>,
{
    run_with(codec, pieces, |codec, src, eof| {
        if eof {
            codec.decode_eof(src)
        } else {
            codec.decode(src)
        }
    })
}

/// How [`run_peeking`] reads heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peeking {
    /// Peek a head, then decode.
    OneHead,
    /// Peek again after every head, as a server does that reads every head of a read before it
    /// decodes.
    EveryHead,
    /// As `EveryHead`, and a read with no head left to peek is followed by the next read, not
    /// by a decode: `decode` only runs when the input ends.
    Appending,
}

/// [`run`] through `ServerCodec::peek_pairs`: each head is peeked (into fresh storage large
/// enough for any block in the buffer) and comes back as the `Packet` of its bytes; `decode`
/// yields the rest. The `End` of a head with no body that a later peek moves past is put back
/// where `decode` would have yielded it.
pub(crate) fn run_peeking<'a>(
    codec: &mut ServerCodec,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    mode: Peeking,
) -> Run<ServerFrame> {
    let mut queue: VecDeque<Result<ServerFrame, codec::Error>> = VecDeque::new();
    // The last step returned a peeked head; that head had no body, and its `End` is owed if
    // the next peek moves past it.
    let (mut peeked, mut end_owed) = (false, false);
    run_with(codec, pieces, |codec, src, eof| {
        if let Some(next) = queue.pop_front() {
            return next.map(Some);
        }
        if mode != Peeking::OneHead || !peeked {
            let mut storage = vec![EMPTY_PAIR; src.len() / 5 + 1];
            match codec.peek_pairs(src, &mut storage) {
                Ok(None) if mode == Peeking::Appending && !eof => return Ok(None),
                Ok(None) => {}
                result => {
                    if std::mem::take(&mut end_owed) {
                        queue.push_back(Ok(ServerFrame::End));
                    }
                    let frame = result.and_then(|head| {
                        let head = head.expect("not None");
                        end_owed = head.body_len()? == 0;
                        let bytes = Bytes::copy_from_slice(head.as_bytes());
                        let packet = Packet::parse(&bytes)?.complete();
                        Ok(ServerFrame::Packet(packet.expect("a peeked head is whole")))
                    });
                    peeked = frame.is_ok();
                    queue.push_back(frame);
                    return queue.pop_front().expect("just queued").map(Some);
                }
            }
        }
        (peeked, end_owed) = (false, false);
        if eof {
            codec.decode_eof(src)
        } else {
            codec.decode(src)
        }
    })
}

/// [`run`], with `next(codec, src, at_eof)` as the step.
fn run_with<'a, D, F>(
    codec: &mut D,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    mut next: impl FnMut(&mut D, &mut BytesMut, bool) -> Result<Option<F>, codec::Error>,
) -> Run<F> {
    let pieces: Vec<&[u8]> = pieces.into_iter().collect();
    let limit = 4 * pieces.iter().map(|p| p.len()).sum::<usize>() + 64;
    let mut calls = 0;
    let mut step = || {
        calls += 1;
        assert!(calls <= limit, "the decoder makes no progress");
    };
    let mut src = BytesMut::new();
    let mut run = Run {
        frames: Vec::new(),
        stop: None,
    };
    let mut fed = 0;
    for piece in pieces {
        src.extend_from_slice(piece);
        fed += piece.len();
        loop {
            step();
            match next(codec, &mut src, false) {
                Ok(Some(frame)) => run.frames.push(frame),
                Ok(None) => break,
                Err(err) => {
                    let (fault, at_eof) = (Fault::from(err), false);
                    run.stop = Some(Stop { fault, fed, at_eof });
                    return run;
                }
            }
        }
    }
    loop {
        step();
        match next(codec, &mut src, true) {
            Ok(Some(frame)) => run.frames.push(frame),
            Ok(None) => return run,
            Err(err) => {
                let (fault, at_eof) = (Fault::from(err), true);
                run.stop = Some(Stop { fault, fed, at_eof });
                return run;
            }
        }
    }
}

/// [`run`], as a result.
pub(crate) fn feed<'a, D>(
    codec: &mut D,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<D::Item>, Fault>
where
    D: Decoder<Error = codec::Error>,
{
    run(codec, pieces).result()
}

/// Decodes `input` in one piece, to the end of input.
pub(crate) fn decode_all<D>(codec: &mut D, input: &[u8]) -> Result<Vec<D::Item>, Fault>
where
    D: Decoder<Error = codec::Error>,
{
    feed(codec, [input])
}

/// Decodes what `src` holds, without ending the input.
pub(crate) fn drain<D>(codec: &mut D, src: &mut BytesMut) -> Result<Vec<D::Item>, Fault>
where
    D: Decoder<Error = codec::Error>,
{
    let mut frames = Vec::new();
    for _ in 0..=4 * src.len() + 64 {
        match codec.decode(src)? {
            Some(frame) => frames.push(frame),
            None => return Ok(frames),
        }
    }
    panic!("the decoder makes no progress")
}

/// A `ServerFrame::Body` of static bytes.
pub(crate) fn body(bytes: &'static [u8]) -> ServerFrame {
    ServerFrame::Body(Bytes::from_static(bytes))
}
