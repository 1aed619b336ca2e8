//! The tokio-util codecs through the public API (PROTOCOL.md §2.5, §4, §5 C1 to C9, §11 cases
//! 8, 21, 32 to 36, 40 to 45, 50 and S1 to S3).
//!
//! `Decoder` / `Encoder` are called directly on `BytesMut`, the way `Framed` calls them
//! (`tests/common/codec.rs`); two tests go through `Framed` over `tokio::io::duplex`. Errors
//! are compared exactly, as a `Fault`.

#![cfg(feature = "codec")]

mod common;

use bytes::{Bytes, BytesMut};
use common::codec::{Fault, body, decode_all, drain, feed, merged};
use common::{BASE, cuttings, kv, owned_packet, packet, request, request_with_body};
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Decoder, Encoder, Framed};
use uwsgi_codec::codec::{
    ClientCodec, ClientFrame, ClientMessage, RpcReply, ServerCodec, ServerFrame,
};
use uwsgi_codec::{
    ContentLengthFault, EMPTY_PAIR, Error, Field, ForeignProtocol, MagicPolicy, Modifier1,
    PacketBuilder, Parser,
};

/// The `(modifier1, modifier2)` of a `ClientFrame::Packet`.
fn modifiers(frame: &ClientFrame) -> (Modifier1, u8) {
    match frame {
        ClientFrame::Packet(packet) => (packet.modifier1(), packet.modifier2()),
        other => panic!("expected a packet, got {other:?}"),
    }
}

/// Every `Body` byte of client frames, in order.
fn client_body(frames: &[ClientFrame]) -> Vec<u8> {
    let chunks = frames.iter().filter_map(|frame| match frame {
        ClientFrame::Body(chunk) => Some(&chunk[..]),
        _ => None,
    });
    chunks.collect::<Vec<_>>().concat()
}

/// A client codec and the bytes it has written.
struct Client {
    codec: ClientCodec,
    out: BytesMut,
}

impl Client {
    fn new() -> Self {
        let (codec, out) = (ClientCodec::new(), BytesMut::new());
        Client { codec, out }
    }

    /// A client that has sent `builder`, so that it expects that packet's reply.
    fn after(builder: &PacketBuilder<'_>) -> Self {
        let mut client = Client::new();
        client.packet(builder).expect("sent");
        client
    }

    /// Encodes `ClientMessage::Packet(builder)`.
    fn packet(&mut self, builder: &PacketBuilder<'_>) -> Result<(), Fault> {
        let message = ClientMessage::Packet(builder);
        self.codec
            .encode(message, &mut self.out)
            .map_err(Fault::from)
    }

    /// Encodes `ClientMessage::Body(bytes)`.
    fn body(&mut self, bytes: &'static [u8]) -> Result<(), Fault> {
        let message = ClientMessage::Body(Bytes::from_static(bytes));
        self.codec
            .encode(message, &mut self.out)
            .map_err(Fault::from)
    }
}

// ---------------------------------------------------------------------------------------------
// Server: body framing (§5)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_32_eof_inside_the_body_is_truncated_body() {
    let head = request(&[(b"CONTENT_LENGTH", b"10")]);
    let wire = [&head[..], b"abc"].concat();
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&wire[..]);
    let frames = drain(&mut codec, &mut src).expect("head and 3 body bytes");
    assert_eq!(
        frames,
        [ServerFrame::Packet(owned_packet(&head)), body(b"abc")]
    );
    let err = codec.decode_eof(&mut src).map_err(Fault::from);
    assert_eq!(
        err,
        Err(Fault::TruncatedBody {
            expected: 10,
            received: 3
        })
    );
}

#[test]
fn case_33_packet_body_and_end_from_one_segment() {
    let (head, wire) = request_with_body(b"hello");
    let frames = decode_all(&mut ServerCodec::new(), &wire).expect("a valid request");
    let packet = owned_packet(&head);
    assert_eq!(
        frames,
        [
            ServerFrame::Packet(packet.clone()),
            body(b"hello"),
            ServerFrame::End
        ]
    );
    assert_eq!(
        packet.get_bytes("CONTENT_LENGTH").as_deref(),
        Some(&b"5"[..])
    );
    assert_eq!(packet.get_bytes("PATH_INFO").as_deref(), Some(&b"/"[..]));
    assert_eq!(packet.body_len(), Ok(5));
}

#[test]
fn case_34_one_request_mode_reports_the_rest_without_parsing_it() {
    let (head, first) = request_with_body(b"hello");
    let (_, second) = request_with_body(b"world");
    // A second request, then bytes that would be a ForeignProtocol error if they were parsed.
    let rest = [&second[..], b"GET / HTTP/1.1\r\n"].concat();
    let wire = [&first[..], &rest[..]].concat();

    let frames = decode_all(&mut ServerCodec::new(), &wire).expect("the rest is never parsed");
    assert_eq!(
        frames,
        [
            ServerFrame::Packet(owned_packet(&head)),
            body(b"hello"),
            ServerFrame::End,
            ServerFrame::Trailing(rest.clone().into()),
        ]
    );

    // Trailing bytes that arrive later are reported as they come; EOF is then a clean end.
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&first[..]);
    assert_eq!(drain(&mut codec, &mut src).expect("first request").len(), 3);
    assert_eq!(codec.decode(&mut src).map_err(Fault::from), Ok(None));
    src.extend_from_slice(&rest[..10]);
    assert_eq!(
        drain(&mut codec, &mut src),
        Ok(vec![ServerFrame::Trailing(Bytes::copy_from_slice(
            &rest[..10]
        ))])
    );
    src.extend_from_slice(&rest[10..]);
    let trailing = ServerFrame::Trailing(Bytes::copy_from_slice(&rest[10..]));
    assert_eq!(
        codec.decode_eof(&mut src).map_err(Fault::from),
        Ok(Some(trailing))
    );
    assert_eq!(
        codec.decode_eof(&mut src).map_err(Fault::from),
        Ok(None),
        "a clean end"
    );
}

#[test]
fn case_34_persistent_mode_decodes_the_next_packet_after_the_body() {
    let (head1, first) = request_with_body(b"hello");
    let (head2, second) = request_with_body(b"world");
    let wire = [&first[..], &second[..]].concat();
    let mut codec = ServerCodec::new().with_persistent(true);
    assert!(codec.is_persistent());
    let frames = decode_all(&mut codec, &wire).expect("two requests");
    assert_eq!(
        frames,
        [
            ServerFrame::Packet(owned_packet(&head1)),
            body(b"hello"),
            ServerFrame::End,
            ServerFrame::Packet(owned_packet(&head2)),
            body(b"world"),
            ServerFrame::End,
        ]
    );
}

#[test]
fn case_35_chunked_transfer_encoding_is_framed_by_content_length() {
    let head = request(&[
        (b"HTTP_TRANSFER_ENCODING", b"chunked"),
        (b"CONTENT_LENGTH", b"6"),
    ]);
    // A body that looks chunked is not de-chunked; what follows the 6 bytes is not body.
    let wire = [&head[..], b"abcdef", b"0\r\n\r\n"].concat();
    let frames = decode_all(&mut ServerCodec::new(), &wire).expect("a valid request");
    assert_eq!(
        frames,
        [
            ServerFrame::Packet(owned_packet(&head)),
            body(b"abcdef"),
            ServerFrame::End,
            ServerFrame::Trailing(Bytes::from_static(b"0\r\n\r\n")),
        ]
    );
}

