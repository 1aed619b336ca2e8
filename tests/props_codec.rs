//! Properties of the server codec (STYLE.md §5, PROTOCOL.md S1 to S3), public API only:
//!
//! 1. a stream of requests with bodies decodes to their packets, bodies and ends (persistent
//!    mode), or to the first request and the rest as trailing bytes (one-request mode);
//! 2. however a stream is cut (one byte per `decode` call, or at random points), and whatever
//!    byte of it is changed or wherever it ends, the frames and the error are those of the
//!    stream decoded in one piece, and so are those of `peek_pairs` then `decode`, under the
//!    default parser and under a datasize limit, a pair limit or a magic policy;
//! 3. the body length the codec frames, which it learns in its validating walk, is the
//!    parser's `body_len()`, or its error, however many pairs carry the length key or another
//!    key of that length, wherever they are, through `decode` and through `peek_pairs`.

#![cfg(feature = "codec")]

mod common;

use bytes::Bytes;
use common::codec::{Fault, Peeking, Run, merged, run, run_peeking};
use common::props::{Pair, config, plain_pairs, vars_modifiers};
use common::{kv, owned_packet, packet};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use tokio_util::codec::Decoder;
use uwsgi_codec::codec::{ServerCodec, ServerFrame};
use uwsgi_codec::{EMPTY_PAIR, MagicPolicy, Parser};

/// One request: its vars (without `CONTENT_LENGTH`) and its body.
fn request() -> impl Strategy<Value = (Vec<Pair>, Vec<u8>)> {
    (
        plain_pairs(),
        prop_oneof![1 => Just(Vec::new()), 3 => vec(any::<u8>(), 1..40)],
    )
}

/// The request's packet, `CONTENT_LENGTH` last, written with the notation.
fn head((pairs, body): &(Vec<Pair>, Vec<u8>)) -> Vec<u8> {
    let mut block: Vec<u8> = pairs.iter().flat_map(|(k, v)| kv(k, v)).collect();
    block.extend_from_slice(&kv(b"CONTENT_LENGTH", body.len().to_string().as_bytes()));
    packet(0, 0, &block)
}

/// What a changed stream looks like.
#[derive(Debug, Clone)]
enum Change {
    None,
    Flip(Index, u8),
    Cut(Index),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => Just(Change::None),
        1 => (any::<Index>(), 1u8..=255).prop_map(|(at, x)| Change::Flip(at, x)),
        1 => any::<Index>().prop_map(Change::Cut),
    ]
}

/// Keys that frame a body (`CONTENT_LENGTH`, the cache's `size`), keys of their lengths, and
/// another.
fn length_key() -> impl Strategy<Value = Vec<u8>> {
    const KEYS: [&[u8]; 9] = [
        b"CONTENT_LENGTH",
        b"CONTENT-LENGTH",
        b"CONTENT_LENGTX",
        b"REQUEST_METHOD",
        b"XONTENT_LENGTH",
        b"size",
        b"sizf",
        b"SIZE",
        b"A",
    ];
    proptest::sample::select(&KEYS[..]).prop_map(<[u8]>::to_vec)
}

/// Length values that agree, differ in spelling, are not digits, or overflow.
fn length_value() -> impl Strategy<Value = Vec<u8>> {
    const VALUES: [&[u8]; 7] = [b"", b"0", b"5", b"05", b"12", b"x", b"99999999999999999999"];
    proptest::sample::select(&VALUES[..]).prop_map(<[u8]>::to_vec)
}

fn codec(parser: &Parser, persistent: bool) -> ServerCodec {
    ServerCodec::with_parser(parser.clone()).with_persistent(persistent)
}

/// The parser settings a server gives its codec: the defaults (the fast path), or one limit
/// or rule of its own (the path off it).
fn parser() -> impl Strategy<Value = Parser> {
    prop_oneof![
        3 => Just(Parser::new()),
        1 => (0usize..300).prop_map(|max| Parser::new().with_max_datasize(max)),
        1 => (0usize..8).prop_map(|max| Parser::new().with_max_vars(Some(max))),
        1 => Just(Parser::new().with_magic_policy(MagicPolicy::Refuse)),
    ]
}

/// A run's frames, merged, and its error.
fn outcome(run: Run<ServerFrame>) -> (Vec<ServerFrame>, Option<Fault>) {
    (merged(run.frames), run.stop.map(|stop| stop.fault))
}

/// `wire` cut at `cuts` (positions taken modulo its length, in order).
fn pieces<'a>(wire: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in at.into_iter().chain([wire.len()]) {
        out.push(&wire[start..cut]);
        start = cut;
    }
    out
}

