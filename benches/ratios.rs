//! A quick ratios harness (std only, no criterion, well under 30 s): for each workload, the
//! median ratio of the crate's operation to its floor, measured in the same run by
//! interleaved batches (op, floor, floor, op, ...), each timed with `Instant`.
//!
//! ```text
//! cargo bench --bench ratios                      # core lines
//! cargo bench --features codec --bench ratios     # and the server codec line
//! ```
//!
//! It prints one line per ratio, with its target for orientation, then `ratios: done`. It
//! never fails on noise: a ratio over its target is reported, not an error.
//!
//! `--callgrind WORKLOAD N [SETTINGS]` runs only the crate's parse + visit of `WORKLOAD` N
//! times, with the default parser or one with a setting of its own (`datasize`, `pairs`,
//! `magic`: the path off the fast one), and
//! `--callgrind-floor WORKLOAD N` only the floor walk, `--callgrind-codec N` only the pipelined
//! stream through a persistent `ServerCodec`, `--callgrind-peek N` the same read with
//! `peek_pairs`, and `--callgrind-bytewise N` only `nginx_get` fed to one a byte per call
//! (feature `codec`); `--workloads` lists the workloads
//! (`name bytes packets`). `benches/callgrind.sh` uses them to count instructions per packet.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use uwsgi_codec::{Header, MAX_DATASIZE, PacketBuilder, Parser, Status};

use common::plain as plain_rust;

use common::{
    floor_header, floor_walk, parse_lookup, parse_lookup_one_pass, parse_pairs_lookup, parse_visit,
};

/// How long one timed batch aims to take.
const BATCH: Duration = Duration::from_micros(50);
/// How long each line measures (rounds of one op batch and one floor batch).
const BUDGET: Duration = Duration::from_millis(1400);
/// At most this many rounds per line.
const MAX_ROUNDS: usize = 20_000;

/// Runs `n` operations and returns the time they took (setup excluded).
trait Batch: FnMut(u64) -> Duration {}
impl<F: FnMut(u64) -> Duration> Batch for F {}

/// A batch runner for an operation with nothing to set up.
fn plain(mut op: impl FnMut() -> usize) -> impl Batch {
    move |n| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(op());
        }
        start.elapsed()
    }
}

