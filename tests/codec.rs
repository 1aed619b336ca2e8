#![cfg(feature = "codec")]
//! The tokio-util codecs through the public API (PROTOCOL.md §2.5, §4, §5 C1 to C9, §11 cases
//! 8, 21, 32 to 36, 40, 42 to 45, 50 and S1 to S3).
//!
//! `Decoder` / `Encoder` are called directly on `BytesMut`, the way `Framed` calls them: after
//! each read, `decode` until it returns `None`; at the end of input, `decode_eof` until it
//! returns `None`. Two tests go through `Framed` over `tokio::io::duplex`.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Decoder, Encoder, Framed};
use uwsgi_codec::{
    ClientCodec, Error, ForeignProtocol, Frame, Modifier1, Packet, PacketBuilder, Parser, RpcReply,
    ServerCodec,
};

/// `assert_err!(err => pattern)` is `assert!(matches!(err, pattern), "{err:?}")`.
macro_rules! assert_err {
    ($err:expr => $($pattern:tt)+) => {{
        let err = &$err;
        assert!(matches!(*err, $($pattern)+), "{err:?}");
    }};
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `kv(k, v)`: `len(k):u16le k len(v):u16le v`.
fn kv(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + value.len());
    for part in [key, value] {
        let len = u16::try_from(part.len()).expect("a test part fits a u16");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// `H(m1, block.len(), m2) block`.
fn packet(m1: u8, m2: u8, block: &[u8]) -> Vec<u8> {
    let datasize = u16::try_from(block.len()).expect("a test block fits a u16");
    let mut out = vec![m1];
    out.extend_from_slice(&datasize.to_le_bytes());
    out.push(m2);
    out.extend_from_slice(block);
    out
}

/// `BASE` (62 bytes).
fn base() -> Vec<u8> {
    [
        kv(b"REQUEST_METHOD", b"GET"),
        kv(b"PATH_INFO", b"/"),
        kv(b"SERVER_PROTOCOL", b"HTTP/1.1"),
    ]
    .concat()
}

/// `H(0, n, 0) BASE kv(extra)...`: a request packet, without its body.
fn request(extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut block = base();
    for (key, value) in extra {
        block.extend_from_slice(&kv(key, value));
    }
    packet(0, 0, &block)
}

/// The request packet with `CONTENT_LENGTH` = `body.len()`, followed by `body`.
fn request_with_body(body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let len = body.len().to_string();
    let head = request(&[(b"CONTENT_LENGTH", len.as_bytes())]);
    let wire = [&head[..], body].concat();
    (head, wire)
}

/// The packet the default server parser reads from `wire` (which must hold exactly one packet).
fn server_packet(wire: &[u8]) -> Packet {
    let bytes = Bytes::copy_from_slice(wire);
    let packet = Packet::parse(&bytes)
        .expect("a valid packet")
        .complete()
        .expect("a complete packet");
    assert_eq!(packet.as_bytes().len(), wire.len(), "exactly one packet");
    packet
}

/// Feeds `pieces` one after another (a read each), draining `decode` after each, then drains
/// `decode_eof`, as `Framed` does. Stops at the first error.
fn feed<'a, D>(
    codec: &mut D,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Frame>, Error>
where
    D: Decoder<Item = Frame, Error = Error>,
{
    let mut src = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        src.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut src)? {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut src)? {
        frames.push(frame);
    }
    Ok(frames)
}

/// Decodes `input` in one piece, to the end of input.
fn decode_all<D>(codec: &mut D, input: &[u8]) -> Result<Vec<Frame>, Error>
where
    D: Decoder<Item = Frame, Error = Error>,
{
    feed(codec, [input])
}

/// Decodes what is buffered, without ending the input.
fn drain<D>(codec: &mut D, src: &mut BytesMut) -> Result<Vec<Frame>, Error>
where
    D: Decoder<Item = Frame, Error = Error>,
{
    let mut frames = Vec::new();
    while let Some(frame) = codec.decode(src)? {
        frames.push(frame);
    }
    Ok(frames)
}

/// Merges consecutive `Body`, `Trailing` and `Raw` chunks, so that streams cut differently
/// compare equal.
fn merged(frames: Vec<Frame>) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::with_capacity(frames.len());
    for frame in frames {
        let joined = match (out.last(), &frame) {
            (Some(Frame::Body(a)), Frame::Body(b)) => {
                Some(Frame::Body([&a[..], b].concat().into()))
            }
            (Some(Frame::Trailing(a)), Frame::Trailing(b)) => {
                Some(Frame::Trailing([&a[..], b].concat().into()))
            }
            (Some(Frame::Raw(a)), Frame::Raw(b)) => Some(Frame::Raw([&a[..], b].concat().into())),
            _ => None,
        };
        match joined {
            Some(joined) => *out.last_mut().expect("a previous frame") = joined,
            None => out.push(frame),
        }
    }
    out
}

