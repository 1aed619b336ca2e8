//! Reading framed service replies (a pong, an RPC or cache reply) with the codec's
//! `ClientCodec`, frame by frame, for `curl` and `ping`.

use bytes::BytesMut;
use tokio::io::AsyncReadExt as _;
use tokio_util::codec::Decoder as _;
use uwsgi_codec::codec::{ClientCodec, ClientFrame};

use crate::net::Conn;
use crate::serve::describe;

/// The reply's frames as they arrive.
pub(crate) struct Frames {
    buf: BytesMut,
    eof: bool,
}

impl Frames {
    /// Nothing read yet.
    pub(crate) fn new() -> Frames {
        Frames {
            buf: BytesMut::with_capacity(16 * 1024),
            eof: false,
        }
    }

    /// The next frame, reading as needed; `None` at the end of the connection.
    pub(crate) async fn next(
        &mut self,
        stream: &mut Box<dyn Conn>,
        codec: &mut ClientCodec,
    ) -> Result<Option<ClientFrame>, String> {
        // Each turn decodes a frame or reads once; reads end at EOF or an error.
        loop {
            let frame = if self.eof {
                codec.decode_eof(&mut self.buf)
            } else {
                codec.decode(&mut self.buf)
            };
            match frame.map_err(|err| format!("bad reply: {}", describe(&err)))? {
                Some(frame) => return Ok(Some(frame)),
                None if self.eof => return Ok(None),
                None => match stream.read_buf(&mut self.buf).await {
                    Ok(0) => self.eof = true,
                    Ok(_) => {}
                    Err(err) => return Err(format!("read failed: {err}")),
                },
            }
        }
    }
}
