//! PROTOCOL.md §11: what the vectors cannot say.
//!
//! Every §11 case 1–49 and P1–P22 is a vector in `tests/vectors/spec.json` or `encoder.json`,
//! which `tests/conformance.rs` runs one-shot and cut at every byte through the parser and the
//! server codec (S1, S2), and through the builder; case 50 is about a connection and lives in
//! `tests/codec.rs` (`conformance.rs` checks that every case has one or the other). This file
//! keeps only what the vector schema has no words for, each test saying what that is: the
//! accessors of the API, error messages, literal sequences a runner derives instead of
//! reading, every length of a datagram, and settings outside the schema's `options`.
//!
//! Wire bytes come from the notation in `tests/common` (`h`, `kv`, `BASE`), never from the
//! crate's encoder.

mod common;

use common::{BASE, BASE_VARS, base_with, h, kv, missing};
use uwsgi_codec::{Error, ForeignProtocol, MagicPolicy, PacketRef, Parser, Status, sniff};

/// The packet the default parser reads at the start of `wire`, which must be whole.
fn parsed(wire: &[u8]) -> PacketRef<'_> {
    match Parser::new().parse(wire) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("{other:?}"),
    }
}

#[test]
fn notation_helpers_match_the_spec() {
    // Not a case: the notation every test here (and PROTOCOL.md) is written in.
    assert_eq!(BASE.len(), 62);
    let base: Vec<u8> = BASE_VARS.iter().flat_map(|(k, v)| kv(k, v)).collect();
    assert_eq!(base, BASE);
    assert_eq!(kv(b"REQUEST_METHOD", b"GET")[..2], [0x0e, 0x00]);
    assert_eq!(h(0, 62, 0), [0x00, 0x3e, 0x00, 0x00]);
    assert_eq!(h(0xad, 0x1234, 5), [0xad, 0x34, 0x12, 0x05]);
    assert_eq!(missing(&base_with(0, 0, b""), 2), 2);
    assert_eq!(missing(&base_with(0, 0, b""), 5), 61);
}

#[test]
fn case_02_one_byte_per_segment_asks_for_3_2_1_then_62_down_to_1() {
    // The vector runner derives each prefix's count from README §3.4's formula; this pins the
    // literal sequence the case writes, fed as a growing buffer, one byte per segment.
    let wire = base_with(0, 0, b"");
    let parser = Parser::new();
    let mut expected: Vec<usize> = vec![3, 2, 1];
    expected.extend((1..=62).rev());
    let mut seen = Vec::new();
    for len in 1..wire.len() {
        match parser.parse(&wire[..len]) {
            Ok(Status::Incomplete(n)) => seen.push(n),
            other => panic!("after {len} bytes: {other:?}"),
        }
    }
    assert_eq!(seen, expected);
    let packet = parsed(&wire);
    let vars: Option<Vec<(&[u8], &[u8])>> = packet.vars().map(|vars| vars.iter().collect());
    assert_eq!(vars.as_deref(), Some(&BASE_VARS[..]));
}

/// P1–P19 (cases 6 and 7 are P1, P2 and P13): the preamble and the protocol it must name.
#[rustfmt::skip]
const PREAMBLES: [(&str, &[u8], ForeignProtocol, &str); 19] = [
    ("P1", b"GET / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P2", b"POST /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P3", b"PUT /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P4", b"HEAD / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P5", b"DELETE /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P6", b"OPTIONS * HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P7", b"PATCH /x HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P8", b"CONNECT example.com:443 HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P9", b"TRACE / HTTP/1.1\r\n", ForeignProtocol::HttpRequest, "uwsgi_pass"),
    ("P10", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ForeignProtocol::Http2, "HTTP/2"),
    ("P11", b"PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n", ForeignProtocol::ProxyV1, "proxy_protocol"),
    ("P12", b"\r\n\r\n\x00\r\nQUIT\n", ForeignProtocol::ProxyV2, "proxy_protocol"),
    ("P13", b"\x16\x03\x01\x02\x00", ForeignProtocol::Tls, "suwsgi"),
    ("P14", b"\x16\x03\x03\x00\x7a", ForeignProtocol::Tls, "suwsgi"),
    ("P15", b"SSH-2.0-OpenSSH_9.2\r\n", ForeignProtocol::Ssh, "SSH"),
    ("P16", b"\x01\x01\x00\x01\x00\x08\x00\x00", ForeignProtocol::FastCgi, "fastcgi_pass"),
    ("P17", b"70:CONTENT_LENGTH\x0027\x00", ForeignProtocol::Scgi, "scgi_pass"),
    ("P18", b"123:CONTENT_LENGTH\x000\x00", ForeignProtocol::Scgi, "scgi_pass"),
    ("P19", b"HTTP/1.1 200 OK\r\n", ForeignProtocol::HttpResponse, "raw HTTP"),
];

