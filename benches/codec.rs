//! Criterion benches of the tokio-util codecs (feature `codec`): `ServerCodec` decoding the
//! `pipelined` stream and one request fed 1 byte at a time, `ClientCodec` encoding a request.
//! Floors: the unchecked length-chain walk for decoding (plus `core/...`, the crate's borrowed
//! parse + visit of the same packets), a `memcpy` for encoding.

mod common;

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::Encoder;
use uwsgi_codec::codec::{ClientCodec, ClientMessage, ServerCodec};
use uwsgi_codec::{MAX_DATASIZE, PacketBuilder, Parser};

use common::{floor_walk, parse_visit};

use common::drain;

fn server_pipelined(c: &mut Criterion) {
    let stream = common::pipelined();
    let parser = Parser::new();
    let mut group = c.benchmark_group("server_pipelined");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function(BenchmarkId::new("crate", "pipelined"), |b| {
        b.iter_batched_ref(
            || {
                let codec = ServerCodec::new().with_persistent(true);
                (codec, BytesMut::from(&stream[..]))
            },
            |(codec, src)| drain(codec, src),
            BatchSize::LargeInput,
        )
    });
    group.bench_function(BenchmarkId::new("core", "pipelined"), |b| {
        let mut storage = common::storage();
        b.iter(|| parse_visit(&parser, black_box(&stream), &mut storage))
    });
    group.bench_function(BenchmarkId::new("floor", "pipelined"), |b| {
        b.iter(|| floor_walk(black_box(&stream)))
    });
    group.finish();
}

fn server_bytewise(c: &mut Criterion) {
    let wire = common::NGINX_GET;
    let mut group = c.benchmark_group("server_bytewise");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function(BenchmarkId::new("crate", "nginx_get"), |b| {
        b.iter_batched_ref(
            || (ServerCodec::new(), BytesMut::with_capacity(wire.len())),
            |(codec, src)| {
                let mut acc = 0;
                for &byte in black_box(wire) {
                    src.extend_from_slice(&[byte]);
                    acc += drain(codec, src);
                }
                acc
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function(BenchmarkId::new("floor", "nginx_get"), |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(wire.len()),
            |src| {
                let mut acc = 0;
                for &byte in black_box(wire) {
                    src.extend_from_slice(&[byte]);
                    if src.len() >= 4 {
                        let len = 4 + usize::from(u16::from_le_bytes([src[1], src[2]]));
                        if src.len() == len {
                            acc += floor_walk(src);
                        }
                    }
                }
                acc
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn client_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("client_encode");
    let mut dst = BytesMut::with_capacity(4 + MAX_DATASIZE);
    let small = common::small();
    let inputs: [(&str, &[u8]); 2] = [("nginx_get", common::NGINX_GET), ("small", &small)];
    for (name, wire) in inputs {
        let pairs = common::pairs(wire);
        let builder = PacketBuilder::new(0).with_vars(&pairs);
        let mut codec = ClientCodec::new();
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), &builder, |b, builder| {
            b.iter(|| {
                let dst = black_box(&mut dst);
                dst.clear();
                match codec.encode(ClientMessage::Packet(black_box(builder)), dst) {
                    Ok(()) => dst.len(),
                    Err(err) => panic!("bench request does not encode: {err}"),
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("floor", name), wire, |b, wire| {
            b.iter(|| {
                let dst = black_box(&mut dst);
                dst.clear();
                dst.extend_from_slice(black_box(wire));
                dst.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, server_pipelined, server_bytewise, client_encode);
criterion_main!(benches);