/// Every `Body` byte, in order.
fn body_bytes(frames: &[Frame]) -> Vec<u8> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Body(chunk) => Some(&chunk[..]),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat()
}

fn body(bytes: &'static [u8]) -> Frame {
    Frame::Body(Bytes::from_static(bytes))
}

/// The `(modifier1, modifier2)` of a `Packet` frame.
fn modifiers(frame: &Frame) -> (Modifier1, u8) {
    match frame {
        Frame::Packet(packet) => (packet.header().modifier1, packet.header().modifier2),
        other => panic!("expected a packet, got {other:?}"),
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
    assert_eq!(frames, [Frame::Packet(server_packet(&head)), body(b"abc")]);
    assert_err!(
        codec.decode_eof(&mut src).expect_err("EOF 7 bytes short of the body")
            => Error::TruncatedBody { expected: 10, received: 3 }
    );
}

#[test]
fn case_33_packet_body_and_end_from_one_segment() {
    let (head, wire) = request_with_body(b"hello");
    let frames = decode_all(&mut ServerCodec::new(), &wire).expect("a valid request");
    assert_eq!(
        frames,
        [
            Frame::Packet(server_packet(&head)),
            body(b"hello"),
            Frame::End
        ]
    );
    let Frame::Packet(packet) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(packet.get("CONTENT_LENGTH").as_deref(), Some(&b"5"[..]));
    assert_eq!(packet.get("PATH_INFO").as_deref(), Some(&b"/"[..]));
    assert_eq!(packet.body_len().expect("a body length"), 5);
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
            Frame::Packet(server_packet(&head)),
            body(b"hello"),
            Frame::End,
            Frame::Trailing(rest.clone().into()),
        ]
    );

    // Trailing bytes that arrive later are reported as they come; EOF is then a clean end.
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&first[..]);
    assert_eq!(drain(&mut codec, &mut src).expect("first request").len(), 3);
    assert_eq!(codec.decode(&mut src).expect("nothing buffered"), None);
    src.extend_from_slice(&rest[..10]);
    assert_eq!(
        drain(&mut codec, &mut src).expect("trailing"),
        [Frame::Trailing(Bytes::copy_from_slice(&rest[..10]))]
    );
    src.extend_from_slice(&rest[10..]);
    assert_eq!(
        codec.decode_eof(&mut src).expect("trailing at EOF"),
        Some(Frame::Trailing(Bytes::copy_from_slice(&rest[10..])))
    );
    assert_eq!(codec.decode_eof(&mut src).expect("a clean end"), None);
}

#[test]
fn case_34_persistent_mode_decodes_the_next_packet_after_the_body() {
    let (head1, first) = request_with_body(b"hello");
    let (head2, second) = request_with_body(b"world");
    let wire = [&first[..], &second[..]].concat();
    let frames = decode_all(&mut ServerCodec::new().persistent(true), &wire).expect("two requests");
    assert_eq!(
        frames,
        [
            Frame::Packet(server_packet(&head1)),
            body(b"hello"),
            Frame::End,
            Frame::Packet(server_packet(&head2)),
            body(b"world"),
            Frame::End,
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
            Frame::Packet(server_packet(&head)),
            body(b"abcdef"),
            Frame::End,
            Frame::Trailing(Bytes::from_static(b"0\r\n\r\n")),
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
                Frame::Packet(server_packet(&head)),
                body(body11),
                Frame::End
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
            Frame::Packet(server_packet(&head)),
            Frame::End,
            Frame::Trailing(Bytes::from_static(b"hello")),
        ]
    );
}

