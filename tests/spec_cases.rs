//! PROTOCOL.md §11 conformance cases 1–31, 36–49 and P1–P22, through the public API only.
//!
//! Cases 32–35 and 50 need the tokio codec and live elsewhere. Wire bytes are built by hand
//! with helpers that mirror the spec's notation (`h`, `kv`, `BASE`), never with the crate's
//! encoder, except in the encoder cases 48 and 49. Every vector also goes through the
//! split-point checks S1/S2: `accepts`, `rejects` and `incomplete_throughout`.

use bytes::BytesMut;
use uwsgi_codec::{
    BlockKind, BodyFraming, ContentLengthFault, Direction, Error, Field, ForeignProtocol,
    Modifier1, PacketBuilder, PacketKind, PacketRef, Parser, Status,
};

/// `assert_err!(err => pattern)` is `assert!(matches!(err, pattern), "{err:?}")`.
macro_rules! assert_err {
    ($err:expr => $($pattern:tt)+) => {{
        let err = &$err;
        assert!(matches!(*err, $($pattern)+), "{err:?}");
    }};
}

// ---------------------------------------------------------------------------------------------
// Notation (PROTOCOL.md front matter)
// ---------------------------------------------------------------------------------------------

/// `H(m1,n,m2)`: `m1, n&0xff, n>>8, m2`.
fn h(m1: u8, n: usize, m2: u8) -> Vec<u8> {
    let n = u16::try_from(n).expect("datasize fits a u16");
    vec![m1, (n & 0xff) as u8, (n >> 8) as u8, m2]
}

/// `kv(k,v)`: `len(k):u16le k len(v):u16le v`.
fn kv(k: &[u8], v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + k.len() + v.len());
    out.extend_from_slice(&u16::try_from(k.len()).unwrap().to_le_bytes());
    out.extend_from_slice(k);
    out.extend_from_slice(&u16::try_from(v.len()).unwrap().to_le_bytes());
    out.extend_from_slice(v);
    out
}

/// `BASE = kv("REQUEST_METHOD","GET") kv("PATH_INFO","/") kv("SERVER_PROTOCOL","HTTP/1.1")`.
const BASE: &[u8] = b"\x0e\x00REQUEST_METHOD\x03\x00GET\
\x09\x00PATH_INFO\x01\x00/\
\x0f\x00SERVER_PROTOCOL\x08\x00HTTP/1.1";

/// The vars of `BASE`, in wire order.
const BASE_VARS: [(&[u8], &[u8]); 3] = [
    (b"REQUEST_METHOD", b"GET"),
    (b"PATH_INFO", b"/"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"),
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `H(m1, 62 + |tail|, m2) BASE tail`: the "Vars block" section's shape.
fn base_with(m1: u8, m2: u8, tail: &[u8]) -> Vec<u8> {
    cat(&[&h(m1, BASE.len() + tail.len(), m2), BASE, tail])
}

/// `BASE` vars followed by `extra`.
fn base_vars_and<'a>(extra: &[(&'a [u8], &'a [u8])]) -> Vec<(&'a [u8], &'a [u8])> {
    BASE_VARS.iter().chain(extra).copied().collect()
}

/// The datasize a wire's header declares, read by hand.
fn datasize_of(wire: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([wire[1], wire[2]]))
}

/// Exactly how many bytes `Status::Incomplete` must ask for with `cut` bytes buffered (H1, H4).
fn missing(wire: &[u8], cut: usize) -> usize {
    if cut < 4 {
        4 - cut
    } else {
        4 + datasize_of(wire) - cut
    }
}

// ---------------------------------------------------------------------------------------------
// Split-point checks (S1, S2)
// ---------------------------------------------------------------------------------------------

/// `parser` asks for exactly the missing byte count with the first `cut` bytes of `wire`.
fn assert_incomplete_at(parser: &Parser, wire: &[u8], cut: usize, ctx: &str) {
    let got = parser.parse(&wire[..cut]);
    let n = missing(wire, cut);
    assert!(
        matches!(got, Ok(Status::Incomplete(m)) if m == n),
        "{ctx}prefix of {cut} bytes: expected Incomplete({n}), got {got:?}"
    );
}

/// S1: every prefix short of the packet is `Incomplete(exact missing count)`; every prefix that
/// holds the whole packet (and any bytes after it) gives the same packet as the full input.
fn accepts<'a>(parser: &Parser, wire: &'a [u8]) -> PacketRef<'a> {
    let full = match parser.parse(wire) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("full input not accepted: {other:?}"),
    };
    let packet_len = 4 + datasize_of(wire);
    assert_eq!(full.wire_len(), packet_len, "wire_len() == 4 + datasize");
    assert_eq!(full.as_bytes(), &wire[..packet_len]);
    for cut in 0..packet_len {
        assert_incomplete_at(parser, wire, cut, "");
    }
    for cut in packet_len..=wire.len() {
        let got = parser.parse(&wire[..cut]);
        assert!(
            matches!(got, Ok(Status::Complete(p)) if p == full),
            "prefix of {cut} bytes: expected the full packet, got {got:?}"
        );
    }
    full
}

/// S2: every prefix is `Incomplete(exact missing count)` until the bytes that prove the error
/// are present (the 4 header bytes for `ForeignProtocol` / `TooLarge`, the whole packet for a
/// block error, rule H4), then exactly the full input's error.
fn rejects(parser: &Parser, wire: &[u8]) -> Error {
    rejects_in("", parser, wire)
}

