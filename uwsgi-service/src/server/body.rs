//! [`RequestBody`]: the request body the service reads, streamed from the connection.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// A request body: exactly the `CONTENT_LENGTH` bytes that follow the packet, as they arrive.
///
/// The connection reads the next chunk only once the service has taken the last one, so a
/// slow reader slows the front end down instead of filling memory (backpressure). Its
/// [`size_hint`](Body::size_hint) is exact. A body the service leaves unread is read and
/// discarded once the response is written, so the front end sees the answer (nginx would
/// otherwise report a broken pipe and answer 502).
#[derive(Debug)]
pub struct RequestBody {
    source: Source,
    /// Bytes not yet handed out.
    remaining: u64,
}

#[derive(Debug)]
enum Source {
    /// The whole body, already read with the packet (or nothing).
    Whole(Option<Bytes>),
    /// Chunks from the connection.
    Stream(mpsc::Receiver<Result<Bytes, BodyError>>),
}

/// The sender side of a streamed body, held by the connection.
pub(crate) type BodySender = mpsc::Sender<Result<Bytes, BodyError>>;

impl Default for RequestBody {
    /// An empty body.
    fn default() -> Self {
        RequestBody::whole(Bytes::new())
    }
}

impl RequestBody {
    /// A body that is already complete.
    pub(crate) fn whole(bytes: Bytes) -> Self {
        RequestBody {
            remaining: bytes.len() as u64,
            source: Source::Whole(Some(bytes).filter(|bytes| !bytes.is_empty())),
        }
    }

    /// A body of `len` bytes that the connection streams through the returned sender.
    pub(crate) fn stream(len: u64) -> (Self, BodySender) {
        // One chunk in flight: the next read waits until the service takes this one.
        let (sender, receiver) = mpsc::channel(1);
        let body = RequestBody {
            source: Source::Stream(receiver),
            remaining: len,
        };
        (body, sender)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let chunk = match &mut this.source {
            Source::Whole(bytes) => bytes.take(),
            Source::Stream(_) if this.remaining == 0 => None,
            Source::Stream(receiver) => match receiver.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => Some(chunk),
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => {
                    let err = BodyError::Closed {
                        missing: this.remaining,
                    };
                    this.remaining = 0;
                    return Poll::Ready(Some(Err(err)));
                }
            },
        };
        Poll::Ready(chunk.map(|chunk| {
            this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
            Ok(Frame::data(chunk))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Why a [`RequestBody`] ended before all its bytes came.
#[derive(Debug)]
#[non_exhaustive]
pub enum BodyError {
    /// No body byte came for this long (the server's body idle timeout).
    Idle {
        /// The timeout in force.
        timeout: Duration,
    },
    /// The front end closed the connection before sending the whole body.
    Truncated {
        /// The framed body length (`CONTENT_LENGTH`).
        expected: u64,
        /// Body bytes received.
        received: u64,
    },
    /// The connection stopped reading the body (it failed or is shutting down) with this
    /// many bytes still to come.
    Closed {
        /// Body bytes not received.
        missing: u64,
    },
    /// Reading from the connection failed.
    Io(std::io::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Idle { timeout } => {
                write!(
                    f,
                    "no request body byte for {timeout:?} (body idle timeout)"
                )
            }
            BodyError::Truncated { expected, received } => write!(
                f,
                "the front end closed the connection after {received} of {expected} body bytes"
            ),
            BodyError::Closed { missing } => {
                write!(
                    f,
                    "the connection stopped with {missing} body bytes to come"
                )
            }
            BodyError::Io(err) => write!(f, "reading the request body: {err}"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::Io(err) => Some(err),
            _ => None,
        }
    }
}
