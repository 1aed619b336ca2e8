//! One exchange with the backend: the request body made ready (its length known), the packet
//! and body sent, the reply head read.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf as _, Bytes, BytesMut};
use http::response;
use http_body::Body;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::time::{Instant, timeout, timeout_at};
use uwsgi_codec::Status;
use uwsgi_codec::codec::{ClientFrame, Error as CodecError};
use uwsgi_codec::reply::{ReplyBody, ResponseHeadParser};

use super::ClientError;
use super::body::Reader;
use crate::convert;
use crate::service::BoxError;

/// A request body whose length is known.
pub(crate) enum Outgoing<B> {
    /// Streamed as it comes: its size hint is exact.
    Stream { body: Pin<Box<B>>, len: u64 },
    /// Read whole first (its length was unknown), within the buffer cap.
    Whole(Bytes),
}

impl<B> Outgoing<B> {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Outgoing::Stream { len, .. } => *len,
            Outgoing::Whole(bytes) => bytes.len() as u64,
        }
    }
}

/// The next data chunk of a request body, within `idle` (trailers are dropped, as nginx does).
async fn next_chunk<B>(body: &mut Pin<Box<B>>, idle: Duration) -> Result<Option<Bytes>, ClientError>
where
    B: Body<Error: Into<BoxError>>,
{
    loop {
        let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx));
        let frame = match timeout(idle, frame).await {
            Err(_) => return Err(ClientError::Idle { timeout: idle }),
            Ok(None) => return Ok(None),
            Ok(Some(frame)) => frame.map_err(|err| ClientError::RequestBody(err.into()))?,
        };
        if let Ok(data) = frame.into_data() {
            return Ok(Some(convert::into_bytes(data)));
        }
    }
}

/// Makes the body's length known: streamed when its size hint is exact, else read whole up to
/// `cap` bytes.
pub(crate) async fn prepare<B>(
    body: B,
    cap: Option<usize>,
    idle: Duration,
) -> Result<Outgoing<B>, ClientError>
where
    B: Body<Error: Into<BoxError>>,
{
    let mut body = Box::pin(body);
    if let Some(len) = body.size_hint().exact() {
        return Ok(Outgoing::Stream { body, len });
    }
    let Some(cap) = cap else {
        return Err(ClientError::UnknownLength { cap: None });
    };
    let mut whole = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut body, idle).await? {
        if whole.len() + chunk.len() > cap {
            return Err(ClientError::UnknownLength { cap: Some(cap) });
        }
        whole.extend_from_slice(&chunk);
    }
    Ok(Outgoing::Whole(whole.freeze()))
}

/// Sends the packet, then the body; each write and each body chunk within `idle`.
pub(crate) async fn send<W, B>(
    writer: &mut W,
    mut packet: BytesMut,
    body: Outgoing<B>,
    idle: Duration,
) -> Result<(), ClientError>
where
    W: AsyncWrite + Unpin,
    B: Body<Error: Into<BoxError>>,
{
    let (mut body, expected) = match body {
        Outgoing::Whole(whole) => {
            packet.extend_from_slice(&whole);
            return write(writer, &packet, idle).await;
        }
        Outgoing::Stream { body, len } => (body, len),
    };
    write(writer, &packet, idle).await?;
    let mut sent = 0u64;
    while let Some(chunk) = next_chunk(&mut body, idle).await? {
        sent += chunk.len() as u64;
        if sent > expected {
            return Err(ClientError::BodyLength {
                expected,
                actual: sent,
            });
        }
        write(writer, &chunk, idle).await?;
    }
    if sent != expected {
        return Err(ClientError::BodyLength {
            expected,
            actual: sent,
        });
    }
    Ok(())
}

async fn write<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    idle: Duration,
) -> Result<(), ClientError> {
    match timeout(idle, writer.write_all(bytes)).await {
        Ok(result) => result.map_err(ClientError::Send),
        Err(_) => Err(ClientError::Idle { timeout: idle }),
    }
}

/// What a reply head becomes: the response head, how its body ends, and the body bytes that
/// came with the head.
pub(crate) type Head = (response::Parts, ReplyBody, Bytes);

/// Reads the reply head (skipping interim 1xx heads) within `head_timeout`.
pub(crate) async fn read_head(
    reader: &mut Reader,
    head_request: bool,
    max_head: usize,
    head_timeout: Duration,
    packet_len: usize,
) -> Result<Head, ClientError> {
    let deadline = Instant::now() + head_timeout;
    let mut parser = ResponseHeadParser::new().with_max_head_len(max_head);
    let mut buf = BytesMut::new();
    let mut ended = false;
    loop {
        if !buf.is_empty() || ended {
            let parsed = if ended {
                parser.parse_eof(&buf).map(Status::Complete)
            } else {
                parser.parse(&buf)
            };
            if let Status::Complete(head) = parsed.map_err(ClientError::InvalidReply)? {
                let head_len = head.head_len();
                if head.status() >= 200 {
                    let parts =
                        convert::response_parts(&head).map_err(ClientError::InvalidReplyHead)?;
                    let framing = head
                        .body_framing(head_request)
                        .map_err(ClientError::InvalidReply)?;
                    let rest = buf.split_off(head_len).freeze();
                    return Ok((parts, framing, rest));
                }
                buf.advance(head_len); // 100 Continue and other interim heads
                parser.reset();
                continue;
            }
        }
        match timeout_at(deadline, reader.next()).await {
            Err(_) => {
                return Err(ClientError::HeadTimeout {
                    timeout: head_timeout,
                });
            }
            Ok(Ok(Some(ClientFrame::Raw(bytes)))) => buf.extend_from_slice(&bytes),
            Ok(Ok(_)) if buf.is_empty() => {
                let source = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before a byte of reply",
                );
                return Err(ClientError::Reset { packet_len, source });
            }
            Ok(Ok(_)) => ended = true,
            Ok(Err(CodecError::Io(err))) => return Err(ClientError::reading_head(err, packet_len)),
            Ok(Err(err)) => return Err(ClientError::Read(io::Error::other(err))),
        }
    }
}
