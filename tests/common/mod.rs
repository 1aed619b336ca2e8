//! What the test files share (`mod common;` in each): PROTOCOL.md's wire notation (`h`, `kv`,
//! `BASE`), hex, split points, the one vector loader, the property-test strategies and (feature
//! `codec`) feeding a codec in pieces.
//!
//! Wire bytes in tests are written with this notation, by hand, never with the crate's encoder,
//! so that an encoder bug cannot hide a decoder bug.

// Every test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

#[cfg(feature = "codec")]
pub(crate) mod codec;
#[path = "../vectors/loader.rs"]
pub(crate) mod loader;
pub(crate) mod props;

use std::path::PathBuf;

use bytes::Bytes;
use uwsgi_codec::Packet;

// ---------------------------------------------------------------------------------------------
// Wire notation (PROTOCOL.md front matter)
// ---------------------------------------------------------------------------------------------

/// `H(m1,n,m2)`: the header `m1, n&0xff, n>>8, m2`. Panics when `n` does not fit a u16.
pub(crate) fn h(m1: u8, n: usize, m2: u8) -> [u8; 4] {
    let [low, high] = u16::try_from(n).expect("datasize fits a u16").to_le_bytes();
    [m1, low, high, m2]
}

/// `len:u16le bytes`: an array item, or one half of a pair.
pub(crate) fn prefixed(bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).expect("a field fits a u16");
    [&len.to_le_bytes()[..], bytes].concat()
}

/// `kv(k,v)`: `len(k):u16le k len(v):u16le v`.
pub(crate) fn kv(key: &[u8], value: &[u8]) -> Vec<u8> {
    [prefixed(key), prefixed(value)].concat()
}

/// `BASE = kv("REQUEST_METHOD","GET") kv("PATH_INFO","/") kv("SERVER_PROTOCOL","HTTP/1.1")`,
/// 62 bytes.
pub(crate) const BASE: &[u8] = b"\x0e\x00REQUEST_METHOD\x03\x00GET\
\x09\x00PATH_INFO\x01\x00/\
\x0f\x00SERVER_PROTOCOL\x08\x00HTTP/1.1";

/// The pairs of `BASE`, in wire order.
pub(crate) const BASE_VARS: [(&[u8], &[u8]); 3] = [
    (b"REQUEST_METHOD", b"GET"),
    (b"PATH_INFO", b"/"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"),
];

/// `H(m1, |block|, m2) block`.
pub(crate) fn packet(m1: u8, m2: u8, block: &[u8]) -> Vec<u8> {
    [&h(m1, block.len(), m2)[..], block].concat()
}

/// `H(m1, 62 + |tail|, m2) BASE tail`: the shape of §11's "Vars block" cases.
pub(crate) fn base_with(m1: u8, m2: u8, tail: &[u8]) -> Vec<u8> {
    packet(m1, m2, &[BASE, tail].concat())
}

/// `H(0, n, 0) BASE kv(extra)…`: a request packet, without a body.
pub(crate) fn request(extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let tail: Vec<u8> = extra.iter().flat_map(|(k, v)| kv(k, v)).collect();
    base_with(0, 0, &tail)
}

/// The request packet with `CONTENT_LENGTH` = `|body|`, and that packet followed by `body`.
pub(crate) fn request_with_body(body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let len = body.len().to_string();
    let head = request(&[(b"CONTENT_LENGTH", len.as_bytes())]);
    let wire = [&head[..], body].concat();
    (head, wire)
}

/// The datasize a wire's header declares, read by hand.
pub(crate) fn datasize_of(wire: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([wire[1], wire[2]]))
}

/// The packet the default parser reads from `wire`, which must hold exactly one packet.
pub(crate) fn owned_packet(wire: &[u8]) -> Packet {
    let bytes = Bytes::copy_from_slice(wire);
    let packet = Packet::parse(&bytes)
        .expect("a valid packet")
        .complete()
        .expect("a complete packet");
    assert_eq!(packet.wire_len(), wire.len(), "exactly one packet");
    packet
}

// ---------------------------------------------------------------------------------------------
// Hex
// ---------------------------------------------------------------------------------------------

/// `bytes` as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    loader::to_hex(bytes)
}

/// A hex string as bytes; panics on anything else.
pub(crate) fn unhex(text: &str) -> Vec<u8> {
    loader::unhex(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Split points (S1 to S3)
// ---------------------------------------------------------------------------------------------

/// Exactly what `Status::Incomplete` must ask for with the first `cut` bytes of the packet at
/// the start of `wire` buffered (H1, H4).
pub(crate) fn missing(wire: &[u8], cut: usize) -> usize {
    if cut < 4 {
        4 - cut
    } else {
        4 + datasize_of(wire) - cut
    }
}

/// Every way of cutting `wire` that the split tests try: in two at each position, one byte
/// at a time, and 64 pseudo-random cuttings into pieces of 1 to 23 bytes.
pub(crate) fn cuttings(wire: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut out: Vec<Vec<&[u8]>> = (0..=wire.len())
        .map(|cut| vec![&wire[..cut], &wire[cut..]])
        .collect();
    out.push(wire.chunks(1).collect());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..64 {
        let mut pieces = Vec::new();
        let mut rest = wire;
        while !rest.is_empty() {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = ((seed >> 33) as usize % 23 + 1).min(rest.len());
            let (piece, tail) = rest.split_at(len);
            pieces.push(piece);
            rest = tail;
        }
        out.push(pieces);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Vectors
// ---------------------------------------------------------------------------------------------

/// This crate's `tests/vectors`.
pub(crate) fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Every vector file of `tests/vectors`; panics with the loader's message on a bad file.
pub(crate) fn vector_files() -> Vec<loader::VectorFile> {
    loader::load_dir(&vectors_dir()).unwrap_or_else(|e| panic!("tests/vectors: {e}"))
}