/// The number of operations that makes a batch last about [`BATCH`].
fn calibrate(batch: &mut impl Batch) -> u64 {
    batch(1); // warm up
    let mut n = 1;
    while n < 1 << 30 {
        if batch(n) >= BATCH {
            break;
        }
        n *= 2;
    }
    n
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Measures `op` against `floor` and prints one line. `per` divides both times (requests in
/// a pipelined stream) for the printed per-operation times.
fn ratio(label: &str, target: Option<f64>, per: u64, mut op: impl Batch, mut floor: impl Batch) {
    let (n_op, n_floor) = (calibrate(&mut op), calibrate(&mut floor));
    let start = Instant::now();
    let (mut ratios, mut op_ns, mut floor_ns) = (Vec::new(), Vec::new(), Vec::new());
    while start.elapsed() < BUDGET && ratios.len() < MAX_ROUNDS {
        let (t_op, t_floor) = if ratios.len() % 2 == 0 {
            let t_op = op(n_op);
            (t_op, floor(n_floor))
        } else {
            let t_floor = floor(n_floor);
            (op(n_op), t_floor)
        };
        let t_op = t_op.as_nanos() as f64 / (n_op * per) as f64;
        let t_floor = t_floor.as_nanos() as f64 / (n_floor * per) as f64;
        if t_floor > 0.0 {
            ratios.push(t_op / t_floor);
            op_ns.push(t_op);
            floor_ns.push(t_floor);
        }
    }
    let r = median(&mut ratios);
    let verdict = match target {
        Some(t) if r <= t => format!("target <= {t}x: ok"),
        Some(t) => format!("target <= {t}x: OVER"),
        None => "no target".to_owned(),
    };
    println!(
        "{label}: {r:.2}x floor  ({verdict}; {:.1} ns vs {:.1} ns, {} rounds)",
        median(&mut op_ns),
        median(&mut floor_ns),
        ratios.len()
    );
}

fn ratios() {
    let parser = Parser::new();
    let workloads = common::workloads();
    for w in &workloads {
        let bytes = w.bytes.as_slice();
        let mut storage = common::storage();
        ratio(
            &format!("parse+visit {}", w.name),
            None,
            1,
            plain(|| parse_visit(&parser, black_box(bytes), &mut storage)),
            plain(|| floor_walk(black_box(bytes))),
        );
    }
    // The plain safe parser a user could write in 30 lines: the crate must not lose to it.
    let mut slots = vec![(&[][..], &[][..]); plain_rust::CAPACITY];
    for w in &workloads {
        let bytes = w.bytes.as_slice();
        let mut storage = common::storage();
        ratio(
            &format!("parse+visit {} vs a plain safe parser", w.name),
            Some(1.0),
            1,
            plain(|| parse_visit(&parser, black_box(bytes), &mut storage)),
            plain(|| plain_rust::parse_visit(black_box(bytes), &mut slots)),
        );
    }

    let get = common::NGINX_GET;
    ratio(
        "lookup 5 keys nginx_get, 5 x get()",
        None,
        1,
        plain(|| parse_lookup(&parser, black_box(get))),
        plain(|| floor_walk(black_box(get))),
    );
    ratio(
        "lookup 5 keys nginx_get, PacketRef get_many()",
        None,
        1,
        plain(|| parse_lookup_one_pass(&parser, black_box(get))),
        plain(|| floor_walk(black_box(get))),
    );
    let mut storage = common::storage();
    ratio(
        "lookup 5 keys nginx_get, parse_pairs then get_many()",
        Some(2.5),
        1,
        plain(|| parse_pairs_lookup(&parser, black_box(get), &mut storage)),
        plain(|| floor_walk(black_box(get))),
    );

    let pairs = common::pairs(get);
    let builder = PacketBuilder::new(0).with_vars(&pairs);
    assert_eq!(builder.to_vec().ok().as_deref(), Some(get));
    let mut buf = BytesMut::with_capacity(4 + MAX_DATASIZE);
    let mut floor_buf = BytesMut::with_capacity(4 + MAX_DATASIZE);
    ratio(
        "encode nginx_get (builder, reused BytesMut) vs memcpy",
        Some(5.0),
        1,
        plain(|| {
            let buf = black_box(&mut buf);
            buf.clear();
            black_box(&builder).encode(buf).unwrap_or(0)
        }),
        plain(|| {
            let buf = black_box(&mut floor_buf);
            buf.clear();
            buf.extend_from_slice(black_box(get));
            buf.len()
        }),
    );
    let mut plain_buf = Vec::with_capacity(4 + MAX_DATASIZE);
    ratio(
        "encode nginx_get (fresh builder, reused BytesMut) vs a plain safe encoder",
        Some(1.0),
        1,
        plain(|| {
            let buf = black_box(&mut buf);
            buf.clear();
            let builder = PacketBuilder::new(0).with_vars(black_box(&pairs));
            builder.encode(buf).unwrap_or(0)
        }),
        plain(|| {
            let buf = black_box(&mut plain_buf);
            buf.clear();
            plain_rust::encode(0, 0, black_box(&pairs), buf)
        }),
    );
    let mut slice = vec![0u8; 4 + MAX_DATASIZE];
    let mut floor_slice = vec![0u8; 4 + MAX_DATASIZE];
    ratio(
        "encode_slice nginx_get vs memcpy",
        Some(5.0),
        1,
        plain(|| {
            let dst = black_box(slice.as_mut_slice());
            let n = black_box(&builder).encode_slice(dst).unwrap_or(0);
            black_box(dst);
            n
        }),
        plain(|| {
            let (get, dst) = (black_box(get), black_box(floor_slice.as_mut_slice()));
            dst[..get.len()].copy_from_slice(get);
            black_box(dst);
            get.len()
        }),
    );

    codec_line(&parser);

    ratio(
        "header parse vs reading 4 bytes",
        None,
        1,
        plain(|| match Header::parse(black_box(get)) {
            Status::Complete(h) => h.packet_len() + usize::from(h.modifier1.0 ^ h.modifier2),
            Status::Incomplete(n) => n,
        }),
        plain(|| floor_header(black_box(get))),
    );
}

#[cfg(feature = "codec")]
fn codec_line(parser: &Parser) {
    use uwsgi_codec::codec::ServerCodec;

    let stream = common::pipelined();
    let mut storage = common::storage();
    let requests = common::PIPELINED_REQUESTS as u64;
    // The pipelined stream through a persistent codec, each packet read with `read`.
    let reading = |read: fn(&uwsgi_codec::Packet) -> usize| {
        through_codec(&stream, move |codec, src| {
            common::drain_reading(codec, src, read)
        })
    };
    let codec_batch = reading(common::read_pairs);
    ratio(
        "server codec pipelined per request, owned frames vs core parse+visit",
        None,
        requests,
        codec_batch,
        plain(|| parse_visit(parser, black_box(&stream), &mut storage)),
    );

    // The borrowed path, the server's fast one: every head of the buffer read in place into
    // one storage, then `decode` for the rest.
    let peeking = through_codec(&stream, common::drain_peeking::<64>);
    ratio(
        "server codec pipelined per request, peek_pairs vs core parse+visit",
        Some(1.1),
        requests,
        peeking,
        plain(|| parse_visit(parser, black_box(&stream), &mut storage)),
    );
    // What the framing costs on its own: the core path with the body-length lookup that the
    // codec must make and the core line above leaves out.
    ratio(
        "server codec pipelined per request, peek_pairs vs core parse+body_len+visit",
        None,
        requests,
        peeking,
        plain(|| common::parse_length_visit(parser, black_box(&stream), &mut storage)),
    );

    // The same against the core path with the codec's representation (the index of lengths
    // that `PacketRef` and the codec's `Packet` carry): what the framing itself costs.
    ratio(
        "server codec pipelined per request vs PacketRef parse+visit",
        None,
        requests,
        codec_batch,
        plain(|| common::parse_visit_indexed(parser, black_box(&stream))),
    );

    // What reading a decoded frame costs: not at all, twice, and through the borrowed view
    // (which copies the index) instead of `Packet::pairs`, each against one read.
    ratio(
        "server codec per request, frames not read vs read once",
        None,
        requests,
        reading(|packet| packet.as_bytes().len()),
        reading(common::read_pairs),
    );
    ratio(
        "server codec per request, frames read twice vs once",
        None,
        requests,
        reading(|packet| common::read_pairs(packet) + common::read_pairs(packet)),
        reading(common::read_pairs),
    );
    ratio(
        "server codec per request, frames read through view() vs pairs()",
        None,
        requests,
        reading(|packet| common::visit(&packet.view())),
        reading(common::read_pairs),
    );

    // One request fed one byte per read, against the same request in one read.
    let wire = common::NGINX_GET;
    let bytewise = |n: u64| {
        let mut inputs: Vec<_> = (0..n)
            .map(|_| (ServerCodec::new(), BytesMut::with_capacity(wire.len())))
            .collect();
        let start = Instant::now();
        for (codec, src) in &mut inputs {
            let mut acc = 0;
            for &byte in black_box(wire) {
                src.extend_from_slice(&[byte]);
                acc += common::drain(codec, src);
            }
            black_box(acc);
        }
        start.elapsed()
    };
    let one_shot = |n: u64| {
        let mut inputs: Vec<_> = (0..n)
            .map(|_| (ServerCodec::new(), BytesMut::with_capacity(wire.len())))
            .collect();
        let start = Instant::now();
        for (codec, src) in &mut inputs {
            src.extend_from_slice(black_box(wire));
            black_box(common::drain(codec, src));
        }
        start.elapsed()
    };
    ratio(
        "server decode nginx_get fed 1 byte per call vs one call",
        Some(3.0),
        1,
        bytewise,
        one_shot,
    );
    // The same feeding with no decoder at all: the part of the line above that is the
    // harness's one-byte appends.
    let appends_only = |n: u64| {
        let mut inputs: Vec<_> = (0..n)
            .map(|_| BytesMut::with_capacity(wire.len()))
            .collect();
        let start = Instant::now();
        for src in &mut inputs {
            for &byte in black_box(wire) {
                src.extend_from_slice(&[byte]);
                black_box(&mut *src);
            }
        }
        start.elapsed()
    };
    ratio(
        "nginx_get appended 1 byte at a time, no decoder, vs one decode call",
        None,
        1,
        appends_only,
        one_shot,
    );
}

/// A batch: `drain` over `n` copies of `stream`, each through a fresh persistent server codec
/// (the copies are made outside the timing).
#[cfg(feature = "codec")]
fn through_codec<'a>(
    stream: &'a [u8],
    drain: impl Fn(&mut uwsgi_codec::codec::ServerCodec, &mut BytesMut) -> usize + Copy + 'a,
) -> impl FnMut(u64) -> Duration + Copy + 'a {
    use uwsgi_codec::codec::ServerCodec;

    move |n: u64| {
        let mut inputs: Vec<_> = (0..n)
            .map(|_| {
                let codec = ServerCodec::new().with_persistent(true);
                (codec, BytesMut::from(stream))
            })
            .collect();
        let start = Instant::now();
        for (codec, src) in &mut inputs {
            black_box(drain(codec, src));
        }
        start.elapsed()
    }
}

