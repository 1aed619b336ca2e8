//! Workloads and floors shared by every bench (`mod common;` in each bench file).
//!
//! Workloads are built here, deterministically, when a bench starts (recipes below and in
//! `benches/README.md`); nothing random, nothing read at run time. The nginx capture is
//! `include_bytes!`-ed from `tests/captures/`, not copied.
//!
//! Floors are the least any parser of the same bytes must do: walk the length chain (read
//! klen, skip key, read vlen, skip value), with no check but the loop end.

// Each bench uses a different subset of these helpers.
#![allow(dead_code)]

use uwsgi_codec::{EMPTY_PAIR, MAX_PAIRS, PacketRef, Pair, Parser, Status};

/// A real packet recorded from nginx 1.22 (`GET /shop/product/1234?...`): 1014 bytes,
/// 24 vars, no body.
pub(crate) const NGINX_GET: &[u8] = include_bytes!("../../tests/captures/nginx-get.bin");

/// A real nginx `POST /post`: a 446-byte packet (19 vars, `CONTENT_LENGTH` 5), then its
/// 5-byte body.
pub(crate) const NGINX_POST: &[u8] = include_bytes!("../../tests/captures/nginx-post.bin");

/// How many requests the `pipelined` workload holds.
pub(crate) const PIPELINED_REQUESTS: usize = 1000;

/// The keys a typical WSGI app reads first.
pub(crate) const LOOKUP_KEYS: [&str; 5] = [
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_LENGTH",
    "HTTP_HOST",
];

/// One bench input: whole packets back to back (one packet, except `pipelined`).
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) bytes: Vec<u8>,
    pub(crate) packets: usize,
}

/// Every workload, in the order the ratios are printed.
pub(crate) fn workloads() -> Vec<Workload> {
    let all = vec![
        one("nginx_get", NGINX_GET.to_vec()),
        Workload {
            name: "pipelined",
            bytes: pipelined(),
            packets: PIPELINED_REQUESTS,
        },
        one("many_small", many_small()),
        one("few_large", few_large()),
        one("small", small()),
    ];
    for workload in &all {
        check(workload);
    }
    all
}

/// The workload called `name`.
pub(crate) fn workload(name: &str) -> Option<Workload> {
    workloads().into_iter().find(|w| w.name == name)
}

fn one(name: &'static str, bytes: Vec<u8>) -> Workload {
    Workload {
        name,
        bytes,
        packets: 1,
    }
}

/// The packet part of `nginx-post.bin` (without its body).
pub(crate) fn nginx_post_packet() -> &'static [u8] {
    let datasize = usize::from(u16::from_le_bytes([NGINX_POST[1], NGINX_POST[2]]));
    &NGINX_POST[..4 + datasize]
}

/// `nginx-get.bin` 1000 times back to back: what a persistent connection carries (no body,
/// its `CONTENT_LENGTH` is empty).
pub(crate) fn pipelined() -> Vec<u8> {
    NGINX_GET.repeat(PIPELINED_REQUESTS)
}

/// 4 pairs, 94 bytes: a health check.
pub(crate) fn small() -> Vec<u8> {
    encode(&[
        (&b"REQUEST_METHOD"[..], &b"GET"[..]),
        (b"PATH_INFO", b"/health"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"HTTP_HOST", b"localhost"),
    ])
}

/// Pair `i` (from 0) is key `K{i}` (decimal) with value `i % 5` bytes of `v`, added while the
/// block stays within 65535 bytes: 6,058 pairs, a 65,525-byte block, 65,529 bytes in all.
pub(crate) fn many_small() -> Vec<u8> {
    let mut owned: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut size = 0;
    for i in 0.. {
        let key = format!("K{i}").into_bytes();
        let value = vec![b'v'; i % 5];
        let len = 4 + key.len() + value.len();
        if size + len > usize::from(u16::MAX) {
            break;
        }
        size += len;
        owned.push((key, value));
    }
    let pairs: Vec<(&[u8], &[u8])> = owned
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    encode(&pairs)
}

/// 3 pairs (`HTTP_COOKIE`, `QUERY_STRING`, `HTTP_REFERER`) of 20,000-byte values; byte `j` of
/// value `i` is `b'a' + (7 * j + i) % 26`: 60,051 bytes in all.
pub(crate) fn few_large() -> Vec<u8> {
    let keys: [&[u8]; 3] = [b"HTTP_COOKIE", b"QUERY_STRING", b"HTTP_REFERER"];
    let values: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            (0..20_000)
                .map(|j| b'a' + ((7 * j + i) % 26) as u8)
                .collect()
        })
        .collect();
    let pairs: Vec<(&[u8], &[u8])> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| (*k, v.as_slice()))
        .collect();
    encode(&pairs)
}