#[test]
fn case_36_http_content_length_is_never_used_for_framing() {
    let body11 = b"hello world";
    for http in [&b"11"[..], b"5", b"99999", b"junk"] {
        let head = request(&[(b"CONTENT_LENGTH", b"11"), (b"HTTP_CONTENT_LENGTH", http)]);
        let wire = [&head[..], body11].concat();
        let frames = decode_all(&mut ServerCodec::new(), &wire).expect("framed by CONTENT_LENGTH");
        assert_eq!(
            frames,
            [
                ServerFrame::Packet(owned_packet(&head)),
                body(body11),
                ServerFrame::End
            ],
            "HTTP_CONTENT_LENGTH {http:?}"
        );
    }
    // HTTP_CONTENT_LENGTH alone frames nothing: body 0, and the bytes after are trailing.
    let head = request(&[(b"HTTP_CONTENT_LENGTH", b"5")]);
    let wire = [&head[..], b"hello"].concat();
    let frames = decode_all(&mut ServerCodec::new(), &wire).expect("body 0");
    assert_eq!(
        frames,
        [
            ServerFrame::Packet(owned_packet(&head)),
            ServerFrame::End,
            ServerFrame::Trailing(Bytes::from_static(b"hello")),
        ]
    );
}

#[test]
fn case_21_conflicting_content_length_fails_the_codec() {
    let head = request(&[(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")]);
    let wire = [&head[..], b"hello"].concat();
    // The packet itself is well-formed ...
    assert!(Parser::new().parse(&wire).is_ok_and(|s| s.is_complete()));
    // ... but it has two framings.
    let conflict = Error::ConflictingContentLength {
        first: 2,
        second: 5,
        offset: 85,
    };
    for persistent in [false, true] {
        let got = decode_all(&mut ServerCodec::new().with_persistent(persistent), &wire);
        assert_eq!(
            got,
            Err(Fault::Packet(conflict.clone())),
            "persistent {persistent}"
        );
    }
}

/// Keys of `CONTENT_LENGTH`'s length and first byte, which the decoder's walk notes as
/// candidates: any number of them, before or after the real one, inside or past the walk's
/// 32-pair index, frame the body as the packet's own `body_len` does.
#[test]
fn look_alike_keys_never_change_the_codec_framing() {
    let look_alikes: Vec<[u8; 14]> = (b'A'..=b'F')
        .map(|last| {
            let mut key = *b"CONTENT_LENGTH";
            key[13] = last;
            key
        })
        .collect();
    let fillers: Vec<[u8; 3]> = (0..32)
        .map(|i| [b'F', b'0' + i / 10, b'0' + i % 10])
        .collect();
    for decoys in 0..=look_alikes.len() {
        for (real_first, filled) in [(false, false), (true, false), (false, true), (true, true)] {
            let filler = if filled { &fillers[..] } else { &[] };
            let mut vars: Vec<(&[u8], &[u8])> = filler.iter().map(|k| (&k[..], &b""[..])).collect();
            vars.extend(look_alikes[..decoys].iter().map(|k| (&k[..], &b"9"[..])));
            let at = if real_first { filler.len() } else { vars.len() };
            vars.insert(at, (b"CONTENT_LENGTH", b"3"));
            vars.push((b"REQUEST_METHOD", b"POST"));
            let head = request(&vars);
            let wire = [&head[..], b"abc"].concat();
            let what =
                format!("{decoys} look-alikes, real key first {real_first}, filled {filled}");
            assert_eq!(owned_packet(&head).body_len(), Ok(3), "{what}");
            let got = decode_all(&mut ServerCodec::new(), &wire);
            let want = [
                ServerFrame::Packet(owned_packet(&head)),
                ServerFrame::Body(Bytes::from_static(b"abc")),
                ServerFrame::End,
            ];
            assert_eq!(got, Ok(want.to_vec()), "{what}");
        }
    }
}

#[test]
fn case_29_invalid_content_length_fails_the_codec_before_any_body_byte() {
    // `5abc`, the value starting at offset 84.
    let head = request(&[(b"CONTENT_LENGTH", b"5abc")]);
    let mut src = BytesMut::from(&[&head[..], b"hello"].concat()[..]);
    let got = ServerCodec::new().decode(&mut src).map_err(Fault::from);
    let err = Error::InvalidContentLength {
        offset: 85,
        reason: ContentLengthFault::NotDigit,
    };
    assert_eq!(got, Err(Fault::Packet(err)));
}

#[test]
fn nginx_post_capture_is_packet_body_end() {
    let wire = include_bytes!("captures/nginx-post.bin");
    let frames = decode_all(&mut ServerCodec::new(), wire).expect("a real nginx request");
    assert_eq!(frames.len(), 3, "{frames:?}");
    let ServerFrame::Packet(packet) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(packet.vars().map(|vars| vars.len()), Some(19));
    assert_eq!(
        packet.get_bytes("REQUEST_METHOD").as_deref(),
        Some(&b"POST"[..])
    );
    assert_eq!(packet.wire_len(), wire.len() - 5);
    assert_eq!(frames[1..], [body(b"hello"), ServerFrame::End]);

    let wire = include_bytes!("captures/nginx-get.bin");
    let frames = decode_all(&mut ServerCodec::new(), wire).expect("a real nginx request");
    assert_eq!(
        frames,
        [ServerFrame::Packet(owned_packet(wire)), ServerFrame::End]
    );
}

// ---------------------------------------------------------------------------------------------
// Server: one byte per decode call
// ---------------------------------------------------------------------------------------------

#[test]
fn a_packet_fed_one_byte_per_decode_call_gives_the_one_shot_frames() {
    // The decoder keeps the header it has read between calls; the packet must come out the
    // same, with its last byte, never earlier.
    let (_, post) = request_with_body(b"hello");
    let streams: [(&str, &[u8]); 5] = [
        ("a request with a body", &post),
        ("nginx POST", include_bytes!("captures/nginx-post.bin")),
        ("nginx GET", include_bytes!("captures/nginx-get.bin")),
        ("a ping", &[0x64, 0, 0, 0]),
        (
            "an RPC call",
            b"\xad\x0d\x00\x00\x05\x00hello\x01\x00a\x01\x00b",
        ),
    ];
    for (what, wire) in streams {
        let one_shot = decode_all(&mut ServerCodec::new(), wire).expect("a valid packet");
        let mut codec = ServerCodec::new();
        let mut src = BytesMut::new();
        let mut frames = Vec::new();
        for (i, byte) in wire.iter().enumerate() {
            src.extend_from_slice(&[*byte]);
            let got = drain(&mut codec, &mut src).expect("a valid packet");
            let packet_at = got.iter().any(|f| matches!(f, ServerFrame::Packet(_)));
            let head_len = 4 + common::datasize_of(wire);
            assert_eq!(
                packet_at,
                i + 1 == head_len,
                "{what}: the packet after {} bytes",
                i + 1
            );
            frames.extend(got);
        }
        while let Some(frame) = codec.decode_eof(&mut src).expect("a clean end") {
            frames.push(frame);
        }
        assert_eq!(merged(frames), merged(one_shot), "{what}");
    }
}

// ---------------------------------------------------------------------------------------------
// Server: end of input (H7, C7)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_8_eof_inside_the_block_is_unexpected_eof() {
    // H(0,72,0) BASE: 10 bytes of the block never arrive.
    let wire = [&[0x00, 72, 0x00, 0x00][..], BASE].concat();
    assert_eq!(wire.len(), 66);
    let eof = Error::UnexpectedEof {
        offset: 66,
        needed: 10,
    };
    assert_eq!(
        decode_all(&mut ServerCodec::new(), &wire),
        Err(Fault::Packet(eof))
    );
}

#[test]
fn h7_eof_at_every_point_of_a_packet() {
    let (head, _) = request_with_body(b"");
    assert_eq!(
        decode_all(&mut ServerCodec::new(), &[]),
        Ok(vec![]),
        "0 bytes: a clean end"
    );
    for len in 1..head.len() {
        let got = decode_all(&mut ServerCodec::new(), &head[..len]);
        let needed = common::missing(&head, len);
        let eof = Error::UnexpectedEof {
            offset: len,
            needed,
        };
        assert_eq!(got, Err(Fault::Packet(eof)), "EOF after {len} bytes");
    }
}

#[test]
fn h7_persistent_mode_ends_cleanly_only_between_messages() {
    let (head, first) = request_with_body(b"hello");
    let (_, second) = request_with_body(b"world");
    let frames = decode_all(&mut ServerCodec::new().with_persistent(true), &first);
    let whole = vec![
        ServerFrame::Packet(owned_packet(&head)),
        body(b"hello"),
        ServerFrame::End,
    ];
    assert_eq!(frames, Ok(whole), "EOF after a whole message");
    // EOF 2 bytes into the second packet's header; offsets count from that packet.
    let wire = [&first[..], &second[..2]].concat();
    let got = decode_all(&mut ServerCodec::new().with_persistent(true), &wire);
    let eof = Error::UnexpectedEof {
        offset: 2,
        needed: 2,
    };
    assert_eq!(got, Err(Fault::Packet(eof)));
    // EOF inside the second packet's block.
    let wire = [&first[..], &second[..10]].concat();
    let got = decode_all(&mut ServerCodec::new().with_persistent(true), &wire);
    let eof = Error::UnexpectedEof {
        offset: 10,
        needed: second.len() - 5 - 10,
    };
    assert_eq!(got, Err(Fault::Packet(eof)));
}

// ---------------------------------------------------------------------------------------------
// Server: limits and foreign protocols (H2, H3, C9)
// ---------------------------------------------------------------------------------------------

#[test]
fn h3_datasize_over_the_limit_fails_after_four_bytes_without_buffering() {
    let mut codec = ServerCodec::with_parser(Parser::new().with_max_datasize(4096));
    assert_eq!(codec.parser().max_datasize(), 4096);
    let header = [0x00, 0x01, 0x10, 0x00]; // datasize 4097
    let mut src = BytesMut::new();
    for (i, byte) in header.iter().enumerate() {
        src.extend_from_slice(&[*byte]);
        let result = codec.decode(&mut src).map_err(Fault::from);
        assert!(
            src.capacity() <= 64,
            "capacity {} after {} bytes",
            src.capacity(),
            i + 1
        );
        if i < 3 {
            assert_eq!(result, Ok(None), "header incomplete");
        } else {
            let too_large = Error::TooLarge {
                len: 4097,
                max: 4096,
            };
            assert_eq!(result, Err(Fault::Packet(too_large)));
        }
    }

    // Exactly at the limit: accepted, and the codec waits for the block.
    let mut codec = ServerCodec::with_parser(Parser::new().with_max_datasize(4096));
    let mut src = BytesMut::from(&[0x00, 0x00, 0x10, 0x00][..]);
    assert_eq!(
        codec.decode(&mut src).map_err(Fault::from),
        Ok(None),
        "datasize == limit"
    );

    // The whole over-limit packet already buffered fails the same way (case 4).
    let block = [BASE, &kv(b"PAD", &[b'x'; 4028])].concat();
    let wire = packet(0, 0, &block);
    assert_eq!(wire.len(), 4 + 4097);
    let mut codec = ServerCodec::with_parser(Parser::new().with_max_datasize(4096));
    let too_large = Error::TooLarge {
        len: 4097,
        max: 4096,
    };
    assert_eq!(decode_all(&mut codec, &wire), Err(Fault::Packet(too_large)));
}

#[test]
fn c9_body_over_the_limit_fails_before_any_body_byte() {
    let head = request(&[(b"CONTENT_LENGTH", b"5")]);
    let mut codec = ServerCodec::new().with_max_body(Some(4));
    assert_eq!(codec.max_body(), Some(4));
    let mut src = BytesMut::from(&head[..]);
    let got = codec.decode(&mut src).map_err(Fault::from);
    assert_eq!(got, Err(Fault::BodyTooLarge { len: 5, max: 4 }));

    // With the body already buffered: still refused before any Body frame.
    let wire = [&head[..], b"hello"].concat();
    let got = decode_all(&mut ServerCodec::new().with_max_body(Some(4)), &wire);
    assert_eq!(got, Err(Fault::BodyTooLarge { len: 5, max: 4 }));

    // At the limit: accepted.
    let (head, wire) = request_with_body(b"abcd");
    let frames = decode_all(&mut ServerCodec::new().with_max_body(Some(4)), &wire);
    let whole = vec![
        ServerFrame::Packet(owned_packet(&head)),
        body(b"abcd"),
        ServerFrame::End,
    ];
    assert_eq!(frames, Ok(whole));
}

#[test]
fn c9_max_body_none_sets_no_limit() {
    assert_eq!(ServerCodec::new().max_body(), None, "no limit by default");
    let codec = ServerCodec::new()
        .with_max_body(Some(4))
        .with_max_body(None);
    assert_eq!(codec.max_body(), None);
    // The largest body there is: the packet comes out, then body bytes until the input ends.
    let head = request(&[(b"CONTENT_LENGTH", b"18446744073709551615")]);
    let mut codec = ServerCodec::new()
        .with_max_body(Some(4))
        .with_max_body(None);
    let run = common::codec::run(&mut codec, [&head[..], b"ab"]);
    let packet = ServerFrame::Packet(owned_packet(&head));
    assert_eq!(run.frames, [packet, body(b"ab")]);
    let stop = run.stop.map(|stop| stop.fault);
    assert_eq!(
        stop,
        Some(Fault::TruncatedBody {
            expected: u64::MAX,
            received: 2
        })
    );
}

#[test]
fn foreign_protocol_is_refused_at_the_fourth_byte() {
    let wire = b"GET / HTTP/1.1\r\n";
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::new();
    for (i, byte) in wire[..4].iter().enumerate() {
        src.extend_from_slice(&[*byte]);
        let result = codec.decode(&mut src).map_err(Fault::from);
        if i < 3 {
            assert_eq!(result, Ok(None), "{} bytes prove nothing", i + 1);
        } else {
            let foreign = Error::ForeignProtocol {
                protocol: ForeignProtocol::HttpRequest,
                modifier1: 71,
                datasize: 21573,
            };
            assert_eq!(result, Err(Fault::Packet(foreign)));
        }
    }

    // P20: with the check off, the server waits for a 21573-byte block that never comes.
    let parser = Parser::new().with_foreign_check(false);
    let got = decode_all(&mut ServerCodec::with_parser(parser), wire);
    let eof = Error::UnexpectedEof {
        offset: 16,
        needed: 21561,
    };
    assert_eq!(got, Err(Fault::Packet(eof)));
}

// ---------------------------------------------------------------------------------------------
// Server: the body is never a header (C6)
// ---------------------------------------------------------------------------------------------

#[test]
fn c6_body_bytes_are_never_parsed_as_a_header() {
    let (inner_head, inner) = request_with_body(b"smuggled");
    let bodies: [&[u8]; 4] = [
        &inner,                    // a whole uwsgi request
        &[0x64, 0x00, 0x00, 0x00], // a ping
        b"GET / HTTP/1.1\r\n\r\n", // a foreign protocol
        &[0x00, 0xff, 0xff, 0x00], // a header over any limit
    ];
    for payload in bodies {
        let (head, wire) = request_with_body(payload);
        let (next_head, next) = request_with_body(b"next");
        let stream = [&wire[..], &next[..]].concat();
        let parser = Parser::new().with_max_datasize(1024);
        let mut codec = ServerCodec::with_parser(parser).with_persistent(true);
        // One byte at a time, so that the body starts at a fresh decode call every time.
        let frames = feed(&mut codec, stream.chunks(1)).expect("bodies are opaque");
        let expected = [
            ServerFrame::Packet(owned_packet(&head)),
            ServerFrame::Body(Bytes::copy_from_slice(payload)),
            ServerFrame::End,
            ServerFrame::Packet(owned_packet(&next_head)),
            body(b"next"),
            ServerFrame::End,
        ];
        assert_eq!(merged(frames), expected, "body {payload:02x?}");
    }
    // The smuggled request really is a request when it is not inside a body.
    let frames = decode_all(&mut ServerCodec::new(), &inner).expect("valid");
    assert_eq!(frames[0], ServerFrame::Packet(owned_packet(&inner_head)));
}

// ---------------------------------------------------------------------------------------------
// Server: heads read in place (`peek_pairs`)
// ---------------------------------------------------------------------------------------------

#[test]
fn peek_pairs_reads_the_head_in_place_and_decode_then_yields_its_body() {
    let (head, wire) = request_with_body(b"hello");
    let stream = [&wire[..], b"after"].concat();
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&stream[..]);
    let mut storage = [EMPTY_PAIR; 32];
    let peeked = codec.peek_pairs(&src, &mut storage).expect("valid");
    let peeked = peeked.expect("a whole head");
    assert_eq!(peeked.as_bytes(), &head[..]);
    let owned = owned_packet(&head);
    assert_eq!(peeked.pairs(), owned.pairs().collect::<Vec<_>>());
    assert_eq!(src.len(), stream.len(), "the head stays in the buffer");

    // Until its body has been decoded, there is no next head to peek; `decode` removes the
    // head and yields the body.
    let mut again = [EMPTY_PAIR; 32];
    let next = codec.peek_pairs(&src, &mut again).map_err(Fault::from);
    assert_eq!(next.map(|head| head.is_some()), Ok(false));
    let frames = drain(&mut codec, &mut src).expect("valid");
    let rest = ServerFrame::Trailing(Bytes::from_static(b"after"));
    assert_eq!(frames, [body(b"hello"), ServerFrame::End, rest]);

    // One-request mode: after the request there is no head to peek.
    src.extend_from_slice(&head);
    let mut storage = [EMPTY_PAIR; 32];
    assert_eq!(
        codec.peek_pairs(&src, &mut storage).map_err(Fault::from),
        Ok(None)
    );
}

#[test]
fn peek_pairs_reads_every_head_of_a_read_with_one_storage() {
    let get = request(&[(b"CONTENT_LENGTH", b"")]);
    let (post, post_wire) = request_with_body(b"hello");
    let stream = [&get[..], &get, &post_wire, &get].concat();
    let mut codec = ServerCodec::new().with_persistent(true);
    let mut src = BytesMut::from(&stream[..]);
    let mut heads = Vec::new();
    {
        let mut storage = [EMPTY_PAIR; 32];
        while let Some(head) = codec.peek_pairs(&src, &mut storage).expect("valid") {
            heads.push((head.as_bytes().to_vec(), head.body_len().expect("valid")));
        }
    }
    // The two heads without a body, then the one with a body: its body comes first.
    let expected = [(get.clone(), 0), (get.clone(), 0), (post, 5)];
    assert_eq!(heads, expected);
    let frames = drain(&mut codec, &mut src).expect("valid");
    let after = ServerFrame::Packet(owned_packet(&get));
    assert_eq!(
        frames,
        [body(b"hello"), ServerFrame::End, after, ServerFrame::End]
    );
    assert!(src.is_empty());

    // One-request mode: the head after a whole message is never read; `decode` ends the
    // message and hands the rest back unparsed.
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&stream[..]);
    let mut storage = [EMPTY_PAIR; 32];
    let first = codec.peek_pairs(&src, &mut storage).expect("valid");
    assert_eq!(first.map(|head| head.as_bytes()), Some(&get[..]));
    let next = codec.peek_pairs(&src, &mut storage).map_err(Fault::from);
    assert_eq!(next.map(|head| head.is_some()), Ok(false));
    let frames = drain(&mut codec, &mut src).expect("valid");
    let rest = Bytes::copy_from_slice(&stream[get.len()..]);
    assert_eq!(frames, [ServerFrame::End, ServerFrame::Trailing(rest)]);
}

