//! Steady state allocates nothing: after a warm-up,
//!
//! - a pipelined stream of nginx requests decoded by `ServerCodec` from a reused read buffer
//!   costs 0 heap allocations per request (the packet, its vars and the body are all slices of
//!   the read buffer; feature `codec`), with the heads as frames or peeked in place;
//! - encoding a packet from a borrowed slice of pairs (`PacketBuilder::with_vars`) into a
//!   reused `BytesMut` (`encode`) or slice (`encode_slice`) costs 0 allocations per packet;
//! - parsing (`PacketRef::parse`, `Parser::parse_into`, `Parser::parse_pairs`) and reading the
//!   vars cost 0.
//!
//! The counting allocator is `stats_alloc`'s, a safe wrapper around `System`: the crate's
//! `unsafe_code = "forbid"` lint covers this file too, so it cannot implement `GlobalAlloc`
//! itself. The counters are process-wide, so this binary has no test harness (its
//! `[[test]]` has `harness = false`): libtest's own threads would allocate while it counts.

use std::alloc::System;
use std::hint::black_box;

use bytes::BytesMut;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use uwsgi_codec::{EMPTY_PAIR, PacketBuilder, PacketRef, Parser, Status};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUESTS: usize = 200;
const WARM_UP: usize = 20;

const POST: &[u8] = include_bytes!("captures/nginx-post.bin"); // 19 vars, body `hello`
const GET: &[u8] = include_bytes!("captures/nginx-get.bin"); // 24 vars, no body

/// Counts the allocations and reallocations of `f(i)` for `i` in `WARM_UP..REQUESTS`, after
/// running it for `0..WARM_UP` uncounted.
fn allocations_after_warm_up(mut f: impl FnMut(usize)) -> usize {
    for i in 0..WARM_UP {
        f(i);
    }
    let region = Region::new(GLOBAL);
    for i in WARM_UP..REQUESTS {
        f(i);
    }
    let change = region.change();
    change.allocations + change.reallocations
}

/// The pairs of an nginx capture, borrowed from its bytes.
fn pairs_of(wire: &'static [u8]) -> Vec<(&'static [u8], &'static [u8])> {
    let packet = PacketRef::parse(wire)
        .ok()
        .and_then(Status::complete)
        .expect("a capture parses");
    packet.vars().expect("a request").iter().collect()
}

fn main() {
    #[cfg(feature = "codec")]
    codec::steady_state_decoding_allocates_nothing_per_request();
    encoding_allocates_nothing_per_packet();
    parsing_allocates_nothing_per_packet();
    let passed = if cfg!(feature = "codec") { 3 } else { 2 };
    println!("alloc: {passed} passed, 0 failed");
}

fn encoding_allocates_nothing_per_packet() {
    let get = pairs_of(GET);
    let post = pairs_of(POST);
    let post_head = &POST[..POST.len() - 5];

    // The capture's own pairs encode back to the capture (E5), so the bytes counted are right.
    let mut buf = BytesMut::new();
    let encoded = PacketBuilder::new(0).with_vars(&get).encode(&mut buf);
    assert_eq!(encoded, Ok(GET.len()));
    assert_eq!(&buf[..], GET);

    let mut written = 0;
    let allocations = allocations_after_warm_up(|i| {
        buf.clear();
        let builder = match i % 2 {
            0 => PacketBuilder::new(0).with_vars(&get),
            _ => PacketBuilder::new(0).with_vars(&post).with_body_len(5),
        };
        written += builder.encode(&mut buf).expect("a valid packet");
        black_box(&buf);
    });
    assert_eq!(&buf[..], post_head, "the last packet, a POST head");
    assert_eq!(written, REQUESTS / 2 * (GET.len() + post_head.len()));
    assert_eq!(
        allocations, 0,
        "encode: {allocations} allocations after the warm-up"
    );

    let mut slice = vec![0u8; 64 * 1024];
    let allocations = allocations_after_warm_up(|i| {
        let pairs = if i % 2 == 0 { &get } else { &post };
        let n = PacketBuilder::new(0)
            .with_vars(pairs)
            .encode_slice(&mut slice)
            .expect("room for the packet");
        black_box(&slice[..n]);
    });
    assert_eq!(
        &slice[..post_head.len()],
        post_head,
        "the last packet, a POST head"
    );
    assert_eq!(
        allocations, 0,
        "encode_slice: {allocations} allocations after the warm-up"
    );
}

fn parsing_allocates_nothing_per_packet() {
    let mut vars_read = 0;
    let allocations = allocations_after_warm_up(|i| {
        let wire = if i % 2 == 0 { GET } else { POST };
        let packet = PacketRef::parse(wire)
            .ok()
            .and_then(Status::complete)
            .expect("a capture");
        for pair in packet.vars().expect("a request").iter() {
            black_box(pair);
            vars_read += 1;
        }
        black_box(packet.body_len().expect("a body length"));
    });
    assert_eq!(vars_read, REQUESTS / 2 * (24 + 19));
    assert_eq!(
        allocations, 0,
        "PacketRef::parse: {allocations} allocations after the warm-up"
    );

    let parser = Parser::new().with_max_datasize(4096);
    let mut packet = PacketRef::empty();
    let allocations = allocations_after_warm_up(|i| {
        let wire = if i % 2 == 0 { GET } else { POST };
        let len = parser.parse_into(wire, &mut packet).expect("a capture");
        black_box(len.complete());
        let vars = packet.vars().expect("a request");
        black_box(vars.get_many([b"REQUEST_METHOD", b"PATH_INFO", b"CONTENT_LENGTH"]));
        black_box(vars.get("HTTP_HOST"));
    });
    assert_eq!(
        packet.as_bytes(),
        &POST[..POST.len() - 5],
        "the last packet, a POST head"
    );
    assert_eq!(
        allocations, 0,
        "Parser::parse_into: {allocations} allocations after the warm-up"
    );

    let mut storage = [EMPTY_PAIR; 32];
    let mut pairs_read = 0;
    let allocations = allocations_after_warm_up(|i| {
        let wire = if i % 2 == 0 { GET } else { POST };
        let Ok(Status::Complete(packet)) = parser.parse_pairs(wire, &mut storage) else {
            panic!("a capture")
        };
        pairs_read += packet.pairs().len();
        black_box(packet.get("HTTP_HOST"));
        black_box(packet.body_len().expect("a body length"));
    });
    assert_eq!(pairs_read, REQUESTS / 2 * (24 + 19));
    assert_eq!(
        allocations, 0,
        "Parser::parse_pairs: {allocations} allocations after the warm-up"
    );
}