#[cfg(not(feature = "codec"))]
fn codec_line(_: &Parser) {
    println!("server codec pipelined per request: skipped (run with --features codec)");
}

/// `--callgrind[-floor] WORKLOAD N [SETTINGS]`: parse + visit (or the floor walk) `N` times,
/// nothing else, with the parser `SETTINGS` names.
fn callgrind(floor: bool, name: &str, n: &str, settings: &str) -> Result<(), String> {
    let workload = common::workload(name).ok_or_else(|| format!("no workload {name:?}"))?;
    let n: u64 = n.parse().map_err(|_| format!("bad count {n:?}"))?;
    // Each a setting of its own that refuses none of the workloads.
    let parser = match settings {
        "" | "defaults" => Parser::new(),
        "datasize" => Parser::new().with_max_datasize(MAX_DATASIZE - 1),
        "pairs" => Parser::new().with_max_vars(Some(uwsgi_codec::MAX_PAIRS)),
        "magic" => Parser::new().with_magic_policy(uwsgi_codec::MagicPolicy::Refuse),
        other => return Err(format!("bad settings {other:?}")),
    };
    let mut storage = common::storage();
    let mut acc = 0usize;
    for _ in 0..n {
        let bytes = black_box(workload.bytes.as_slice());
        acc = acc.wrapping_add(if floor {
            floor_walk(bytes)
        } else {
            parse_visit(&parser, bytes, &mut storage)
        });
    }
    println!("{acc}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let position = |flag: &str| args.iter().position(|a| a == flag);
    let result = if let Some(i) = position("--callgrind") {
        callgrind(
            false,
            arg(&args, i + 1),
            arg(&args, i + 2),
            arg(&args, i + 3),
        )
    } else if let Some(i) = position("--callgrind-floor") {
        callgrind(true, arg(&args, i + 1), arg(&args, i + 2), "")
    } else if let Some(i) = position("--callgrind-codec") {
        callgrind_codec(arg(&args, i + 1), CodecRun::Frames)
    } else if let Some(i) = position("--callgrind-peek") {
        callgrind_codec(arg(&args, i + 1), CodecRun::Peeked)
    } else if let Some(i) = position("--callgrind-bytewise") {
        callgrind_codec(arg(&args, i + 1), CodecRun::Bytewise)
    } else if position("--workloads").is_some() {
        for w in common::workloads() {
            println!("{} {} {}", w.name, w.bytes.len(), w.packets);
        }
        Ok(())
    } else {
        // `cargo bench` passes `--bench` and any filter: the full set always runs.
        ratios();
        println!("ratios: done");
        Ok(())
    };
    if let Err(err) = result {
        eprintln!("ratios: {err}");
        std::process::exit(2);
    }
}

/// What `callgrind_codec` runs.
#[derive(Clone, Copy)]
enum CodecRun {
    /// `--callgrind-codec N`: the pipelined stream through a persistent `ServerCodec`, its
    /// heads as frames.
    Frames,
    /// `--callgrind-peek N`: the same, its heads read with `peek_pairs`.
    Peeked,
    /// `--callgrind-bytewise N`: `nginx_get` fed one byte per call.
    Bytewise,
}

/// Runs `run` `N` times.
#[cfg(feature = "codec")]
fn callgrind_codec(n: &str, run: CodecRun) -> Result<(), String> {
    use uwsgi_codec::codec::ServerCodec;

    let n: u64 = n.parse().map_err(|_| format!("bad count {n:?}"))?;
    let stream = common::pipelined();
    let wire = common::NGINX_GET;
    let mut acc = 0usize;
    for _ in 0..n {
        let drained = match run {
            CodecRun::Bytewise => {
                let mut codec = ServerCodec::new();
                let mut src = BytesMut::with_capacity(wire.len());
                let mut acc = 0usize;
                for &byte in black_box(wire) {
                    src.extend_from_slice(&[byte]);
                    acc = acc.wrapping_add(common::drain(&mut codec, black_box(&mut src)));
                }
                acc
            }
            CodecRun::Frames | CodecRun::Peeked => {
                let mut codec = ServerCodec::new().with_persistent(true);
                let mut src = BytesMut::from(&stream[..]);
                match run {
                    CodecRun::Peeked => {
                        common::drain_peeking::<64>(&mut codec, black_box(&mut src))
                    }
                    _ => common::drain(&mut codec, black_box(&mut src)),
                }
            }
        };
        acc = acc.wrapping_add(drained);
    }
    println!("{acc}");
    Ok(())
}

#[cfg(not(feature = "codec"))]
fn callgrind_codec(_: &str, _: CodecRun) -> Result<(), String> {
    Err(
        "--callgrind-codec, --callgrind-peek and --callgrind-bytewise need --features codec"
            .to_owned(),
    )
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or("", String::as_str)
}