#[test]
fn peek_pairs_never_reads_a_body_or_half_a_head() {
    let (inner_head, inner) = request_with_body(b"smuggled");
    let (head, wire) = request_with_body(&inner);
    let parser = Parser::new().with_max_datasize(1024);
    let mut codec = ServerCodec::with_parser(parser).with_persistent(true);
    let mut src = BytesMut::new();
    let mut frames = Vec::new();
    // One byte at a time: a peek at every read, as a server on a slow connection makes.
    for byte in wire.chunks(1) {
        src.extend_from_slice(byte);
        let mut storage = [EMPTY_PAIR; 32];
        if let Some(peeked) = codec.peek_pairs(&src, &mut storage).expect("valid") {
            assert_eq!(
                peeked.as_bytes(),
                &head[..],
                "only the outer head, once whole"
            );
            frames.push(ServerFrame::Packet(owned_packet(peeked.as_bytes())));
        }
        frames.extend(drain(&mut codec, &mut src).expect("valid"));
    }
    let expected = [
        ServerFrame::Packet(owned_packet(&head)),
        ServerFrame::Body(Bytes::copy_from_slice(&inner)),
        ServerFrame::End,
    ];
    assert_eq!(merged(frames), expected);
    // The body was a whole request: peeked where a head belongs, it is one.
    let src = BytesMut::from(&inner[..]);
    let mut storage = [EMPTY_PAIR; 32];
    let peeked = ServerCodec::new()
        .peek_pairs(&src, &mut storage)
        .expect("valid");
    assert_eq!(peeked.map(|p| p.as_bytes()), Some(&inner_head[..]));
}

