//! The language-neutral test vectors of `tests/vectors/*.json` (schema: `tests/vectors/README.md`),
//! read by the one loader (`tests/vectors/loader.rs`) and run against the public API only.
//!
//! Every decode vector goes through the core [`Parser`] one-shot and cut at every byte (S1, S2;
//! with `parse_eof`, `parse_into`, `parse_bytes` alongside), and, with feature `codec`, through
//! `codec::ServerCodec` one-shot, one byte at a time and split in two at every byte, frames
//! merged (S1 to S3). Every encoder vector goes through [`PacketBuilder`]: `to_vec`, `encode`,
//! `encode_slice`, `encode_buf`, `encoded_len`, with the pairs borrowed (`with_vars`) and added
//! one at a time. spec.json is the source of PROTOCOL.md §11's cases; `tests/spec_cases.rs` only
//! holds what a vector cannot say.

mod common;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::BytesMut;
use common::loader::{
    self, BlockSpec, Content, DecodeVector, EncodeExpect, EncodeInput, EncodeVector, ErrorSpec,
    Expect, Frame, Hex, Label, Magic, Options, PacketCheck, PacketSpec, Side, Source, Stage,
};
use uwsgi_codec::{
    Block, Direction, Error, MagicPolicy, Packet, PacketBuilder, PacketRef, Parser, Status,
};

// ---------------------------------------------------------------------------------------------
// The crate's values as the loader's
// ---------------------------------------------------------------------------------------------

/// A core error as the vectors write it (README §4).
fn error_spec(err: &Error) -> ErrorSpec {
    let spec = ErrorSpec::new(err.kind(), err.offset().map(|o| o as u64));
    match *err {
        Error::ForeignProtocol {
            protocol,
            modifier1,
            datasize,
        } => spec
            .name("protocol", &format!("{protocol:?}"))
            .int("modifier1", modifier1.into())
            .int("datasize", datasize.into()),
        Error::TooLarge { len, max } => spec.int("len", len as u64).int("max", max as u64),
        Error::TruncatedLength { field, .. } => spec.name("field", field.name()),
        Error::Overrun {
            field,
            len,
            available,
            ..
        } => spec
            .name("field", field.name())
            .int("len", len as u64)
            .int("available", available as u64),
        Error::TooManyVars { max, .. } => spec.int("max", max as u64),
        Error::UnexpectedEof { needed, .. } => spec.int("needed", needed as u64),
        Error::DatagramLength { datasize, len } => {
            spec.int("datasize", datasize as u64).int("len", len as u64)
        }
        Error::InvalidContentLength { reason, .. } => spec.name("reason", &format!("{reason:?}")),
        Error::ConflictingContentLength { first, second, .. } => {
            spec.int("first", first).int("second", second)
        }
        Error::LengthOverflow { field, len } => {
            spec.name("field", field.name()).int("len", len as u64)
        }
        Error::BufferTooSmall { needed, available } => spec
            .int("needed", needed as u64)
            .int("available", available as u64),
        _ => spec,
    }
}

/// A packet as the vectors write it (README §3.3).
fn packet_spec(packet: &PacketRef<'_>, body_len: Option<u64>) -> PacketSpec {
    let block = match packet.block() {
        Block::Vars(vars) => BlockSpec::Vars(
            vars.iter()
                .map(|(k, v)| (Hex::from(k), Hex::from(v)))
                .collect(),
        ),
        Block::Array(array) => BlockSpec::Items(array.iter().map(Hex::from).collect()),
        Block::Raw(raw) => BlockSpec::Raw(Hex::from(*raw)),
    };
    PacketSpec {
        modifier1: packet.modifier1().0,
        datasize: packet.datasize(),
        modifier2: packet.modifier2(),
        block,
        body_len,
    }
}

