//! Writing the service's response: an HTTP/1.1 head as raw bytes (what uWSGI sends back to
//! nginx, PROTOCOL.md §2.5), then the body, framed by `Content-Length` or ended by closing.

use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, BufMut as _, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::convert::strip_hop_by_hop;
use crate::service::BoxError;

/// Body chunks up to this size go out in the same write as the head.
const COALESCE: usize = 16 * 1024;

/// Why a response could not be written whole.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The connection failed or took longer than the write timeout.
    Io(io::Error),
    /// The response body failed; the connection is closed, which cuts the reply short.
    Body(BoxError),
    /// The body ended before the `Content-Length` the head announced.
    Short { announced: u64, sent: u64 },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Io(err) => write!(f, "writing the response: {err}"),
            WriteError::Body(err) => write!(f, "the response body failed: {err}"),
            WriteError::Short { announced, sent } => write!(
                f,
                "the response body ended after {sent} of the {announced} bytes its Content-Length announced"
            ),
        }
    }
}

/// Writes `response`; `head_request` when the request was `HEAD` (no body is sent).
pub(crate) async fn write_response<W, B>(
    writer: &mut W,
    response: Response<B>,
    head_request: bool,
    timeout: Duration,
) -> Result<(), WriteError>
where
    W: AsyncWrite + Unpin,
    B: Body<Data: Buf, Error: Into<BoxError>>,
{
    let (mut parts, body) = response.into_parts();
    let status = parts.status;
    let bodyless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    strip_hop_by_hop(&mut parts.headers);
    let announced = announced_length(&parts.headers);
    let length = match (announced, body.size_hint().exact()) {
        (Some(len), _) => Some(len),
        (None, Some(exact)) if !bodyless || (head_request && exact > 0) => {
            parts.headers.insert(CONTENT_LENGTH, exact.into());
            Some(exact)
        }
        _ => None,
    };
    let mut out = head_bytes(status, &parts.headers);
    if bodyless {
        return write_all(writer, &mut out, timeout).await;
    }
    let mut body = pin!(body);
    let mut sent = 0u64;
    // The first chunk, when it is ready at once, goes in the head's write.
    let mut first = ready_frame(body.as_mut());
    loop {
        let frame = match first.take() {
            Some(frame) => frame,
            None => {
                if !out.is_empty() {
                    write_all(writer, &mut out, timeout).await?;
                }
                let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
                frame.map(|frame| frame.map_err(Into::into))
            }
        };
        let mut data = match frame {
            None => break,
            Some(Err(err)) => return Err(WriteError::Body(err)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue, // HTTP/1.1 without chunks has no trailers
            },
        };
        let mut take = data.remaining() as u64;
        if let Some(len) = length {
            take = take.min(len - sent); // nginx too drops what exceeds Content-Length
        }
        sent += take;
        let mut data = (&mut data).take(usize::try_from(take).unwrap_or(usize::MAX));
        if out.len() + data.remaining() <= COALESCE {
            out.put(&mut data);
        } else {
            write_all(writer, &mut out, timeout).await?;
            write_all(writer, &mut data, timeout).await?;
        }
        if length == Some(sent) {
            break;
        }
    }
    write_all(writer, &mut out, timeout).await?;
    match length {
        Some(announced) if sent < announced => Err(WriteError::Short { announced, sent }),
        _ => Ok(()),
    }
}

/// The body's next frame if it is ready without waiting.
#[allow(clippy::type_complexity)]
fn ready_frame<B>(body: Pin<&mut B>) -> Option<Option<Result<Frame<B::Data>, BoxError>>>
where
    B: Body<Error: Into<BoxError>>,
{
    let mut noop = Context::from_waker(Waker::noop());
    match body.poll_frame(&mut noop) {
        Poll::Ready(frame) => Some(frame.map(|frame| frame.map_err(Into::into))),
        Poll::Pending => None,
    }
}

/// The `Content-Length` the service set, when it is one valid number.
fn announced_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let first = values.next()?.to_str().ok()?.trim().parse().ok()?;
    values
        .all(|other| other.to_str().ok().and_then(|v| v.trim().parse().ok()) == Some(first))
        .then_some(first)
}

/// `HTTP/1.1 NNN Reason` and the headers, as bytes.
pub(crate) fn head_bytes(status: StatusCode, headers: &HeaderMap) -> BytesMut {
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let mut out = BytesMut::with_capacity(size + 64);
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
    for (name, value) in headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out
}

/// Writes all of `data`, each write within `timeout`.
pub(crate) async fn write_all<W: AsyncWrite + Unpin>(
    writer: &mut W,
    data: &mut impl Buf,
    timeout: Duration,
) -> Result<(), WriteError> {
    while data.has_remaining() {
        let written = tokio::time::timeout(timeout, writer.write_buf(data)).await;
        match written {
            Ok(Ok(0)) => return Err(WriteError::Io(io::ErrorKind::WriteZero.into())),
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(WriteError::Io(err)),
            Err(_) => {
                let why = format!("no progress writing the response for {timeout:?}");
                return Err(WriteError::Io(io::Error::new(io::ErrorKind::TimedOut, why)));
            }
        }
    }
    Ok(())
}