#[test]
fn p01_to_p19_messages_name_the_protocol_the_header_and_the_fix() {
    // The vectors pin the variant and its numbers; F1's message (the protocol, the header as
    // a uwsgi decoder reads it, the fix of §6's table) is text, which no vector carries.
    for (case, wire, protocol, fix) in PREAMBLES {
        assert_eq!(sniff(wire), Some(protocol), "{case}: sniff");
        let err = match Parser::new().parse(wire) {
            Err(err) => err,
            other => panic!("{case}: {other:?}"),
        };
        let Error::ForeignProtocol {
            modifier1,
            datasize,
            ..
        } = err
        else {
            panic!("{case}: {err:?}");
        };
        let message = err.to_string();
        let header = format!("modifier1 {modifier1}, datasize {datasize}");
        assert!(message.contains(protocol.name()), "{case}: {message}");
        assert!(message.contains(&header), "{case}: {message}");
        assert!(message.contains(protocol.fix()), "{case}: {message}");
        assert!(protocol.fix().contains(fix), "{case}: {}", protocol.fix());
    }
}

#[test]
fn case_20_get_is_the_last_get_first_the_first_get_all_every_one() {
    // The vector lists both pairs in order; which one each lookup returns (V10) is API.
    let tail = [kv(b"HTTP_X", b"first"), kv(b"HTTP_X", b"second")].concat();
    let wire = base_with(0, 0, &tail);
    let packet = parsed(&wire);
    let vars = packet.vars().expect("a vars block");
    assert_eq!(vars.get("HTTP_X"), Some(&b"second"[..]));
    assert_eq!(vars.get_first("HTTP_X"), Some(&b"first"[..]));
    let all: Vec<&[u8]> = vars.get_all("HTTP_X").collect();
    assert_eq!(all, [&b"first"[..], b"second"]);
    let [x, method, absent] = vars.get_many([b"HTTP_X", b"REQUEST_METHOD", b"HTTP_Y"]);
    assert_eq!(
        (x, method, absent),
        (Some(&b"second"[..]), Some(&b"GET"[..]), None)
    );
    assert_eq!(vars.len(), 5);
}

#[test]
fn case_22_lookups_compare_bytes_exactly() {
    // The vector lists the opaque bytes; that lookups neither fold case nor stop at a NUL nor
    // decode anything (V9) is API.
    let tail = [kv(b"HTTP_X", b"\xff\xfe\x00\x7a"), kv(b"\x4b\xe9", b"v")].concat();
    let wire = base_with(0, 0, &tail);
    let packet = parsed(&wire);
    let vars = packet.vars().expect("a vars block");
    assert_eq!(vars.get(b"\x4b\xe9"), Some(&b"v"[..]));
    assert_eq!(vars.get("HTTP_X"), Some(&b"\xff\xfe\x00\x7a"[..]));
    assert_eq!(vars.get("http_x"), None, "no case folding");
    assert_eq!(vars.get(b"\x4b"), None, "no prefix match");
    assert!(
        matches!(vars.get_utf8("HTTP_X"), Some(Err(_))),
        "not UTF-8, not forced"
    );
    assert_eq!(vars.get_utf8("PATH_INFO"), Some(Ok("/")));
}

