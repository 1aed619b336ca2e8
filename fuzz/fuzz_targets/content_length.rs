//! `content_length`: `parse_length` on arbitrary bytes against a reference built on
//! `str::parse::<u64>` (PROTOCOL.md C2): empty is 0; otherwise every byte must be an ASCII digit
//! and the digits must fit a u64; the error points at the first offending byte — the first
//! non-digit, or the digit at which the number first exceeds u64::MAX, whichever comes first.
//!
//! Input: byte 0 picks the offset the value starts at (`byte * 257`), the rest is the value.
//! The same value is also checked inside a packet, as `CONTENT_LENGTH` (and as the cache's `size`),
//! and as the pair after 33 filler pairs, past the 32 pairs the validating walk indexes (the body
//! length is then read by walking on from the index).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{ContentLengthFault, Error, PacketRef, Parser, Status, Vars, parse_length};
use uwsgi_codec_fuzz::{fillers, kv};

/// (offset of the first offending byte, true for NotDigit / false for Overflow), or the value.
type Expected = Result<u64, (usize, bool)>;

/// The reference: digits-only input goes through `str::parse::<u64>`.
fn reference(value: &[u8], offset: usize) -> Expected {
    if value.is_empty() {
        return Ok(0);
    }
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    // The number made of the first `n` digits overflows for every n past some point (adding a
    // digit never makes it smaller): find the first such n by bisection on str::parse.
    let fits = |n: usize| -> bool {
        n == 0
            || std::str::from_utf8(&value[..n])
                .unwrap()
                .parse::<u64>()
                .is_ok()
    };
    if !fits(digits) {
        let (mut lo, mut hi) = (0, digits); // fits(lo), !fits(hi)
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(mid) { lo = mid } else { hi = mid }
        }
        return Err((offset + hi - 1, false));
    }
    if digits < value.len() {
        return Err((offset + digits, true));
    }
    Ok(std::str::from_utf8(value).unwrap().parse::<u64>().unwrap())
}

fn convert(got: Result<u64, Error>) -> Expected {
    match got {
        Ok(n) => Ok(n),
        Err(Error::InvalidContentLength { offset, reason }) => {
            Err((offset, reason == ContentLengthFault::NotDigit))
        }
        Err(err) => panic!("parse_length cannot fail with {err:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, value)) = data.split_first() else {
        return;
    };
    let offset = usize::from(first) * 257;
    let want = reference(value, offset);
    assert_eq!(
        convert(parse_length(value, offset)),
        want,
        "value {value:?} at {offset}"
    );

    if let Ok(n) = want {
        // What parses also prints back: the decimal of n is the value without leading zeros.
        let trimmed = value
            .iter()
            .position(|&b| b != b'0')
            .map_or(&b"0"[..], |i| &value[i..]);
        let printed = n.to_string();
        assert!(value.is_empty() || printed.as_bytes() == trimmed);
    }

    // The same value as CONTENT_LENGTH in a bare vars block: it starts at offset 4+2+14+2 = 22.
    if value.len() <= 65535 - 18 {
        let mut block = Vec::new();
        kv(&mut block, b"CONTENT_LENGTH", value);
        let vars = Vars::parse(&block).expect("one valid pair");
        assert_eq!(convert(vars.content_length()), reference(value, 22));

        // And in a request packet (m1 0, body by CONTENT_LENGTH), then in a cache magic packet
        // (m1 111, m2 17, body by `size`: value at 4+2+4+2 = 12).
        let mut wire = vec![0, 0, 0, 0];
        wire.extend_from_slice(&block);
        let ds = (wire.len() - 4) as u16;
        wire[1..3].copy_from_slice(&ds.to_le_bytes());
        let parser = Parser::new().with_foreign_check(false);
        let Ok(Status::Complete(packet)) = parser.parse(&wire) else {
            panic!("a one-pair request packet")
        };
        assert_eq!(convert(packet.body_len()), reference(value, 22));

        let mut cache = vec![111, 0, 0, 17];
        kv(&mut cache, b"size", value);
        let ds = (cache.len() - 4) as u16;
        cache[1..3].copy_from_slice(&ds.to_le_bytes());
        let Ok(Status::Complete(packet)) = PacketRef::parse(&cache) else {
            panic!("a one-pair cache packet")
        };
        assert_eq!(convert(packet.body_len()), reference(value, 12));

        // Past the index: 33 fillers of 5 bytes, then the pair (value at 22 + 165).
        if value.len() <= 65535 - 18 - 165 {
            let mut far = vec![0, 0, 0, 0];
            far.extend_from_slice(&fillers(33));
            far.extend_from_slice(&block);
            let ds = (far.len() - 4) as u16;
            far[1..3].copy_from_slice(&ds.to_le_bytes());
            let Ok(Status::Complete(packet)) = parser.parse(&far) else {
                panic!("a request packet of 34 pairs")
            };
            assert_eq!(convert(packet.body_len()), reference(value, 22 + 165));
        }
    }
});
