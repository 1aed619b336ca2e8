//! Steady-state decoding allocates nothing: after a warm-up, a pipelined stream of nginx
//! requests decoded by `ServerCodec` from a reused read buffer costs 0 heap allocations per
//! request. The packet, its vars and the body are all slices of the read buffer.
//!
//! The counting allocator is `stats_alloc`'s, a safe wrapper around `System`: the crate's
//! `unsafe_code = "forbid"` lint covers this file too, so it cannot implement `GlobalAlloc`
//! itself. The counters are process-wide, so this binary has no test harness (its
//! `[[test]]` has `harness = false`): libtest's own threads would allocate while it counts.

use std::alloc::System;
use std::hint::black_box;

use bytes::BytesMut;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio_util::codec::Decoder;
use uwsgi_codec::{Frame, ServerCodec};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUESTS: usize = 200;
const WARM_UP: usize = 20;
const READ_SIZE: usize = 4096;
/// tokio-util's `Framed` starts its read buffer at 8 KiB.
const BUFFER_CAPACITY: usize = 8 * 1024;

const POST: &[u8] = include_bytes!("captures/nginx-post.bin"); // 19 vars, body `hello`
const GET: &[u8] = include_bytes!("captures/nginx-get.bin"); // 24 vars, no body

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

fn decode(wire: &[u8], reads: Reads) -> Run {
    let mut codec = ServerCodec::new().persistent(true);
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
        while let Some(frame) = codec.decode(&mut buf).expect("a valid stream") {
            match frame {
                Frame::Packet(packet) => {
                    for (key, value) in packet.view().vars().expect("a vars block").iter() {
                        black_box((key, value));
                        run.vars += 1;
                    }
                    for (key, value) in packet.vars_bytes() {
                        black_box((key, value)); // owned `Bytes` slices: no copy either
                    }
                    black_box(packet.get("CONTENT_LENGTH"));
                }
                Frame::Body(chunk) => run.body_bytes += black_box(chunk).len(),
                Frame::End => {
                    run.requests += 1;
                    if run.requests == WARM_UP {
                        region = Some(Region::new(GLOBAL));
                    }
                }
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }
    let change = region.expect("the warm-up finished").change();
    run.allocations = change.allocations + change.reallocations;
    assert_eq!(codec.decode_eof(&mut buf).expect("a clean end"), None);
    run
}

fn main() {
    steady_state_decoding_allocates_nothing_per_request();
    println!("alloc: 1 passed, 0 failed");
}

fn steady_state_decoding_allocates_nothing_per_request() {
    let wire = stream();
    for reads in [Reads::Fixed, Reads::SpareCapacity] {
        let run = decode(&wire, reads);
        assert_eq!(run.requests, REQUESTS, "{reads:?}");
        assert_eq!(run.vars, REQUESTS / 2 * (19 + 24), "{reads:?}");
        assert_eq!(run.body_bytes, REQUESTS / 2 * 5, "{reads:?}");
        let measured = REQUESTS - WARM_UP;
        assert_eq!(
            run.allocations, 0,
            "{reads:?}: {} allocations over {measured} requests after the warm-up",
            run.allocations
        );
    }
}