#[test]
fn case_21_conflicting_content_length_fails_the_codec() {
    let head = request(&[(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")]);
    let wire = [&head[..], b"hello"].concat();
    // The packet itself is well-formed ...
    assert!(Parser::new().parse(&wire).expect("parses").is_complete());
    // ... but it has two framings.
    for persistent in [false, true] {
        assert_err!(
            decode_all(&mut ServerCodec::new().persistent(persistent), &wire)
                .expect_err("two framings")
                => Error::ConflictingContentLength { first: 2, second: 5, offset: 85 }
        );
    }
}

#[test]
fn invalid_content_length_fails_the_codec_before_any_body_byte() {
    // Case 29: `5abc`, the value starting at offset 84.
    let head = request(&[(b"CONTENT_LENGTH", b"5abc")]);
    let mut src = BytesMut::from(&[&head[..], b"hello"].concat()[..]);
    assert_err!(
        ServerCodec::new().decode(&mut src).expect_err("not digits")
            => Error::InvalidContentLength { offset: 85, .. }
    );
}

#[test]
fn nginx_post_capture_is_packet_body_end() {
    let wire = include_bytes!("captures/nginx-post.bin");
    let frames = decode_all(&mut ServerCodec::new(), wire).expect("a real nginx request");
    assert_eq!(frames.len(), 3, "{frames:?}");
    let Frame::Packet(packet) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(packet.view().vars().expect("vars").len(), 19);
    assert_eq!(packet.get("REQUEST_METHOD").as_deref(), Some(&b"POST"[..]));
    assert_eq!(packet.as_bytes().len(), wire.len() - 5);
    assert_eq!(frames[1..], [body(b"hello"), Frame::End]);

    let wire = include_bytes!("captures/nginx-get.bin");
    let frames = decode_all(&mut ServerCodec::new(), wire).expect("a real nginx request");
    assert_eq!(frames, [Frame::Packet(server_packet(wire)), Frame::End]);
}

// ---------------------------------------------------------------------------------------------
// Server: end of input (H7, C7)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_8_eof_inside_the_block_is_unexpected_eof() {
    // H(0,72,0) BASE: 10 bytes of the block never arrive.
    let wire = [&[0x00, 72, 0x00, 0x00][..], &base()].concat();
    assert_eq!(wire.len(), 66);
    assert_err!(
        decode_all(&mut ServerCodec::new(), &wire).expect_err("EOF in the block")
            => Error::UnexpectedEof { offset: 66, needed: 10 }
    );
}

#[test]
fn h7_eof_at_every_point_of_a_packet() {
    let (head, _) = request_with_body(b"");
    // 0 bytes: a clean end.
    assert_eq!(
        decode_all(&mut ServerCodec::new(), &[]).expect("clean end"),
        []
    );
    for len in 1..head.len() {
        let err = decode_all(&mut ServerCodec::new(), &head[..len]).expect_err("partial packet");
        let needed = if len < 4 { 4 - len } else { head.len() - len };
        assert!(
            matches!(err, Error::UnexpectedEof { offset, needed: n } if offset == len && n == needed),
            "EOF after {len} bytes: {err:?}"
        );
    }
}

#[test]
fn h7_persistent_mode_ends_cleanly_only_between_messages() {
    let (head, first) = request_with_body(b"hello");
    let (_, second) = request_with_body(b"world");
    let mut codec = ServerCodec::new().persistent(true);
    let frames = decode_all(&mut codec, &first).expect("EOF after a whole message");
    assert_eq!(
        frames,
        [
            Frame::Packet(server_packet(&head)),
            body(b"hello"),
            Frame::End
        ]
    );
    // EOF 2 bytes into the second packet's header; offsets count from that packet.
    let wire = [&first[..], &second[..2]].concat();
    assert_err!(
        decode_all(&mut ServerCodec::new().persistent(true), &wire).expect_err("partial")
            => Error::UnexpectedEof { offset: 2, needed: 2 }
    );
    // EOF inside the second packet's block.
    let wire = [&first[..], &second[..10]].concat();
    let err = decode_all(&mut ServerCodec::new().persistent(true), &wire).expect_err("partial");
    let needed = second.len() - 5 - 10;
    assert_err!(err => Error::UnexpectedEof { offset: 10, needed: n } if n == needed);
}

// ---------------------------------------------------------------------------------------------
// Server: limits and foreign protocols (H2, H3, C9)
// ---------------------------------------------------------------------------------------------

#[test]
fn h3_datasize_over_the_limit_fails_after_four_bytes_without_buffering() {
    let parser = Parser::new().with_max_datasize(4096);
    let mut codec = ServerCodec::with_parser(parser);
    assert_eq!(codec.parser().max_datasize(), 4096);
    let header = [0x00, 0x01, 0x10, 0x00]; // datasize 4097
    let mut src = BytesMut::new();
    for (i, byte) in header.iter().enumerate() {
        src.extend_from_slice(&[*byte]);
        let result = codec.decode(&mut src);
        assert!(
            src.capacity() <= 64,
            "capacity {} after {} bytes",
            src.capacity(),
            i + 1
        );
        if i < 3 {
            assert_eq!(result.expect("header incomplete"), None);
        } else {
            assert_err!(
                result.expect_err("over the limit")
                    => Error::TooLarge { len: 4097, max: 4096 }
            );
        }
    }

    // Exactly at the limit: accepted, and the codec waits for the block.
    let mut codec = ServerCodec::with_parser(Parser::new().with_max_datasize(4096));
    let mut src = BytesMut::from(&[0x00, 0x00, 0x10, 0x00][..]);
    assert_eq!(codec.decode(&mut src).expect("datasize == limit"), None);

    // The whole over-limit packet already buffered fails the same way.
    let mut block = base();
    block.extend_from_slice(&kv(b"PAD", &[b'x'; 4028]));
    let wire = packet(0, 0, &block);
    assert_eq!(wire.len(), 4 + 4097);
    let mut codec = ServerCodec::with_parser(Parser::new().with_max_datasize(4096));
    assert_err!(
        decode_all(&mut codec, &wire).expect_err("case 4")
            => Error::TooLarge { len: 4097, max: 4096 }
    );
}

#[test]
fn c9_body_over_the_limit_fails_before_any_body_byte() {
    let head = request(&[(b"CONTENT_LENGTH", b"5")]);
    let mut codec = ServerCodec::new().with_max_body(4);
    let mut src = BytesMut::from(&head[..]);
    assert_err!(
        codec.decode(&mut src).expect_err("body 5 > 4")
            => Error::BodyTooLarge { len: 5, max: 4 }
    );

    // With the body already buffered: still refused before any Body frame.
    let wire = [&head[..], b"hello"].concat();
    assert_err!(
        decode_all(&mut ServerCodec::new().with_max_body(4), &wire).expect_err("5 > 4")
            => Error::BodyTooLarge { len: 5, max: 4 }
    );

    // At the limit: accepted.
    let (head, wire) = request_with_body(b"abcd");
    let frames = decode_all(&mut ServerCodec::new().with_max_body(4), &wire).expect("4 <= 4");
    assert_eq!(
        frames,
        [
            Frame::Packet(server_packet(&head)),
            body(b"abcd"),
            Frame::End
        ]
    );
}

#[test]
fn foreign_protocol_is_refused_at_the_fourth_byte() {
    let wire = b"GET / HTTP/1.1\r\n";
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::new();
    for (i, byte) in wire[..4].iter().enumerate() {
        src.extend_from_slice(&[*byte]);
        let result = codec.decode(&mut src);
        if i < 3 {
            assert_eq!(
                result.expect("3 bytes prove nothing"),
                None,
                "{} bytes",
                i + 1
            );
        } else {
            assert_err!(
                result.expect_err("an HTTP request")
                    => Error::ForeignProtocol {
                        protocol: ForeignProtocol::HttpRequest,
                        modifier1: 71,
                        datasize: 21573,
                    }
            );
        }
    }

    // P20: with the check off, the server waits for a 21573-byte block that never comes.
    let parser = Parser::new().with_foreign_check(false);
    assert_err!(
        decode_all(&mut ServerCodec::with_parser(parser), wire).expect_err("EOF")
            => Error::UnexpectedEof { offset: 16, needed: 21561 }
    );
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
        let mut codec = ServerCodec::with_parser(parser).persistent(true);
        // One byte at a time, so that the body starts at a fresh decode call every time.
        let frames = feed(&mut codec, stream.chunks(1)).expect("bodies are opaque");
        let expected = [
            Frame::Packet(server_packet(&head)),
            Frame::Body(Bytes::copy_from_slice(payload)),
            Frame::End,
            Frame::Packet(server_packet(&next_head)),
            body(b"next"),
            Frame::End,
        ];
        assert_eq!(merged(frames), expected, "body {payload:02x?}");
    }
    // The smuggled request really is a request when it is not inside a body.
    let frames = decode_all(&mut ServerCodec::new(), &inner).expect("valid");
    assert_eq!(frames[0], Frame::Packet(server_packet(&inner_head)));
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
    // `&[u8]` too, appended after what is already there; no header is ever prepended.
    codec.encode(&b"more"[..], &mut dst).expect("raw bytes");
    assert_eq!(&dst[..], [reply, b"more"].concat());
    // Even bytes that look like a uwsgi header, or nothing at all.
    let mut dst = BytesMut::new();
    codec.encode(&[0x64, 0, 0, 1][..], &mut dst).expect("raw");
    codec.encode(Bytes::new(), &mut dst).expect("raw");
    assert_eq!(&dst[..], [0x64, 0, 0, 1]);
}

#[test]
fn server_encodes_a_service_reply_from_a_builder() {
    let mut dst = BytesMut::new();
    ServerCodec::new()
        .encode(&PacketBuilder::pong(), &mut dst)
        .expect("a pong");
    ServerCodec::new()
        .encode(&PacketBuilder::reply(true), &mut dst)
        .expect("a generic reply");
    assert_eq!(&dst[..], [0x64, 0, 0, 1, 0xff, 0, 0, 1]);
}

#[test]
fn rpc_reply_up_to_65535_bytes_is_one_packet() {
    let mut codec = ServerCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(RpcReply(b"a|b"), &mut dst)
        .expect("a small value");
    assert_eq!(&dst[..], b"\xad\x03\x00\x00a|b"); // case 37's reply

    let mut dst = BytesMut::new();
    codec
        .encode(RpcReply(b""), &mut dst)
        .expect("an empty value");
    assert_eq!(&dst[..], [0xad, 0, 0, 0]);

    let value = vec![b'v'; 65535];
    let mut dst = BytesMut::new();
    codec
        .encode(RpcReply(&value), &mut dst)
        .expect("65535 bytes");
    assert_eq!(&dst[..4], [0xad, 0xff, 0xff, 0x00]);
    assert_eq!(&dst[4..], &value[..]);
}

/// 70000 bytes that are not all alike, so that a misplaced chunk shows.
fn big_value() -> Vec<u8> {
    (0..70000u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn case_40_rpc_reply_over_65535_bytes_is_dict_and_body_and_decodes_back() {
    let value = big_value();
    let mut reply = BytesMut::new();
    ServerCodec::new()
        .encode(RpcReply(&value), &mut reply)
        .expect("a 70000-byte value");
    let dict = kv(b"CONTENT_LENGTH", b"70000");
    assert_eq!(dict.len(), 0x17);
    assert_eq!(&reply[..4], [0xad, 0x17, 0x00, 0x05]);
    assert_eq!(&reply[4..27], &dict[..]);
    assert_eq!(&reply[27..], &value[..]);

    // The client that sent the RPC request reads it back, in socket-sized pieces.
    let mut client = ClientCodec::new();
    let mut request = BytesMut::new();
    let args: [&[u8]; 1] = [b"x"];
    client
        .encode(&PacketBuilder::rpc(b"big", args), &mut request)
        .expect("an RPC request");
    assert_eq!(&request[..], b"\xad\x08\x00\x00\x03\x00big\x01\x00x");
    let frames = feed(&mut client, reply.chunks(4096)).expect("a framed reply");
    assert_eq!(modifiers(&frames[0]), (Modifier1::RPC, 5));
    let Frame::Packet(head) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(head.body_len().expect("a body length"), 70000);
    assert!(
        frames.len() > 3,
        "the body came in chunks: {}",
        frames.len()
    );
    assert!(
        frames[1..frames.len() - 1]
            .iter()
            .all(|frame| matches!(frame, Frame::Body(_)))
    );
    assert_eq!(frames.last(), Some(&Frame::End));
    assert_eq!(body_bytes(&frames), value);

    // The connection closing one byte short of the value (C7).
    let mut client = ClientCodec::new();
    client
        .encode(&PacketBuilder::rpc(b"big", args), &mut BytesMut::new())
        .expect("an RPC request");
    assert_err!(
        decode_all(&mut client, &reply[..reply.len() - 1]).expect_err("short body")
            => Error::TruncatedBody { expected: 70000, received: 69999 }
    );
}

// ---------------------------------------------------------------------------------------------
// Client: what comes back for each request (§2.5)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_41_client_ping_gets_a_pong() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    codec
        .encode(&PacketBuilder::ping(), &mut out)
        .expect("a ping");
    assert_eq!(&out[..], [0x64, 0, 0, 0]);
    let frames = decode_all(&mut codec, &[0x64, 0, 0, 1]).expect("a pong");
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(modifiers(&frames[0]), (Modifier1::PING, 1));
    assert_eq!(frames[1], Frame::End);

    // A pong cut short by the end of input (H7).
    let mut codec = ClientCodec::new();
    codec
        .encode(&PacketBuilder::ping(), &mut BytesMut::new())
        .expect("a ping");
    assert_err!(
        decode_all(&mut codec, &[0x64, 0]).expect_err("half a header")
            => Error::UnexpectedEof { offset: 2, needed: 2 }
    );
}

#[test]
fn case_42_client_echo_reply_is_raw_never_a_packet() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    codec
        .encode(&PacketBuilder::echo(b"hello-echo"), &mut out)
        .expect("an echo");
    assert_eq!(&out[..], b"\x65\x0a\x00\x00hello-echo");
    let frames = decode_all(&mut codec, b"hello-echo").expect("raw");
    assert_eq!(
        frames,
        [Frame::Raw(Bytes::from_static(b"hello-echo")), Frame::End]
    );

    // A payload that is itself a packet (a pong, a request) still comes back raw.
    let (_, smuggled) = request_with_body(b"hello");
    for payload in [&[0x64, 0, 0, 1][..], &smuggled] {
        let mut codec = ClientCodec::new();
        let mut out = BytesMut::new();
        codec
            .encode(&PacketBuilder::echo(payload), &mut out)
            .expect("an echo");
        let frames = feed(&mut codec, payload.chunks(3)).expect("raw");
        assert_eq!(
            merged(frames),
            [Frame::Raw(Bytes::copy_from_slice(payload)), Frame::End]
        );
    }
}

#[test]
fn client_raw_rpc_reply_is_raw() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let args: [&[u8]; 0] = [];
    codec
        .encode(&PacketBuilder::rpc(b"hello", args).modifier2(1), &mut out)
        .expect("a raw RPC request");
    let frames = decode_all(&mut codec, b"\xad\x03\x00\x00a|b").expect("raw");
    assert_eq!(
        frames,
        [
            Frame::Raw(Bytes::from_static(b"\xad\x03\x00\x00a|b")),
            Frame::End
        ]
    );
}

