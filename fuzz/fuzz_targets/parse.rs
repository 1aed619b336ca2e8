//! `parse`: raw bytes through `PacketRef::parse` (default settings, the whole input) and through
//! a `Parser` whose settings the first byte picks (`Settings::from_byte`, the rest of the input).
//!
//! Invariants (PROTOCOL.md §4.1, §4.5, E5):
//! - Complete: `wire_len() == 4 + datasize <= data.len()`, the header fields are bytes 0–3,
//!   `encode` writes exactly `data[..wire_len]`, the packet is the same whatever follows it and
//!   every strict prefix is exactly `Incomplete`; the block reads back as the reference model
//!   reads it, through every `Vars` / `Array` accessor (`check_block`: `iter` by `next` and by
//!   `fold`, across the 32-pair index, `get*`, `get_many`, `iter_with_offsets`, body length);
//!   the owned `Packet` from `parse_bytes` agrees with the `PacketRef` accessor by accessor and
//!   copies nothing (`check_owned`);
//! - Incomplete(n): `n >= 1`, exactly the bytes missing (H1, H4), `data.len() + n <= 4 + limit`;
//! - Err: `offset() <= data.len()`, a header error only from the 4 header bytes, a block error
//!   only once the whole packet is there, and inside it;
//! - `parse_into` (in place) agrees with `parse`, into an empty packet, into a packet that holds
//!   another input's 40 pairs (a full index), and into the input's own packet while parsing its
//!   prefixes; after `Incomplete` or an error it is never half filled (`check_parse_into`);
//! - `parse_eof` and `parse_datagram` agree with `parse` (H7, H8).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{Error, PacketRef, Parser, Status, sniff};
use uwsgi_codec_fuzz::{
    Settings, check_block, check_owned, check_parse_into, describe, fillers, kv, reference,
};

fuzz_target!(|data: &[u8]| {
    assert_eq!(PacketRef::parse(data), Parser::new().parse(data));
    check(&Parser::new(), &Settings::from_byte(0), data);
    if let Some((&byte, rest)) = data.split_first() {
        let settings = Settings::from_byte(byte);
        check(&settings.parser(), &settings, rest);
    }
});

/// A valid request packet of 40 pairs (its index full, 8 pairs walked past it), from another
/// buffer: what a reused `PacketRef` holds before `parse_into` fills it again.
fn other_packet() -> PacketRef<'static> {
    static WIRE: OnceLock<Vec<u8>> = OnceLock::new();
    let wire = WIRE.get_or_init(|| {
        let mut block = fillers(39);
        kv(&mut block, b"CONTENT_LENGTH", b"7");
        let mut wire = vec![0, block.len() as u8, (block.len() >> 8) as u8, 0];
        wire.extend_from_slice(&block);
        wire
    });
    match PacketRef::parse(wire) {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("the other packet: {other:?}"),
    }
}

fn datasize_of(data: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([data[1], data[2]]))
}

