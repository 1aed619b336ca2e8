//! `differential`: the crate's `Parser` against the independent reference model in
//! `src/reference.rs` (written from PROTOCOL.md only) on the same bytes.
//!
//! Byte 0 picks the settings (`Settings::from_byte`: limit, direction, foreign check, pair
//! limit, magic policy, extra pattern); the rest is the input. Compared:
//! - `parse`: Complete (header fields, block kind, body framing, wire length, every pair or
//!   item, raw bytes) / Incomplete(n) / the error with every number it carries;
//! - the same on every prefix of the input (all of them for short inputs);
//! - `parse_eof` and `parse_datagram`;
//! - `body_len()` of a complete packet (C1–C3).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_codec::{
    Block, BlockKind, BodyFraming, ContentLengthFault, Error, Field, ForeignProtocol, PacketRef,
    Parser, Status,
};
use uwsgi_codec_fuzz::Settings;
use uwsgi_codec_fuzz::reference::{self, Body, Config, Fault, Foreign, Outcome, Shape};

fuzz_target!(|data: &[u8]| {
    let Some((&byte, input)) = data.split_first() else {
        return;
    };
    let settings = Settings::from_byte(byte);
    let (parser, model) = (settings.parser(), settings.model());

    compare_parse(&parser, &model, input);
    // Prefixes: every one for short inputs, a spread for long ones.
    if input.len() <= 300 {
        for cut in 0..input.len() {
            compare_parse(&parser, &model, &input[..cut]);
        }
    } else {
        for cut in [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            input.len() / 3,
            input.len() / 2,
            input.len() - 1,
        ] {
            compare_parse(&parser, &model, &input[..cut]);
        }
    }

    let got = parser.parse_eof(input).map(|p| p.map(|p| packet(&p)));
    let want = reference::parse_eof(input, &model);
    assert_eq!(
        got.map_err(|e| fault(&e)),
        want,
        "parse_eof on {input:02x?}"
    );

    let got = parser.parse_datagram(input).map(|p| packet(&p));
    let want = reference::parse_datagram(input, &model);
    assert_eq!(
        got.map_err(|e| fault(&e)),
        want,
        "parse_datagram on {input:02x?}"
    );
});

fn compare_parse(parser: &Parser, model: &Config, input: &[u8]) {
    let got = parser.parse(input);
    let want = reference::parse(input, model);
    let got_outcome = match &got {
        Ok(Status::Complete(p)) => Outcome::Complete(packet(p)),
        Ok(Status::Incomplete(n)) => Outcome::Incomplete(*n),
        Err(e) => Outcome::Error(fault(e)),
    };
    assert_eq!(got_outcome, want, "parse on {input:02x?}");
    if let (Ok(Status::Complete(p)), Outcome::Complete(m)) = (&got, &want) {
        let got_len = p.body_len().map_err(|e| fault(&e));
        assert_eq!(got_len, reference::body_len(m), "body_len on {input:02x?}");
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
        block: match p.block() {
            Block::Vars(vars) => reference::Block::Vars(vars.iter().collect()),
            Block::Array(array) => reference::Block::Array(array.iter().collect()),
            Block::Raw(raw) => reference::Block::Raw(raw),
        },
    }
}

fn field(f: Field) -> reference::Field {
    match f {
        Field::Key => reference::Field::Key,
        Field::Value => reference::Field::Value,
        Field::Item => reference::Field::Item,
        Field::Block => panic!("a decoding error about the whole block"),
    }
}

/// The crate's error in the model's terms; an error the decoder must never return panics.
fn fault(e: &Error) -> Fault {
    match *e {
        Error::ForeignProtocol {
            protocol,
            modifier1,
            datasize,
        } => Fault::Foreign {
            protocol: match protocol {
                ForeignProtocol::HttpRequest => Foreign::HttpRequest,
                ForeignProtocol::Http2 => Foreign::Http2,
                ForeignProtocol::ProxyV1 => Foreign::ProxyV1,
                ForeignProtocol::ProxyV2 => Foreign::ProxyV2,
                ForeignProtocol::Tls => Foreign::Tls,
                ForeignProtocol::Ssh => Foreign::Ssh,
                ForeignProtocol::FastCgi => Foreign::FastCgi,
                ForeignProtocol::Scgi => Foreign::Scgi,
                ForeignProtocol::HttpResponse => Foreign::HttpResponse,
                ForeignProtocol::Custom(p) => Foreign::Custom(p),
                other => panic!("unknown foreign protocol {other:?}"),
            },
            modifier1,
            datasize,
        },
        Error::TooLarge { len, max } => Fault::TooLarge { len, max },
        Error::TruncatedLength { field: f, offset } => Fault::TruncatedLength {
            field: field(f),
            offset,
        },
        Error::Overrun {
            field: f,
            offset,
            len,
            available,
        } => Fault::Overrun {
            field: field(f),
            offset,
            len,
            available,
        },
        Error::EmptyKey { offset } => Fault::EmptyKey { offset },
        Error::TooManyVars { max, offset } => Fault::TooManyVars { max, offset },
        Error::MagicVar { offset } => Fault::MagicVar { offset },
        Error::UnexpectedEof { offset, needed } => Fault::UnexpectedEof { offset, needed },
        Error::DatagramLength { datasize, len } => Fault::DatagramLength { datasize, len },
        Error::InvalidContentLength { offset, reason } => Fault::InvalidContentLength {
            offset,
            not_digit: reason == ContentLengthFault::NotDigit,
        },
        Error::ConflictingContentLength {
            first,
            second,
            offset,
        } => Fault::ConflictingContentLength {
            first,
            second,
            offset,
        },
        ref other => panic!("the decoder returned {other:?}"),
    }
}