#[test]
fn client_request_body_fills_the_placeholder_and_never_overruns() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("REQUEST_METHOD", "POST")
        .var("CONTENT_LENGTH", "")
        .var("PATH_INFO", "/post")
        .body_len(5);
    codec.encode(&head, &mut out).expect("a request head");
    let expected = packet(
        0,
        0,
        &[
            kv(b"REQUEST_METHOD", b"POST"),
            kv(b"CONTENT_LENGTH", b"5"),
            kv(b"PATH_INFO", b"/post"),
        ]
        .concat(),
    );
    assert_eq!(&out[..], &expected[..]);

    codec
        .encode(Bytes::from_static(b"he"), &mut out)
        .expect("2 of 5");
    codec
        .encode(Bytes::from_static(b"llo"), &mut out)
        .expect("5 of 5");
    let sent = out.len();
    assert_err!(
        codec.encode(Bytes::from_static(b"!"), &mut out).expect_err("a sixth byte")
            => Error::BodyOverrun { expected: 5, received: 6 }
    );
    assert_eq!(out.len(), sent, "nothing written on overrun");
    assert_eq!(&out[..], [&expected[..], b"hello"].concat());

    // What the client sent is what a server decodes.
    let frames = decode_all(&mut ServerCodec::new(), &out).expect("valid");
    assert_eq!(
        frames,
        [
            Frame::Packet(server_packet(&expected)),
            body(b"hello"),
            Frame::End
        ]
    );

    // One chunk too big at once is refused whole.
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    codec.encode(&head, &mut out).expect("a request head");
    let sent = out.len();
    assert_err!(
        codec.encode(Bytes::from_static(b"hello!"), &mut out).expect_err("6 > 5")
            => Error::BodyOverrun { expected: 5, received: 6 }
    );
    assert_eq!(out.len(), sent);
}