#[test]
fn peek_pairs_applies_the_codec_limits_and_the_storage_limit() {
    let head = request(&[(b"CONTENT_LENGTH", b"5")]);
    let mut storage = [EMPTY_PAIR; 32];
    let mut codec = ServerCodec::new().with_max_body(Some(4));
    let got = codec.peek_pairs(&head, &mut storage).map_err(Fault::from);
    assert_eq!(got, Err(Fault::BodyTooLarge { len: 5, max: 4 }));

    let parser = Parser::new().with_max_datasize(8);
    let got = ServerCodec::with_parser(parser).peek_pairs(&head, &mut storage);
    let len = common::datasize_of(&head);
    assert_eq!(
        got.map_err(Fault::from),
        Err(Fault::Packet(Error::TooLarge { len, max: 8 }))
    );

    // H(0,12,0) kv("A","1") kv("B","2"), into storage for one pair.
    let wire = b"\x00\x0c\x00\x00\x01\x00A\x01\x001\x01\x00B\x01\x002";
    let mut one = [EMPTY_PAIR; 1];
    let got = ServerCodec::new()
        .peek_pairs(wire, &mut one)
        .map_err(Fault::from);
    let too_many = Error::TooManyVars { max: 1, offset: 10 };
    assert_eq!(got, Err(Fault::Packet(too_many)));
    assert_eq!(
        one,
        [EMPTY_PAIR],
        "no pair of a refused block is left in storage"
    );

    // The parser's own rules apply to a peek as to `decode`: the magic policy, the pair limit.
    let magic = [&[0u8, 15, 0, 0][..], &kv(b"UWSGI_FILE", b"x")].concat();
    let refuse = Parser::new().with_magic_policy(MagicPolicy::Refuse);
    let one_pair = Parser::new().with_max_vars(Some(1));
    for (parser, wire) in [(refuse, &magic[..]), (one_pair, &wire[..])] {
        let codec = || ServerCodec::with_parser(parser.clone());
        let peeked = codec().peek_pairs(wire, &mut storage).err();
        let decoded = codec().decode(&mut BytesMut::from(wire)).err();
        let peeked = peeked.map(Fault::from);
        assert!(
            matches!(
                peeked,
                Some(Fault::Packet(
                    Error::MagicVar { .. } | Error::TooManyVars { max: 1, .. }
                ))
            ),
            "{peeked:?}"
        );
        assert_eq!(peeked, decoded.map(Fault::from));
    }

    // A bad length fails the peek, as it fails `decode`.
    let head = request(&[(b"CONTENT_LENGTH", b"5x")]);
    let peeked = ServerCodec::new()
        .peek_pairs(&head, &mut storage)
        .map_err(Fault::from);
    let decoded = ServerCodec::new().decode(&mut BytesMut::from(&head[..]));
    assert!(peeked.is_err());
    assert_eq!(peeked.err(), decoded.map_err(Fault::from).err());
}

