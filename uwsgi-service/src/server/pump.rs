//! The body pump: reads the request body off the connection while the service runs, hands it
//! to the [`RequestBody`](super::RequestBody) chunk by chunk, and discards what the service
//! leaves unread.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio::sync::Notify;
use uwsgi_codec::codec::{Error as CodecError, ServerCodec, ServerFrame};

use super::body::{BodyError, BodySender};
use crate::frames::FrameReader;

/// How the body ended.
#[derive(Debug)]
pub(crate) enum Pumped {
    /// Every body byte was read: given to the service or, once it stopped reading, discarded.
    Complete,
    /// The body could not be read to its end.
    Failed(String),
}

/// Reads the body to its end. Chunks go to `sender` while the service holds the body and the
/// response is not complete (`done`); after that they are discarded. Each chunk must come
/// within `idle`.
pub(crate) async fn pump<R: AsyncRead + Unpin>(
    reader: &mut FrameReader<R, ServerCodec>,
    sender: BodySender,
    done: &Notify,
    idle: Duration,
) -> Pumped {
    let mut sender = Some(sender);
    loop {
        let frame = match tokio::time::timeout(idle, reader.next()).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(err)) => return fail(sender, body_error(err), done).await,
            Err(_) => return fail(sender, BodyError::Idle { timeout: idle }, done).await,
        };
        let chunk = match frame {
            Some(ServerFrame::Body(chunk)) => chunk,
            // The end of the body; in one-request mode nothing after it is read.
            _ => return Pumped::Complete,
        };
        if let Some(to_service) = &sender {
            if !hand_over(to_service, chunk, done).await {
                sender = None; // the service dropped the body, or the response is out: discard
            }
        }
    }
}

/// Gives the service a chunk; `false` when it will not take any more.
async fn hand_over(sender: &BodySender, chunk: Bytes, done: &Notify) -> bool {
    tokio::select! {
        permit = sender.reserve() => match permit {
            Ok(permit) => {
                permit.send(Ok(chunk));
                true
            }
            Err(_) => false,
        },
        () = done.notified() => false,
    }
}

/// Tells the service (while it may still read) why its body ends early.
async fn fail(sender: Option<BodySender>, err: BodyError, done: &Notify) -> Pumped {
    let why = err.to_string();
    if let Some(sender) = sender {
        tokio::select! {
            _ = sender.send(Err(err)) => {}
            () = done.notified() => {}
        }
    }
    Pumped::Failed(why)
}

fn body_error(err: CodecError) -> BodyError {
    match err {
        CodecError::TruncatedBody { expected, received } => {
            BodyError::Truncated { expected, received }
        }
        CodecError::Io(err) => BodyError::Io(err),
        _ => BodyError::Closed { missing: 0 },
    }
}
