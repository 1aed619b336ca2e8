//! Regression tests for what the cargo-fuzz targets in `fuzz/` found (see `fuzz/README.md`).
//!
//! One `#[test]` per finding, named after what it checks, through the public API only, with the
//! bytes inline.

use uwsgi_codec::{Error, PacketBuilder, PacketRef, Parser, Status};

/// Found by the `roundtrip` target: `PacketBuilder::body_len(0)` (now `with_body_len`) kept a
/// caller's empty `CONTENT_LENGTH` placeholder empty (PROTOCOL.md E7, "left empty when n = 0")
/// and a caller's `"0"` as it was, so it wrote two `CONTENT_LENGTH` vars that differ in bytes,
/// which its own decoder refuses (C3: `ConflictingContentLength { first: 0, second: 0, offset:
/// 22 }`). The builder now refuses such a packet with that same error, before writing anything.
#[test]
fn body_len_zero_never_writes_an_empty_and_a_zero_content_length() {
    // The later pair starts after the first: 4 + 18 bytes, or 4 + 19 when the first is "0".
    for (values, later) in [([&b""[..], b"0"], 22), ([b"0", b""], 23)] {
        let built = PacketBuilder::new(0)
            .var("CONTENT_LENGTH", values[0])
            .var("CONTENT_LENGTH", values[1])
            .with_body_len(0)
            .to_vec();
        let conflict = Error::ConflictingContentLength {
            first: 0,
            second: 0,
            offset: later,
        };
        assert_eq!(built, Err(conflict), "{values:?}");
    }
}

/// The same shape with a non-zero body is consistent: the placeholder is filled with the
/// same digits as the caller's value (E7), so both vars are identical (C3). Kept next to the
/// finding above so a fix cannot break the general case.
#[test]
fn body_len_fills_a_placeholder_beside_an_equal_content_length() {
    for values in [[&b""[..], b"5"], [b"5", b""]] {
        let wire = PacketBuilder::new(0)
            .var("CONTENT_LENGTH", values[0])
            .var("CONTENT_LENGTH", values[1])
            .with_body_len(5)
            .to_vec()
            .expect("a placeholder and the exact length");
        // H(0,38,0) kv("CONTENT_LENGTH","5") kv("CONTENT_LENGTH","5")
        let pair = b"\x0e\x00CONTENT_LENGTH\x01\x005";
        assert_eq!(
            wire,
            [&[0x00, 38, 0x00, 0x00][..], pair, pair].concat(),
            "{values:?}"
        );
        let packet = PacketRef::parse(&wire)
            .ok()
            .and_then(Status::complete)
            .expect("the built packet parses");
        let vars = packet.vars().expect("a request has vars");
        let all: Vec<&[u8]> = vars.get_all("CONTENT_LENGTH").collect();
        assert_eq!(all, [b"5", b"5"]);
        assert_eq!(packet.body_len(), Ok(5));
    }
}

/// Found by the `codec` target: `ClientCodec` took the body length from what the builder was
/// told (`with_body_len`, its `CONTENT_LENGTH` vars) rather than from the packet it wrote, so
/// it let through body bytes that a server frames as the next packet or as trailing bytes
/// (PROTOCOL.md C6, C8). Two shapes: raw bytes (E6) whose `10 00` reads as a key length of 16,
/// swallowing the `CONTENT_LENGTH` pair the builder appends into one key; and a cache magic
/// request (111/17), which a server frames by `size` (§2.4), not by `CONTENT_LENGTH`. The codec
/// now frames the body a server reads: from the bytes written when raw bytes were appended,
/// else from the var that frames the packet's kind; it holds the body to that length.
#[cfg(feature = "codec")]
#[test]
fn client_codec_frames_the_body_the_written_packet_frames() {
    use bytes::{Bytes, BytesMut};
    use tokio_util::codec::Encoder;
    use uwsgi_codec::codec::{ClientCodec, ClientMessage, Error as CodecError};

    let swallowed = PacketBuilder::new(0).raw(b"\x10\x00").with_body_len(10);
    let cache = PacketBuilder::new(111).with_modifier2(17).with_body_len(3);
    for (builder, body) in [(&swallowed, 10), (&cache, 3)] {
        let mut codec = ClientCodec::new();
        let mut wire = BytesMut::new();
        codec
            .encode(ClientMessage::Packet(builder), &mut wire)
            .expect("a valid packet");
        let framed = PacketRef::parse(&wire)
            .ok()
            .and_then(Status::complete)
            .map(|packet| packet.body_len());
        assert_eq!(framed, Some(Ok(0)), "what a server frames");
        let sent = codec.encode(
            ClientMessage::Body(Bytes::from(vec![b'x'; body])),
            &mut wire,
        );
        assert!(
            matches!(
                sent,
                Err(CodecError::BodyMismatch { expected: 0, received }) if received == body as u64
            ),
            "{sent:?}"
        );
    }
    // The ordinary case is unchanged: the appended CONTENT_LENGTH frames the body.
    let mut codec = ClientCodec::new();
    let mut wire = BytesMut::new();
    let request = PacketBuilder::new(0).var("PATH_INFO", "/").with_body_len(3);
    codec
        .encode(ClientMessage::Packet(&request), &mut wire)
        .expect("packet");
    codec
        .encode(ClientMessage::Body(Bytes::from_static(b"abc")), &mut wire)
        .expect("the framed body");
}

/// Found by the `parse` target (`check_parse_into`), input `00 00 00 00`: a server parses its
/// growing buffer into one `PacketRef` again and again. Parsing the 1-byte prefix of a packet
/// into the packet that the whole input had filled returned `Incomplete(3)` and left the old
/// packet in place, though `parse_into` documents that on `Incomplete` or an error the packet
/// holds nothing of the buffer. The same held for the header errors (`ForeignProtocol`,
/// `TooLarge`); a block error already emptied it.
#[test]
fn parse_into_empties_the_packet_on_incomplete_and_header_errors() {
    let parser = Parser::new().with_max_datasize(4);
    let whole: &[u8] = b"\x00\x00\x00\x00";
    let incomplete = &whole[..1];
    let foreign = b"GET / HTTP/1.1\r\n";
    let too_large = b"\x00\x05\x00\x00";
    for input in [incomplete, foreign, too_large] {
        let mut packet = PacketRef::empty();
        assert_eq!(
            parser.parse_into(whole, &mut packet),
            Ok(Status::Complete(4))
        );
        assert_eq!(packet.wire_len(), 4);
        let outcome = parser.parse_into(input, &mut packet);
        match outcome {
            Ok(Status::Incomplete(3)) => assert_eq!(input, incomplete),
            Err(Error::ForeignProtocol { .. }) => assert_eq!(input, foreign),
            Err(Error::TooLarge { .. }) => assert_eq!(input, too_large),
            other => panic!("{input:?}: unexpected {other:?}"),
        }
        assert!(packet == PacketRef::empty(), "{input:?} left {packet:?}");
    }
}