/// A peek that fails leaves the codec as it was: a larger storage, or `decode` alone (an owned
/// frame), reads the same head after it. A server peeks into small storage and falls back.
#[test]
fn a_failed_peek_leaves_the_codec_as_it_was() {
    let (first, with_body) = request_with_body(b"hello");
    let second = request(&[(b"PATH_INFO", b"/b")]);
    let mut src = BytesMut::from(&[&with_body[..], &second[..]].concat()[..]);
    let pairs = owned_packet(&first).pairs().count();
    let mut codec = ServerCodec::new().with_persistent(true);

    let max = pairs - 1;
    let mut small = vec![EMPTY_PAIR; max];
    let refused = codec.peek_pairs(&src, &mut small).err().map(Fault::from);
    assert!(
        matches!(refused, Some(Fault::Packet(Error::TooManyVars { max: m, .. })) if m == max),
        "{refused:?}"
    );
    let mut storage = [EMPTY_PAIR; 64];
    let head = codec.peek_pairs(&src, &mut storage).expect("valid");
    let head = head.expect("whole");
    assert_eq!(head.pairs().len(), pairs);
    assert_eq!(head.body_len(), Ok(5));
    assert_eq!(
        codec.decode(&mut src).expect("valid"),
        Some(ServerFrame::Body(Bytes::from_static(b"hello")))
    );
    assert_eq!(
        codec.decode(&mut src).expect("valid"),
        Some(ServerFrame::End)
    );

    let mut none: [(&[u8], &[u8]); 0] = [];
    assert!(codec.peek_pairs(&src, &mut none).is_err());
    match codec.decode(&mut src).expect("valid") {
        Some(ServerFrame::Packet(packet)) => assert_eq!(packet.as_bytes(), &second[..]),
        other => panic!("expected the second head as a frame, got {other:?}"),
    }
    assert_eq!(
        codec.decode(&mut src).expect("valid"),
        Some(ServerFrame::End)
    );
    assert_eq!(codec.decode(&mut src).expect("valid"), None);
}

#[test]
fn a_buffer_cut_after_a_peek_fails_the_next_decode() {
    let (head, wire) = request_with_body(b"hello");
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&wire[..]);
    let mut storage = [EMPTY_PAIR; 32];
    assert!(
        codec
            .peek_pairs(&src, &mut storage)
            .expect("valid")
            .is_some()
    );
    src.truncate(3);
    let got = codec.decode(&mut src).map_err(Fault::from);
    let needed = head.len() - 3;
    let eof = Error::UnexpectedEof { offset: 3, needed };
    assert_eq!(got, Err(Fault::Packet(eof)));
}

// ---------------------------------------------------------------------------------------------
// Server: encoding (§2.5, case 50)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_50_raw_http_replies_pass_through_byte_for_byte() {
    let reply: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    let mut codec = ServerCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(Bytes::from_static(reply), &mut dst)
        .expect("raw bytes");
    assert_eq!(&dst[..], reply);
    // Appended after what is already there; no header is ever prepended.
    codec
        .encode(Bytes::from_static(b"more"), &mut dst)
        .expect("raw bytes");
    assert_eq!(&dst[..], [reply, b"more"].concat());
    // Even bytes that look like a uwsgi header, or nothing at all.
    let mut dst = BytesMut::new();
    codec
        .encode(Bytes::from_static(&[0x64, 0, 0, 1]), &mut dst)
        .expect("raw");
    codec.encode(Bytes::new(), &mut dst).expect("raw");
    assert_eq!(&dst[..], [0x64, 0, 0, 1]);
}

#[test]
fn server_encodes_a_service_reply_that_a_builder_wrote() {
    let mut codec = ServerCodec::new();
    let mut dst = BytesMut::new();
    let pong = PacketBuilder::pong().to_vec().expect("a pong");
    let delivered = PacketBuilder::reply(true)
        .to_vec()
        .expect("a generic reply");
    codec.encode(Bytes::from(pong), &mut dst).expect("a pong");
    codec
        .encode(Bytes::from(delivered), &mut dst)
        .expect("a generic reply");
    assert_eq!(&dst[..], [0x64, 0, 0, 1, 0xff, 0, 0, 1]);
}

#[test]
fn rpc_reply_up_to_65535_bytes_is_one_packet() {
    let reply = |value: &[u8]| RpcReply(value).to_bytes().expect("a reply");
    assert_eq!(&reply(b"a|b")[..], b"\xad\x03\x00\x00a|b"); // case 37's reply
    assert_eq!(&reply(b"")[..], [0xad, 0, 0, 0]);
    let value = vec![b'v'; 65535];
    let bytes = reply(&value);
    assert_eq!(&bytes[..4], [0xad, 0xff, 0xff, 0x00]);
    assert_eq!(&bytes[4..], &value[..]);
    let mut dst = BytesMut::from(&b"x"[..]);
    RpcReply(b"ok").encode(&mut dst).expect("a reply");
    assert_eq!(&dst[..], b"x\xad\x02\x00\x00ok", "encode appends");
}

