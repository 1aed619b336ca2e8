//! Properties of the server codec (STYLE.md §5, PROTOCOL.md S1 to S3), public API only:
//!
//! 1. a stream of requests with bodies decodes to their packets, bodies and ends (persistent
//!    mode), or to the first request and the rest as trailing bytes (one-request mode);
//! 2. however a stream is cut (one byte per `decode` call, or at random points), and whatever
//!    byte of it is changed or wherever it ends, the frames and the error are those of the
//!    stream decoded in one piece.

#![cfg(feature = "codec")]

mod common;

use bytes::Bytes;
use common::codec::{Fault, Run, merged, run};
use common::props::{Pair, config, plain_pairs};
use common::{kv, owned_packet, packet};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use uwsgi_codec::codec::{ServerCodec, ServerFrame};

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

fn codec(persistent: bool) -> ServerCodec {
    ServerCodec::new().with_persistent(persistent)
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
        let (frames, fault) = outcome(run(&mut codec(true), [&wire[..]]));
        prop_assert_eq!(fault, None, "a valid stream");
        prop_assert_eq!(&frames, &expected, "persistent mode");

        let first = head(&requests[0]).len() + requests[0].1.len();
        let first_frames = if requests[0].1.is_empty() { 2 } else { 3 };
        let mut one = expected[..first_frames].to_vec();
        if first < wire.len() {
            one.push(ServerFrame::Trailing(Bytes::copy_from_slice(&wire[first..])));
        }
        let (frames, fault) = outcome(run(&mut codec(false), [&wire[..]]));
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
        let whole = outcome(run(&mut codec(persistent), [&wire[..]]));
        let bytes = outcome(run(&mut codec(persistent), wire.chunks(1)));
        prop_assert_eq!(&bytes, &whole, "one byte per decode call");
        let pieces = pieces(&wire, &cuts);
        let lens: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
        let cut = outcome(run(&mut codec(persistent), pieces));
        prop_assert_eq!(&cut, &whole, "pieces of {:?}", lens);
    }
}
