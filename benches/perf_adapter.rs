//! The crate under test for `../shared/perf-anchors/run.sh`, called the way the README shows:
//! `PERF_ADAPTER=benches/perf_adapter.rs bash ../shared/perf-anchors/run.sh quick`.
//!
//! Signatures as `crate_adapter.rs` documents them: each function handles one packet and is
//! `#[inline(never)]`, so the crate pays one real call per packet, as the C baseline pays one
//! FFI call. Any failure panics (the workloads are valid packets).

use std::cell::RefCell;
use std::hint::black_box;

use bytes::BytesMut;
use uwsgi_codec::{EMPTY_PAIR, MAX_PAIRS, PacketBuilder, PacketPairs, Parser, Status};

use crate::Pair;

#[cold]
#[inline(never)]
fn fail() -> ! {
    panic!("the crate failed on a valid workload")
}

static PARSER: Parser = Parser::new();

/// The long-lived parser a server keeps.
pub fn parser() -> &'static Parser {
    &PARSER
}

thread_local! {
    /// The pair storage a server keeps per connection, sized like the C baseline's array.
    /// Initialised at compile time: reaching it costs no check of a lazy initialisation (and
    /// no register kept across one), as the C baseline's array, passed in, costs none.
    static STORAGE: RefCell<[Pair<'static>; MAX_PAIRS]> =
        const { RefCell::new([EMPTY_PAIR; MAX_PAIRS]) };
}

/// `PacketPairs::parse` (the default settings) into kept storage, then every pair.
#[inline(never)]
pub fn visit_one(p: &'static [u8]) -> (usize, usize) {
    STORAGE.with_borrow_mut(|storage| {
        let Ok(Status::Complete(packet)) = PacketPairs::parse(p, storage) else {
            fail()
        };
        for &(k, v) in packet.pairs() {
            black_box((k, v));
        }
        (packet.pairs().len(), packet.wire_len())
    })
}

/// As `visit_one`, with a long-lived `Parser`: the server path the README shows
/// (`Parser::parse_pairs`).
#[inline(never)]
pub fn parser_visit_one(parser: &Parser, p: &'static [u8]) -> (usize, usize) {
    STORAGE.with_borrow_mut(|storage| {
        let Ok(Status::Complete(packet)) = parser.parse_pairs(p, storage) else {
            fail()
        };
        for &(k, v) in packet.pairs() {
            black_box((k, v));
        }
        (packet.pairs().len(), packet.wire_len())
    })
}

/// Parse + validate, the walk writing every pair into the caller's array (the C baseline's
/// output).
#[inline(never)]
pub fn store_one(p: &'static [u8], out: &mut [Pair<'static>]) -> (usize, usize) {
    let Ok(Status::Complete(packet)) = parser().parse_pairs(p, out) else {
        fail()
    };
    (packet.pairs().len(), packet.wire_len())
}

/// A fresh `PacketBuilder` per packet over the caller's pairs, into a reused `BytesMut`.
#[inline(never)]
pub fn build_into_bytesmut(m1: u8, m2: u8, pairs: &[Pair<'_>], out: &mut BytesMut) -> usize {
    out.clear();
    let builder = PacketBuilder::new(m1).with_modifier2(m2).with_vars(pairs);
    match builder.encode(out) {
        Ok(n) => n,
        Err(_) => fail(),
    }
}

/// A fresh `PacketBuilder` per packet, written at the start of a caller's slice.
#[inline(never)]
pub fn build_into_slice(m1: u8, m2: u8, pairs: &[Pair<'_>], out: &mut [u8]) -> usize {
    let builder = PacketBuilder::new(m1).with_modifier2(m2).with_vars(pairs);
    match builder.encode_slice(out) {
        Ok(n) => n,
        Err(_) => fail(),
    }
}