#[test]
fn case_46_a_datagram_of_any_other_length_is_refused() {
    // Datagram vectors are decoded whole (README §3.4), one length each; H8 at every length
    // short of the packet is here.
    let pairs: [(&[u8], &[u8]); 7] = [
        (b"key", b"example.com"),
        (b"address", b"127.0.0.1:18099"),
        (b"modifier1", b"0"),
        (b"modifier2", b"0"),
        (b"cores", b"1"),
        (b"load", b"0"),
        (b"weight", b"0"),
    ];
    let block: Vec<u8> = pairs.iter().flat_map(|(k, v)| kv(k, v)).collect();
    let wire = [&h(224, 102, 0)[..], &block].concat();
    assert_eq!(wire.len(), 4 + 102);
    let parser = Parser::new();
    assert!(parser.parse_datagram(&wire).is_ok());
    for cut in 4..wire.len() {
        let got = parser.parse_datagram(&wire[..cut]).map(|_| ());
        let want = Error::DatagramLength {
            datasize: 102,
            len: cut,
        };
        assert_eq!(got, Err(want), "a datagram of {cut} bytes");
    }
    for cut in 1..4 {
        let got = parser.parse_datagram(&wire[..cut]).map(|_| ());
        let want = Error::UnexpectedEof {
            offset: cut,
            needed: 4 - cut,
        };
        assert_eq!(got, Err(want), "a datagram of {cut} bytes");
    }
    let got = parser.parse_datagram(&[]).map(|_| ());
    let want = Error::UnexpectedEof {
        offset: 0,
        needed: 4,
    };
    assert_eq!(got, Err(want), "an empty datagram");
}

#[test]
fn f3_a_preamble_the_caller_adds_is_refused_after_four_bytes() {
    // P1–P19 with a pattern of the caller's (F3): the schema's options have no such setting.
    let parser = Parser::new().with_foreign_pattern(*b"PROP");
    let wire = b"PROPFIND / HTTP/1.1\r\n";
    assert_eq!(
        parser.parse(&wire[..3]).map(|s| s.map(|_| ())),
        Ok(Status::Incomplete(1))
    );
    let err = parser.parse(&wire[..4]).map(|_| ());
    let want = Error::ForeignProtocol {
        protocol: ForeignProtocol::Custom(*b"PROP"),
        modifier1: b'P',
        datasize: u16::from_le_bytes(*b"RO"),
    };
    assert_eq!(err, Err(want.clone()));
    assert_eq!(parser.parse(wire).map(|_| ()), Err(want));
    // Without the pattern the same bytes are a 20306-byte block on its way (P11's datasize).
    let default = Parser::new().parse(&wire[..4]).map(|s| s.map(|_| ()));
    assert_eq!(
        default,
        Ok(Status::Incomplete(u16::from_le_bytes(*b"RO").into()))
    );
}

#[test]
fn m2_allow_only_keeps_the_listed_magic_vars_and_refuses_the_others() {
    // Case 20's shape with magic keys under M2's "allow only a list": the schema's
    // magic_policy knows "allow" and "refuse" only.
    let parser =
        Parser::new().with_magic_policy(MagicPolicy::AllowOnly(vec![b"UWSGI_SCHEME".to_vec()]));
    let wire = base_with(0, 0, &kv(b"UWSGI_SCHEME", b"https"));
    assert!(matches!(parser.parse(&wire), Ok(Status::Complete(_))));
    let tail = [
        kv(b"UWSGI_SCHEME", b"https"),
        kv(b"UWSGI_FILE", b"exec://id"),
    ]
    .concat();
    let wire = base_with(0, 0, &tail);
    let offset = 4 + BASE.len() + kv(b"UWSGI_SCHEME", b"https").len();
    assert_eq!(
        parser.parse(&wire).map(|_| ()),
        Err(Error::MagicVar { offset })
    );
    let routing = Parser::new().with_magic_policy(MagicPolicy::RoutingOnly);
    assert_eq!(
        routing.parse(&wire).map(|_| ()),
        Err(Error::MagicVar { offset })
    );
}
