//! Criterion benches of decoding: header, packet parse + validation (borrowed and
//! `Bytes`-backed), parse + visit of every pair, lookups, `body_len`. Every group has
//! `Throughput::Bytes` and its floor (`floor/...`): the unchecked length-chain walk of the
//! same bytes (`benches/common/mod.rs`).

mod common;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use uwsgi_codec::{Header, Parser, Status};

use common::{
    Workload, floor_header, floor_walk, parse, parse_lookup, parse_lookup_one_pass, parse_only,
    parse_pairs_lookup, parse_visit,
};

fn header(c: &mut Criterion) {
    let parser = Parser::new();
    let wire = common::NGINX_GET;
    let mut group = c.benchmark_group("header");
    group.throughput(Throughput::Bytes(4));
    group.bench_function("crate/Header::parse", |b| {
        b.iter(|| match Header::parse(black_box(wire)) {
            Status::Complete(h) => h.packet_len() + usize::from(h.modifier1.0 ^ h.modifier2),
            Status::Incomplete(n) => n,
        })
    });
    group.bench_function("crate/Parser::parse_header", |b| {
        b.iter(|| match parser.parse_header(black_box(wire)) {
            Ok(Status::Complete(h)) => h.packet_len() + usize::from(h.modifier1.0 ^ h.modifier2),
            _ => 0,
        })
    });
    group.bench_function("floor/read 4 bytes", |b| {
        b.iter(|| floor_header(black_box(wire)))
    });
    group.finish();
}

fn packet_parse(c: &mut Criterion) {
    let parser = Parser::new();
    let mut group = c.benchmark_group("parse");
    for Workload { name, bytes, .. } in common::workloads() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let shared = Bytes::from(bytes.clone());
        group.bench_with_input(BenchmarkId::new("crate", name), &bytes, |b, input| {
            b.iter(|| parse_only(&parser, black_box(input)))
        });
        group.bench_with_input(
            BenchmarkId::new("crate_bytes", name),
            &shared,
            |b, input| {
                b.iter(|| {
                    let input = black_box(input);
                    let mut rest = input.clone();
                    let mut acc = 0;
                    while !rest.is_empty() {
                        let Ok(Status::Complete(packet)) = parser.parse_bytes(&rest) else {
                            panic!("bench input does not parse")
                        };
                        let view = packet.view();
                        acc += view.vars().map_or(0, |vars| vars.len());
                        let len = view.wire_len();
                        drop(packet);
                        let _ = rest.split_to(len);
                    }
                    acc
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("floor", name), &bytes, |b, input| {
            b.iter(|| floor_walk(black_box(input)))
        });
    }
    group.finish();
}

fn packet_parse_visit(c: &mut Criterion) {
    let parser = Parser::new();
    let mut group = c.benchmark_group("parse_visit");
    for Workload { name, bytes, .. } in common::workloads() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), &bytes, |b, input| {
            let mut storage = common::storage();
            b.iter(|| parse_visit(&parser, black_box(input), &mut storage))
        });
        group.bench_with_input(BenchmarkId::new("floor", name), &bytes, |b, input| {
            b.iter(|| floor_walk(black_box(input)))
        });
    }
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let parser = Parser::new();
    let mut group = c.benchmark_group("lookup5");
    let inputs: [(&str, &[u8]); 2] = [
        ("nginx_get", common::NGINX_GET),
        ("nginx_post", common::nginx_post_packet()),
    ];
    for (name, bytes) in inputs {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), bytes, |b, input| {
            b.iter(|| parse_lookup(&parser, black_box(input)))
        });
        group.bench_with_input(
            BenchmarkId::new("crate_one_pass", name),
            bytes,
            |b, input| b.iter(|| parse_lookup_one_pass(&parser, black_box(input))),
        );
        group.bench_with_input(BenchmarkId::new("crate_pairs", name), bytes, |b, input| {
            let mut storage = common::storage();
            b.iter(|| parse_pairs_lookup(&parser, black_box(input), &mut storage))
        });
        group.bench_with_input(BenchmarkId::new("floor", name), bytes, |b, input| {
            b.iter(|| floor_walk(black_box(input)))
        });
    }
    group.finish();
}

fn body_len(c: &mut Criterion) {
    let parser = Parser::new();
    let small = common::small();
    let mut group = c.benchmark_group("body_len");
    let inputs: [(&str, &[u8]); 3] = [
        ("nginx_get", common::NGINX_GET),
        ("nginx_post", common::nginx_post_packet()),
        ("small", &small),
    ];
    for (name, bytes) in inputs {
        let packet = parse(&parser, bytes);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("crate", name), &packet, |b, packet| {
            b.iter(|| black_box(packet).body_len().unwrap_or(u64::MAX))
        });
        group.bench_with_input(BenchmarkId::new("floor", name), bytes, |b, input| {
            b.iter(|| floor_walk(black_box(input)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    header,
    packet_parse,
    packet_parse_visit,
    lookup,
    body_len
);
criterion_main!(benches);