/// [`rejects`], with `ctx` (a case name and `": "`, or nothing) leading every failure message.
fn rejects_in(ctx: &str, parser: &Parser, wire: &[u8]) -> Error {
    let err = match parser.parse(wire) {
        Err(err) => err,
        Ok(status) => panic!("{ctx}full input not rejected: {status:?}"),
    };
    let proof = match err {
        Error::ForeignProtocol { .. } | Error::TooLarge { .. } => 4,
        _ => 4 + datasize_of(wire),
    };
    assert!(
        proof <= wire.len(),
        "{ctx}the vector holds the proving bytes"
    );
    for cut in 0..proof {
        assert_incomplete_at(parser, wire, cut, ctx);
    }
    let expected = format!("{err:?}");
    for cut in proof..=wire.len() {
        match parser.parse(&wire[..cut]) {
            Err(e) => assert_eq!(format!("{e:?}"), expected, "{ctx}prefix of {cut} bytes"),
            Ok(status) => {
                panic!("{ctx}prefix of {cut} bytes: expected {expected}, got {status:?}")
            }
        }
    }
    err
}

/// A vector that is a packet start but never a whole packet: `Incomplete(exact)` at every cut.
fn incomplete_throughout(parser: &Parser, wire: &[u8]) {
    for cut in 0..=wire.len() {
        assert_incomplete_at(parser, wire, cut, "");
    }
}

fn assert_vars(packet: &PacketRef<'_>, expected: &[(&[u8], &[u8])]) {
    assert_eq!(packet.kind().block, BlockKind::Vars, "a vars block");
    let vars = packet.vars().expect("a vars block");
    let got: Vec<(&[u8], &[u8])> = vars.iter().collect();
    assert_eq!(got, expected, "vars in wire order");
    assert_eq!(vars.len(), expected.len());
}

fn assert_items(packet: &PacketRef<'_>, expected: &[&[u8]]) {
    assert_eq!(packet.kind().block, BlockKind::Array, "an array block");
    let array = packet.array().expect("an array block");
    let got: Vec<&[u8]> = array.iter().collect();
    assert_eq!(got, expected, "items in wire order");
    assert_eq!(array.len(), expected.len());
}

fn assert_header(packet: &PacketRef<'_>, m1: u8, datasize: u16, m2: u8) {
    assert_eq!(packet.modifier1(), Modifier1(m1));
    assert_eq!(packet.datasize(), datasize);
    assert_eq!(packet.modifier2(), m2);
}

fn reply_parser() -> Parser {
    Parser::new().with_direction(Direction::Reply)
}

#[test]
fn notation_helpers_match_the_spec() {
    assert_eq!(BASE.len(), 62);
    let base = cat(&[
        &kv(b"REQUEST_METHOD", b"GET"),
        &kv(b"PATH_INFO", b"/"),
        &kv(b"SERVER_PROTOCOL", b"HTTP/1.1"),
    ]);
    assert_eq!(base, BASE);
    assert_eq!(h(0, 62, 0), [0x00, 0x3e, 0x00, 0x00]);
    assert_eq!(h(0xad, 0x1234, 5), [0xad, 0x34, 0x12, 0x05]);
}

// ---------------------------------------------------------------------------------------------
// Framing / header
// ---------------------------------------------------------------------------------------------

#[test]
fn case_01_base_get() {
    let wire = base_with(0, 0, b"");
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 0, 62, 0);
    assert_eq!(packet.kind(), PacketKind::REQUEST);
    assert_vars(&packet, &BASE_VARS);
    assert_eq!(packet.body_len().unwrap(), 0);
    assert_eq!(packet.wire_len(), 66);
}

#[test]
fn case_02_one_byte_per_segment() {
    let wire = base_with(0, 0, b"");
    let parser = Parser::new();
    let mut expected: Vec<usize> = vec![3, 2, 1];
    expected.extend((1..=62).rev());
    let mut buffer = Vec::new();
    let mut seen = Vec::new();
    for &byte in &wire[..wire.len() - 1] {
        buffer.push(byte);
        match parser.parse(&buffer) {
            Ok(Status::Incomplete(n)) => seen.push(n),
            other => panic!("after {} bytes: {other:?}", buffer.len()),
        }
    }
    assert_eq!(seen, expected);
    buffer.push(wire[wire.len() - 1]);
    let packet = match parser.parse(&buffer) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("{other:?}"),
    };
    let one_shot = accepts(&parser, &wire);
    assert_eq!(packet, one_shot);
    assert_vars(&packet, &BASE_VARS);
    assert_eq!(packet.body_len().unwrap(), 0);
}

#[test]
fn case_03_empty_block() {
    let wire = h(0, 0, 0);
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 0, 0, 0);
    assert_vars(&packet, &[]);
    assert!(packet.vars().unwrap().is_empty());
    assert_eq!(packet.body_len().unwrap(), 0);
    assert_eq!(packet.wire_len(), 4);
}

#[test]
fn case_04_limit_4096() {
    let parser = Parser::new().with_max_datasize(4096);

    let pad = vec![b'x'; 4027];
    let wire = base_with(0, 0, &kv(b"PAD", &pad));
    assert_eq!(datasize_of(&wire), 4096);
    let packet = accepts(&parser, &wire);
    assert_vars(&packet, &base_vars_and(&[(b"PAD", &pad)]));
    assert_eq!(packet.body_len().unwrap(), 0);

    let pad = vec![b'x'; 4028];
    let wire = base_with(0, 0, &kv(b"PAD", &pad));
    assert_eq!(datasize_of(&wire), 4097);
    assert_err!(rejects(&parser, &wire) => Error::TooLarge { len: 4097, max: 4096 });
    // After 4 bytes, before any block byte.
    assert_err!(parser.parse(&wire[..4]).unwrap_err() => Error::TooLarge { len: 4097, max: 4096 });
}

