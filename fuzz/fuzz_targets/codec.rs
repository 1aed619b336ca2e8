//! `codec`: the server codec fed one stream cut at fuzzer-chosen points must produce the same
//! frames (Body chunks merged, Trailing chunks merged) and the same final error (variant and
//! every number) as the same bytes fed at once (PROTOCOL.md S1–S3, C6–C8, H7).
//!
//! Input layout:
//! - byte 0: settings — bit 0 persistent mode; bits 1–2 datasize limit (65535, 4096, 62, 0);
//!   bit 3 body limit 16; bit 4 foreign check off; bits 5–6 pair limit (none, 1, 3, none);
//!   bit 7 magic vars refused;
//! - byte 1: the number k of cut sizes (low 3 bits; 0 means one byte at a time);
//! - k bytes: chunk sizes, used in turn until the stream is fed (a 0 is an empty read);
//! - the rest: the stream.
//!
//! Also checked on the one-shot frames: each `Packet` is what `Parser::parse` gives on the same
//! bytes, its `Body` bytes add up to `body_len()` exactly before `End`, and the frame order is
//! Packet, Body*, End, then (one-request mode) Trailing or (persistent mode) the next Packet.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use uwsgi_codec::{Error, Frame, MagicPolicy, Parser, ServerCodec, Status};

/// A frame with its bytes, Body and Trailing chunks to be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Packet(Bytes),
    Body(Vec<u8>),
    End,
    Trailing(Vec<u8>),
}

/// What one way of feeding the stream produced.
#[derive(Debug, Clone)]
struct Run {
    items: Vec<Item>,
    /// The final error, as its Debug text (variant and every field).
    error: Option<String>,
    /// For each item, how many stream bytes had been fed when it was first yielded.
    fed_at: Vec<usize>,
    /// How many stream bytes had been fed when the error came; `None` if it came from
    /// `decode_eof`.
    error_fed: Option<usize>,
}

impl Run {
    /// What must not depend on how the stream is cut.
    fn outcome(&self) -> (&[Item], Option<&str>) {
        (&self.items, self.error.as_deref())
    }
}

fn push(run: &mut Run, frame: Frame, fed: usize) {
    match (run.items.last_mut(), frame) {
        (Some(Item::Body(acc)), Frame::Body(b)) => return acc.extend_from_slice(&b),
        (Some(Item::Trailing(acc)), Frame::Trailing(b)) => return acc.extend_from_slice(&b),
        (_, Frame::Body(b)) => {
            assert!(!b.is_empty(), "an empty Body frame");
            run.items.push(Item::Body(b.to_vec()))
        }
        (_, Frame::Trailing(b)) => {
            assert!(!b.is_empty(), "an empty Trailing frame");
            run.items.push(Item::Trailing(b.to_vec()))
        }
        (_, Frame::Packet(p)) => run.items.push(Item::Packet(p.into_bytes())),
        (_, Frame::End) => run.items.push(Item::End),
        (_, Frame::Raw(b)) => panic!("the server codec yielded Raw({b:?})"),
    }
    run.fed_at.push(fed);
}

/// Calls `decode` (or `decode_eof`) until it returns `None` or fails; false after an error.
///
/// A `None` from `decode` must mean "needs more bytes": nothing yieldable is left behind in
/// `src` (body and trailing bytes are yielded as they arrive, C6; a buffered packet is
/// incomplete).
fn drain(
    codec: &mut ServerCodec,
    src: &mut BytesMut,
    fed: Option<usize>,
    run: &mut Run,
    budget: &mut usize,
) -> bool {
    loop {
        let result = match fed {
            Some(_) => codec.decode(src),
            None => codec.decode_eof(src),
        };
        match result {
            Ok(Some(frame)) => {
                *budget = budget
                    .checked_sub(1)
                    .expect("the decoder keeps yielding frames: a loop");
                push(run, frame, fed.unwrap_or(usize::MAX));
            }
            Ok(None) => {
                if fed.is_some() && !src.is_empty() {
                    let status = codec.parser().parse(src);
                    assert!(
                        matches!(status, Ok(Status::Incomplete(_))),
                        "decode returned None holding {} bytes that parse as {status:?}",
                        src.len()
                    );
                }
                return true;
            }
            Err(err) => {
                run.error = Some(format!("{err:?}"));
                run.error_fed = fed;
                return false;
            }
        }
    }
}