/// The parser a decode vector's options describe (README §3.1).
fn parser_for(options: &Options) -> Parser {
    let max_datasize = usize::try_from(options.max_datasize).unwrap_or(usize::MAX);
    let max_vars = options
        .max_vars
        .map(|max| usize::try_from(max).unwrap_or(usize::MAX));
    Parser::new()
        .with_max_datasize(max_datasize)
        .with_max_vars(max_vars)
        .with_foreign_check(options.foreign_check)
        .with_magic_policy(match options.magic_policy {
            Magic::Allow => MagicPolicy::Allow,
            Magic::Refuse => MagicPolicy::Refuse,
        })
        .with_direction(match options.direction {
            Side::Request => Direction::Request,
            Side::Reply => Direction::Reply,
        })
}

// ---------------------------------------------------------------------------------------------
// Decode vectors: the packet check (README §3.4)
// ---------------------------------------------------------------------------------------------

/// A parsed packet against the expectation: header, block, bytes, what follows, body length,
/// and re-encoding (E5).
fn check_packet(got: &PacketRef<'_>, wire: &[u8], want: PacketCheck<'_>, ctx: &str) {
    let PacketCheck::Packet {
        packet,
        body,
        after,
    } = want
    else {
        panic!("{ctx}: expected {want:?}, got the packet {got:?}");
    };
    let unframed = PacketSpec {
        body_len: None,
        ..packet.clone()
    };
    assert_eq!(packet_spec(got, None), unframed, "{ctx}: packet");
    let len = got.wire_len();
    assert_eq!(len, 4 + usize::from(got.datasize()), "{ctx}: wire_len");
    assert_eq!(
        Hex::from(got.as_bytes()),
        Hex::from(&wire[..len]),
        "{ctx}: as_bytes"
    );
    if let Some(after) = after {
        assert_eq!(&Hex::from(&wire[len..]), after, "{ctx}: after_hex");
    }
    match (got.body_len(), body) {
        (Ok(n), Ok(m)) => assert_eq!(n, m, "{ctx}: body_len"),
        (Err(e), Err(want)) => assert_eq!(&error_spec(&e), want, "{ctx}: body length error"),
        (got, want) => panic!("{ctx}: body length {got:?}, expected {want:?}"),
    }
    match got.block() {
        Block::Vars(vars) => assert_eq!(vars.len(), vars.iter().count(), "{ctx}: Vars::len"),
        Block::Array(array) => assert_eq!(array.len(), array.iter().count(), "{ctx}: Array::len"),
        Block::Raw(_) => {}
    }
    // E5: the same modifiers and block encode to the same bytes.
    let builder = PacketBuilder::new(got.modifier1())
        .with_modifier2(got.modifier2())
        .with_magic_policy(MagicPolicy::Allow);
    let pairs: Vec<(&[u8], &[u8])> = got.vars().map(|v| v.iter().collect()).unwrap_or_default();
    let encoded = match got.block() {
        Block::Vars(_) => builder.with_vars(&pairs).to_vec(),
        Block::Array(array) => array.iter().fold(builder, |b, item| b.item(item)).to_vec(),
        Block::Raw(raw) => builder.raw(*raw).to_vec(),
    };
    let encoded = encoded.unwrap_or_else(|e| panic!("{ctx}: re-encoding failed: {e}"));
    assert_eq!(
        Hex(encoded),
        Hex::from(got.as_bytes()),
        "{ctx}: re-encoding (E5)"
    );
}