#[test]
fn client_new_packet_before_the_body_is_complete_is_refused() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("CONTENT_LENGTH", "")
        .body_len(5);
    codec.encode(&head, &mut out).expect("a request head");
    codec
        .encode(Bytes::from_static(b"hel"), &mut out)
        .expect("3 of 5");
    let sent = out.len();
    assert_err!(
        codec.encode(&PacketBuilder::ping(), &mut out).expect_err("2 body bytes missing")
            => Error::TruncatedBody { expected: 5, received: 3 }
    );
    assert_eq!(out.len(), sent);
}

#[test]
fn client_raw_http_reply_is_raw_chunks_then_end() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let head = PacketBuilder::new(Modifier1::WSGI)
        .var("REQUEST_METHOD", "GET")
        .var("SERVER_PROTOCOL", "HTTP/1.1");
    codec.encode(&head, &mut out).expect("a request");
    let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let mut src = BytesMut::new();
    let mut frames = Vec::new();
    for piece in reply.chunks(7) {
        src.extend_from_slice(piece);
        let got = drain(&mut codec, &mut src).expect("raw");
        assert_eq!(got, [Frame::Raw(Bytes::copy_from_slice(piece))]);
        frames.extend(got);
    }
    assert_eq!(codec.decode_eof(&mut src).expect("EOF"), Some(Frame::End));
    assert_eq!(codec.decode_eof(&mut src).expect("EOF"), None);
    assert_eq!(merged(frames), [Frame::Raw(Bytes::copy_from_slice(reply))]);
}