#[test]
fn case_05_datasize_65535() {
    let pad = vec![b'x'; 65466];
    let wire = base_with(0, 0, &kv(b"PAD", &pad));
    assert_eq!(datasize_of(&wire), 65535);
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 0, 65535, 0);
    assert_vars(&packet, &base_vars_and(&[(b"PAD", &pad)]));
    assert_eq!(packet.body_len().unwrap(), 0);
}

#[test]
fn case_06_http_request_on_the_socket() {
    let wire = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let err = rejects(&Parser::new(), wire);
    assert_err!(
        err => Error::ForeignProtocol {
            protocol: ForeignProtocol::HttpRequest,
            modifier1: 71,
            datasize: 21573,
        }
    );
    let message = err.to_string();
    assert!(message.contains("uwsgi_pass"), "{message}");

    let wire = b"POST /form HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_err!(
        rejects(&Parser::new(), wire)
            => Error::ForeignProtocol {
                protocol: ForeignProtocol::HttpRequest,
                modifier1: 80,
                datasize: 21327,
            }
    );
}

#[test]
fn case_07_tls_client_hello() {
    let wire = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::ForeignProtocol {
                protocol: ForeignProtocol::Tls,
                modifier1: 22,
                datasize: 259,
            }
    );
}

#[test]
fn case_08_eof_inside_the_block() {
    let wire = cat(&[&h(0, 72, 0), BASE]);
    let parser = Parser::new();
    incomplete_throughout(&parser, &wire);
    assert!(matches!(parser.parse(&wire), Ok(Status::Incomplete(10))));
    assert_err!(
        parser.parse_eof(&wire).unwrap_err()
            => Error::UnexpectedEof { offset: 66, needed: 10 }
    );
    // H7 at every cut: a clean end at 0 bytes, else UnexpectedEof with the exact counts.
    assert!(matches!(parser.parse_eof(&[]), Ok(None)));
    for cut in 1..=wire.len() {
        let got = parser.parse_eof(&wire[..cut]);
        let n = missing(&wire, cut);
        assert!(
            matches!(got, Err(Error::UnexpectedEof { offset, needed }) if offset == cut && needed == n),
            "EOF after {cut} bytes: {got:?}"
        );
    }
}

#[test]
fn case_09_unlisted_modifier1_is_a_request_family() {
    // The rule itself (§3 rule 2), with a value that §3's table does not list at all.
    let wire = base_with(4, 0, b"");
    let packet = accepts(&Parser::new(), &wire);
    assert_eq!(packet.kind(), PacketKind::REQUEST, "modifier1 4");
    assert_vars(&packet, &BASE_VARS);

    // The case as written. §3's table lists 95–99 ("config request") among the values
    // without R, but §11 case 9 calls 99 unlisted: the conformance list wins, 99 is R.
    let wire = base_with(99, 0, b"");
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 99, 62, 0);
    assert_eq!(packet.as_bytes(), &wire[..]);
    assert_eq!(packet.body_len().unwrap(), 0);
    // §11 case 9: "modifier1 99 (unlisted → R)": a vars block with a CONTENT_LENGTH body.
    assert_eq!(
        packet.kind(),
        PacketKind::REQUEST,
        "case 9 says modifier1 99 is unlisted, hence a request family (vars + body)"
    );
    assert_vars(&packet, &BASE_VARS);
}

#[test]
fn case_10_modifier2_preserved() {
    let wire = base_with(0, 7, b"");
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 0, 62, 7);
    assert_eq!(packet.header().to_bytes(), [0, 62, 0, 7]);
    assert_vars(&packet, &BASE_VARS);
    assert_eq!(packet.body_len().unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Vars block
// ---------------------------------------------------------------------------------------------

#[test]
fn case_11_empty_key() {
    let wire = base_with(0, 0, &kv(b"", b"x"));
    assert_err!(rejects(&Parser::new(), &wire) => Error::EmptyKey { offset: 66 });
}

#[test]
fn case_12_empty_value_last() {
    let wire = base_with(0, 0, b"\x07\x00X_EMPTY\x00\x00");
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(&packet, &base_vars_and(&[(b"X_EMPTY", b"")]));
    assert_eq!(packet.vars().unwrap().get("X_EMPTY"), Some(&b""[..]));
    assert_eq!(packet.body_len().unwrap(), 0);
}

#[test]
fn case_13_one_trailing_byte() {
    let wire = base_with(0, 0, b"\x00");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::TruncatedLength { field: Field::Key, offset: 66 }
    );
}

#[test]
fn case_14_trailing_zero_key_length() {
    let wire = base_with(0, 0, b"\x00\x00");
    assert_err!(rejects(&Parser::new(), &wire) => Error::EmptyKey { offset: 66 });
}

#[test]
fn case_15_key_ends_at_block_end() {
    let wire = base_with(0, 0, b"\x01\x00\x41");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::TruncatedLength { field: Field::Value, offset: 69 }
    );
}

#[test]
fn case_16_half_a_value_length() {
    let wire = base_with(0, 0, b"\x01\x00\x4b\x00");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::TruncatedLength { field: Field::Value, offset: 69 }
    );
}