/// `parse_eof`, `parse_into` (into a fresh and into a stale `PacketRef`) and `parse_bytes`
/// give the packet `parse` gave.
fn check_entry_points(parser: &Parser, wire: &[u8], packet: &PacketRef<'_>, ctx: &str) {
    assert_eq!(
        parser.parse_eof(wire),
        Ok(Some(*packet)),
        "{ctx}: parse_eof"
    );
    let stale_wire = [0x64, 0, 0, 0];
    for start in [
        PacketRef::empty(),
        PacketRef::parse(&stale_wire)
            .ok()
            .and_then(Status::complete)
            .expect("a ping"),
    ] {
        let mut into = start;
        let status = parser.parse_into(wire, &mut into);
        assert_eq!(
            status,
            Ok(Status::Complete(packet.wire_len())),
            "{ctx}: parse_into"
        );
        assert_eq!(into, *packet, "{ctx}: parse_into's packet");
    }
    let bytes = bytes::Bytes::copy_from_slice(wire);
    let owned: Packet = match parser.parse_bytes(&bytes) {
        Ok(Status::Complete(owned)) => owned,
        other => panic!("{ctx}: parse_bytes: {other:?}"),
    };
    assert_eq!(owned.view(), *packet, "{ctx}: parse_bytes view");
    assert_eq!(owned.header(), packet.header(), "{ctx}: parse_bytes header");
    assert_eq!(
        owned.body_len(),
        packet.body_len(),
        "{ctx}: parse_bytes body_len"
    );
    let pairs: Vec<(Hex, Hex)> = owned
        .vars_bytes()
        .map(|(k, v)| (Hex::from(&k[..]), Hex::from(&v[..])))
        .collect();
    let want: Vec<(Hex, Hex)> = packet
        .vars()
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| (Hex::from(k), Hex::from(v)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(pairs, want, "{ctx}: vars_bytes");
}

/// The core parser on one decode vector: one-shot, then every prefix (S1, S2). Returns
/// whether prefixes were run (not for datagrams).
fn check_core(vector: &DecodeVector, parser: &Parser, ctx: &str) -> bool {
    let wire: &[u8] = &vector.wire;
    let want = vector.packet_check();
    if vector.options.datagram {
        // A datagram arrives whole (H8): no prefixes.
        match (parser.parse_datagram(wire), want) {
            (Ok(packet), PacketCheck::Packet { .. }) => check_packet(&packet, wire, want, ctx),
            (Err(e), PacketCheck::Error(error)) => assert_eq!(&error_spec(&e), error, "{ctx}"),
            (got, want) => panic!("{ctx}: datagram: got {got:?}, expected {want:?}"),
        }
        return false;
    }
    let incomplete = |cut: usize| {
        let got = parser.parse(&wire[..cut]).map(|s| s.map(|_| ()));
        let n = vector.missing(cut);
        assert_eq!(
            got,
            Ok(Status::Incomplete(n)),
            "{ctx}: prefix of {cut} bytes"
        );
    };
    match want {
        PacketCheck::CleanEnd => {
            assert_eq!(
                parser.parse(wire).map(|s| s.map(|_| ())),
                Ok(Status::Incomplete(4)),
                "{ctx}"
            );
            assert_eq!(parser.parse_eof(wire), Ok(None), "{ctx}: parse_eof");
        }
        PacketCheck::Packet { .. } => {
            let packet = match parser.parse(wire) {
                Ok(Status::Complete(packet)) => packet,
                other => panic!("{ctx}: one-shot: expected a packet, got {other:?}"),
            };
            check_packet(&packet, wire, want, ctx);
            check_entry_points(parser, wire, &packet, ctx);
            for cut in 0..=wire.len() {
                if cut < packet.wire_len() {
                    incomplete(cut);
                } else {
                    let got = parser.parse(&wire[..cut]);
                    assert_eq!(
                        got,
                        Ok(Status::Complete(packet)),
                        "{ctx}: prefix of {cut} bytes"
                    );
                }
            }
        }
        PacketCheck::Error(error) => match error.stage() {
            Some(Stage::Header | Stage::Block | Stage::Framing) => {
                let proof = vector.proof_point(error).expect("a header or block stage");
                assert!(
                    proof <= wire.len(),
                    "{ctx}: the vector lacks the proving bytes"
                );
                for cut in 0..=wire.len() {
                    if cut < proof {
                        incomplete(cut);
                        continue;
                    }
                    let got = match parser.parse(&wire[..cut]) {
                        Err(e) => error_spec(&e),
                        Ok(Status::Complete(p)) if error.stage() == Some(Stage::Framing) => {
                            let body = p.body_len();
                            body.map_or_else(|e| error_spec(&e), |n| panic!("{ctx}: body {n}"))
                        }
                        Ok(status) => panic!("{ctx}: prefix of {cut} bytes: {status:?}"),
                    };
                    assert_eq!(&got, error, "{ctx}: prefix of {cut} bytes");
                }
                if error.stage() != Some(Stage::Framing) {
                    let got = parser
                        .parse_eof(wire)
                        .map(|_| ())
                        .map_err(|e| error_spec(&e));
                    assert_eq!(got, Err(error.clone()), "{ctx}: parse_eof");
                }
            }
            Some(Stage::Eof) => {
                assert_eq!(
                    error.kind, "UnexpectedEof",
                    "{ctx}: TruncatedBody needs frames"
                );
                for cut in 0..=wire.len() {
                    incomplete(cut);
                    let got = parser.parse_eof(&wire[..cut]);
                    let n = vector.missing(cut);
                    match cut {
                        0 => assert_eq!(got, Ok(None), "{ctx}: EOF at 0 bytes is a clean end"),
                        _ => assert_eq!(
                            got,
                            Err(Error::UnexpectedEof {
                                offset: cut,
                                needed: n
                            }),
                            "{ctx}: EOF after {cut} bytes"
                        ),
                    }
                }
                let got = parser
                    .parse_eof(wire)
                    .map(|_| ())
                    .map_err(|e| error_spec(&e));
                assert_eq!(got, Err(error.clone()), "{ctx}: parse_eof");
            }
            stage => panic!("{ctx}: {} ({stage:?}) cannot end a stream", error.kind),
        },
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Decode vectors: the stream check (README §3.5)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "codec")]
mod stream {
    use super::*;
    use common::codec::{Fault, Run, run};
    use uwsgi_codec::codec::{ServerCodec, ServerFrame};

    fn fault_spec(fault: &Fault) -> ErrorSpec {
        match fault {
            Fault::Packet(err) => error_spec(err),
            Fault::TruncatedBody { expected, received } => ErrorSpec::new("TruncatedBody", None)
                .int("expected", *expected)
                .int("received", *received),
            other => ErrorSpec::new(&format!("{other:?}"), None),
        }
    }

    /// The frames of a run as the vectors write them, chunks merged, the error last.
    fn frames(run: &Run<ServerFrame>) -> Vec<Frame> {
        let mut frames = Vec::new();
        for frame in &run.frames {
            let frame = match frame {
                ServerFrame::Packet(packet) => {
                    let body_len = packet.body_len().expect("the codec framed it");
                    Frame::Packet(packet_spec(&packet.view(), Some(body_len)))
                }
                ServerFrame::Body(bytes) => Frame::Body(Hex::from(&bytes[..])),
                ServerFrame::End => Frame::End,
                ServerFrame::Trailing(bytes) => Frame::Trailing(Hex::from(&bytes[..])),
            };
            loader::push_merged(&mut frames, frame);
        }
        if let Some(stop) = &run.stop {
            frames.push(Frame::Error(fault_spec(&stop.fault)));
        }
        frames
    }

    /// `ServerCodec` one-shot, one byte at a time and split in two at every byte (S1 to S3);
    /// the number of runs, 0 when the vector is not a request-side stream.
    pub(super) fn check(vector: &DecodeVector, parser: &Parser, ctx: &str) -> usize {
        if !vector.is_stream() {
            return 0;
        }
        let wire: &[u8] = &vector.wire;
        let want = vector.frames();
        let error = match want.last() {
            Some(Frame::Error(error)) => Some(error),
            _ => None,
        };
        let persistent = vector.options.mode == loader::Mode::Persistent;
        let check = |pieces: &[&[u8]], how: &str| {
            let mut codec = ServerCodec::with_parser(parser.clone()).with_persistent(persistent);
            let run = run(&mut codec, pieces.iter().copied());
            assert_eq!(frames(&run), want, "{ctx}: frames, {how}");
            let (Some(error), Some(stop)) = (error, &run.stop) else {
                return;
            };
            let eof = error.stage() == Some(Stage::Eof);
            assert_eq!(
                stop.at_eof, eof,
                "{ctx}: {how}: {} at the end of input",
                error.kind
            );
            if let (false, 1, Some(proof)) = (eof, want.len(), vector.proof_point(error)) {
                assert!(
                    stop.fed >= proof,
                    "{ctx}: {how}: after {} of {proof} bytes",
                    stop.fed
                );
            }
        };
        check(&[wire], "one-shot");
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        check(&bytes, "one byte at a time");
        for cut in 0..=wire.len() {
            let (a, b) = wire.split_at(cut);
            check(&[a, b], &format!("split at {cut}"));
        }
        wire.len() + 3
    }
}

#[cfg(not(feature = "codec"))]
mod stream {
    use super::*;

    /// Without feature `codec` there is no stream decoder to check.
    pub(super) fn check(_: &DecodeVector, _: &Parser, _: &str) -> usize {
        0
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder vectors (README §5)
// ---------------------------------------------------------------------------------------------

/// The builder an encoder vector's input describes; `borrowed`: pairs through `with_vars`,
/// else one `push_var` at a time.
fn builder_for<'a>(
    input: &'a EncodeInput,
    pairs: &'a [(&'a [u8], &'a [u8])],
    borrowed: bool,
) -> PacketBuilder<'a> {
    let mut builder = PacketBuilder::new(input.modifier1).with_modifier2(input.modifier2);
    if borrowed {
        builder = builder.with_vars(pairs);
    } else {
        for (key, value) in pairs {
            builder.push_var(*key, *value);
        }
    }
    for item in &input.items {
        builder.push_item(&item[..]);
    }
    if let Some(raw) = &input.raw {
        builder = builder.raw(&raw[..]);
    }
    if let Some(len) = input.body_len {
        builder = builder.with_body_len(len);
    }
    if let Some(max) = input.max_datasize {
        builder = builder.with_max_datasize(usize::try_from(max).unwrap_or(usize::MAX));
    }
    if input.allow_magic {
        builder = builder.with_magic_policy(MagicPolicy::Allow);
    }
    builder
}

/// Every encoding entry point gives `expect`, and nothing is written on an error (E2).
fn check_encoder(builder: &PacketBuilder<'_>, expect: &EncodeExpect, ctx: &str) {
    let result = |r: Result<usize, Error>| r.map_err(|e| error_spec(&e));
    let mut dst = BytesMut::from(&b"keep"[..]);
    let mut buf = Vec::from(&b"keep"[..]);
    match expect {
        EncodeExpect::Wire(wire) => {
            let n = wire.len();
            let got = builder.to_vec().map(Hex).map_err(|e| error_spec(&e));
            assert_eq!(got, Ok(wire.clone()), "{ctx}: to_vec");
            assert_eq!(result(builder.encoded_len()), Ok(n), "{ctx}: encoded_len");
            assert_eq!(result(builder.encode(&mut dst)), Ok(n), "{ctx}: encode");
            assert_eq!(Hex::from(&dst[4..]), *wire, "{ctx}: encode appends");
            assert_eq!(
                result(builder.encode_buf(&mut buf)),
                Ok(n),
                "{ctx}: encode_buf"
            );
            assert_eq!(Hex::from(&buf[4..]), *wire, "{ctx}: encode_buf appends");
            let mut slice = vec![0xa5; n + 3];
            assert_eq!(
                result(builder.encode_slice(&mut slice)),
                Ok(n),
                "{ctx}: encode_slice"
            );
            assert_eq!(Hex::from(&slice[..n]), *wire, "{ctx}: encode_slice bytes");
            assert_eq!(
                slice[n..],
                [0xa5; 3],
                "{ctx}: encode_slice wrote past the packet"
            );
            let mut short = vec![0xa5; n - 1];
            let got = builder.encode_slice(&mut short);
            let too_small = Error::BufferTooSmall {
                needed: n,
                available: n - 1,
            };
            assert_eq!(
                got,
                Err(too_small),
                "{ctx}: encode_slice into {} bytes",
                n - 1
            );
            assert!(
                short.iter().all(|&b| b == 0xa5),
                "{ctx}: BufferTooSmall wrote"
            );
        }
        EncodeExpect::Error(error) => {
            let refused = Err(error.clone());
            assert_eq!(
                result(builder.to_vec().map(|v| v.len())),
                refused,
                "{ctx}: to_vec"
            );
            assert_eq!(result(builder.encoded_len()), refused, "{ctx}: encoded_len");
            assert_eq!(result(builder.encode(&mut dst)), refused, "{ctx}: encode");
            assert_eq!(&dst[..], b"keep", "{ctx}: encode wrote on an error");
            assert_eq!(
                result(builder.encode_buf(&mut buf)),
                refused,
                "{ctx}: encode_buf"
            );
            assert_eq!(&buf[..], b"keep", "{ctx}: encode_buf wrote on an error");
            let mut slice = vec![0xa5; 70_000];
            assert_eq!(
                result(builder.encode_slice(&mut slice)),
                refused,
                "{ctx}: encode_slice"
            );
            assert!(
                slice.iter().all(|&b| b == 0xa5),
                "{ctx}: encode_slice wrote on an error"
            );
        }
    }
}

/// Build then parse returns the same pairs or items (E5), unless a raw tail or a framed body
/// length changed the block (README §5).
fn check_build_then_parse(vector: &EncodeVector, ctx: &str) {
    let (EncodeExpect::Wire(wire), None, None) =
        (&vector.expect, &vector.input.raw, vector.input.body_len)
    else {
        return;
    };
    let parsed = Parser::new().with_foreign_check(false).parse(wire);
    let packet = match parsed {
        Ok(Status::Complete(packet)) => packet,
        other => panic!("{ctx}: the encoded packet does not parse: {other:?}"),
    };
    assert_eq!(packet.wire_len(), wire.len(), "{ctx}: one packet");
    let input = &vector.input;
    let want = match packet.block() {
        Block::Vars(_) if input.items.is_empty() => BlockSpec::Vars(input.pairs.clone()),
        Block::Array(_) if input.pairs.is_empty() => BlockSpec::Items(input.items.clone()),
        _ => return,
    };
    let got = packet_spec(&packet, None).block;
    assert_eq!(got, want, "{ctx}: build then parse");
}

fn run_encode_vector(vector: &EncodeVector, ctx: &str, tally: &mut Tally) {
    let pairs: Vec<(&[u8], &[u8])> = vector
        .input
        .pairs
        .iter()
        .map(|(k, v)| (&k[..], &v[..]))
        .collect();
    let borrowed = builder_for(&vector.input, &pairs, true);
    let one_by_one = builder_for(&vector.input, &pairs, false);
    assert_eq!(
        borrowed.to_vec(),
        one_by_one.to_vec(),
        "{ctx}: with_vars = push_var"
    );
    check_encoder(&borrowed, &vector.expect, ctx);
    check_encoder(&one_by_one, &vector.expect, ctx);
    check_build_then_parse(vector, ctx);
    match vector.expect {
        EncodeExpect::Wire(_) => tally.encoded += 1,
        EncodeExpect::Error(_) => tally.refused += 1,
    }
}

// ---------------------------------------------------------------------------------------------
// Running every file
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    vectors: usize,
    sources: BTreeMap<Source, usize>,
    core_split: usize,
    datagrams: usize,
    stream: usize,
    stream_runs: usize,
    encoded: usize,
    refused: usize,
}

