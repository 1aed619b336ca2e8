//! `uwsgi ping`: sends `64 00 00 00` (modifier1 100) and times the pong `64 00 00 01`
//! (PROTOCOL.md §2.5; uWSGI answers only with its ping plugin loaded). One line per ping,
//! `pong from ADDR in N ms` (plus the warning text a pong may carry); a missing or wrong
//! reply is one line on stderr and exit status 1.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::AsyncWriteExt as _;
use tokio_util::codec::Encoder as _;
use uwsgi_codec::codec::{ClientCodec, ClientFrame, ClientMessage};
use uwsgi_codec::{Escaped, Modifier1, PacketBuilder};

use crate::PingArgs;
use crate::net::{Target, seconds};
use crate::replies::Frames;
use crate::serve::describe;

/// Runs `uwsgi ping`; returns the exit status.
pub(crate) async fn run(args: &PingArgs) -> u8 {
    let (target, timeout) = match Target::parse(&args.addr)
        .and_then(|target| Ok((target, seconds(args.timeout, "--timeout")?)))
    {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("uwsgi ping: {message}");
            return 2;
        }
    };
    let mut failed = false;
    for _ in 0..args.count {
        let started = Instant::now();
        match tokio::time::timeout(timeout, ping(&target, timeout)).await {
            Ok(Ok(warning)) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match warning {
                    Some(text) => {
                        println!("pong from {} in {ms:.3} ms (warning: {text})", args.addr)
                    }
                    None => println!("pong from {} in {ms:.3} ms", args.addr),
                }
            }
            Ok(Err(message)) => {
                eprintln!("uwsgi ping: {message}");
                failed = true;
            }
            Err(_) => {
                eprintln!("uwsgi ping: no pong from {target} within {timeout:?}");
                failed = true;
            }
        }
    }
    u8::from(failed)
}

/// One ping on its own connection; the pong's warning text, if it has one.
async fn ping(target: &Target, timeout: Duration) -> Result<Option<String>, String> {
    let (mut stream, _) = target.connect(timeout).await?;
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let ping = PacketBuilder::ping();
    codec
        .encode(ClientMessage::Packet(&ping), &mut out)
        .map_err(|err| describe(&err))?;
    stream
        .write_all(&out)
        .await
        .map_err(|err| format!("write failed: {err}"))?;
    let mut frames = Frames::new();
    // Each turn takes one frame; a pong ends it, so does the end of the connection.
    loop {
        match frames.next(&mut stream, &mut codec).await {
            Err(err) => return Err(format!("{target}: {err}")),
            Ok(Some(ClientFrame::Packet(pong))) => {
                let (m1, m2) = (pong.modifier1(), pong.modifier2());
                if (m1, m2) != (Modifier1::PING, 1) {
                    return Err(format!(
                        "{target} answered a ping with modifier1 {m1}, modifier2 {m2}"
                    ));
                }
                let warning = pong.view().block_bytes();
                return Ok((!warning.is_empty()).then(|| Escaped(warning).to_string()));
            }
            Ok(Some(ClientFrame::End) | None) => {
                return Err(format!("{target} closed the connection without a pong"));
            }
            Ok(Some(_)) => {}
        }
    }
}