/// A modifier1 0 packet holding `pairs`, written by hand so the workloads do not depend on
/// the encoder under test.
pub(crate) fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut block = Vec::new();
    for (key, value) in pairs {
        for bytes in [key, value] {
            let len = u16::try_from(bytes.len()).expect("pair part over 65535 bytes");
            block.extend_from_slice(&len.to_le_bytes());
            block.extend_from_slice(bytes);
        }
    }
    let datasize = u16::try_from(block.len()).expect("block over 65535 bytes");
    let mut wire = vec![0, 0, 0, 0];
    wire[1..3].copy_from_slice(&datasize.to_le_bytes());
    wire.extend_from_slice(&block);
    wire
}

/// Panics unless the crate accepts the workload and agrees with the floor walk.
fn check(workload: &Workload) {
    let parser = Parser::new();
    let mut packets = 0;
    let mut rest = workload.bytes.as_slice();
    while !rest.is_empty() {
        let packet = parse(&parser, rest);
        rest = &rest[packet.wire_len()..];
        packets += 1;
    }
    assert_eq!(packets, workload.packets, "{}", workload.name);
    assert_eq!(
        parse_visit(&parser, &workload.bytes, &mut storage()),
        floor_walk(&workload.bytes),
        "{}",
        workload.name
    );
}

/// The complete packet at the start of `buf`; panics on anything else.
#[inline(always)]
pub(crate) fn parse<'a>(parser: &Parser, buf: &'a [u8]) -> PacketRef<'a> {
    match parser.parse(buf) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("bench input does not parse: {other:?}"),
    }
}

/// The crate's parse + validation of every packet in `buf`: returns the pair count.
#[inline(never)]
pub(crate) fn parse_only(parser: &Parser, buf: &[u8]) -> usize {
    each_packet(parser, buf, |packet| {
        packet.vars().map_or(0, |vars| vars.len())
    })
}

/// [`parse_visit`] through `PacketRef` (the walk that indexes the first 32 pairs, which the
/// codec's frames carry too), then every pair through its index.
#[inline(never)]
pub(crate) fn parse_visit_indexed(parser: &Parser, buf: &[u8]) -> usize {
    each_packet(parser, buf, visit)
}

/// Every packet in `buf` through `PacketRef` parsing, then `read`: the sum of what it returns.
#[inline(always)]
fn each_packet(parser: &Parser, buf: &[u8], read: impl Fn(&PacketRef<'_>) -> usize) -> usize {
    let mut acc = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        let packet = parse(parser, rest);
        acc += read(&packet);
        rest = &rest[packet.wire_len()..];
    }
    acc
}

/// Pair storage for [`parse_visit`], as a server keeps one per connection: large enough for
/// any packet.
pub(crate) fn storage<'a>() -> Vec<Pair<'a>> {
    vec![EMPTY_PAIR; MAX_PAIRS]
}

/// The crate's parse + validation + visit of every pair of every packet in `buf`, as a server
/// building its environment, through the server path (`Parser::parse_pairs`): returns the sum
/// of key and value lengths.
#[inline(never)]
pub(crate) fn parse_visit<'a>(parser: &Parser, buf: &'a [u8], storage: &mut [Pair<'a>]) -> usize {
    let mut acc = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        match parser.parse_pairs(rest, storage) {
            Ok(Status::Complete(packet)) => {
                for (key, value) in packet.pairs() {
                    acc += key.len() + value.len();
                }
                rest = &rest[packet.wire_len()..];
            }
            other => panic!("bench input does not parse: {other:?}"),
        }
    }
    acc
}

/// [`parse_visit`] with the body length of every packet looked up as well
/// (`PacketPairs::body_len`), as a server must before it reads on: the core work of the
/// codec's borrowed path. Returns the sum of key and value lengths and body lengths.
#[inline(never)]
pub(crate) fn parse_length_visit<'a>(
    parser: &Parser,
    buf: &'a [u8],
    storage: &mut [Pair<'a>],
) -> usize {
    let mut acc = 0;
    let mut rest = buf;
    while !rest.is_empty() {
        match parser.parse_pairs(rest, storage) {
            Ok(Status::Complete(packet)) => {
                let body_len = packet.body_len().expect("bench input has valid lengths");
                acc += usize::try_from(body_len).unwrap_or(usize::MAX);
                for (key, value) in packet.pairs() {
                    acc += key.len() + value.len();
                }
                rest = &rest[packet.wire_len()..];
            }
            other => panic!("bench input does not parse: {other:?}"),
        }
    }
    acc
}