fn codec(settings: u8) -> ServerCodec {
    let mut parser = Parser::new()
        .with_max_datasize([65535, 4096, 62, 0][usize::from((settings >> 1) & 3)])
        .with_foreign_check(settings & 16 == 0)
        .with_max_vars([None, Some(1), Some(3), None][usize::from((settings >> 5) & 3)]);
    if settings & 128 != 0 {
        parser = parser.with_magic_policy(MagicPolicy::Refuse);
    }
    let mut codec = ServerCodec::with_parser(parser).persistent(settings & 1 != 0);
    if settings & 8 != 0 {
        codec = codec.with_max_body(16);
    }
    codec
}

fn run(settings: u8, stream: &[u8], cuts: &[usize]) -> Run {
    let mut codec = codec(settings);
    let mut src = BytesMut::new();
    let mut run = Run {
        items: Vec::new(),
        error: None,
        fed_at: Vec::new(),
        error_fed: None,
    };
    // Every frame but End consumes a byte, and each End follows a Packet.
    let mut budget = 3 * stream.len() + 16;
    let mut fed = 0;
    let mut turn = 0;
    while fed < stream.len() {
        let size = cuts[turn % cuts.len()].min(stream.len() - fed);
        turn += 1;
        src.extend_from_slice(&stream[fed..fed + size]);
        fed += size;
        if !drain(&mut codec, &mut src, Some(fed), &mut run, &mut budget) {
            return run;
        }
    }
    drain(&mut codec, &mut src, None, &mut run, &mut budget);
    run
}

fuzz_target!(|data: &[u8]| {
    let [settings, count, rest @ ..] = data else {
        return;
    };
    let k = usize::from(count & 7).min(rest.len());
    let (cut_bytes, stream) = rest.split_at(k);
    let mut cuts: Vec<usize> = cut_bytes.iter().map(|&b| usize::from(b)).collect();
    if cuts.iter().all(|&c| c == 0) {
        cuts.push(1);
    }

    let whole = run(*settings, stream, &[stream.len().max(1)]);
    let chunked = run(*settings, stream, &cuts);
    assert_eq!(
        chunked.outcome(),
        whole.outcome(),
        "cut {cuts:?}: chunked (left) differs from one-shot (right)"
    );
    let bytewise = run(*settings, stream, &[1]);
    assert_eq!(
        bytewise.outcome(),
        whole.outcome(),
        "byte at a time (left) differs from one-shot (right)"
    );

    check_order(*settings, stream, &whole);
    for run in [&whole, &chunked, &bytewise] {
        check_error_stage(run);
    }
    check_timing(stream, &bytewise);
});

/// Only `UnexpectedEof` and `TruncatedBody` wait for the end of input; every other error comes
/// while bytes are fed.
fn check_error_stage(run: &Run) {
    if let Some(error) = &run.error {
        let eof_stage = error.starts_with("UnexpectedEof") || error.starts_with("TruncatedBody");
        assert_eq!(
            run.error_fed.is_none(),
            eof_stage,
            "{error} at the wrong stage"
        );
    }
}

