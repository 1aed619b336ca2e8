//! [`ResponseBody`]: the reply's body, streamed from the backend as it arrives.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::ReadHalf;
use tokio::time::{Instant, Sleep};
use uwsgi_codec::codec::{ClientCodec, ClientFrame, Error as CodecError};
use uwsgi_codec::reply::ReplyBody;

use super::ClientError;
use super::stream::Stream;
use crate::frames::FrameReader;

pub(crate) type Reader = FrameReader<ReadHalf<Stream>, ClientCodec>;

/// The body of a reply from uWSGI: the bytes after the head, up to its `Content-Length` (any
/// excess dropped, as nginx does) or until the backend closes the connection. Each chunk must
/// come within the client's idle timeout.
#[derive(Debug)]
pub struct ResponseBody {
    reader: Option<Reader>,
    /// Bytes that came with the head.
    first: Option<Bytes>,
    /// Bytes still to come when the length is known.
    remaining: Option<u64>,
    expected: u64,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl ResponseBody {
    pub(crate) fn new(reader: Reader, first: Bytes, framing: ReplyBody, idle: Duration) -> Self {
        let (reader, remaining) = match framing {
            ReplyBody::Empty => (None, Some(0)),
            ReplyBody::Length(len) => (Some(reader), Some(len)),
            ReplyBody::UntilClose => (Some(reader), None),
        };
        let mut body = ResponseBody {
            reader,
            first: None,
            remaining,
            expected: remaining.unwrap_or(0),
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        };
        body.first = body.take(first);
        body
    }

    /// `chunk` cut to what is still to come; `None` when nothing of it is.
    fn take(&mut self, mut chunk: Bytes) -> Option<Bytes> {
        if let Some(remaining) = &mut self.remaining {
            chunk.truncate(usize::try_from(*remaining).unwrap_or(usize::MAX));
            *remaining -= chunk.len() as u64;
            if *remaining == 0 {
                self.reader = None; // the rest, if any, is not ours: close
            }
        }
        Some(chunk).filter(|chunk| !chunk.is_empty())
    }

    fn truncated(&self) -> ClientError {
        let missing = self.remaining.unwrap_or(0);
        ClientError::TruncatedReply {
            expected: self.expected,
            received: self.expected - missing,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = ClientError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientError>>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        loop {
            let Some(reader) = &mut this.reader else {
                return Poll::Ready(None);
            };
            match reader.poll_next(cx) {
                Poll::Pending => {
                    if this.timer.as_mut().poll(cx).is_ready() {
                        this.reader = None;
                        let timeout = this.idle;
                        return Poll::Ready(Some(Err(ClientError::Idle { timeout })));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(Some(ClientFrame::Raw(chunk)))) => {
                    this.timer.as_mut().reset(Instant::now() + this.idle);
                    if let Some(chunk) = this.take(chunk) {
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                }
                Poll::Ready(Ok(_)) => {
                    this.reader = None;
                    return match this.remaining {
                        Some(left) if left > 0 => Poll::Ready(Some(Err(this.truncated()))),
                        _ => Poll::Ready(None),
                    };
                }
                Poll::Ready(Err(err)) => {
                    this.reader = None;
                    let err = match err {
                        CodecError::Io(err) => ClientError::Read(err),
                        _ => this.truncated(),
                    };
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.reader.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(left) => {
                SizeHint::with_exact(left + self.first.as_ref().map_or(0, |b| b.len() as u64))
            }
            None => SizeHint::default(),
        }
    }
}
