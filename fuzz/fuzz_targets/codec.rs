//! `codec`: both codecs of `uwsgi_codec::codec`, fed one stream cut at fuzzer-chosen points,
//! byte by byte and at once (PROTOCOL.md S1–S3, C6–C9, H7).
//!
//! Input layout:
//! - byte 0: settings — bit 0 persistent mode; bits 1–2 datasize limit (65535, 4096, 62, 0);
//!   bit 3 body limit 16; bit 4 foreign check off; bits 5–6 pair limit (none, 1, 3, none);
//!   bit 7 magic vars refused;
//! - byte 1: low 3 bits, the number k of cut sizes (0 means one byte at a time); high 5 bits, a
//!   body length n (0..=31) for the client's request;
//! - k bytes: chunk sizes, used in turn until the stream is fed (a 0 is an empty read);
//! - the rest: the stream.
//!
//! `ServerCodec` (the stream as requests): fed in cuts and byte by byte it gives the same
//! `ServerFrame`s as fed at once (Body and Trailing chunks merged, `Packet`s equal, index
//! included) and the same final error; each `Packet` is what `Parser::parse` gives on the same
//! bytes, accessor by accessor (`check_owned`); its `Body` bytes add up to `body_len()` exactly
//! before `End`; the order is Packet, Body*, End, then Trailing (one-request mode) or the next
//! Packet (persistent mode); everything comes as soon as the byte that proves it is in (the
//! decoder keeps the header it has read, and never waits past the packet's last byte). Read
//! through `peek_pairs` (a head at a time, or every head of a read), at once, in cuts and byte
//! by byte, it gives the same items and error.
//!
//! `ClientCodec` (the stream as the reply to a request whose modifiers are the stream's bytes 0
//! and 3): the same `ClientFrame`s however the stream is cut; a framed reply gives Packet (what a
//! reply-direction `Parser` gives), Body*, End and then nothing, a raw reply gives the stream as
//! Raw chunks and one End at the end of input. Encoding a `ClientMessage::Packet` writes the
//! builder's bytes and lets exactly as many `ClientMessage::Body` bytes through as a server
//! frames from those bytes (`body_len()` of the written packet): one byte more is
//! `BodyMismatch` and writes nothing, and so is a new packet before the body is complete.
#![no_main]

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};
use uwsgi_codec::codec::{
    ClientCodec, ClientFrame, ClientMessage, Error, ServerCodec, ServerFrame,
};
use uwsgi_codec::{
    Direction, EMPTY_PAIR, MagicPolicy, Modifier1, Packet, PacketBuilder, Parser, Status,
};
use uwsgi_codec_fuzz::{check_block, check_owned};

/// A frame with its bytes, Body, Raw and Trailing chunks to be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Packet(Packet),
    Body(Vec<u8>),
    Raw(Vec<u8>),
    End,
    Trailing(Vec<u8>),
}

impl From<ServerFrame> for Item {
    fn from(frame: ServerFrame) -> Item {
        match frame {
            ServerFrame::Packet(p) => Item::Packet(p),
            ServerFrame::Body(b) => Item::Body(b.to_vec()),
            ServerFrame::End => Item::End,
            ServerFrame::Trailing(b) => Item::Trailing(b.to_vec()),
        }
    }
}