#[test]
fn case_43_client_signal_reply_is_a_packet() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    codec
        .encode(&PacketBuilder::signal(17), &mut out)
        .expect("a signal");
    assert_eq!(&out[..], [0x6e, 0, 0, 0x11]);
    let frames = decode_all(&mut codec, &[0xff, 0, 0, 1]).expect("delivered");
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(modifiers(&frames[0]), (Modifier1::RESPONSE, 1));
    assert_eq!(frames[1], Frame::End);
}

#[test]
fn case_44_cache_magic_reply_body_is_framed_by_size() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let get = PacketBuilder::new(Modifier1::CACHE)
        .modifier2(17)
        .var("cmd", "get")
        .var("key", "k1");
    codec.encode(&get, &mut out).expect("a cache get");
    let expected = packet(111, 17, &[kv(b"cmd", b"get"), kv(b"key", b"k1")].concat());
    assert_eq!(&out[..4], [0x6f, 0x13, 0x00, 0x11]);
    assert_eq!(&out[..], &expected[..]);

    let dict = [kv(b"status", b"ok"), kv(b"size", b"9")].concat();
    let reply = [&packet(111, 17, &dict)[..], b"value-one"].concat();
    assert_eq!(&reply[..4], [0x6f, 0x15, 0x00, 0x11]);
    for piece in [reply.len(), 5, 1] {
        let mut codec = codec.clone();
        let frames = feed(&mut codec, reply.chunks(piece)).expect("a framed reply");
        let merged = merged(frames);
        assert_eq!(merged.len(), 3, "{merged:?}");
        assert_eq!(modifiers(&merged[0]), (Modifier1::CACHE, 17));
        let Frame::Packet(head) = &merged[0] else {
            unreachable!()
        };
        assert_eq!(head.get("status").as_deref(), Some(&b"ok"[..]));
        assert_eq!(head.body_len().expect("size"), 9);
        assert_eq!(merged[1..], [body(b"value-one"), Frame::End]);
    }
}