#[cfg(feature = "codec")]
mod codec {
    use super::*;
    use tokio_util::codec::Decoder;
    use uwsgi_codec::codec::{ServerCodec, ServerFrame};

    const READ_SIZE: usize = 4096;
    /// tokio-util's `Framed` starts its read buffer at 8 KiB.
    const BUFFER_CAPACITY: usize = 8 * 1024;

    /// `REQUESTS` nginx requests, POST and GET alternating, as one pipelined stream.
    fn stream() -> Vec<u8> {
        (0..REQUESTS)
            .flat_map(|i| if i % 2 == 0 { POST } else { GET })
            .copied()
            .collect()
    }

    /// How the bytes reach the read buffer.
    #[derive(Debug, Clone, Copy)]
    enum Reads {
        /// `READ_SIZE` bytes at a time, appended.
        Fixed,
        /// As `Framed` reads: `reserve(1)`, then as much as the spare capacity holds.
        SpareCapacity,
    }

    /// What one decoding run saw, and the allocations after the warm-up.
    #[derive(Debug, Default)]
    struct Run {
        requests: usize,
        vars: usize,
        body_bytes: usize,
        allocations: usize,
    }

    impl Run {
        /// A request's head has been read; counting starts after the warm-up.
        fn head(&mut self, region: &mut Option<Region<'static, System>>) {
            self.requests += 1;
            if self.requests == WARM_UP {
                *region = Some(Region::new(GLOBAL));
            }
        }
    }

    /// How the heads are read.
    #[derive(Debug, Clone, Copy)]
    enum Heads {
        /// As `ServerFrame::Packet`s.
        Frames,
        /// In place, with `peek_pairs`, every head of a read into one storage.
        Peeked,
    }

    fn decode(wire: &[u8], reads: Reads, heads: Heads) -> Run {
        let mut codec = ServerCodec::new().with_persistent(true);
        let mut buf = BytesMut::with_capacity(BUFFER_CAPACITY);
        let mut run = Run::default();
        let mut region = None;
        let mut rest = wire;
        while !rest.is_empty() {
            let len = match reads {
                Reads::Fixed => READ_SIZE,
                Reads::SpareCapacity => {
                    buf.reserve(1);
                    buf.capacity() - buf.len()
                }
            };
            let (read, tail) = rest.split_at(len.min(rest.len()));
            buf.extend_from_slice(read); // a socket read into the reused buffer
            rest = tail;
            // After each read: the heads (in place, or as frames) and bodies it completes.
            loop {
                if let Heads::Peeked = heads {
                    let mut storage = [EMPTY_PAIR; 64];
                    while let Some(head) = codec.peek_pairs(&buf, &mut storage).expect("valid") {
                        run.head(&mut region);
                        for (key, value) in head.pairs() {
                            black_box((key, value));
                            run.vars += 1;
                        }
                        black_box(head.body_len().expect("valid"));
                    }
                }
                let Some(frame) = codec.decode(&mut buf).expect("a valid stream") else {
                    break;
                };
                match frame {
                    ServerFrame::Packet(packet) => {
                        assert!(matches!(heads, Heads::Frames), "a head that was not peeked");
                        run.head(&mut region);
                        for (key, value) in packet.vars().expect("a vars block").iter() {
                            black_box((key, value));
                            run.vars += 1;
                        }
                        for (key, value) in packet.vars_bytes() {
                            black_box((key, value)); // owned `Bytes` slices: no copy either
                        }
                        black_box(packet.get_bytes("CONTENT_LENGTH"));
                    }
                    ServerFrame::Body(chunk) => run.body_bytes += black_box(chunk).len(),
                    ServerFrame::End => {}
                    other => panic!("unexpected frame {other:?}"),
                }
            }
        }
        let change = region.expect("the warm-up finished").change();
        run.allocations = change.allocations + change.reallocations;
        assert!(
            matches!(codec.decode_eof(&mut buf), Ok(None)),
            "a clean end"
        );
        run
    }

    pub(super) fn steady_state_decoding_allocates_nothing_per_request() {
        let wire = stream();
        let ways =
            [Reads::Fixed, Reads::SpareCapacity].map(|r| [(r, Heads::Frames), (r, Heads::Peeked)]);
        for (reads, heads) in ways.into_iter().flatten() {
            let run = decode(&wire, reads, heads);
            assert_eq!(run.requests, REQUESTS, "{reads:?} {heads:?}");
            assert_eq!(run.vars, REQUESTS / 2 * (19 + 24), "{reads:?} {heads:?}");
            assert_eq!(run.body_bytes, REQUESTS / 2 * 5, "{reads:?} {heads:?}");
            let measured = REQUESTS - WARM_UP;
            assert_eq!(
                run.allocations, 0,
                "{reads:?} {heads:?}: {} allocations over {measured} requests after the warm-up",
                run.allocations
            );
        }
    }
}
