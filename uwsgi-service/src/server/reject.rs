//! Answers for requests the service never sees: an HTTP error page wherever HTTP can still
//! answer (a bare close is what nginx turns into a 502), and one log line each.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut as _, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use uwsgi_codec::codec::{Error as CodecError, ServerCodec};

use super::ServerConfig;
use super::response::write_all;
use crate::frames::FrameReader;

/// How long a refused connection is read and discarded after the answer, so that closing it
/// with input unread does not reset it before the front end has read the answer.
const LINGER: Duration = Duration::from_secs(2);

/// The status that answers a request that could not be read, or `None` when the front end is
/// gone (nothing can answer).
pub(crate) fn status_for(err: &CodecError) -> Option<StatusCode> {
    match err {
        CodecError::Io(_) | CodecError::TruncatedBody { .. } => None,
        CodecError::BodyTooLarge { .. } => Some(StatusCode::PAYLOAD_TOO_LARGE),
        CodecError::Packet(packet) => match packet {
            uwsgi_codec::Error::UnexpectedEof { .. } => None,
            uwsgi_codec::Error::TooLarge { .. } | uwsgi_codec::Error::TooManyVars { .. } => {
                Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            }
            _ => Some(StatusCode::BAD_REQUEST),
        },
        _ => Some(StatusCode::BAD_REQUEST),
    }
}

/// A complete HTTP/1.1 response with a one-line text body, and the connection closing.
pub(crate) fn error_page(status: StatusCode) -> BytesMut {
    let text = format!(
        "{} {}\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    let mut out = BytesMut::with_capacity(128);
    out.put_slice(format!("HTTP/1.1 {}", text.trim_end()).as_bytes());
    out.put_slice(b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ");
    out.put_slice(text.len().to_string().as_bytes());
    out.put_slice(b"\r\n\r\n");
    out.put_slice(text.as_bytes());
    out
}

/// Logs `why`, answers `status` (when there is one), then closes after a short linger.
pub(crate) async fn refuse<R, W>(
    reader: &mut FrameReader<R, ServerCodec>,
    writer: &mut W,
    front_end: Option<SocketAddr>,
    config: &ServerConfig,
    status: Option<StatusCode>,
    why: &(dyn std::fmt::Display + Sync),
    hint: &str,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let code = status.map_or(0, |status| status.as_u16());
    tracing::warn!(front_end = ?front_end, status = code, hint, "uwsgi request refused: {why}");
    let Some(status) = status else {
        return;
    };
    if write_all(writer, &mut error_page(status), config.write_timeout)
        .await
        .is_err()
    {
        return;
    }
    let _ = writer.shutdown().await;
    let _ = tokio::time::timeout(LINGER, reader.discard(config.max_body)).await;
}
