//! `parse`: raw bytes through `PacketRef::parse` (default settings, the whole input) and through
//! a `Parser` whose settings the first byte picks (`Settings::from_byte`, the rest of the input).
//!
//! Invariants (PROTOCOL.md §4.1, §4.5, E5):
//! - Complete: `wire_len() == 4 + datasize <= data.len()`, the header fields are bytes 0–3,
//!   `encode` writes exactly `data[..wire_len]`, the block iterates to exactly `len()` entries
//!   whose encoded sizes sum to datasize, and the packet is the same whatever follows it;
//! - Incomplete(n): `n >= 1`, exactly the bytes missing (H1, H4), `data.len() + n <= 4 + limit`;
//! - Err: `offset() <= data.len()`, a header error only from the 4 header bytes, a block error
//!   only once the whole packet is there, and inside it;
//! - `parse_eof` and `parse_datagram` agree with `parse` (H7, H8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{Block, Error, PacketRef, Parser, Status, sniff};
use uwsgi_codec_fuzz::{Settings, describe};

fuzz_target!(|data: &[u8]| {
    check(&Parser::new(), &Settings::from_byte(0), data);
    if let Some((&byte, rest)) = data.split_first() {
        let settings = Settings::from_byte(byte);
        check(&settings.parser(), &settings, rest);
    }
});

fn datasize_of(data: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([data[1], data[2]]))
}

fn check(parser: &Parser, settings: &Settings, data: &[u8]) {
    let result = parser.parse(data);
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
        (Err(a), Err(b)) => assert_eq!(describe(a), describe(b)),
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
            assert_eq!(describe(err), describe(expected));
            assert!(header_error || data.len() == 4 + datasize_of(data));
        }
    }
    if data.len() >= 4 && data.len() == 4 + datasize_of(data) {
        match (&result, &datagram) {
            (Ok(Status::Complete(a)), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(describe(a), describe(b)),
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

    // The block reads back to exactly datasize bytes.
    match packet.block() {
        Block::Vars(vars) => {
            let mut n = 0;
            let mut size = 0;
            for (k, v) in vars.iter() {
                assert!(!k.is_empty(), "V2: an empty key accepted");
                n += 1;
                size += 4 + k.len() + v.len();
            }
            assert_eq!(n, vars.len());
            assert_eq!(size, ds);
            if let Some(max) = settings.max_vars {
                assert!(n <= max, "L2: {n} pairs accepted with max {max}");
            }
            if settings.magic != 0 {
                for (k, _) in vars.iter() {
                    let allowed = settings.magic == 2 && k == uwsgi_codec_fuzz::ALLOWED_MAGIC;
                    assert!(!k.starts_with(b"UWSGI_") || allowed, "M2: magic accepted");
                }
            }
            // The body length never panics; errors point inside the packet.
            if let Err(err) = packet.body_len() {
                assert!(err.offset().is_some_and(|o| o < wire_len), "{err:?}");
            }
        }
        Block::Array(array) => {
            let mut n = 0;
            let mut size = 0;
            for item in array.iter() {
                n += 1;
                size += 2 + item.len();
            }
            assert_eq!(n, array.len());
            assert_eq!(size, ds);
        }
        Block::Raw(raw) => assert_eq!(raw, &data[4..wire_len]),
    }
    let _ = format!("{packet:?}");

    // The owned packet shares the buffer's memory: no byte is copied.
    let buf = bytes::Bytes::copy_from_slice(data);
    let inside = |b: &bytes::Bytes| {
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + wire_len + 1;
        b.is_empty()
            || (range.contains(&(b.as_ptr() as usize))
                && b.as_ptr() as usize + b.len() <= range.end)
    };
    let owned = match parser.parse_bytes(&buf) {
        Ok(Status::Complete(owned)) => owned,
        other => panic!("parse_bytes disagrees with parse: {other:?}"),
    };
    assert_eq!(owned.view(), *packet);
    assert_eq!(
        owned.as_bytes().as_ptr(),
        buf.as_ptr(),
        "Packet copied its bytes"
    );
    assert_eq!(owned.body_len().ok(), packet.body_len().ok());
    let mut pairs = 0;
    for (k, v) in owned.vars_bytes() {
        assert!(
            inside(&k) && inside(&v),
            "a var outside the packet's memory"
        );
        if pairs < 32 {
            let got = owned.get(&k).expect("a key that is there");
            assert!(inside(&got));
            assert_eq!(Some(&got[..]), packet.vars().and_then(|vars| vars.get(&k)));
        }
        pairs += 1;
    }
    assert_eq!(pairs, packet.vars().map_or(0, |vars| vars.len()));
    let mut items = 0;
    for item in owned.items_bytes() {
        assert!(inside(&item), "an item outside the packet's memory");
        items += 1;
    }
    assert_eq!(items, packet.array().map_or(0, |array| array.len()));

    // The packet is the same whatever follows it, and every strict prefix is Incomplete.
    let exact = parser.parse(&data[..wire_len]);
    assert_eq!(exact.ok(), Some(Status::Complete(*packet)));
    for cut in [0, 1, 3, 4, wire_len / 2, wire_len.saturating_sub(1)] {
        if cut < wire_len {
            let status = parser.parse(&data[..cut]).map(|s| s.map(|_| ()));
            let missing = if cut < 4 { 4 - cut } else { wire_len - cut };
            assert_eq!(
                status.ok(),
                Some(Status::Incomplete(missing)),
                "prefix {cut}"
            );
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
            Err(e) => assert_eq!(describe(&e), describe(err)),
            Ok(s) => panic!("error {err:?} only with bytes after the packet; alone: {s:?}"),
        }
    }
}