impl From<ClientFrame> for Item {
    fn from(frame: ClientFrame) -> Item {
        match frame {
            ClientFrame::Packet(p) => Item::Packet(p),
            ClientFrame::Body(b) => Item::Body(b.to_vec()),
            ClientFrame::Raw(b) => Item::Raw(b.to_vec()),
            ClientFrame::End => Item::End,
        }
    }
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

fn push(run: &mut Run, item: Item, fed: usize) {
    match (run.items.last_mut(), item) {
        (Some(Item::Body(acc)), Item::Body(b))
        | (Some(Item::Trailing(acc)), Item::Trailing(b))
        | (Some(Item::Raw(acc)), Item::Raw(b)) => return acc.extend_from_slice(&b),
        (_, Item::Body(b) | Item::Trailing(b) | Item::Raw(b)) if b.is_empty() => {
            panic!("an empty Body, Raw or Trailing frame")
        }
        (_, item) => run.items.push(item),
    }
    run.fed_at.push(fed);
}

/// Either codec, seen as a decoder of `Item`s.
trait Decode {
    fn next(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Item>, Error>;
    fn parser(&self) -> &Parser;
}

/// The same `Decode` for both codecs: `decode`, or `decode_eof` at the end of input.
macro_rules! decode_as_items {
    ($($codec:ty),*) => {$(
        impl Decode for $codec {
            fn next(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Item>, Error> {
                let frame = if eof {
                    self.decode_eof(src)
                } else {
                    self.decode(src)
                };
                frame.map(|f| f.map(Item::from))
            }
            fn parser(&self) -> &Parser {
                <$codec>::parser(self)
            }
        }
    )*};
}

decode_as_items!(ServerCodec, ClientCodec);

/// Calls `decode` (or `decode_eof`) until it returns `None` or fails; false after an error.
///
/// A `None` from the server's `decode` must mean "needs more bytes": nothing yieldable is left
/// behind in `src` (body and trailing bytes are yielded as they arrive, C6; a buffered packet
/// is incomplete).
fn drain(
    codec: &mut impl Decode,
    src: &mut BytesMut,
    fed: Option<usize>,
    run: &mut Run,
    budget: &mut usize,
    server: bool,
) -> bool {
    loop {
        match codec.next(src, fed.is_none()) {
            Ok(Some(item)) => {
                *budget = budget
                    .checked_sub(1)
                    .expect("the decoder keeps yielding frames: a loop");
                push(run, item, fed.unwrap_or(usize::MAX));
            }
            Ok(None) => {
                if server && fed.is_some() && !src.is_empty() {
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

/// The server codec read through `peek_pairs`: each head peeked in place (into storage large
/// enough for any block in the buffer), as the `Packet` its bytes parse to; `decode` for the
/// rest. `batch`: peek again after every head (the `End` of a head with no body, which the
/// next peek moves past, is put back where `decode` would have yielded it).
struct Peeking {
    codec: ServerCodec,
    batch: bool,
    queue: VecDeque<Result<Item, Error>>,
    /// The last item was a peeked head.
    peeked: bool,
    /// ... with no body: its `End` is owed if the next peek moves past it.
    end_owed: bool,
}

impl Peeking {
    fn new(codec: ServerCodec, batch: bool) -> Self {
        let (queue, peeked, end_owed) = (VecDeque::new(), false, false);
        Peeking {
            codec,
            batch,
            queue,
            peeked,
            end_owed,
        }
    }
}

impl Decode for Peeking {
    fn next(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Item>, Error> {
        if let Some(next) = self.queue.pop_front() {
            return next.map(Some);
        }
        if self.batch || !self.peeked {
            let mut storage = vec![EMPTY_PAIR; src.len() / 5 + 1];
            let parser = self.codec.parser().clone();
            match self.codec.peek_pairs(src, &mut storage) {
                Ok(None) => {}
                result => {
                    if std::mem::take(&mut self.end_owed) {
                        self.queue.push_back(Ok(Item::End));
                    }
                    let item = result.map(|head| {
                        let head = head.expect("not None");
                        let body_len = head.body_len().expect("checked by the peek");
                        self.end_owed = body_len == 0;
                        let bytes = Bytes::copy_from_slice(head.as_bytes());
                        let packet = parser.parse_bytes(&bytes).expect("peeked, so valid");
                        let packet = packet.complete().expect("peeked, so whole");
                        assert_eq!(packet.body_len(), Ok(body_len), "the peeked body length");
                        Item::Packet(packet)
                    });
                    self.peeked = item.is_ok();
                    self.queue.push_back(item);
                    return self.queue.pop_front().expect("just queued").map(Some);
                }
            }
        }
        (self.peeked, self.end_owed) = (false, false);
        let frame = if eof {
            self.codec.decode_eof(src)
        } else {
            self.codec.decode(src)
        };
        frame.map(|f| f.map(Item::from))
    }
    fn parser(&self) -> &Parser {
        self.codec.parser()
    }
}

fn parser(settings: u8) -> Parser {
    let mut parser = Parser::new()
        .with_max_datasize([65535, 4096, 62, 0][usize::from((settings >> 1) & 3)])
        .with_foreign_check(settings & 16 == 0)
        .with_max_vars([None, Some(1), Some(3), None][usize::from((settings >> 5) & 3)]);
    if settings & 128 != 0 {
        parser = parser.with_magic_policy(MagicPolicy::Refuse);
    }
    parser
}

fn server(settings: u8) -> ServerCodec {
    let codec = ServerCodec::with_parser(parser(settings))
        .with_persistent(settings & 1 != 0)
        .with_max_body((settings & 8 != 0).then_some(16));
    assert_eq!(codec.is_persistent(), settings & 1 != 0);
    assert_eq!(codec.max_body(), (settings & 8 != 0).then_some(16));
    codec
}

/// The request a client sends before reading `stream` as its reply: the modifiers of the
/// stream's own header, so that replies of every shape come up.
fn request(stream: &[u8]) -> (u8, u8) {
    match stream {
        [m1, _, _, m2, ..] => (*m1, *m2),
        _ => (0, 0),
    }
}

/// A client codec that has sent the request for `stream`'s reply.
fn client(settings: u8, stream: &[u8]) -> ClientCodec {
    let mut codec = ClientCodec::with_parser(parser(settings));
    assert_eq!(codec.parser().direction(), Direction::Reply);
    let (m1, m2) = request(stream);
    let builder = PacketBuilder::new(m1).with_modifier2(m2);
    let mut out = BytesMut::new();
    codec
        .encode(ClientMessage::Packet(&builder), &mut out)
        .expect("an empty request");
    codec
}

fn feed(mut codec: impl Decode, stream: &[u8], cuts: &[usize], server: bool) -> Run {
    let mut src = BytesMut::new();
    let mut run = Run {
        items: Vec::new(),
        error: None,
        fed_at: Vec::new(),
        error_fed: None,
    };
    // Every frame but End consumes a byte, and each End follows a Packet or a raw reply.
    let mut budget = 3 * stream.len() + 16;
    let mut fed = 0;
    let mut turn = 0;
    while fed < stream.len() {
        let size = cuts[turn % cuts.len()].min(stream.len() - fed);
        turn += 1;
        src.extend_from_slice(&stream[fed..fed + size]);
        fed += size;
        if !drain(
            &mut codec,
            &mut src,
            Some(fed),
            &mut run,
            &mut budget,
            server,
        ) {
            return run;
        }
    }
    drain(&mut codec, &mut src, None, &mut run, &mut budget, server);
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
    let whole_cut = [stream.len().max(1)];

    // The server side.
    let whole = feed(server(*settings), stream, &whole_cut, true);
    let chunked = feed(server(*settings), stream, &cuts, true);
    assert_eq!(
        chunked.outcome(),
        whole.outcome(),
        "server, cut {cuts:?}: chunked (left) differs from one-shot (right)"
    );
    let bytewise = feed(server(*settings), stream, &[1], true);
    assert_eq!(
        bytewise.outcome(),
        whole.outcome(),
        "server, byte at a time (left) differs from one-shot (right)"
    );
    for batch in [false, true] {
        for cut in [&whole_cut[..], &cuts, &[1]] {
            let peeked = feed(Peeking::new(server(*settings), batch), stream, cut, true);
            assert_eq!(
                peeked.outcome(),
                whole.outcome(),
                "server, heads peeked (batch {batch}), cut {cut:?}: (left) differs from decode (right)"
            );
        }
    }
    check_order(*settings, stream, &whole);
    for run in [&whole, &chunked, &bytewise] {
        check_error_stage(run);
    }
    check_timing(stream, &bytewise);

    // The client side, reading the stream as a reply.
    let whole = feed(client(*settings, stream), stream, &whole_cut, false);
    let chunked = feed(client(*settings, stream), stream, &cuts, false);
    assert_eq!(
        chunked.outcome(),
        whole.outcome(),
        "client, cut {cuts:?}: chunked (left) differs from one-shot (right)"
    );
    let bytewise = feed(client(*settings, stream), stream, &[1], false);
    assert_eq!(
        bytewise.outcome(),
        whole.outcome(),
        "client, byte at a time (left) differs from one-shot (right)"
    );
    check_reply(*settings, stream, &whole);

    // The client's encoder.
    check_client_encode(stream, u64::from(count >> 3), &cuts);
});

/// Only `UnexpectedEof` and `TruncatedBody` wait for the end of input; every other error comes
/// while bytes are fed.
fn check_error_stage(run: &Run) {
    if let Some(error) = &run.error {
        let eof_stage =
            error.starts_with("Packet(UnexpectedEof") || error.starts_with("TruncatedBody");
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
            Item::Packet(p) => p.wire_len(),
            Item::Body(b) | Item::Trailing(b) | Item::Raw(b) => b.len(),
            Item::End => 0,
        };
        let due = match item {
            Item::Packet(_) | Item::End => at + len,
            Item::Body(_) | Item::Trailing(_) | Item::Raw(_) => at + 1,
        };
        assert_eq!(fed, due, "{item:?} yielded after {fed} bytes, due at {due}");
        at += len;
    }
    let (Some(error), Some(fed)) = (&run.error, run.error_fed) else {
        return;
    };
    let kind = error
        .trim_start_matches("Packet(")
        .split([' ', '('])
        .next()
        .unwrap_or_default();
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

/// A decoded `Packet` against `parser` on the stream at `at`: the same bytes, and as an owned
/// packet, every accessor answering as the borrowed one.
fn check_packet_frame(parser: &Parser, stream: &[u8], at: usize, packet: &Packet) {
    let Ok(Status::Complete(view)) = parser.parse(&stream[at..]) else {
        panic!("the codec yielded a packet that Parser::parse does not")
    };
    assert_eq!(view.as_bytes(), &packet.as_bytes()[..]);
    let buf: Bytes = packet.as_bytes().clone();
    let Ok(Status::Complete(own_view)) = parser.parse(&buf) else {
        panic!("a Packet frame that does not parse again")
    };
    check_block(&own_view);
    check_owned(packet, &own_view, &buf);
    assert_eq!(packet.view(), view);
}

/// Server: frame order, body accounting and agreement with `Parser::parse`.
fn check_order(settings: u8, stream: &[u8], run: &Run) {
    let persistent = settings & 1 != 0;
    let parser = server(settings).parser().clone();
    let mut at = 0; // stream offset of the next unread byte
    let mut items = run.items.iter().peekable();
    let mut expecting_packet = true;
    while let Some(item) = items.next() {
        match item {
            Item::Packet(packet) => {
                assert!(expecting_packet, "a Packet where a body or End was due");
                check_packet_frame(&parser, stream, at, packet);
                at += packet.wire_len();
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
            Item::Body(_) | Item::End | Item::Raw(_) => panic!("{item:?} without a packet"),
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
        check_packet_error(&parser, &stream[at..], run);
    }
}

/// The error came from the packet at the start of `rest`: it is `Parser`'s error, or EOF inside
/// the packet, or its body length (or the body limit) once it is complete.
fn check_packet_error(parser: &Parser, rest: &[u8], run: &Run) {
    let error = run.error.as_deref().unwrap_or_default();
    match parser.parse(rest) {
        Err(e) => assert_eq!(error, format!("{:?}", Error::Packet(e))),
        Ok(Status::Incomplete(needed)) => {
            let eof = uwsgi_codec::Error::UnexpectedEof {
                offset: rest.len(),
                needed,
            };
            assert_eq!(error, format!("{:?}", Error::Packet(eof)));
        }
        Ok(Status::Complete(packet)) => {
            let err = packet
                .body_len()
                .err()
                .map(|e| format!("{:?}", Error::Packet(e)));
            let body_limit = error.starts_with("BodyTooLarge");
            assert!(
                err.as_deref() == Some(error) || body_limit,
                "{error} after a valid packet"
            );
        }
    }
}

/// Client: a framed reply is Packet, Body*, End and nothing after; a raw one is the stream.
fn check_reply(settings: u8, stream: &[u8], run: &Run) {
    let (m1, m2) = request(stream);
    if !Modifier1(m1).framed_reply(m2) {
        let mut want = Vec::new();
        if !stream.is_empty() {
            want.push(Item::Raw(stream.to_vec()));
        }
        want.push(Item::End);
        assert_eq!(run.outcome(), (&want[..], None), "a raw reply");
        return;
    }
    let parser = client(settings, stream).parser().clone();
    let mut items = run.items.iter();
    match items.next() {
        None if stream.is_empty() => assert_eq!(run.error, None, "EOF before a reply"),
        None => check_packet_error(&parser, stream, run),
        Some(Item::Packet(packet)) => {
            check_packet_frame(&parser, stream, 0, packet);
            let at = packet.wire_len();
            let body = packet
                .body_len()
                .expect("a Packet frame with a bad body length");
            let mut got = 0u64;
            let mut next = items.next();
            if let Some(Item::Body(b)) = next {
                assert_eq!(
                    &stream[at..at + b.len()],
                    &b[..],
                    "body bytes are the stream's"
                );
                got = b.len() as u64;
                next = items.next();
            }
            match next {
                Some(Item::End) => {
                    assert_eq!(got, body, "End before the whole body");
                    assert_eq!(run.error, None, "an error after a complete reply");
                    assert!(items.next().is_none(), "frames after the reply");
                }
                None => {
                    let want = Error::TruncatedBody {
                        expected: body,
                        received: got,
                    };
                    assert_eq!(run.error, Some(format!("{want:?}")), "the reply's body");
                }
                Some(other) => panic!("{other:?} after a reply's body"),
            }
        }
        Some(other) => panic!("a framed reply began with {other:?}"),
    }
}

/// Finding 2 (fuzz/README.md): `ClientCodec` counts the body the builder was given
/// (`with_body_len(n)`), not the body the packet it wrote frames: for a cache magic packet
/// (framed by `size`, which `with_body_len` does not write) and for raw bytes (E6) that swallow
/// the appended `CONTENT_LENGTH` into a key, it lets n body bytes through where a server frames
/// none. While open, the body accounting is checked only where the two agree; set to false
/// once it is fixed.
const KNOWN_CLIENT_BODY_FROM_BUILDER: bool = false;

/// The client's encoder: the builder's bytes, then as many body bytes as a server frames from
/// them, never one more, and no new packet before the body is complete.
fn check_client_encode(stream: &[u8], n: u64, cuts: &[usize]) {
    let (m1, m2) = request(stream);
    let digits = n.to_string();
    let mut builder = PacketBuilder::new(m1).with_modifier2(m2);
    builder = match n % 4 {
        // The caller's own length vars; the packet's kind picks the one that frames the body.
        1 => builder.var("CONTENT_LENGTH", &digits).var("size", &digits),
        // Raw bytes that may break the block (E6): the codec checks what it wrote.
        2 => builder.with_body_len(n).raw(&stream[..stream.len().min(8)]),
        _ => builder.with_body_len(n),
    };
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::from(&b"prefix"[..]);
    let result = codec.encode(ClientMessage::Packet(&builder), &mut out);
    let built = builder.to_vec().expect("a builder with a short block");
    let server = Parser::new().with_foreign_check(false);
    let strict = Parser::new().with_foreign_check(false).parse(&built);
    if let Err(err) = result {
        let Err(want) = strict else {
            panic!("the client refused a packet its parser accepts: {err:?}")
        };
        assert_eq!(err.packet(), Some(&want), "the client's check");
        assert_eq!(&out[..], b"prefix", "a refused packet was written");
        return;
    }
    assert_eq!(
        &out[6..],
        &built[..],
        "the client wrote other bytes than the builder"
    );
    let Ok(Status::Complete(packet)) = server.parse(&built) else {
        if n % 4 == 2 {
            return; // raw bytes that the check let through: a raw block, read as such.
        }
        panic!(
            "a written request that does not parse: {:?}",
            server.parse(&built)
        )
    };
    let Ok(expected) = packet.body_len() else {
        return;
    };
    if KNOWN_CLIENT_BODY_FROM_BUILDER && n % 4 != 1 && n != expected {
        return;
    }
    let mut sent = 0u64;
    for &cut in cuts.iter().take(8) {
        let len = out.len();
        let chunk = Bytes::from(vec![b'b'; cut.min(40)]);
        let received = sent + chunk.len() as u64;
        match codec.encode(ClientMessage::Body(chunk), &mut out) {
            Ok(()) => {
                assert!(
                    received <= expected,
                    "{received} body bytes for a body of {expected}"
                );
                assert_eq!(out.len(), len + (received - sent) as usize);
                sent = received;
            }
            Err(err) => {
                assert!(received > expected, "a body chunk refused: {err:?}");
                let want = Error::BodyMismatch { expected, received };
                assert_eq!(format!("{err:?}"), format!("{want:?}"));
                assert_eq!(out.len(), len, "a refused chunk was written");
            }
        }
    }
    let len = out.len();
    let next = codec.encode(ClientMessage::Packet(&PacketBuilder::ping()), &mut out);
    if sent == expected {
        assert!(next.is_ok(), "the next packet after a whole body: {next:?}");
    } else {
        let want = Error::BodyMismatch {
            expected,
            received: sent,
        };
        assert_eq!(format!("{next:?}"), format!("{:?}", Err::<(), _>(want)));
        assert_eq!(out.len(), len, "a refused packet was written");
    }
}
