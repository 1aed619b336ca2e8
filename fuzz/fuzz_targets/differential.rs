//! `differential`: the crate's `Parser` against the independent reference model in
//! `src/reference.rs` (written from PROTOCOL.md only) on the same bytes.
//!
//! Byte 0 picks the settings (`Settings::from_byte`: limit, direction, foreign check, pair
//! limit, magic policy, extra pattern); the rest is the input. Compared:
//! - `parse`: Complete (header fields, block kind, body framing, wire length, every pair or
//!   item, raw bytes) / Incomplete(n) / the error with every number it carries;
//! - `parse_into` (in place) against `parse` and so against the model (`check_parse_into`);
//! - `parse_pairs` into storage that holds any packet, and into storage of 0 to 40 pairs,
//!   against `parse` with that pair limit (`check_parse_pairs`): outcome, pairs, lookups;
//! - every accessor of a complete packet's vars against the model's pairs (`check_vars`: `len`,
//!   `iter` by `next` and by `fold`, `get`, `get_first`, `get_all`, `get_many`,
//!   `iter_with_offsets`) and `body_len()` (C1–C3);
//! - the same on the prefixes of the input (every one up to the end of the first packet for
//!   short inputs, a spread for long ones and past the packet);
//! - `parse_eof` and `parse_datagram`;
//! - the input with 31, 32 or 33 filler pairs (`kv("F","")`) put in front of its block and its
//!   datasize raised to match, which moves its pairs (and its faults) across the 32-pair index
//!   of the crate's validating walk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{Block, BlockKind, BodyFraming, PacketRef, Parser, Status};
use uwsgi_codec_fuzz::reference::{self, Body, Config, Outcome, Shape};
use uwsgi_codec_fuzz::{Settings, check_parse_into, check_parse_pairs, check_vars, fault, fillers};

fuzz_target!(|data: &[u8]| {
    let Some((&byte, input)) = data.split_first() else {
        return;
    };
    let settings = Settings::from_byte(byte);
    let (parser, model) = (settings.parser(), settings.model());

    compare_parse(&parser, &model, input, true);
    // Prefixes: every one up to the end of the first packet for short inputs, a spread for
    // long ones and past the packet (a complete packet does not depend on what follows it:
    // the `parse` target checks that on every input).
    let packet_end = match input {
        [_, low, high, _, ..] => 4 + usize::from(u16::from_le_bytes([*low, *high])),
        _ => input.len(),
    };
    let all_up_to = if input.len() <= 300 {
        packet_end.min(input.len())
    } else {
        6
    };
    for cut in 0..all_up_to {
        compare_parse(&parser, &model, &input[..cut], false);
    }
    let n = input.len();
    for cut in [
        n / 3,
        n / 2,
        packet_end,
        packet_end + 1,
        n.saturating_sub(1),
    ] {
        if cut >= all_up_to && cut < n {
            compare_parse(&parser, &model, &input[..cut], false);
        }
    }

    let got = parser.parse_eof(input).map(|p| p.map(|p| packet(&p)));
    let want = reference::parse_eof(input, &model);
    assert_eq!(
        got.map_err(|e| fault(&e, "the decoder")),
        want,
        "parse_eof on {input:02x?}"
    );

    let got = parser.parse_datagram(input).map(|p| packet(&p));
    let want = reference::parse_datagram(input, &model);
    assert_eq!(
        got.map_err(|e| fault(&e, "the decoder")),
        want,
        "parse_datagram on {input:02x?}"
    );

    // Behind fillers: the same block moved across the index boundary.
    if input.len() >= 4 {
        let count = 31 + input.len() % 3;
        let datasize = usize::from(u16::from_le_bytes([input[1], input[2]])) + 5 * count;
        if let Ok(datasize) = u16::try_from(datasize) {
            let [low, high] = datasize.to_le_bytes();
            let mut moved = vec![input[0], low, high, input[3]];
            moved.extend_from_slice(&fillers(count));
            moved.extend_from_slice(&input[4..]);
            compare_parse(&parser, &model, &moved, true);
        }
    }
});

/// The crate against the model on `input`; `deep` also reads every accessor of the vars.
fn compare_parse(parser: &Parser, model: &Config, input: &[u8], deep: bool) {
    let got = parser.parse(input);
    let want = reference::parse(input, model);
    let got_outcome = match &got {
        Ok(Status::Complete(p)) => Outcome::Complete(packet(p)),
        Ok(Status::Incomplete(n)) => Outcome::Incomplete(*n),
        Err(e) => Outcome::Error(fault(e, "the decoder")),
    };
    assert_eq!(got_outcome, want, "parse on {input:02x?}");
    check_parse_into(parser, input, PacketRef::empty(), &got);
    // Every pair takes 5 bytes at least: room for `len / 5 + 1` holds any packet in `input`.
    check_parse_pairs(parser, input, input.len() / 5 + 1);
    check_parse_pairs(parser, input, input.len() % 41);
    if let (Ok(Status::Complete(p)), Outcome::Complete(m)) = (&got, &want) {
        let got_len = p.body_len().map_err(|e| fault(&e, "the decoder"));
        assert_eq!(got_len, reference::body_len(m), "body_len on {input:02x?}");
        if let (true, Some(vars), reference::Block::Vars(pairs)) = (deep, p.vars(), &m.block) {
            check_vars(vars, p.block_bytes(), pairs);
        }
    }
}

/// The crate's packet in the model's terms.
fn packet<'a>(p: &PacketRef<'a>) -> reference::Packet<'a> {
    let kind = p.kind();
    reference::Packet {
        modifier1: p.modifier1().0,
        datasize: p.datasize(),
        modifier2: p.modifier2(),
        shape: match kind.block {
            BlockKind::Vars => Shape::Vars,
            BlockKind::Array => Shape::Array,
            BlockKind::Raw => Shape::Raw,
        },
        body: match kind.body {
            BodyFraming::None => Body::Nothing,
            BodyFraming::ContentLength => Body::ContentLength,
            BodyFraming::CacheSize => Body::Size,
        },
        wire_len: p.wire_len(),
        block: match *p.block() {
            Block::Vars(vars) => reference::Block::Vars(vars.iter().collect()),
            Block::Array(array) => reference::Block::Array(array.iter().collect()),
            Block::Raw(raw) => reference::Block::Raw(raw),
        },
    }
}