#[test]
fn case_17_value_overrun() {
    let wire = base_with(0, 0, b"\x01\x00\x4b\x10\x00\x61\x62");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::Overrun { field: Field::Value, offset: 69, len: 16, available: 2 }
    );
}

#[test]
fn case_18_key_overrun_no_resync() {
    let wire = base_with(0, 0, b"\xff\x00\x01\x00\x4b\x00\x00");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::Overrun { field: Field::Key, offset: 66, len: 255, available: 5 }
    );

    let wire = cat(&[&h(0, 3, 0), b"\xff\xff\x00"]);
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::Overrun { field: Field::Key, offset: 4, len: 65535, available: 1 }
    );
}

#[test]
fn case_19_key_without_value_length() {
    let wire = base_with(0, 0, b"\x03\x00K=v");
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::TruncatedLength { field: Field::Value, offset: 71 }
    );
}

#[test]
fn case_20_duplicate_keys() {
    let wire = base_with(
        0,
        0,
        &cat(&[&kv(b"HTTP_X", b"first"), &kv(b"HTTP_X", b"second")]),
    );
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(
        &packet,
        &base_vars_and(&[(b"HTTP_X", b"first"), (b"HTTP_X", b"second")]),
    );
    let vars = packet.vars().unwrap();
    assert_eq!(vars.get("HTTP_X"), Some(&b"second"[..]));
    assert_eq!(vars.get_first("HTTP_X"), Some(&b"first"[..]));
    let all: Vec<&[u8]> = vars.get_all("HTTP_X").collect();
    assert_eq!(all, [&b"first"[..], b"second"]);
    assert_eq!(packet.body_len().unwrap(), 0);
}

#[test]
fn case_21_conflicting_content_length() {
    let block_tail = cat(&[&kv(b"CONTENT_LENGTH", b"2"), &kv(b"CONTENT_LENGTH", b"5")]);
    let wire = cat(&[&base_with(0, 0, &block_tail), b"hello"]);
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(
        &packet,
        &base_vars_and(&[(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")]),
    );
    assert_err!(
        packet.body_len().unwrap_err()
            => Error::ConflictingContentLength { first: 2, second: 5, offset: 85 }
    );
}

#[test]
fn case_22_opaque_bytes() {
    let tail = cat(&[&kv(b"HTTP_X", b"\xff\xfe\x00\x7a"), &kv(b"\x4b\xe9", b"v")]);
    let wire = base_with(0, 0, &tail);
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(
        &packet,
        &base_vars_and(&[(b"HTTP_X", b"\xff\xfe\x00\x7a"), (b"\x4b\xe9", b"v")]),
    );
    let vars = packet.vars().unwrap();
    assert_eq!(vars.get(b"\x4b\xe9"), Some(&b"v"[..]));
    assert_eq!(vars.get("HTTP_X"), Some(&b"\xff\xfe\x00\x7a"[..]));
    assert_eq!(packet.body_len().unwrap(), 0);
}

/// `kv("V000","")` … `kv("V{last}","")` + BASE, and the expected vars.
fn many_vars(count: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let names: Vec<Vec<u8>> = (0..count)
        .map(|i| format!("V{i:03}").into_bytes())
        .collect();
    let mut block = Vec::new();
    for name in &names {
        block.extend_from_slice(&kv(name, b""));
    }
    block.extend_from_slice(BASE);
    (cat(&[&h(0, block.len(), 0), &block]), names)
}

fn assert_many_vars(packet: &PacketRef<'_>, names: &[Vec<u8>]) {
    let mut expected: Vec<(&[u8], &[u8])> = names.iter().map(|n| (&n[..], &b""[..])).collect();
    expected.extend(BASE_VARS);
    assert_vars(packet, &expected);
}

#[test]
fn case_23_no_pair_limit_by_default() {
    let (wire, names) = many_vars(125);
    assert_eq!(datasize_of(&wire), 1062);
    let packet = accepts(&Parser::new(), &wire);
    assert_many_vars(&packet, &names);
    assert_eq!(packet.vars().unwrap().len(), 128);
    // Exactly at the optional maximum is accepted.
    let packet = accepts(&Parser::new().with_max_vars(Some(128)), &wire);
    assert_eq!(packet.vars().unwrap().len(), 128);

    let (wire, names) = many_vars(126);
    assert_eq!(datasize_of(&wire), 1070);
    let packet = accepts(&Parser::new(), &wire);
    assert_many_vars(&packet, &names);
    assert_eq!(packet.vars().unwrap().len(), 129);
    assert_eq!(packet.body_len().unwrap(), 0);

    assert_err!(
        rejects(&Parser::new().with_max_vars(Some(128)), &wire)
            => Error::TooManyVars { max: 128, offset: 1047 }
    );
}

#[test]
fn case_24_one_maximal_pair() {
    let value = vec![b'x'; 65530];
    let wire = cat(&[&h(0, 65535, 0), &kv(b"K", &value)]);
    assert_eq!(wire.len(), 4 + 65535);
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 0, 65535, 0);
    assert_vars(&packet, &[(b"K", &value)]);
    assert_eq!(packet.body_len().unwrap(), 0);

    assert_err!(
        rejects(&Parser::new().with_max_datasize(4096), &wire)
            => Error::TooLarge { len: 65535, max: 4096 }
    );
}

#[test]
fn case_25_nginx_long_param_name() {
    let mut wire = vec![0x00, 0x2c, 0x01, 0x00, 0x21, 0x00];
    wire.extend(std::iter::repeat_n(b'A', 289));
    wire.extend_from_slice(&[0x01, 0x00, 0x76, 0x01, 0x00, 0x42, 0x01, 0x00, 0x77]);
    assert_eq!(wire.len(), 4 + 300);
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::Overrun { field: Field::Value, offset: 39, len: 16705, available: 263 }
    );
}

#[test]
fn case_26_raw_uwsgi_string_tail() {
    let wire = cat(&[
        &h(0, 13, 0),
        &[0x01, 0x00, 0x41, 0x01, 0x00, 0x62],
        &[0x52, 0x41, 0x57, 0x5c, 0x78, 0x30, 0x31],
    ]);
    assert_err!(
        rejects(&Parser::new(), &wire)
            => Error::Overrun { field: Field::Key, offset: 10, len: 16722, available: 5 }
    );
}

#[test]
fn case_27_vars_block_read_as_an_array() {
    let block = cat(&[&kv(b"hellolua", b"foo"), &kv(b"bar", b"")]);
    let wire = cat(&[&[0xad, 0x16, 0x00, 0x01], &block]);
    assert_eq!(datasize_of(&wire), block.len());
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 173, 22, 1);
    assert_eq!(packet.kind().body, BodyFraming::None);
    assert_items(&packet, &[b"hellolua", b"foo", b"bar", b""]);
}

