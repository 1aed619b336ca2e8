//! [`FrameReader`]: a codec over an `AsyncRead`, with a buffer that starts small.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;
use uwsgi_codec::codec::{ServerCodec, ServerFrame};

/// The first read's buffer: an nginx request packet is a few hundred bytes, and an idle
/// connection should cost little (the benchmark's budget is 16 KiB per idle connection).
const FIRST_READ: usize = 2048;
/// The buffer each later read gets when less than [`MIN_SPARE`] is left: large enough to
/// stream a body at full speed.
const READ_CHUNK: usize = 32 * 1024;
const MIN_SPARE: usize = 1024;

/// Reads frames with a decoder from `io` (what tokio-util's `FramedRead` does, with control
/// over the buffer and access to it).
#[derive(Debug)]
pub(crate) struct FrameReader<R, D> {
    io: R,
    codec: D,
    buf: BytesMut,
    eof: bool,
}

impl<R, D> FrameReader<R, D>
where
    R: AsyncRead + Unpin,
    D: Decoder,
    D::Error: From<io::Error>,
{
    pub(crate) fn new(io: R, codec: D) -> Self {
        FrameReader {
            io,
            codec,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The next frame; `None` once the input has ended and every frame is out.
    pub(crate) async fn next(&mut self) -> Result<Option<D::Item>, D::Error> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// [`next`](Self::next), polled.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<D::Item>, D::Error>> {
        loop {
            if self.eof {
                return Poll::Ready(self.codec.decode_eof(&mut self.buf));
            }
            if let Some(frame) = self.codec.decode(&mut self.buf)? {
                return Poll::Ready(Ok(Some(frame)));
            }
            let spare = self.buf.capacity() - self.buf.len();
            if spare < MIN_SPARE {
                let chunk = if self.buf.capacity() == 0 {
                    FIRST_READ
                } else {
                    READ_CHUNK
                };
                self.buf.reserve(chunk);
            }
            match poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err.into())),
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// Whether any input has arrived that no frame has taken yet.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Reads and discards whatever comes until the end of input, `limit` bytes at most;
    /// `true` when the end came.
    pub(crate) async fn discard(&mut self, limit: u64) -> io::Result<bool> {
        let mut seen = self.buf.len() as u64;
        while !self.eof && seen <= limit {
            self.buf.clear();
            self.buf.reserve(READ_CHUNK);
            let n = self.io.read_buf(&mut self.buf).await?;
            self.eof = n == 0;
            seen += n as u64;
        }
        self.buf.clear();
        Ok(self.eof)
    }
}

impl<R> FrameReader<R, ServerCodec> {
    /// The whole request body of `len` bytes when it is already buffered (it came with the
    /// packet), the end of the body consumed too; `None` when more must be read.
    pub(crate) fn buffered_body(&mut self, len: u64) -> Option<Bytes> {
        if (self.buf.len() as u64) < len {
            return None;
        }
        let mut whole = Bytes::new();
        while let Ok(Some(ServerFrame::Body(chunk))) = self.codec.decode(&mut self.buf) {
            whole = chunk; // one chunk: the codec hands out all it has, up to the length
        }
        Some(whole)
    }
}