#[test]
fn case_45_cache_get_reply_with_pointer_bytes_ends_in_unexpected_eof() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let get = PacketBuilder::new(Modifier1::CACHE).raw("k1");
    codec.encode(&get, &mut out).expect("a cache get");
    assert_eq!(&out[..], b"\x6f\x02\x00\x00k1");
    // uWSGI writes 4 bytes of a heap pointer, then the value: m1 0, datasize 20096.
    let reply = b"\x00\x80\x4e\xbcvalue-one";
    assert_err!(
        decode_all(&mut codec, reply).expect_err("not a conforming reply")
            => Error::UnexpectedEof { offset: 13, needed: 20087 }
    );
}

// ---------------------------------------------------------------------------------------------
// Split-point equivalence (S1 to S3)
// ---------------------------------------------------------------------------------------------

/// Every way of cutting `wire` this test tries: at each byte position, one byte at a time, and
/// a few pseudo-random chunkings.
fn cuttings(wire: &[u8]) -> Vec<Vec<&[u8]>> {
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

/// Checks that `wire` decodes to `expected` (chunks merged) however it is cut.
fn assert_split_equivalence(make: impl Fn() -> ServerCodec, wire: &[u8], expected: &[Frame]) {
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
fn frame_positions(codec: &mut ServerCodec, wire: &[u8]) -> Vec<(usize, Frame)> {
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
fn three_requests() -> (Vec<u8>, Vec<Frame>, Vec<(usize, usize)>) {
    let (_, smuggled) = request_with_body(b"smuggled");
    let bodies: [&[u8]; 3] = [b"hello", &smuggled, b"GET / HTTP/1.1\r\n\r\n"];
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut ends = Vec::new(); // (end of the packet, end of the body)
    for payload in bodies {
        let (head, request) = request_with_body(payload);
        let start = wire.len();
        wire.extend_from_slice(&request);
        ends.push((start + head.len(), wire.len()));
        expected.push(Frame::Packet(server_packet(&head)));
        expected.push(Frame::Body(Bytes::copy_from_slice(payload)));
        expected.push(Frame::End);
    }
    (wire, expected, ends)
}

#[test]
fn s1_s3_persistent_stream_decodes_the_same_however_it_is_cut() {
    let (wire, expected, ends) = three_requests();
    assert_split_equivalence(|| ServerCodec::new().persistent(true), &wire, &expected);

    // Byte at a time: each packet comes out with its last byte, never earlier, and each End
    // with the last body byte.
    let positions = frame_positions(&mut ServerCodec::new().persistent(true), &wire);
    let packets: Vec<usize> = positions
        .iter()
        .filter(|(_, frame)| matches!(frame, Frame::Packet(_)))
        .map(|(at, _)| *at)
        .collect();
    let end_frames: Vec<usize> = positions
        .iter()
        .filter(|(_, frame)| *frame == Frame::End)
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(packets, ends.iter().map(|e| e.0).collect::<Vec<_>>());
    assert_eq!(end_frames, ends.iter().map(|e| e.1).collect::<Vec<_>>());
}

#[test]
fn s1_one_request_stream_with_trailing_bytes_decodes_the_same_however_it_is_cut() {
    let (wire, mut expected, ends) = three_requests();
    let first_end = ends[0].1;
    expected.truncate(3);
    expected.push(Frame::Trailing(Bytes::copy_from_slice(&wire[first_end..])));
    assert_split_equivalence(ServerCodec::new, &wire, &expected);

    let positions = frame_positions(&mut ServerCodec::new(), &wire);
    assert_eq!(positions[0].0, ends[0].0, "the packet, with its last byte");
    let end_at = positions
        .iter()
        .find(|(_, frame)| *frame == Frame::End)
        .map(|(at, _)| *at);
    assert_eq!(end_at, Some(first_end));
}

#[test]
fn s2_rejected_streams_fail_the_same_at_every_split_and_never_early() {
    // (input, bytes needed to prove the error, error kind, offset)
    let conflicting = [
        &request(&[(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")])[..],
        b"hello",
    ]
    .concat();
    let truncated_key = packet(0, 0, &[&base()[..], &[0x00]].concat()); // case 13
    let cases: [(&[u8], usize, &str, Option<usize>); 4] = [
        (
            &conflicting,
            conflicting.len() - 5,
            "ConflictingContentLength",
            Some(85),
        ),
        (
            &truncated_key,
            truncated_key.len(),
            "TruncatedLength",
            Some(66),
        ),
        (b"\x16\x03\x01\x02\x00\x01", 4, "ForeignProtocol", Some(0)), // TLS, case 7
        (b"POST /x HTTP/1.1\r\n", 4, "ForeignProtocol", Some(0)),
    ];
    for (wire, proof, kind, offset) in cases {
        for cut in 0..=wire.len() {
            let mut codec = ServerCodec::new();
            let mut src = BytesMut::from(&wire[..cut]);
            let first = drain(&mut codec, &mut src);
            if cut < proof {
                assert_eq!(first.expect("not proven yet"), [], "{kind} cut at {cut}");
                src.extend_from_slice(&wire[cut..]);
                let err = drain(&mut codec, &mut src).expect_err("proven");
                assert_eq!((err.kind(), err.offset()), (kind, offset), "cut at {cut}");
            } else {
                let err = first.expect_err("proven");
                assert_eq!((err.kind(), err.offset()), (kind, offset), "cut at {cut}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Through Framed over an in-memory duplex pipe
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn framed_http_request_and_raw_reply() {
    let (client_io, server_io) = tokio::io::duplex(64);
    let mut client = Framed::new(client_io, ClientCodec::new());
    let mut server = Framed::new(server_io, ServerCodec::new());
    let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    let server_task = tokio::spawn(async move {
        let mut frames = Vec::new();
        while let Some(frame) = server.next().await {
            let frame = frame.expect("a valid request");
            let end = frame == Frame::End;
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
        .body_len(11);
    client.send(&head).await.expect("head sent");
    client
        .send(Bytes::from_static(b"hello "))
        .await
        .expect("body sent");
    client
        .send(Bytes::from_static(b"world"))
        .await
        .expect("body sent");

    let mut replies = Vec::new();
    while let Some(frame) = client.next().await {
        replies.push(frame.expect("a raw reply"));
    }
    assert_eq!(replies.last(), Some(&Frame::End));
    assert_eq!(
        merged(replies),
        [Frame::Raw(Bytes::from_static(reply)), Frame::End]
    );

    let frames = server_task.await.expect("server task");
    let Frame::Packet(packet) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!(packet.get("CONTENT_LENGTH").as_deref(), Some(&b"11"[..]));
    assert_eq!(packet.get("PATH_INFO").as_deref(), Some(&b"/post"[..]));
    assert_eq!(body_bytes(&frames), b"hello world");
    assert_eq!(frames.last(), Some(&Frame::End));
}

#[tokio::test]
async fn framed_rpc_call_with_a_70000_byte_reply() {
    let (client_io, server_io) = tokio::io::duplex(4096);
    let mut client = Framed::new(client_io, ClientCodec::new());
    let mut server = Framed::new(server_io, ServerCodec::new());
    let value = big_value();
    let sent = value.clone();

    let server_task = tokio::spawn(async move {
        let call = server.next().await.expect("a call").expect("valid");
        let end = server.next().await.expect("the end").expect("valid");
        assert_eq!(end, Frame::End);
        let Frame::Packet(call) = call else {
            panic!("{call:?}")
        };
        let items: Vec<Bytes> = call.items_bytes().collect();
        assert_eq!(items, [&b"big"[..], b"x"]);
        server.send(RpcReply(&sent)).await.expect("reply sent");
    });

    let args: [&[u8]; 1] = [b"x"];
    client
        .send(&PacketBuilder::rpc(b"big", args))
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
    assert_eq!(frames.last(), Some(&Frame::End));
    assert_eq!(body_bytes(&frames), value);
    let merged = merged(frames);
    assert_eq!(merged.len(), 3, "packet, body, end");
}