// ---------------------------------------------------------------------------------------------
// CONTENT_LENGTH and body
// ---------------------------------------------------------------------------------------------

/// `H(0,..,0) BASE kv("CONTENT_LENGTH", v)`; the value starts at offset 84.
fn with_content_length(v: &[u8]) -> Vec<u8> {
    base_with(0, 0, &kv(b"CONTENT_LENGTH", v))
}

#[test]
fn case_28_empty_content_length() {
    let wire = with_content_length(b"");
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(&packet, &base_vars_and(&[(b"CONTENT_LENGTH", b"")]));
    assert_eq!(packet.body_len().unwrap(), 0);
}

#[test]
fn case_29_trailing_letters() {
    let wire = with_content_length(b"5abc");
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(&packet, &base_vars_and(&[(b"CONTENT_LENGTH", b"5abc")]));
    assert_err!(
        packet.body_len().unwrap_err()
            => Error::InvalidContentLength { offset: 85, reason: ContentLengthFault::NotDigit }
    );
}

#[test]
fn case_30_sign_and_space() {
    for v in [&b"-1"[..], b" 5"] {
        let wire = with_content_length(v);
        let packet = accepts(&Parser::new(), &wire);
        assert_vars(&packet, &base_vars_and(&[(b"CONTENT_LENGTH", v)]));
        let err = packet.body_len().unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidContentLength {
                    offset: 84,
                    reason: ContentLengthFault::NotDigit
                }
            ),
            "{v:?}: {err:?}"
        );
    }
}

#[test]
fn case_31_overflow() {
    let v = b"18446744073709551621";
    let wire = with_content_length(v);
    let packet = accepts(&Parser::new(), &wire);
    assert_vars(&packet, &base_vars_and(&[(b"CONTENT_LENGTH", v)]));
    assert_err!(
        packet.body_len().unwrap_err()
            => Error::InvalidContentLength { offset: 103, reason: ContentLengthFault::Overflow }
    );
}

#[test]
fn case_36_http_content_length_is_informational() {
    for http_cl in [&b"11"[..], b"3", b"abc"] {
        let tail = cat(&[
            &kv(b"CONTENT_LENGTH", b"11"),
            &kv(b"HTTP_CONTENT_LENGTH", http_cl),
        ]);
        let wire = cat(&[&base_with(0, 0, &tail), b"hello world"]);
        let packet = accepts(&Parser::new(), &wire);
        assert_vars(
            &packet,
            &base_vars_and(&[
                (b"CONTENT_LENGTH", b"11"),
                (b"HTTP_CONTENT_LENGTH", http_cl),
            ]),
        );
        assert_eq!(
            packet.body_len().unwrap(),
            11,
            "HTTP_CONTENT_LENGTH={http_cl:?}"
        );
        assert_eq!(&wire[packet.wire_len()..], b"hello world");
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays / service packets
// ---------------------------------------------------------------------------------------------

#[test]
fn case_37_rpc_request_and_framed_reply() {
    let wire = b"\xad\x0d\x00\x00\x05\x00hello\x01\x00a\x01\x00b";
    let packet = accepts(&Parser::new(), wire);
    assert_header(&packet, 173, 13, 0);
    assert_items(&packet, &[b"hello", b"a", b"b"]);
    assert_eq!(packet.body_len().unwrap(), 0);

    let reply = b"\xad\x03\x00\x00a|b";
    let packet = accepts(&reply_parser(), reply);
    assert_header(&packet, 173, 3, 0);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"a|b");
}

#[test]
fn case_38_empty_array_item_in_the_middle() {
    let wire = b"\xad\x0c\x00\x00\x05\x00hello\x00\x00\x01\x00a";
    let packet = accepts(&Parser::new(), wire);
    assert_header(&packet, 173, 12, 0);
    assert_items(&packet, &[b"hello", b"", b"a"]);
}

#[test]
fn case_39_empty_array_item_last() {
    let wire = b"\xad\x09\x00\x00\x05\x00hello\x00\x00";
    let packet = accepts(&Parser::new(), wire);
    assert_header(&packet, 173, 9, 0);
    assert_items(&packet, &[b"hello", b""]);
}

#[test]
fn case_40_rpc_dict_and_body_reply() {
    let body = vec![0x5a; 70000];
    let wire = cat(&[
        &[0xad, 0x17, 0x00, 0x05],
        &kv(b"CONTENT_LENGTH", b"70000"),
        &body,
    ]);
    let packet = accepts(&reply_parser(), &wire);
    assert_header(&packet, 173, 23, 5);
    assert_eq!(
        packet.kind(),
        PacketKind::new(BlockKind::Vars, BodyFraming::ContentLength)
    );
    assert_vars(&packet, &[(b"CONTENT_LENGTH", b"70000")]);
    assert_eq!(packet.body_len().unwrap(), 70000);
    assert_eq!(wire.len() - packet.wire_len(), 70000);
}

#[test]
fn case_41_ping_and_pong() {
    let packet = accepts(&Parser::new(), b"\x64\x00\x00\x00");
    assert_header(&packet, 100, 0, 0);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"");

    let packet = accepts(&Parser::new(), b"\x64\x03\x00\x00abc");
    assert_header(&packet, 100, 3, 0);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"abc");

    let packet = accepts(&reply_parser(), b"\x64\x00\x00\x01");
    assert_header(&packet, 100, 0, 1);
    assert_eq!(packet.modifier1(), Modifier1::PING);
    assert_eq!(packet.block_bytes(), b"");
}