/// 70000 bytes that are not all alike, so that a misplaced chunk shows.
fn big_value() -> Vec<u8> {
    (0..70000u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn case_40_rpc_reply_over_65535_bytes_is_dict_and_body_and_decodes_back() {
    let value = big_value();
    let reply = RpcReply(&value).to_bytes().expect("a 70000-byte value");
    let dict = kv(b"CONTENT_LENGTH", b"70000");
    assert_eq!(dict.len(), 0x17);
    assert_eq!(&reply[..4], [0xad, 0x17, 0x00, 0x05]);
    assert_eq!(&reply[4..27], &dict[..]);
    assert_eq!(&reply[27..], &value[..]);

    // The client that sent the RPC request reads it back, in socket-sized pieces.
    let args: [&[u8]; 1] = [b"x"];
    let call = PacketBuilder::rpc(b"big", args);
    let mut client = Client::after(&call);
    assert_eq!(&client.out[..], b"\xad\x08\x00\x00\x03\x00big\x01\x00x");
    let frames = feed(&mut client.codec, reply.chunks(4096)).expect("a framed reply");
    assert_eq!(modifiers(&frames[0]), (Modifier1::RPC, 5));
    let ClientFrame::Packet(head) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(head.body_len(), Ok(70000));
    assert!(
        frames.len() > 3,
        "the body came in chunks: {}",
        frames.len()
    );
    let middle = &frames[1..frames.len() - 1];
    assert!(middle.iter().all(|f| matches!(f, ClientFrame::Body(_))));
    assert_eq!(frames.last(), Some(&ClientFrame::End));
    assert_eq!(client_body(&frames), value);

    // The connection closing one byte short of the value (C7).
    let got = decode_all(&mut Client::after(&call).codec, &reply[..reply.len() - 1]);
    let truncated = Fault::TruncatedBody {
        expected: 70000,
        received: 69999,
    };
    assert_eq!(got, Err(truncated));
}

// ---------------------------------------------------------------------------------------------
// Client: what comes back for each request (§2.5)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_41_client_ping_gets_a_pong() {
    let mut client = Client::after(&PacketBuilder::ping());
    assert_eq!(&client.out[..], [0x64, 0, 0, 0]);
    let frames = decode_all(&mut client.codec, &[0x64, 0, 0, 1]).expect("a pong");
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(modifiers(&frames[0]), (Modifier1::PING, 1));
    assert_eq!(frames[1], ClientFrame::End);

    // A pong cut short by the end of input (H7).
    let got = decode_all(&mut Client::after(&PacketBuilder::ping()).codec, &[0x64, 0]);
    let eof = Error::UnexpectedEof {
        offset: 2,
        needed: 2,
    };
    assert_eq!(got, Err(Fault::Packet(eof)));
}

/// A client that sends its next packet while the last reply is unfinished (only its header
/// came) or refused waits for the new reply alone: what it learned of the old one, its length
/// included, is gone, and a shorter reply decodes at once.
#[test]
fn client_next_packet_forgets_an_unfinished_or_refused_reply() {
    let pong = [0x64, 0, 0, 1];
    // A pong that announces 8 bytes, of which only the header came.
    let mut client = Client::after(&PacketBuilder::ping());
    let mut src = BytesMut::from(&[0x64, 8, 0, 1][..]);
    assert_eq!(client.codec.decode(&mut src).map_err(Fault::from), Ok(None));
    client.packet(&PacketBuilder::ping()).expect("sent");
    let frames = decode_all(&mut client.codec, &pong).expect("the new pong");
    assert_eq!(modifiers(&frames[0]), (Modifier1::PING, 1));
    assert_eq!(frames[1..], [ClientFrame::End]);

    // An RPC reply whose block is refused (a 3-byte vars block ends inside a key length).
    let call = PacketBuilder::rpc(b"f", [&b"x"[..]]);
    let mut client = Client::after(&call);
    let refused = decode_all(&mut client.codec, &[0xad, 3, 0, 5, 0xff, 0xff, 0xff]);
    assert!(refused.is_err(), "{refused:?}");
    client.packet(&PacketBuilder::ping()).expect("sent");
    let frames = decode_all(&mut client.codec, &pong).expect("the pong after the error");
    assert_eq!(modifiers(&frames[0]), (Modifier1::PING, 1));
}

#[test]
fn case_42_client_echo_reply_is_raw_never_a_packet() {
    let mut client = Client::after(&PacketBuilder::echo(b"hello-echo"));
    assert_eq!(&client.out[..], b"\x65\x0a\x00\x00hello-echo");
    let frames = decode_all(&mut client.codec, b"hello-echo").expect("raw");
    let raw = ClientFrame::Raw(Bytes::from_static(b"hello-echo"));
    assert_eq!(frames, [raw, ClientFrame::End]);

    // A payload that is itself a packet (a pong, a request) still comes back raw.
    let (_, smuggled) = request_with_body(b"hello");
    for payload in [&[0x64, 0, 0, 1][..], &smuggled] {
        let mut client = Client::after(&PacketBuilder::echo(payload));
        let frames = feed(&mut client.codec, payload.chunks(3)).expect("raw");
        let raw = ClientFrame::Raw(Bytes::copy_from_slice(payload));
        assert_eq!(merged(frames), [raw, ClientFrame::End]);
    }
}

#[test]
fn client_raw_rpc_reply_is_raw() {
    let args: [&[u8]; 0] = [];
    let call = PacketBuilder::rpc(b"hello", args).with_modifier2(1);
    let reply = b"\xad\x03\x00\x00a|b";
    let frames = decode_all(&mut Client::after(&call).codec, reply).expect("raw");
    let raw = ClientFrame::Raw(Bytes::from_static(reply));
    assert_eq!(frames, [raw, ClientFrame::End]);
}

/// A POST head framing a 5-byte body, and the bytes it must be written as.
fn post_head() -> (PacketBuilder<'static>, Vec<u8>) {
    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("REQUEST_METHOD", "POST")
        .var("CONTENT_LENGTH", "")
        .var("PATH_INFO", "/post")
        .with_body_len(5);
    let block = [
        kv(b"REQUEST_METHOD", b"POST"),
        kv(b"CONTENT_LENGTH", b"5"),
        kv(b"PATH_INFO", b"/post"),
    ]
    .concat();
    (head, packet(0, 0, &block))
}

#[test]
fn client_request_body_fills_the_placeholder_and_is_what_a_server_decodes() {
    let (head, expected) = post_head();
    let mut client = Client::after(&head);
    assert_eq!(&client.out[..], &expected[..]);
    client.body(b"he").expect("2 of 5");
    client.body(b"llo").expect("5 of 5");
    assert_eq!(&client.out[..], [&expected[..], b"hello"].concat());
    let frames = decode_all(&mut ServerCodec::new(), &client.out);
    let whole = vec![
        ServerFrame::Packet(owned_packet(&expected)),
        body(b"hello"),
        ServerFrame::End,
    ];
    assert_eq!(frames, Ok(whole));
    // With the body complete, the next packet may go out.
    client.packet(&PacketBuilder::ping()).expect("a ping");
    assert_eq!(&client.out[client.out.len() - 4..], [0x64, 0, 0, 0]);
}

#[test]
fn client_body_beyond_the_framed_length_is_body_mismatch_and_writes_nothing() {
    let (head, expected) = post_head();
    let mismatch = Err(Fault::BodyMismatch {
        expected: 5,
        received: 6,
    });
    let mut client = Client::after(&head);
    client.body(b"hello").expect("5 of 5");
    assert_eq!(client.body(b"!"), mismatch, "a sixth byte");
    assert_eq!(
        &client.out[..],
        [&expected[..], b"hello"].concat(),
        "nothing written"
    );

    // One chunk too big at once is refused whole.
    let mut client = Client::after(&head);
    assert_eq!(client.body(b"hello!"), mismatch, "6 bytes at once");
    assert_eq!(&client.out[..], &expected[..], "nothing written");

    // A body where no packet framed one.
    let mismatch = Err(Fault::BodyMismatch {
        expected: 0,
        received: 1,
    });
    assert_eq!(
        Client::new().body(b"x"),
        mismatch,
        "a body before any packet"
    );
}

#[test]
fn client_new_packet_before_the_body_is_complete_is_body_mismatch() {
    let (head, expected) = post_head();
    let mut client = Client::after(&head);
    client.body(b"hel").expect("3 of 5");
    let got = client.packet(&PacketBuilder::ping());
    assert_eq!(
        got,
        Err(Fault::BodyMismatch {
            expected: 5,
            received: 3
        })
    );
    assert_eq!(
        &client.out[..],
        [&expected[..], b"hel"].concat(),
        "nothing written"
    );
}

#[test]
fn client_raw_http_reply_is_raw_chunks_then_end() {
    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("REQUEST_METHOD", "GET")
        .var("SERVER_PROTOCOL", "HTTP/1.1");
    let mut codec = Client::after(&head).codec;
    let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let mut src = BytesMut::new();
    let mut frames = Vec::new();
    for piece in reply.chunks(7) {
        src.extend_from_slice(piece);
        let got = drain(&mut codec, &mut src).expect("raw");
        assert_eq!(got, [ClientFrame::Raw(Bytes::copy_from_slice(piece))]);
        frames.extend(got);
    }
    let end = codec.decode_eof(&mut src).map_err(Fault::from);
    assert_eq!(end, Ok(Some(ClientFrame::End)));
    assert_eq!(codec.decode_eof(&mut src).map_err(Fault::from), Ok(None));
    assert_eq!(
        merged(frames),
        [ClientFrame::Raw(Bytes::copy_from_slice(reply))]
    );
}

#[test]
fn case_43_client_signal_reply_is_a_packet() {
    let mut client = Client::after(&PacketBuilder::signal(17));
    assert_eq!(&client.out[..], [0x6e, 0, 0, 0x11]);
    let frames = decode_all(&mut client.codec, &[0xff, 0, 0, 1]).expect("delivered");
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(modifiers(&frames[0]), (Modifier1::RESPONSE, 1));
    assert_eq!(frames[1], ClientFrame::End);
}

#[test]
fn case_44_cache_magic_reply_body_is_framed_by_size() {
    let get = PacketBuilder::new(Modifier1::CACHE)
        .with_modifier2(17)
        .var("cmd", "get")
        .var("key", "k1");
    let client = Client::after(&get);
    let expected = packet(111, 17, &[kv(b"cmd", b"get"), kv(b"key", b"k1")].concat());
    assert_eq!(&client.out[..4], [0x6f, 0x13, 0x00, 0x11]);
    assert_eq!(&client.out[..], &expected[..]);

    let dict = [kv(b"status", b"ok"), kv(b"size", b"9")].concat();
    let reply = [&packet(111, 17, &dict)[..], b"value-one"].concat();
    assert_eq!(&reply[..4], [0x6f, 0x15, 0x00, 0x11]);
    for piece in [reply.len(), 5, 1] {
        let mut codec = client.codec.clone();
        let frames = merged(feed(&mut codec, reply.chunks(piece)).expect("a framed reply"));
        assert_eq!(frames.len(), 3, "{frames:?}");
        assert_eq!(modifiers(&frames[0]), (Modifier1::CACHE, 17));
        let ClientFrame::Packet(head) = &frames[0] else {
            unreachable!()
        };
        assert_eq!(head.get_bytes("status").as_deref(), Some(&b"ok"[..]));
        assert_eq!(head.body_len(), Ok(9));
        let value = ClientFrame::Body(Bytes::from_static(b"value-one"));
        assert_eq!(frames[1..], [value, ClientFrame::End]);
    }
}

#[test]
fn case_45_cache_get_reply_with_pointer_bytes_ends_in_unexpected_eof() {
    let mut client = Client::after(&PacketBuilder::new(Modifier1::CACHE).raw("k1"));
    assert_eq!(&client.out[..], b"\x6f\x02\x00\x00k1");
    // uWSGI writes 4 bytes of a heap pointer, then the value: m1 0, datasize 20096.
    let got = decode_all(&mut client.codec, b"\x00\x80\x4e\xbcvalue-one");
    let eof = Error::UnexpectedEof {
        offset: 13,
        needed: 20087,
    };
    assert_eq!(got, Err(Fault::Packet(eof)));
}

// ---------------------------------------------------------------------------------------------
// Split-point equivalence (S1 to S3)
// ---------------------------------------------------------------------------------------------

/// Checks that `wire` decodes to `expected` (chunks merged) however it is cut.
fn assert_split_equivalence(make: impl Fn() -> ServerCodec, wire: &[u8], expected: &[ServerFrame]) {
    let one_shot = decode_all(&mut make(), wire).expect("one-shot decode");
    assert_eq!(merged(one_shot), expected, "one-shot");
    for pieces in cuttings(wire) {
        let lens: Vec<usize> = pieces.iter().map(|piece| piece.len()).collect();
        let frames = feed(&mut make(), pieces).expect("split decode");
        assert_eq!(merged(frames), expected, "pieces {lens:?}");
    }
}

/// Feeds `wire` one byte at a time and returns how many bytes had been fed when each frame
/// came out.
fn frame_positions(codec: &mut ServerCodec, wire: &[u8]) -> Vec<(usize, ServerFrame)> {
    let mut src = BytesMut::new();
    let mut out = Vec::new();
    for (i, byte) in wire.iter().enumerate() {
        src.extend_from_slice(&[*byte]);
        for frame in drain(codec, &mut src).expect("valid") {
            out.push((i + 1, frame));
        }
    }
    out
}

/// Three requests with bodies; the second body is a uwsgi packet, the third an HTTP request.
/// Also where each packet and each body ends.
fn three_requests() -> (Vec<u8>, Vec<ServerFrame>, Vec<(usize, usize)>) {
    let (_, smuggled) = request_with_body(b"smuggled");
    let bodies: [&[u8]; 3] = [b"hello", &smuggled, b"GET / HTTP/1.1\r\n\r\n"];
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut ends = Vec::new();
    for payload in bodies {
        let (head, request) = request_with_body(payload);
        let start = wire.len();
        wire.extend_from_slice(&request);
        ends.push((start + head.len(), wire.len()));
        expected.push(ServerFrame::Packet(owned_packet(&head)));
        expected.push(ServerFrame::Body(Bytes::copy_from_slice(payload)));
        expected.push(ServerFrame::End);
    }
    (wire, expected, ends)
}

#[test]
fn s1_s3_persistent_stream_decodes_the_same_however_it_is_cut() {
    let (wire, expected, ends) = three_requests();
    assert_split_equivalence(
        || ServerCodec::new().with_persistent(true),
        &wire,
        &expected,
    );

    // Byte at a time: each packet comes out with its last byte, never earlier, and each End
    // with the last body byte.
    let positions = frame_positions(&mut ServerCodec::new().with_persistent(true), &wire);
    let at = |wanted: fn(&ServerFrame) -> bool| -> Vec<usize> {
        positions
            .iter()
            .filter(|(_, f)| wanted(f))
            .map(|(at, _)| *at)
            .collect()
    };
    let packets = at(|f| matches!(f, ServerFrame::Packet(_)));
    let end_frames = at(|f| *f == ServerFrame::End);
    assert_eq!(packets, ends.iter().map(|e| e.0).collect::<Vec<_>>());
    assert_eq!(end_frames, ends.iter().map(|e| e.1).collect::<Vec<_>>());
}

#[test]
fn s1_one_request_stream_with_trailing_bytes_decodes_the_same_however_it_is_cut() {
    let (wire, mut expected, ends) = three_requests();
    let first_end = ends[0].1;
    expected.truncate(3);
    expected.push(ServerFrame::Trailing(Bytes::copy_from_slice(
        &wire[first_end..],
    )));
    assert_split_equivalence(ServerCodec::new, &wire, &expected);

    let positions = frame_positions(&mut ServerCodec::new(), &wire);
    assert_eq!(positions[0].0, ends[0].0, "the packet, with its last byte");
    let end_at = positions
        .iter()
        .find(|(_, f)| *f == ServerFrame::End)
        .map(|(at, _)| *at);
    assert_eq!(end_at, Some(first_end));
}

#[test]
fn s2_rejected_streams_fail_the_same_at_every_split_and_never_early() {
    let conflicting = [
        &request(&[(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")])[..],
        b"hello",
    ]
    .concat();
    let truncated_key = packet(0, 0, &[BASE, &[0x00]].concat()); // case 13
    let tls = Error::ForeignProtocol {
        protocol: ForeignProtocol::Tls,
        modifier1: 22,
        datasize: 259,
    };
    let post = Error::ForeignProtocol {
        protocol: ForeignProtocol::HttpRequest,
        modifier1: 80,
        datasize: 21327,
    };
    // (input, bytes needed to prove the error, the error)
    let cases: [(&[u8], usize, Error); 4] = [
        (
            &conflicting,
            conflicting.len() - 5,
            Error::ConflictingContentLength {
                first: 2,
                second: 5,
                offset: 85,
            },
        ),
        (
            &truncated_key,
            truncated_key.len(),
            Error::TruncatedLength {
                field: Field::Key,
                offset: 66,
            },
        ),
        (b"\x16\x03\x01\x02\x00\x01", 4, tls), // case 7
        (b"POST /x HTTP/1.1\r\n", 4, post),
    ];
    for (wire, proof, error) in cases {
        let error = Fault::Packet(error);
        for cut in 0..=wire.len() {
            let mut codec = ServerCodec::new();
            let mut src = BytesMut::from(&wire[..cut]);
            let first = drain(&mut codec, &mut src);
            if cut < proof {
                assert_eq!(first, Ok(vec![]), "{error:?}: cut at {cut}, not proven yet");
                src.extend_from_slice(&wire[cut..]);
                assert_eq!(
                    drain(&mut codec, &mut src),
                    Err(error.clone()),
                    "cut at {cut}"
                );
            } else {
                assert_eq!(first, Err(error.clone()), "cut at {cut}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Through Framed over an in-memory duplex pipe
// ---------------------------------------------------------------------------------------------

/// `exchange`, failed rather than left hanging if it has not finished in 10 s: a decoder that
/// never yields the frame a side waits for would otherwise stop the test run.
async fn bounded<T>(exchange: impl Future<Output = T>) -> T {
    let limit = std::time::Duration::from_secs(10);
    tokio::time::timeout(limit, exchange)
        .await
        .expect("the exchange finished within 10 s")
}

#[tokio::test]
async fn framed_http_request_and_raw_reply() {
    bounded(http_request_and_raw_reply()).await;
}

async fn http_request_and_raw_reply() {
    let (client_io, server_io) = tokio::io::duplex(64);
    let mut client = Framed::new(client_io, ClientCodec::new());
    let mut server = Framed::new(server_io, ServerCodec::new());
    let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    let server_task = tokio::spawn(async move {
        let mut frames = Vec::new();
        while let Some(frame) = server.next().await {
            let frame = frame.expect("a valid request");
            let end = frame == ServerFrame::End;
            frames.push(frame);
            if end {
                break;
            }
        }
        server
            .send(Bytes::from_static(reply))
            .await
            .expect("reply sent");
        // Dropping the transport closes the connection: the client sees EOF.
        frames
    });

    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("REQUEST_METHOD", "POST")
        .var("PATH_INFO", "/post")
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("CONTENT_LENGTH", "")
        .with_body_len(11);
    client
        .send(ClientMessage::Packet(&head))
        .await
        .expect("head sent");
    let hello = ClientMessage::Body(Bytes::from_static(b"hello "));
    client.send(hello).await.expect("body sent");
    let world = ClientMessage::Body(Bytes::from_static(b"world"));
    client.send(world).await.expect("body sent");

    let mut replies = Vec::new();
    while let Some(frame) = client.next().await {
        replies.push(frame.expect("a raw reply"));
    }
    assert_eq!(replies.last(), Some(&ClientFrame::End));
    let raw = ClientFrame::Raw(Bytes::from_static(reply));
    assert_eq!(merged(replies), [raw, ClientFrame::End]);

    let frames = merged(server_task.await.expect("server task"));
    let ServerFrame::Packet(packet) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(
        packet.get_bytes("CONTENT_LENGTH").as_deref(),
        Some(&b"11"[..])
    );
    assert_eq!(
        packet.get_bytes("PATH_INFO").as_deref(),
        Some(&b"/post"[..])
    );
    assert_eq!(frames[1..], [body(b"hello world"), ServerFrame::End]);
}

#[tokio::test]
async fn framed_rpc_call_with_a_70000_byte_reply() {
    bounded(rpc_call_with_a_70000_byte_reply()).await;
}

async fn rpc_call_with_a_70000_byte_reply() {
    let (client_io, server_io) = tokio::io::duplex(4096);
    let mut client = Framed::new(client_io, ClientCodec::new());
    let mut server = Framed::new(server_io, ServerCodec::new());
    let value = big_value();
    let sent = RpcReply(&value).to_bytes().expect("a reply");

    let server_task = tokio::spawn(async move {
        let call = server.next().await.expect("a call").expect("valid");
        let end = server.next().await.expect("the end").expect("valid");
        assert_eq!(end, ServerFrame::End);
        let ServerFrame::Packet(call) = call else {
            panic!("{call:?}")
        };
        let items: Vec<Bytes> = call.items_bytes().collect();
        assert_eq!(items, [&b"big"[..], b"x"]);
        server.send(sent).await.expect("reply sent");
    });

    let args: [&[u8]; 1] = [b"x"];
    let call = PacketBuilder::rpc(b"big", args);
    client
        .send(ClientMessage::Packet(&call))
        .await
        .expect("call sent");
    let mut frames = Vec::new();
    while let Some(frame) = client.next().await {
        frames.push(frame.expect("a framed reply"));
    }
    server_task.await.expect("server task");

    assert_eq!(modifiers(&frames[0]), (Modifier1::RPC, 5));
    assert!(
        frames.len() > 3,
        "the body came in chunks: {}",
        frames.len()
    );
    assert_eq!(frames.last(), Some(&ClientFrame::End));
    assert_eq!(client_body(&frames), value);
    assert_eq!(merged(frames).len(), 3, "packet, body, end");
}