fn check(parser: &Parser, settings: &Settings, data: &[u8]) {
    let result = parser.parse(data);
    check_parse_into(parser, data, PacketRef::empty(), &result);
    check_parse_into(parser, data, other_packet(), &result);
    match &result {
        Ok(Status::Complete(packet)) => check_packet(parser, settings, data, packet),
        Ok(Status::Incomplete(n)) => {
            let n = *n;
            assert!(n >= 1, "Incomplete(0)");
            assert!(
                data.len() + n <= 4 + 65535,
                "Incomplete({n}) past the protocol maximum"
            );
            if data.len() < 4 {
                assert_eq!(n, 4 - data.len(), "H1: the header bytes missing");
            } else {
                let ds = datasize_of(data);
                assert!(ds <= settings.limit, "a datasize over the limit waits (H3)");
                assert_eq!(
                    data.len() + n,
                    4 + ds,
                    "H4: exactly the packet bytes missing"
                );
            }
        }
        Err(err) => check_error(settings, data, err),
    }

    // H7: parse_eof agrees with parse.
    let eof = parser.parse_eof(data);
    match (&result, &eof) {
        (Ok(Status::Complete(a)), Ok(Some(b))) => assert_eq!(a, b),
        (Ok(Status::Incomplete(_)), Ok(None)) => assert!(data.is_empty()),
        (Ok(Status::Incomplete(n)), Err(Error::UnexpectedEof { offset, needed })) => {
            assert!(!data.is_empty());
            assert_eq!((*offset, *needed), (data.len(), *n));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("parse {a:?} but parse_eof {b:?}"),
    }

    // H8: parse_datagram agrees with parse.
    let datagram = parser.parse_datagram(data);
    let header_error = matches!(
        result,
        Err(Error::ForeignProtocol { .. } | Error::TooLarge { .. })
    );
    match &datagram {
        Err(Error::DatagramLength { datasize, len }) => {
            assert!(
                !header_error,
                "a header error comes before the length check"
            );
            assert!(data.len() >= 4);
            assert_eq!((*datasize, *len), (datasize_of(data), data.len()));
            assert_ne!(*len, 4 + *datasize);
        }
        Err(Error::UnexpectedEof { offset, needed }) => {
            assert!(
                data.len() < 4,
                "a datagram with a header is DatagramLength, not EOF"
            );
            assert_eq!((*offset, *needed), (data.len(), 4 - data.len()));
        }
        Ok(packet) => {
            assert_eq!(packet.wire_len(), data.len());
            assert_eq!(
                Ok(Status::Complete(*packet)),
                result.as_ref().map(|s| *s).map_err(|_| ())
            );
        }
        Err(err) => {
            // Same error as parse, on a datagram of exactly one packet or a header error.
            let Err(expected) = &result else {
                panic!("datagram {err:?} but parse {result:?}")
            };
            assert_eq!(err, expected);
            assert!(header_error || data.len() == 4 + datasize_of(data));
        }
    }
    if data.len() >= 4 && data.len() == 4 + datasize_of(data) {
        match (&result, &datagram) {
            (Ok(Status::Complete(a)), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("exact datagram: parse {a:?} but parse_datagram {b:?}"),
        }
    }
}

fn check_packet(parser: &Parser, settings: &Settings, data: &[u8], packet: &PacketRef<'_>) {
    let wire_len = packet.wire_len();
    assert!(wire_len <= data.len(), "wire_len past the input");
    assert!(data.len() >= 4);
    let ds = datasize_of(data);
    assert_eq!(wire_len, 4 + ds);
    assert!(ds <= settings.limit, "accepted over the limit");
    assert_eq!(usize::from(packet.datasize()), ds);
    assert_eq!(packet.modifier1().0, data[0]);
    assert_eq!(packet.modifier2(), data[3]);
    assert_eq!(
        packet.header().to_bytes(),
        [data[0], data[1], data[2], data[3]]
    );
    assert_eq!(packet.as_bytes(), &data[..wire_len]);
    assert_eq!(packet.block_bytes(), &data[4..wire_len]);
    assert_eq!(packet.kind(), parser.kind_of(&packet.header()));
    if settings.foreign_check {
        assert_eq!(sniff(data), None, "a foreign preamble accepted");
        if settings.custom_pattern {
            assert_ne!(data[..4], uwsgi_codec_fuzz::CUSTOM_PATTERN);
        }
    }

    // E5: parse → encode is the identity.
    let mut out = Vec::new();
    packet.encode(&mut out);
    assert_eq!(out, &data[..wire_len]);

    // The block reads back as the model reads it, through every accessor, and to exactly
    // datasize bytes; the pair limit and the magic policy held.
    check_block(packet);
    if let Some(vars) = packet.vars() {
        assert!(
            vars.iter().all(|(k, _)| !k.is_empty()),
            "V2: an empty key accepted"
        );
        if let Some(max) = settings.max_vars {
            assert!(
                vars.len() <= max,
                "L2: {} pairs accepted with max {max}",
                vars.len()
            );
        }
        for (k, _) in vars {
            let refused = reference::magic_refused(k, &settings.model_magic());
            assert!(
                !refused,
                "M2: {k:02x?} accepted under {:?}",
                settings.policy()
            );
        }
        // The body length never panics; errors point inside the packet.
        if let Err(err) = packet.body_len() {
            assert!(err.offset().is_some_and(|o| o < wire_len), "{err:?}");
        }
    }

    // The owned packet shares the buffer's memory and answers as the borrowed one.
    let buf = bytes::Bytes::copy_from_slice(data);
    let owned = match parser.parse_bytes(&buf) {
        Ok(Status::Complete(owned)) => owned,
        other => panic!("parse_bytes disagrees with parse: {other:?}"),
    };
    check_owned(&owned, packet, &buf);
    if settings == &Settings::from_byte(0) {
        assert_eq!(
            uwsgi_codec::Packet::parse(&buf),
            Ok(Status::Complete(owned))
        );
    }

    // The packet is the same whatever follows it, and every strict prefix is Incomplete.
    let exact = parser.parse(&data[..wire_len]);
    assert_eq!(exact.ok(), Some(Status::Complete(*packet)));
    // Parsing a prefix in place into the packet of the whole input (a server re-parsing a
    // growing buffer with one `PacketRef`) gives the same `Incomplete`.
    for cut in [0, 1, 3, 4, wire_len / 2, wire_len.saturating_sub(1)] {
        if cut < wire_len {
            let status = parser.parse(&data[..cut]);
            let missing = if cut < 4 { 4 - cut } else { wire_len - cut };
            assert_eq!(status, Ok(Status::Incomplete(missing)), "prefix {cut}");
            check_parse_into(parser, &data[..cut], *packet, &status);
        }
    }
}

fn check_error(settings: &Settings, data: &[u8], err: &Error) {
    assert!(
        describe(err).starts_with(err.kind()),
        "kind() names the variant"
    );
    assert!(!err.to_string().is_empty() && !err.hint().is_empty());
    if let Some(offset) = err.offset() {
        assert!(
            offset <= data.len(),
            "offset {offset} past the input: {err:?}"
        );
    }
    assert!(
        data.len() >= 4,
        "an error before the header is complete: {err:?}"
    );
    let ds = datasize_of(data);
    let end = 4 + ds;
    match *err {
        Error::ForeignProtocol {
            modifier1,
            datasize,
            ..
        } => {
            assert!(settings.foreign_check);
            assert_eq!((modifier1, usize::from(datasize)), (data[0], ds));
        }
        Error::TooLarge { len, max } => {
            assert_eq!((len, max), (ds, settings.limit));
            assert!(len > max);
        }
        Error::TruncatedLength { offset, .. } => {
            assert!(
                data.len() >= end,
                "a block error before the block is complete"
            );
            assert!(
                offset + 2 > end && offset <= end,
                "{err:?} in a block ending at {end}"
            );
        }
        Error::Overrun {
            offset,
            len,
            available,
            ..
        } => {
            assert!(data.len() >= end);
            assert_eq!(offset + 2 + available, end, "{err:?}");
            assert!(len > available);
        }
        Error::EmptyKey { offset } | Error::MagicVar { offset } => {
            assert!(data.len() >= end);
            assert!(offset >= 4 && offset + 2 <= end, "{err:?}");
        }
        Error::TooManyVars { max, offset } => {
            assert!(data.len() >= end);
            assert_eq!(Some(max), settings.max_vars);
            assert!(offset >= 4 && offset < end, "{err:?}");
        }
        _ => panic!("parse cannot fail with {err:?}"),
    }
    // S2: the error does not depend on what follows the packet.
    if data.len() > end {
        let again = settings.parser().parse(&data[..end.max(4)]);
        match again {
            Err(e) => assert_eq!(&e, err),
            Ok(s) => panic!("error {err:?} only with bytes after the packet; alone: {s:?}"),
        }
    }
}