#[test]
fn case_42_echo() {
    let wire = b"\x65\x0a\x00\x00hello-echo";
    let packet = accepts(&Parser::new(), wire);
    assert_header(&packet, 101, 10, 0);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"hello-echo");

    // The reply is the payload with no header: read as a packet it never completes
    // ("hell" would be modifier1 104 with a 27749-byte block).
    let reply: &[u8] = packet.block_bytes();
    incomplete_throughout(&reply_parser(), reply);
    assert!(matches!(
        reply_parser().parse(reply),
        Ok(Status::Incomplete(27743))
    ));
}

#[test]
fn case_43_signal_and_generic_reply() {
    let packet = accepts(&Parser::new(), b"\x6e\x00\x00\x11");
    assert_header(&packet, 110, 0, 17);
    assert_eq!(packet.modifier1(), Modifier1::SIGNAL);
    assert_eq!(packet.kind(), PacketKind::RAW);

    let packet = accepts(&reply_parser(), b"\xff\x00\x00\x01");
    assert_header(&packet, 255, 0, 1);
    assert_eq!(packet.modifier1(), Modifier1::RESPONSE);
    assert_eq!(packet.kind(), PacketKind::RAW);
}

#[test]
fn case_44_cache_magic_get() {
    let request = cat(&[
        &[0x6f, 0x13, 0x00, 0x11],
        &kv(b"cmd", b"get"),
        &kv(b"key", b"k1"),
    ]);
    let packet = accepts(&Parser::new(), &request);
    assert_header(&packet, 111, 19, 17);
    assert_vars(&packet, &[(b"cmd", b"get"), (b"key", b"k1")]);
    assert_eq!(packet.body_len().unwrap(), 0);

    let reply = cat(&[
        &[0x6f, 0x15, 0x00, 0x11],
        &kv(b"status", b"ok"),
        &kv(b"size", b"9"),
        b"value-one",
    ]);
    let packet = accepts(&reply_parser(), &reply);
    assert_header(&packet, 111, 21, 17);
    assert_eq!(packet.kind().body, BodyFraming::CacheSize);
    assert_vars(&packet, &[(b"status", b"ok"), (b"size", b"9")]);
    assert_eq!(packet.body_len().unwrap(), 9);
    assert_eq!(&reply[packet.wire_len()..], b"value-one");
}

#[test]
fn case_45_cache_get_raw_key_and_pointer_reply() {
    let packet = accepts(&Parser::new(), b"\x6f\x02\x00\x00k1");
    assert_header(&packet, 111, 2, 0);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"k1");

    // uWSGI's reply: 4 heap-pointer bytes, then the value; it reads as datasize 20096.
    let reply = b"\x00\x80\x4e\xbcvalue-one";
    let parser = reply_parser();
    incomplete_throughout(&parser, reply);
    assert_err!(
        parser.parse_eof(reply).unwrap_err()
            => Error::UnexpectedEof { offset: 13, needed: 20087 }
    );
}

#[test]
fn case_46_subscription_datagram() {
    let pairs: [(&[u8], &[u8]); 7] = [
        (b"key", b"example.com"),
        (b"address", b"127.0.0.1:18099"),
        (b"modifier1", b"0"),
        (b"modifier2", b"0"),
        (b"cores", b"1"),
        (b"load", b"0"),
        (b"weight", b"0"),
    ];
    let mut wire = vec![0xe0, 0x66, 0x00, 0x00];
    for (k, v) in pairs {
        wire.extend_from_slice(&kv(k, v));
    }
    assert_eq!(wire.len(), 4 + 102);
    let parser = Parser::new();

    let packet = parser.parse_datagram(&wire).unwrap();
    assert_header(&packet, 224, 102, 0);
    assert_eq!(
        packet.kind(),
        PacketKind::new(BlockKind::Vars, BodyFraming::None)
    );
    assert_vars(&packet, &pairs);
    assert_eq!(packet, accepts(&parser, &wire));

    let mut longer = wire.clone();
    longer.push(0);
    assert_err!(
        parser.parse_datagram(&longer).unwrap_err()
            => Error::DatagramLength { datasize: 102, len: 107 }
    );

    // H8 at every length: short of a header it is EOF, else anything but 106 bytes is refused.
    for cut in 4..wire.len() {
        let got = parser.parse_datagram(&wire[..cut]);
        assert!(
            matches!(got, Err(Error::DatagramLength { datasize: 102, len }) if len == cut),
            "datagram of {cut} bytes: {got:?}"
        );
    }
    for cut in 1..4 {
        let got = parser.parse_datagram(&wire[..cut]);
        assert!(
            matches!(got, Err(Error::UnexpectedEof { offset, needed }) if offset == cut && needed == 4 - cut),
            "datagram of {cut} bytes: {got:?}"
        );
    }
}

