//! Unit tests of the parser's settings and header checks.

use super::*;

#[test]
fn limit_is_checked_before_the_block_arrives() {
    let parser = Parser::new().with_max_datasize(10);
    assert_eq!(
        parser.parse(&[0, 11, 0, 0]).map(|s| s.map(|_| ())),
        Err(Error::TooLarge { len: 11, max: 10 })
    );
    assert_eq!(
        parser.parse(&[0, 10, 0, 0]).map(|s| s.map(|_| ())),
        Ok(Status::Incomplete(10))
    );
}

#[test]
fn limit_above_the_protocol_maximum_clamps_instead_of_wrapping() {
    assert_eq!(Parser::new().with_max_datasize(65536).max_datasize(), 65535);
    assert_eq!(
        Parser::new().with_max_datasize(usize::MAX).max_datasize(),
        65535
    );
}

#[test]
fn datagram_must_be_exactly_one_packet() {
    let parser = Parser::new();
    assert!(parser.parse_datagram(&[100, 0, 0, 0]).is_ok());
    assert_eq!(
        parser.parse_datagram(&[100, 1, 0, 0]).map(|_| ()),
        Err(Error::DatagramLength {
            datasize: 1,
            len: 4
        })
    );
    assert_eq!(
        parser.parse_datagram(&[100, 0, 0, 0, 9]).map(|_| ()),
        Err(Error::DatagramLength {
            datasize: 0,
            len: 5
        })
    );
    assert_eq!(
        parser.parse_datagram(&[100, 0]).map(|_| ()),
        Err(Error::UnexpectedEof {
            offset: 2,
            needed: 2
        })
    );
}

#[test]
fn custom_foreign_pattern_is_refused() {
    let parser = Parser::new().with_foreign_pattern(*b"PROP");
    assert!(matches!(
        parser.parse(b"PROPFIND"),
        Err(Error::ForeignProtocol { protocol: ForeignProtocol::Custom(p), .. }) if &p == b"PROP"
    ));
}

#[test]
fn getters_read_back_the_settings() {
    let parser = Parser::new()
        .with_max_vars(Some(3))
        .with_foreign_check(false)
        .with_magic_policy(MagicPolicy::Refuse)
        .with_direction(Direction::Reply);
    assert_eq!(parser.max_vars(), Some(3));
    assert!(!parser.foreign_check());
    assert_eq!(parser.magic_policy(), &MagicPolicy::Refuse);
    assert_eq!(parser.direction(), Direction::Reply);
}

#[test]
fn reply_direction_reads_an_rpc_reply_as_raw() {
    let parser = Parser::new().with_direction(Direction::Reply);
    let packet = parser
        .parse(b"\xad\x03\x00\x00a|b")
        .ok()
        .and_then(Status::complete);
    assert_eq!(packet.map(|p| *p.block()), Some(Block::Raw(b"a|b")));
}

#[test]
fn body_length_comes_from_the_kind_s_var() {
    // H(111,15,17) kv("size","9") kv("k","v") — cache magic frames its body by `size`.
    let wire = b"\x6f\x0f\x00\x11\x04\x00size\x01\x009\x01\x00k\x01\x00v";
    let packet = PacketRef::parse(wire).ok().and_then(Status::complete);
    assert_eq!(packet.map(|p| p.body_len()), Some(Ok(9)));
}