/// Fed one byte at a time, everything comes as soon as the byte that proves it is in (S1, S2,
/// F1, H3, H4, C6): a packet with its last byte, body and trailing bytes with the first of
/// them, `End` with the last body byte, a header error with byte 4 of the packet, a block or
/// framing error with its last block byte.
fn check_timing(stream: &[u8], run: &Run) {
    let mut at = 0;
    for (item, &fed) in run.items.iter().zip(&run.fed_at) {
        let len = match item {
            Item::Packet(b) => b.len(),
            Item::Body(b) | Item::Trailing(b) => b.len(),
            Item::End => 0,
        };
        let due = match item {
            Item::Packet(_) | Item::End => at + len,
            Item::Body(_) | Item::Trailing(_) => at + 1,
        };
        assert_eq!(fed, due, "{item:?} yielded after {fed} bytes, due at {due}");
        at += len;
    }
    let (Some(error), Some(fed)) = (&run.error, run.error_fed) else {
        return;
    };
    let kind = error.split([' ', '(']).next().unwrap_or_default();
    let datasize = |p: usize| usize::from(u16::from_le_bytes([stream[p + 1], stream[p + 2]]));
    let due = match kind {
        "ForeignProtocol" | "TooLarge" => at + 4,
        "TruncatedLength"
        | "Overrun"
        | "EmptyKey"
        | "TooManyVars"
        | "MagicVar"
        | "InvalidContentLength"
        | "ConflictingContentLength"
        | "BodyTooLarge" => at + 4 + datasize(at),
        other => panic!("the server decoder failed with {other} while bytes were fed"),
    };
    assert_eq!(fed, due, "{error} after {fed} bytes, due at {due}");
}

/// Frame order, body accounting and agreement with `Parser::parse`.
fn check_order(settings: u8, stream: &[u8], run: &Run) {
    let persistent = settings & 1 != 0;
    let parser = codec(settings).parser().clone();
    let mut at = 0; // stream offset of the next unread byte
    let mut items = run.items.iter().peekable();
    let mut expecting_packet = true;
    while let Some(item) = items.next() {
        match item {
            Item::Packet(bytes) => {
                assert!(expecting_packet, "a Packet where a body or End was due");
                let Ok(Status::Complete(packet)) = parser.parse(&stream[at..]) else {
                    panic!("the codec yielded a packet that Parser::parse does not")
                };
                assert_eq!(packet.as_bytes(), &bytes[..]);
                at += bytes.len();
                let body = packet
                    .body_len()
                    .expect("a Packet frame with a bad body length");
                let mut got = 0u64;
                if let Some(Item::Body(b)) = items.peek() {
                    assert_eq!(
                        &stream[at..at + b.len()],
                        &b[..],
                        "body bytes are the stream's"
                    );
                    got = b.len() as u64;
                    at += b.len();
                    items.next();
                }
                match items.next() {
                    Some(Item::End) => assert_eq!(got, body, "End before the whole body"),
                    None => {
                        let want = format!(
                            "{:?}",
                            Error::TruncatedBody {
                                expected: body,
                                received: got
                            }
                        );
                        assert_eq!(
                            run.error.as_deref(),
                            Some(&*want),
                            "the stream ended in a body"
                        );
                        return;
                    }
                    Some(other) => panic!("{other:?} after a packet's body"),
                }
                expecting_packet = persistent;
            }
            Item::Trailing(bytes) => {
                assert!(!persistent, "Trailing in persistent mode");
                assert!(!expecting_packet, "Trailing before any request");
                assert_eq!(&stream[at..], &bytes[..], "Trailing is all the rest");
                at = stream.len();
                assert!(items.peek().is_none(), "frames after Trailing");
            }
            Item::Body(_) | Item::End => panic!("{item:?} without a packet"),
        }
    }
    if run.error.is_none() {
        assert_eq!(
            at,
            stream.len(),
            "a clean end left {} bytes unread",
            stream.len() - at
        );
    } else if expecting_packet {
        // The error came from the packet at `at`: it is Parser's error, or EOF inside it.
        let rest = &stream[at..];
        let error = run.error.as_deref().unwrap_or_default();
        match parser.parse(rest) {
            Err(e) => assert_eq!(error, format!("{e:?}")),
            Ok(Status::Incomplete(needed)) => {
                let want = format!(
                    "{:?}",
                    Error::UnexpectedEof {
                        offset: rest.len(),
                        needed
                    }
                );
                assert_eq!(error, want);
            }
            Ok(Status::Complete(packet)) => {
                let err = packet.body_len().err().map(|e| format!("{e:?}"));
                let body_limit = error.starts_with("BodyTooLarge");
                assert!(
                    err.as_deref() == Some(error) || body_limit,
                    "{error} after a valid packet"
                );
            }
        }
    }
}