#[test]
fn case_47_cache_udp_sync() {
    let parser = Parser::new();

    // m2 10: set, items key and value.
    let set = cat(&[&h(111, 2 + 2 + 2 + 5, 10), b"\x02\x00k1\x05\x00hello"]);
    let packet = parser.parse_datagram(&set).unwrap();
    assert_header(&packet, 111, 11, 10);
    assert_items(&packet, &[b"k1", b"hello"]);
    assert_eq!(packet, accepts(&parser, &set));

    // m2 11: del, the key only.
    let del = cat(&[&h(111, 4, 11), b"\x02\x00k1"]);
    let packet = parser.parse_datagram(&del).unwrap();
    assert_header(&packet, 111, 4, 11);
    assert_items(&packet, &[b"k1"]);
    assert_eq!(packet, accepts(&parser, &del));

    let mut longer = set.clone();
    longer.extend_from_slice(b"xy");
    assert_err!(
        parser.parse_datagram(&longer).unwrap_err()
            => Error::DatagramLength { datasize: 11, len: 17 }
    );
    assert_err!(
        parser.parse_datagram(&del[..7]).unwrap_err()
            => Error::DatagramLength { datasize: 4, len: 7 }
    );
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

#[test]
fn case_48_block_of_65536_overflows() {
    let value = vec![b'x'; 65531]; // 2 + 1 + 2 + 65531 = 65536
    let builder = PacketBuilder::new(0).var("K", &value);
    let mut dst = BytesMut::from(&b"keep"[..]);
    assert_err!(
        builder.encode(&mut dst).unwrap_err()
            => Error::LengthOverflow { field: Field::Block, len: 65536 }
    );
    assert_eq!(&dst[..], b"keep", "nothing written");
    let mut slice = [0u8; 70000];
    assert!(matches!(
        builder.encode_slice(&mut slice),
        Err(Error::LengthOverflow {
            field: Field::Block,
            len: 65536
        })
    ));
    assert!(slice.iter().all(|&b| b == 0), "nothing written");

    // One byte less is the largest packet: 65535 is accepted and parses back.
    let value = vec![b'x'; 65530];
    let wire = PacketBuilder::new(0).var("K", &value).to_vec().unwrap();
    assert_eq!(wire.len(), 4 + 65535);
    assert_eq!(&wire[..4], [0x00, 0xff, 0xff, 0x00]);
    let packet = PacketRef::parse(&wire).unwrap().complete().unwrap();
    assert_vars(&packet, &[(b"K", &value)]);
}

/// The §8 golden GET, in wire order.
const GOLDEN_GET: [(&str, &str); 18] = [
    ("QUERY_STRING", "x=1"),
    ("REQUEST_METHOD", "GET"),
    ("CONTENT_TYPE", ""),
    ("CONTENT_LENGTH", ""),
    ("REQUEST_URI", "/a/b%20c?x=1"),
    ("PATH_INFO", "/a/b c"),
    ("DOCUMENT_ROOT", "/var/www/ngx/html"),
    ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("REQUEST_SCHEME", "http"),
    ("REMOTE_ADDR", "127.0.0.1"),
    ("REMOTE_PORT", "51038"),
    ("SERVER_PORT", "18080"),
    ("SERVER_NAME", "localhost"),
    ("HTTP_HOST", "127.0.0.1:18080"),
    ("HTTP_USER_AGENT", "t"),
    ("HTTP_X_FOO", "1"),
    ("HTTP_X_FOO", "2"),
    ("HTTP_ACCEPT", "*/*"),
];

#[test]
fn case_49_encoder_lengths_and_golden_get() {
    let big = vec![b'k'; 65536];
    let mut dst = BytesMut::new();
    assert_err!(
        PacketBuilder::new(0).var(&big, "v").encode(&mut dst).unwrap_err()
            => Error::LengthOverflow { field: Field::Key, len: 65536 }
    );
    assert!(dst.is_empty());
    assert_err!(
        PacketBuilder::new(0).var("K", &big).encode(&mut dst).unwrap_err()
            => Error::LengthOverflow { field: Field::Value, len: 65536 }
    );
    assert!(dst.is_empty());

    // A 0-byte key: EmptyKey at the offset it would have had (after kv("A","b"): 4 + 6).
    assert_err!(
        PacketBuilder::new(0).var("A", "b").var("", "x").encode(&mut dst).unwrap_err()
            => Error::EmptyKey { offset: 10 }
    );
    assert!(dst.is_empty());

    // The §8 golden GET: nginx's 391 bytes, `00 83 01 00`.
    let mut builder = PacketBuilder::new(0);
    for (k, v) in &GOLDEN_GET {
        builder.push_var(*k, *v);
    }
    assert_eq!(builder.encoded_len().unwrap(), 391);
    let written = builder.encode(&mut dst).unwrap();
    assert_eq!(written, 391);
    assert_eq!(dst.len(), 391);
    assert_eq!(&dst[..4], [0x00, 0x83, 0x01, 0x00]);

    // Same bytes as writing the pairs by hand, and they parse back to the same pairs (E4, E5).
    let mut by_hand = h(0, 387, 0);
    for (k, v) in &GOLDEN_GET {
        by_hand.extend_from_slice(&kv(k.as_bytes(), v.as_bytes()));
    }
    assert_eq!(&dst[..], &by_hand[..]);
    let packet = accepts(&Parser::new(), &dst);
    let expected: Vec<(&[u8], &[u8])> = GOLDEN_GET
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    assert_vars(&packet, &expected);
    assert_eq!(packet.body_len().unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Foreign preambles
// ---------------------------------------------------------------------------------------------

/// A foreign preamble: refused with `protocol` (carrying the decoded m1 / datasize) as soon as
/// the first 4 bytes are present, from those 4 bytes alone. `case` names it in every failure.
fn foreign(case: &str, wire: &[u8], protocol: ForeignProtocol, modifier1: u8, datasize: u16) {
    let parser = Parser::new();
    let err = rejects_in(&format!("{case}: "), &parser, wire);
    let check = |err: &Error| {
        assert!(
            matches!(
                *err,
                Error::ForeignProtocol { protocol: p, modifier1: m, datasize: d }
                    if p == protocol && m == modifier1 && d == datasize
            ),
            "{case}: expected {protocol:?} (m1 {modifier1}, datasize {datasize}), got {err:?}"
        );
    };
    check(&err);
    check(&parser.parse(&wire[..4]).unwrap_err());
    let three = parser.parse(&wire[..3]);
    assert!(
        matches!(three, Ok(Status::Incomplete(1))),
        "{case}: 3 bytes: {three:?}"
    );
    assert_eq!(err.offset(), Some(0), "{case}");
}

/// P1–P19: the case, its preamble, and the protocol, modifier1 and datasize it must read as.
#[rustfmt::skip]
const FOREIGN: [(&str, &[u8], ForeignProtocol, u8, u16); 19] = [
    ("P1", b"GET / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 71, 21573),
    ("P2", b"POST /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 80, 21327),
    ("P3", b"PUT /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 80, 21589),
    ("P4", b"HEAD / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 72, 16709),
    ("P5", b"DELETE /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 68, 19525),
    ("P6", b"OPTIONS * HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 79, 21584),
    ("P7", b"PATCH /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 80, 21569),
    ("P8", b"CONNECT example.com:443 HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 67, 20047),
    ("P9", b"TRACE / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, 84, 16722),
    ("P10", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ForeignProtocol::Http2, 80, 18770),
    ("P11", b"PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n", ForeignProtocol::ProxyV1, 80, 20306),
    ("P12", b"\r\n\r\n\x00\r\nQUIT\n", ForeignProtocol::ProxyV2, 13, 3338),
    ("P13", b"\x16\x03\x01\x02\x00", ForeignProtocol::Tls, 22, 259),
    ("P14", b"\x16\x03\x03\x00\x7a", ForeignProtocol::Tls, 22, 771),
    ("P15", b"SSH-2.0-OpenSSH_9.2\r\n", ForeignProtocol::Ssh, 83, 18515),
    ("P16", b"\x01\x01\x00\x01\x00\x08\x00\x00", ForeignProtocol::FastCgi, 1, 1),
    ("P17", b"70:CONTENT_LENGTH\x0027\x00", ForeignProtocol::Scgi, 55, 14896),
    ("P18", b"123:CONTENT_LENGTH\x000\x00", ForeignProtocol::Scgi, 49, 13106),
    ("P19", b"HTTP/1.1 200 OK\r\n", ForeignProtocol::HttpResponse, 72, 21588),
];

#[test]
fn p01_to_p19_foreign_preambles() {
    for (case, wire, protocol, modifier1, datasize) in FOREIGN {
        foreign(case, wire, protocol, modifier1, datasize);
    }
}

#[test]
fn p20_check_off() {
    let parser = Parser::new().with_foreign_check(false);
    assert!(matches!(
        parser.parse(b"GET "),
        Ok(Status::Incomplete(21573))
    ));
    let wire = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    incomplete_throughout(&parser, wire);
}

#[test]
fn p21_fewer_than_four_bytes_is_incomplete() {
    let parser = Parser::new();
    assert!(matches!(parser.parse(b"G"), Ok(Status::Incomplete(3))));
    assert!(matches!(parser.parse(b"GE"), Ok(Status::Incomplete(2))));
    assert!(matches!(parser.parse(b"GET"), Ok(Status::Incomplete(1))));
    assert!(matches!(
        parser.parse(b"GET "),
        Err(Error::ForeignProtocol {
            protocol: ForeignProtocol::HttpRequest,
            ..
        })
    ));
}

#[test]
fn p22_modifier1_72_is_not_foreign() {
    let wire = [0x48, 0x00, 0x00, 0x00];
    let packet = accepts(&Parser::new(), &wire);
    assert_header(&packet, 72, 0, 0);
    assert_eq!(packet.modifier1(), Modifier1::RAW_HTTP);
    assert_eq!(packet.kind(), PacketKind::RAW);
    assert_eq!(packet.block_bytes(), b"");
}