fn run_decode_vector(vector: &DecodeVector, ctx: &str, tally: &mut Tally) {
    let parser = parser_for(&vector.options);
    if check_core(vector, &parser, ctx) {
        tally.core_split += 1;
    } else {
        tally.datagrams += 1;
    }
    let runs = stream::check(vector, &parser, ctx);
    if runs > 0 {
        tally.stream += 1;
        tally.stream_runs += runs;
    }
}

/// Runs every vector of every file of one schema, catching each failure so that one run
/// reports every failing vector; prints a summary line per file. Returns the tally of all.
fn run_files(decode: bool) -> Tally {
    let mut failures = Vec::new();
    let mut all = Tally::default();
    for file in common::vector_files() {
        let mut tally = Tally::default();
        let mut each = |name: &str, source: &str, f: &mut dyn FnMut(&str, &mut Tally)| {
            let ctx = format!("{} {name}", file.name);
            match catch_unwind(AssertUnwindSafe(|| f(&ctx, &mut tally))) {
                Ok(()) => {
                    let source = Source::of(source).expect("the loader checked it");
                    *tally.sources.entry(source).or_default() += 1;
                }
                Err(_) => failures.push(ctx),
            }
            tally.vectors += 1;
        };
        match (&file.content, decode) {
            (Content::Decode(vectors), true) => {
                for v in vectors {
                    each(&v.label.name, &v.label.source, &mut |ctx, t| {
                        run_decode_vector(v, ctx, t)
                    });
                }
            }
            (Content::Encode(vectors), false) => {
                for v in vectors {
                    each(&v.label.name, &v.label.source, &mut |ctx, t| {
                        run_encode_vector(v, ctx, t)
                    });
                }
            }
            (Content::Unknown(schema), true) => {
                println!(
                    "conformance: {}: schema {schema:?} unknown, skipped",
                    file.name
                );
                continue;
            }
            _ => continue,
        }
        let checks = if decode {
            let codec = if cfg!(feature = "codec") {
                ""
            } else {
                " [feature codec off]"
            };
            format!(
                "core + every prefix {}, datagram {}, codec {} ({} runs){codec}",
                tally.core_split, tally.datagrams, tally.stream, tally.stream_runs
            )
        } else {
            format!("{} encoded, {} refused", tally.encoded, tally.refused)
        };
        println!(
            "conformance: {}: {} vectors ({:?}); {checks}",
            file.name, tally.vectors, tally.sources
        );
        all.vectors += tally.vectors;
        for (source, n) in tally.sources {
            *all.sources.entry(source).or_default() += n;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing vector(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    all
}

#[test]
fn decode_vectors() {
    let tally = run_files(true);
    assert!(tally.vectors >= 80, "only {} decode vectors", tally.vectors);
    let nginx = tally.sources.get(&Source::Nginx).copied().unwrap_or(0);
    assert!(
        nginx >= 15,
        "only {nginx} nginx captures (at least 15 wanted)"
    );
}

#[test]
fn encoder_vectors() {
    let tally = run_files(false);
    assert!(tally.vectors > 0, "no encoder vectors found");
}

// ---------------------------------------------------------------------------------------------
// §11 coverage
// ---------------------------------------------------------------------------------------------

/// §11 cases that no vector can pin, and the Rust test that does (file, test name).
const RUST_ONLY: [(&str, &str, &str); 1] = [(
    "case 50",
    "codec.rs",
    "case_50_raw_http_replies_pass_through_byte_for_byte",
)];

/// The §11 case a vector's source cites (`§11 case 9`, `§11 P19`), if any.
fn cited_case(source: &str) -> Option<String> {
    let (_, rest) = source.split_once("§11 ")?;
    let case = rest.split([',', ';']).next()?.trim();
    Some(case.to_owned())
}

#[test]
fn every_section_11_case_has_a_vector_or_a_rust_test() {
    let mut cited = std::collections::BTreeSet::new();
    for file in common::vector_files() {
        let sources: Vec<&str> = match &file.content {
            Content::Decode(vectors) => vectors.iter().map(|v| v.label.source.as_str()).collect(),
            Content::Encode(vectors) => vectors.iter().map(|v| v.label.source.as_str()).collect(),
            Content::Unknown(_) => Vec::new(),
        };
        cited.extend(sources.into_iter().filter_map(cited_case));
    }
    let files = [
        ("codec.rs", include_str!("codec.rs")),
        ("spec_cases.rs", include_str!("spec_cases.rs")),
    ];
    let cases = (1..=50).map(|n| format!("case {n}"));
    let preambles = (1..=22).map(|n| format!("P{n}"));
    let mut uncovered = Vec::new();
    for case in cases.chain(preambles) {
        if cited.contains(&case) {
            continue;
        }
        let test = RUST_ONLY.iter().find(|(c, ..)| *c == case);
        let found = test.is_some_and(|(_, file, name)| {
            let text = files
                .iter()
                .find(|(f, _)| f == file)
                .map_or("", |(_, text)| text);
            text.contains(&format!("fn {name}("))
        });
        if !found {
            uncovered.push(case);
        }
    }
    assert!(
        uncovered.is_empty(),
        "§11 cases without a vector or a test: {uncovered:?}"
    );
    for (case, ..) in RUST_ONLY {
        assert!(
            !cited.contains(case),
            "{case} has a vector now: drop it from RUST_ONLY"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The loader itself
// ---------------------------------------------------------------------------------------------

#[test]
fn hex_data_forms() {
    use serde_json::json;
    let data = |value| loader::hex_data(&value);
    assert_eq!(data(json!("")), Ok(vec![]));
    assert_eq!(data(json!("00ff7A")), Ok(vec![0x00, 0xff, 0x7a]));
    let compact = json!(["0a", {"repeat": "78", "count": 3}, "0b"]);
    assert_eq!(data(compact), Ok(b"\x0axxx\x0b".to_vec()));
    assert_eq!(
        data(json!({"repeat": "ab01", "count": 2})),
        Ok(vec![0xab, 1, 0xab, 1])
    );
    assert!(data(json!("abc")).is_err(), "an odd number of digits");
    assert!(data(json!("zz")).is_err(), "not hex");
    assert!(
        data(json!({"repeat": "", "count": 2})).is_err(),
        "an empty unit"
    );
    assert!(
        data(json!({"repeat": "00", "count": 2, "x": 1})).is_err(),
        "an unknown field"
    );
}

/// A decode file holding `vector`.
fn one_vector_file(vector: serde_json::Value) -> String {
    serde_json::json!({"description": "t", "vectors": [vector]}).to_string()
}

#[test]
fn loader_refuses_unknown_fields_and_skips_unknown_schemas() {
    let good = serde_json::json!({
        "name": "t", "description": "d", "source": "spec §4",
        "wire_hex": "00000000",
        "expect": {"packet": {"modifier1": 0, "datasize": 0, "modifier2": 0,
                   "block_kind": "vars", "vars": [], "body_len": 0, "after_hex": ""}}
    });
    assert!(loader::parse_file("t.json", &one_vector_file(good.clone())).is_ok());
    let mut misspelt = good.clone();
    misspelt["expect"]["packet"]["body_length"] = 0.into();
    let err = loader::parse_file("t.json", &one_vector_file(misspelt)).unwrap_err();
    assert!(err.contains("body_length"), "{err}");
    let mut bad_error = good;
    bad_error["expect"] = serde_json::json!({"error": {"kind": "EmptyKey", "offset": 4, "len": 1}});
    let err = loader::parse_file("t.json", &one_vector_file(bad_error)).unwrap_err();
    assert!(err.contains("EmptyKey"), "{err}");
    let future = r#"{"schema": "uwsgi-vectors/decode/2", "whatever": 1}"#;
    let file = loader::parse_file("f.json", future).expect("an unknown schema is skipped");
    assert!(matches!(file.content, Content::Unknown(ref s) if s == "uwsgi-vectors/decode/2"));
}

#[test]
fn derived_frames_follow_the_readme() {
    let packet = PacketSpec {
        modifier1: 0,
        datasize: 0,
        modifier2: 0,
        block: BlockSpec::Vars(Vec::new()),
        body_len: Some(3),
    };
    let label = Label {
        name: "t".into(),
        description: "t".into(),
        source: "spec §3".into(),
    };
    let vector = |after: &[u8]| DecodeVector {
        label: label.clone(),
        wire: Hex([&[0, 0, 0, 0][..], after].concat()),
        options: Options::default(),
        expect: Expect::Packet {
            packet: packet.clone(),
            after: Hex::from(after),
        },
    };
    assert_eq!(
        vector(b"abcde").frames(),
        [
            Frame::Packet(packet.clone()),
            Frame::Body(Hex::from(&b"abc"[..])),
            Frame::End,
            Frame::Trailing(Hex::from(&b"de"[..])),
        ]
    );
    let truncated = ErrorSpec::new("TruncatedBody", None)
        .int("expected", 3)
        .int("received", 1);
    assert_eq!(
        vector(b"a").frames(),
        [
            Frame::Packet(packet.clone()),
            Frame::Body(Hex::from(&b"a"[..])),
            Frame::Error(truncated),
        ]
    );
    assert!(!vector(b"a").well_formed());
    assert_eq!(
        vector(b"abc").missing(2),
        2,
        "missing counts header bytes first"
    );
    assert_eq!(
        vector(b"abc").missing(4),
        0,
        "then datasize 0: the packet is whole"
    );
}
