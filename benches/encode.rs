//! Criterion benches of encoding through `PacketBuilder`: into a reused `BytesMut`
//! (`encode`), into a `&mut [u8]` (`encode_slice`), and building the builder each time
//! (`build_encode`). The floor (`floor/...`) is a `memcpy` of the same wire bytes into the same
//! kind of reused buffer.

mod common;

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use uwsgi_codec::{MAX_DATASIZE, PacketBuilder};

/// The single-packet workloads (encoding `pipelined` would only repeat `nginx_get`).
fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    common::workloads()
        .into_iter()
        .filter(|w| w.packets == 1)
        .map(|w| (w.name, w.bytes))
        .collect()
}

fn builder<'a>(pairs: &'a [(&'a [u8], &'a [u8])]) -> PacketBuilder<'a> {
    PacketBuilder::new(0).with_vars(pairs)
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let mut buf = BytesMut::with_capacity(4 + MAX_DATASIZE);
    for (name, wire) in inputs() {
        let pairs = common::pairs(&wire);
        let builder = builder(&pairs);
        assert_eq!(builder.to_vec().ok().as_deref(), Some(&wire[..]), "{name}");
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), &builder, |b, builder| {
            b.iter(|| {
                let buf = black_box(&mut buf);
                buf.clear();
                black_box(builder).encode(buf).unwrap_or(0)
            })
        });
        group.bench_with_input(BenchmarkId::new("crate_build", name), &pairs, |b, pairs| {
            b.iter(|| {
                let buf = black_box(&mut buf);
                buf.clear();
                let builder = PacketBuilder::new(0).with_vars(black_box(pairs));
                builder.encode(buf).unwrap_or(0)
            })
        });
        group.bench_with_input(BenchmarkId::new("floor", name), &wire, |b, wire| {
            b.iter(|| {
                let buf = black_box(&mut buf);
                buf.clear();
                buf.extend_from_slice(black_box(wire));
                buf.len()
            })
        });
    }
    group.finish();
}

fn encode_slice(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_slice");
    let mut buf = vec![0u8; 4 + MAX_DATASIZE];
    for (name, wire) in inputs() {
        let pairs = common::pairs(&wire);
        let builder = builder(&pairs);
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), &builder, |b, builder| {
            b.iter(|| {
                let dst = black_box(buf.as_mut_slice());
                let n = black_box(builder).encode_slice(dst).unwrap_or(0);
                black_box(dst);
                n
            })
        });
        group.bench_with_input(BenchmarkId::new("floor", name), &wire, |b, wire| {
            b.iter(|| {
                let (wire, dst) = (black_box(wire), black_box(buf.as_mut_slice()));
                dst[..wire.len()].copy_from_slice(wire);
                black_box(dst);
                wire.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encode, encode_slice);
criterion_main!(benches);