/// The sum of key and value lengths of every pair, through `Vars::iter`.
#[inline(always)]
pub(crate) fn visit(packet: &PacketRef<'_>) -> usize {
    let mut acc = 0;
    if let Some(vars) = packet.vars() {
        for (key, value) in vars.iter() {
            acc += key.len() + value.len();
        }
    }
    acc
}

/// Parse, then look up [`LOOKUP_KEYS`] with five `Vars::get` calls (five walks): returns the sum of the found values' lengths.
#[inline(never)]
pub(crate) fn parse_lookup(parser: &Parser, buf: &[u8]) -> usize {
    let packet = parse(parser, buf);
    let Some(vars) = packet.vars() else {
        return 0;
    };
    LOOKUP_KEYS
        .iter()
        .map(|key| vars.get(key).map_or(0, <[u8]>::len))
        .sum()
}

/// Parse, then find [`LOOKUP_KEYS`] with one `Vars::get_many` (one walk, the last of each
/// wins, as with `Vars::get`).
#[inline(never)]
pub(crate) fn parse_lookup_one_pass(parser: &Parser, buf: &[u8]) -> usize {
    let packet = parse(parser, buf);
    let Some(vars) = packet.vars() else {
        return 0;
    };
    let found = vars.get_many(LOOKUP_KEYS.map(str::as_bytes));
    found.iter().map(|v| v.map_or(0, <[u8]>::len)).sum()
}

/// The server path: `parse_pairs` into kept storage, then [`LOOKUP_KEYS`] with one
/// `PacketPairs::get_many` over the stored pairs.
#[inline(never)]
pub(crate) fn parse_pairs_lookup<'a>(
    parser: &Parser,
    buf: &'a [u8],
    storage: &mut [Pair<'a>],
) -> usize {
    let Ok(Status::Complete(packet)) = parser.parse_pairs(buf, storage) else {
        panic!("bench input does not parse")
    };
    let found = packet.get_many(LOOKUP_KEYS.map(str::as_bytes));
    found.iter().map(|v| v.map_or(0, <[u8]>::len)).sum()
}

/// The floor of parsing: walk the length chain of every packet in `buf` (read klen, skip key,
/// read vlen, skip value) with no check but the loop end, summing key and value lengths.
/// `buf` is known valid; indexing panics rather than misreads if it is not.
#[inline(never)]
pub(crate) fn floor_walk(buf: &[u8]) -> usize {
    let mut acc = 0;
    let mut pos = 0;
    while pos < buf.len() {
        let end = pos + 4 + usize::from(u16::from_le_bytes([buf[pos + 1], buf[pos + 2]]));
        pos += 4;
        while pos < end {
            let klen = usize::from(u16::from_le_bytes([buf[pos], buf[pos + 1]]));
            pos += 2 + klen;
            let vlen = usize::from(u16::from_le_bytes([buf[pos], buf[pos + 1]]));
            pos += 2 + vlen;
            acc += klen + vlen;
        }
    }
    acc
}

/// The floor of a header parse: read the 4 bytes.
#[inline(never)]
pub(crate) fn floor_header(buf: &[u8]) -> usize {
    usize::from(buf[0]) + usize::from(u16::from_le_bytes([buf[1], buf[2]])) + usize::from(buf[3])
}

/// Decodes every frame in `src` with a server codec, reading every pair of every packet
/// through `Packet::pairs` as [`visit`] reads them: returns the sum of key and value lengths
/// plus the frame count.
#[cfg(feature = "codec")]
pub(crate) fn drain(
    codec: &mut uwsgi_codec::codec::ServerCodec,
    src: &mut bytes::BytesMut,
) -> usize {
    drain_reading(codec, src, read_pairs)
}