proptest! {
    #![proptest_config(config())]

    /// 1. Requests back to back: each packet, its body and its end (persistent mode); the
    /// first request, then every later byte as trailing (one-request mode).
    #[test]
    fn a_request_stream_decodes_to_its_packets_and_bodies(requests in vec(request(), 1..4)) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for request in &requests {
            let head = head(request);
            wire.extend_from_slice(&head);
            wire.extend_from_slice(&request.1);
            expected.push(ServerFrame::Packet(owned_packet(&head)));
            if !request.1.is_empty() {
                expected.push(ServerFrame::Body(Bytes::copy_from_slice(&request.1)));
            }
            expected.push(ServerFrame::End);
        }
        let (frames, fault) = outcome(run(&mut codec(&Parser::new(), true), [&wire[..]]));
        prop_assert_eq!(fault, None, "a valid stream");
        prop_assert_eq!(&frames, &expected, "persistent mode");

        let first = head(&requests[0]).len() + requests[0].1.len();
        let first_frames = if requests[0].1.is_empty() { 2 } else { 3 };
        let mut one = expected[..first_frames].to_vec();
        if first < wire.len() {
            one.push(ServerFrame::Trailing(Bytes::copy_from_slice(&wire[first..])));
        }
        let (frames, fault) = outcome(run(&mut codec(&Parser::new(), false), [&wire[..]]));
        prop_assert_eq!(fault, None, "a valid stream");
        prop_assert_eq!(frames, one, "one-request mode");
    }

    /// 2. S1 to S3: one byte per `decode` call, or cut at random points, a stream (changed or
    /// not) gives the frames and the error it gives in one piece.
    #[test]
    fn every_cutting_of_a_stream_gives_the_one_shot_frames(
        requests in vec(request(), 1..4),
        change in change(),
        cuts in vec(any::<Index>(), 0..6),
        persistent in any::<bool>(),
        parser in parser(),
    ) {
        let mut wire: Vec<u8> = requests
            .iter()
            .flat_map(|request| [head(request), request.1.clone()].concat())
            .collect();
        match change {
            Change::None => {}
            Change::Flip(at, x) => {
                let at = at.index(wire.len());
                wire[at] ^= x;
            }
            Change::Cut(at) => wire.truncate(at.index(wire.len() + 1)),
        }
        let whole = outcome(run(&mut codec(&parser, persistent), [&wire[..]]));
        let bytes = outcome(run(&mut codec(&parser, persistent), wire.chunks(1)));
        prop_assert_eq!(&bytes, &whole, "one byte per decode call");
        let pieces = pieces(&wire, &cuts);
        let lens: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
        let cut = outcome(run(&mut codec(&parser, persistent), pieces.iter().copied()));
        prop_assert_eq!(&cut, &whole, "pieces of {:?}", lens);

        // The borrowed path: the same frames, the heads peeked in place, one at a time, every
        // head of a read, or with reads appended to peeked heads.
        for mode in [Peeking::OneHead, Peeking::EveryHead, Peeking::Appending] {
            let peeked = outcome(run_peeking(&mut codec(&parser, persistent), [&wire[..]], mode));
            prop_assert_eq!(&peeked, &whole, "heads peeked, in one piece, {:?}", mode);
            let peeked = outcome(run_peeking(&mut codec(&parser, persistent), wire.chunks(1), mode));
            prop_assert_eq!(&peeked, &whole, "heads peeked, a byte per call, {:?}", mode);
            let peeked = outcome(run_peeking(&mut codec(&parser, persistent), pieces.iter().copied(), mode));
            prop_assert_eq!(&peeked, &whole, "heads peeked, pieces of {:?}, {:?}", lens, mode);
        }
    }

    /// 3. The codec frames the body `body_len()` gives (or fails with its error): with a body
    /// limit of 0, a body of n bytes is refused as `BodyTooLarge { len: n }` before any body
    /// byte, which shows n.
    #[test]
    fn the_codec_frames_the_body_the_parser_reads(
        (m1, m2) in prop_oneof![Just((0u8, 0u8)), Just((111u8, 17u8)), vars_modifiers()],
        pairs in vec((length_key(), length_value()), 0..48),
    ) {
        let block: Vec<u8> = pairs.iter().flat_map(|(k, v)| kv(k, v)).collect();
        let wire = packet(m1, m2, &block);
        let parsed = Parser::new().parse(&wire).map(|status| status.complete());
        let expected = match parsed {
            Ok(Some(view)) => view.body_len(),
            Ok(None) => unreachable!("a whole packet"),
            Err(err) => Err(err),
        };
        let mut src = bytes::BytesMut::from(&wire[..]);
        let got = ServerCodec::new().with_max_body(Some(0)).decode(&mut src).map_err(Fault::from);
        match &expected {
            Ok(0) => prop_assert!(matches!(got, Ok(Some(ServerFrame::Packet(_)))), "{:?}", got),
            Ok(len) => prop_assert_eq!(got, Err(Fault::BodyTooLarge { len: *len, max: 0 })),
            Err(err) => prop_assert_eq!(got, Err(Fault::Packet(err.clone()))),
        }
        // The borrowed path finds the length in its walk (the keys of its length noted):
        // the same length, or the same error.
        let mut storage = vec![EMPTY_PAIR; pairs.len()];
        let peeked = ServerCodec::new().with_max_body(Some(0)).peek_pairs(&wire, &mut storage);
        match (&expected, peeked.map_err(Fault::from)) {
            (Ok(0), Ok(head)) => prop_assert!(head.is_some(), "a whole head"),
            (Ok(len), got) => prop_assert_eq!(got.err(), Some(Fault::BodyTooLarge { len: *len, max: 0 })),
            (Err(err), got) => prop_assert_eq!(got.err(), Some(Fault::Packet(err.clone()))),
        }
    }
}