/// [`drain`] on the borrowed path: every head of the buffer read in place with
/// `ServerCodec::peek_pairs` into one storage of `N` pairs, every pair visited, then `decode`
/// for the rest (bodies, the last `End`), as a server does after each read.
#[cfg(feature = "codec")]
#[inline(always)]
pub(crate) fn drain_peeking<const N: usize>(
    codec: &mut uwsgi_codec::codec::ServerCodec,
    src: &mut bytes::BytesMut,
) -> usize {
    use tokio_util::codec::Decoder;

    let mut acc = 0;
    loop {
        let mut storage = [EMPTY_PAIR; N];
        loop {
            match codec.peek_pairs(src, &mut storage) {
                Ok(Some(head)) => {
                    for (key, value) in head.pairs() {
                        acc += key.len() + value.len();
                    }
                }
                Ok(None) => break,
                Err(err) => panic!("bench input does not decode: {err}"),
            }
        }
        match codec.decode(src) {
            Ok(Some(_)) => acc += 1,
            Ok(None) => return acc,
            Err(err) => panic!("bench input does not decode: {err}"),
        }
    }
}

/// Every pair of `packet` through `Packet::pairs`: the sum of key and value lengths.
#[cfg(feature = "codec")]
#[inline(always)]
pub(crate) fn read_pairs(packet: &uwsgi_codec::Packet) -> usize {
    packet
        .pairs()
        .map(|(key, value)| key.len() + value.len())
        .sum()
}

/// [`drain`], reading each packet with `read`.
#[cfg(feature = "codec")]
#[inline(always)]
pub(crate) fn drain_reading(
    codec: &mut uwsgi_codec::codec::ServerCodec,
    src: &mut bytes::BytesMut,
    read: impl Fn(&uwsgi_codec::Packet) -> usize,
) -> usize {
    use tokio_util::codec::Decoder;
    use uwsgi_codec::codec::ServerFrame;

    let mut acc = 0;
    loop {
        match codec.decode(src) {
            Ok(Some(ServerFrame::Packet(packet))) => acc += read(&packet),
            Ok(Some(_)) => acc += 1,
            Ok(None) => return acc,
            Err(err) => panic!("bench input does not decode: {err}"),
        }
    }
}

/// What a user could write in a few lines of plain safe Rust, with no index and no
/// diagnostics: the line the crate must not lose to (issue 9).
pub(crate) mod plain {
    /// A 65535-byte block holds at most 16383 pairs.
    pub(crate) const CAPACITY: usize = 16384;

    /// One `[u16 LE len][bytes]` field off the front of `b`.
    #[inline(always)]
    fn field(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let (len, rest) = b.split_first_chunk::<2>()?;
        rest.split_at_checked(usize::from(u16::from_le_bytes(*len)))
    }

    /// Parses every packet of `buf` into `slots` (a caller's array, reused), then visits the
    /// pairs as `super::visit` does.
    #[inline(never)]
    pub(crate) fn parse_visit<'a>(buf: &'a [u8], slots: &mut [(&'a [u8], &'a [u8])]) -> usize {
        let mut acc = 0;
        let mut rest = buf;
        while let Some((head, after)) = rest.split_first_chunk::<4>() {
            let size = usize::from(u16::from_le_bytes([head[1], head[2]]));
            let Some((mut block, after)) = after.split_at_checked(size) else {
                panic!("bench input is not a packet stream")
            };
            let mut n = 0;
            while !block.is_empty() {
                let (Some((k, r)), true) = (field(block), n < slots.len()) else {
                    panic!("bench input is not a packet stream")
                };
                let Some((v, r)) = field(r) else {
                    panic!("bench input is not a packet stream")
                };
                slots[n] = (k, v);
                n += 1;
                block = r;
            }
            for (k, v) in &slots[..n] {
                acc += k.len() + v.len();
            }
            rest = after;
        }
        acc
    }

    /// Encodes a packet of `pairs` at the end of `out`, patching datasize afterwards.
    #[inline(never)]
    pub(crate) fn encode(m1: u8, m2: u8, pairs: &[(&[u8], &[u8])], out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&[m1, 0, 0, m2]);
        for &(k, v) in pairs {
            let (Ok(kl), Ok(vl)) = (u16::try_from(k.len()), u16::try_from(v.len())) else {
                out.truncate(start);
                return 0;
            };
            out.extend_from_slice(&kl.to_le_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&vl.to_le_bytes());
            out.extend_from_slice(v);
        }
        let Ok(size) = u16::try_from(out.len() - start - 4) else {
            out.truncate(start);
            return 0;
        };
        out[start + 1..start + 3].copy_from_slice(&size.to_le_bytes());
        out.len() - start
    }
}

/// The pairs of the single packet `wire`, borrowed from it (to feed a `PacketBuilder`).
pub(crate) fn pairs(wire: &[u8]) -> Vec<(&[u8], &[u8])> {
    let packet = parse(&Parser::new(), wire);
    packet.vars().expect("a vars packet").iter().collect()
}
