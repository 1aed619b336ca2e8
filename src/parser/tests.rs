//! Unit tests of the parser's settings and header checks.

use super::*;
use crate::error::Field;

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

/// Pairs copied out of their storage.
type OwnedPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// `parse_pairs` on `wire` into storage of `capacity` pairs.
fn pairs_of(parser: &Parser, wire: &[u8], capacity: usize) -> Result<OwnedPairs, Error> {
    let mut storage = alloc::vec![EMPTY_PAIR; capacity];
    match parser.parse_pairs(wire, &mut storage)? {
        Status::Complete(packet) => Ok(packet
            .pairs()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()),
        Status::Incomplete(n) => panic!("incomplete by {n}"),
    }
}

/// H(0,n,0) then `kv("K1","a") kv("K2","b") …` for `count` pairs.
fn request(count: usize) -> Vec<u8> {
    let mut block = Vec::new();
    for i in 0..count {
        block.extend_from_slice(&[2, 0, b'K', b'0' + i as u8, 1, 0, b'a' + i as u8]);
    }
    let mut wire = alloc::vec![0, block.len() as u8, 0, 0];
    wire.extend_from_slice(&block);
    wire
}

#[test]
fn parse_pairs_fills_storage_exactly_to_its_capacity() {
    let wire = request(3);
    let parser = Parser::new();
    assert_eq!(pairs_of(&parser, &wire, 3).map(|p| p.len()), Ok(3));
    assert_eq!(pairs_of(&parser, &wire, 100).map(|p| p.len()), Ok(3));
    assert_eq!(
        pairs_of(&parser, &wire, 2),
        Err(Error::TooManyVars { max: 2, offset: 18 })
    );
    assert_eq!(
        pairs_of(&parser, &wire, 0),
        Err(Error::TooManyVars { max: 0, offset: 4 })
    );
    assert_eq!(pairs_of(&parser, &[0, 0, 0, 0], 0), Ok(Vec::new()));
}

#[test]
fn parse_pairs_names_the_first_fault_in_wire_order() {
    // Three pairs, the last one cut short by a datasize 1 byte too small.
    let mut wire = request(3);
    wire[1] -= 1;
    wire.pop();
    let overrun = Error::Overrun {
        field: Field::Value,
        offset: 22,
        len: 1,
        available: 0,
    };
    assert_eq!(pairs_of(&Parser::new(), &wire, 3), Err(overrun));
    // Storage for two: the third pair is one too many before it is read.
    assert_eq!(
        pairs_of(&Parser::new(), &wire, 2),
        Err(Error::TooManyVars { max: 2, offset: 18 })
    );
    // The parser's own smaller limit is the one named.
    let limited = Parser::new().with_max_vars(Some(1));
    assert_eq!(
        pairs_of(&limited, &wire, 2),
        Err(Error::TooManyVars { max: 1, offset: 11 })
    );
}

#[test]
fn parse_pairs_applies_the_magic_policy() {
    let wire = b"\x00\x10\x00\x00\x0a\x00UWSGI_FILE\x02\x00/x";
    let parser = Parser::new().with_magic_policy(MagicPolicy::Refuse);
    assert_eq!(
        pairs_of(&parser, wire, 4),
        Err(Error::MagicVar { offset: 4 })
    );
    assert_eq!(pairs_of(&Parser::new(), wire, 4).map(|p| p.len()), Ok(1));
}

#[test]
fn each_rule_setter_keeps_the_other_rule() {
    // kv("UWSGI_FILE","/x") kv("A","1")
    let wire = b"\x00\x16\x00\x00\x0a\x00UWSGI_FILE\x02\x00/x\x01\x00A\x01\x001";
    let magic = Err(Error::MagicVar { offset: 4 });
    let too_many = Err(Error::TooManyVars { max: 1, offset: 20 });
    let refuse_then_limit = Parser::new()
        .with_magic_policy(MagicPolicy::Refuse)
        .with_max_vars(None);
    assert_eq!(pairs_of(&refuse_then_limit, wire, 4), magic);
    let limit_then_allow = Parser::new()
        .with_max_vars(Some(1))
        .with_magic_policy(MagicPolicy::Allow);
    assert_eq!(pairs_of(&limit_then_allow, wire, 4), too_many);
    // Both cleared again: neither rule refuses the block.
    let cleared = limit_then_allow.with_max_vars(None);
    assert_eq!(pairs_of(&cleared, wire, 4).map(|p| p.len()), Ok(2));
}

#[test]
fn parse_pairs_reads_other_kinds_without_pairs() {
    let parser = Parser::new();
    let mut storage = [EMPTY_PAIR; 4];
    // A ping: raw, empty.
    let Ok(Status::Complete(ping)) = parser.parse_pairs(&[100, 0, 0, 0], &mut storage) else {
        panic!("a ping parses")
    };
    assert_eq!((ping.modifier1(), ping.pairs().len()), (Modifier1::PING, 0));
    assert!(ping.array().is_none());
    // An RPC call: an array of two items.
    let rpc = b"\xad\x08\x00\x00\x03\x00fun\x01\x00x";
    let Ok(Status::Complete(call)) = parser.parse_pairs(rpc, &mut storage) else {
        panic!("an RPC call parses")
    };
    let items: Vec<&[u8]> = call.array().expect("an array").iter().collect();
    assert_eq!(items, [&b"fun"[..], b"x"]);
    assert!(call.pairs().is_empty());
    // A foreign protocol is refused as `parse` refuses it.
    assert!(matches!(
        parser.parse_pairs(b"GET / HTTP/1.1\r\n", &mut storage),
        Err(Error::ForeignProtocol { .. })
    ));
}

#[test]
fn parse_pairs_body_length_has_the_offsets_of_parse() {
    // kv("CONTENT_LENGTH","1") twice with different values: rule C3, at the second pair.
    let wire = b"\x00\x26\x00\x00\
        \x0e\x00CONTENT_LENGTH\x01\x001\
        \x0e\x00CONTENT_LENGTH\x01\x002";
    let mut storage = [EMPTY_PAIR; 2];
    let Ok(Status::Complete(packet)) = Parser::new().parse_pairs(wire, &mut storage) else {
        panic!("the packet parses")
    };
    let by_parse = PacketRef::parse(wire).map(|s| s.complete().map(|p| p.body_len()));
    assert_eq!(by_parse, Ok(Some(packet.body_len())));
    assert_eq!(
        packet.body_len(),
        Err(Error::ConflictingContentLength {
            first: 1,
            second: 2,
            offset: 23
        })
    );
    assert_eq!(packet.get("CONTENT_LENGTH"), Some(&b"2"[..]));
    assert_eq!(packet.get_first("CONTENT_LENGTH"), Some(&b"1"[..]));
}

#[test]
fn parse_pairs_leaves_no_pair_of_a_refused_block_in_storage() {
    // Two good pairs, then a third cut short: the walk wrote two slots before it failed.
    let mut wire = request(3);
    wire[1] -= 1;
    wire.pop();
    let mut storage = [EMPTY_PAIR; 4];
    assert!(Parser::new().parse_pairs(&wire, &mut storage).is_err());
    assert_eq!(storage, [EMPTY_PAIR; 4]);
    // Refused by the magic policy after a whole walk.
    let magic = b"\x00\x16\x00\x00\x01\x00A\x01\x001\x0a\x00UWSGI_FILE\x02\x00/x";
    let refuse = Parser::new().with_magic_policy(MagicPolicy::Refuse);
    assert_eq!(
        refuse.parse_pairs(magic, &mut storage),
        Err(Error::MagicVar { offset: 10 })
    );
    assert_eq!(storage, [EMPTY_PAIR; 4]);
}

#[test]
fn debug_shows_the_settings_as_set() {
    use alloc::format;
    assert_eq!(
        format!("{:?}", Parser::new()),
        "Parser { max_datasize: 65535, max_vars: None, foreign_check: true, foreign_patterns: [], \
         magic_policy: Allow, direction: Request, custom_kind_fn: false }"
    );
    let parser = Parser::new()
        .with_max_datasize(4096)
        .with_max_vars(Some(64))
        .with_foreign_pattern(*b"PR\x00P")
        .with_magic_policy(MagicPolicy::Refuse)
        .with_direction(Direction::Reply)
        .with_kind_fn(|_, _| PacketKind::REQUEST);
    assert_eq!(
        format!("{parser:?}"),
        "Parser { max_datasize: 4096, max_vars: Some(64), foreign_check: true, \
         foreign_patterns: [\"PR\\u{0}P\"], magic_policy: Refuse, direction: Reply, \
         custom_kind_fn: true }"
    );
}

#[test]
fn packet_pairs_debug_prints_pairs_as_text() {
    use alloc::format;
    let mut storage = [EMPTY_PAIR; 4];
    let wire = b"\x00\x0c\x00\x00\x03\x00FOO\x05\x00b\xffr\n!";
    let Ok(Status::Complete(packet)) = Parser::new().parse_pairs(wire, &mut storage) else {
        panic!("a whole request")
    };
    assert_eq!(
        format!("{packet:?}"),
        "PacketPairs { header: Header { modifier1: Modifier1(0), datasize: 12, modifier2: 0 }, \
         kind: PacketKind { block: Vars, body: ContentLength }, pairs: [(\"FOO\", \"b\\xffr\\n!\")] }"
    );
    // An RPC call's block is an array: its items.
    let wire = b"\xad\x05\x00\x00\x03\x00add";
    let Ok(Status::Complete(packet)) = Parser::new().parse_pairs(wire, &mut storage) else {
        panic!("a whole RPC call")
    };
    let text = format!("{packet:?}");
    assert!(text.ends_with("array: [\"add\"] }"), "{text}");
    // A reply's raw block: its bytes, escaped.
    let parser = Parser::new().with_direction(Direction::Reply);
    let wire = b"\x05\x04\x00\x00a\x00\xffc";
    let Ok(Status::Complete(packet)) = parser.parse_pairs(wire, &mut storage) else {
        panic!("a whole reply")
    };
    let text = format!("{packet:?}");
    assert!(text.ends_with("raw: \"a\\u{0}\\xffc\" }"), "{text}");
}

/// The modifier table's default-settings bit follows every setter of the limit and the rules,
/// both ways: set exactly when they are the defaults, whatever came before.
#[test]
fn default_settings_bit_follows_the_limit_and_the_rules() {
    use crate::triage::PLAIN_DEFAULTS;
    let defaults = |parser: &Parser| parser.triage.of(0) & PLAIN_DEFAULTS != 0;
    assert!(defaults(&Parser::new()));
    let limited = [
        Parser::new().with_max_datasize(4096),
        Parser::new().with_max_vars(Some(3)),
        Parser::new().with_magic_policy(MagicPolicy::Refuse),
    ];
    for parser in &limited {
        assert!(!defaults(parser), "{parser:?}");
        // The other settings leave the bit as they find it.
        assert!(
            !defaults(&parser.clone().with_foreign_check(false)),
            "{parser:?}"
        );
    }
    let restored = [
        Parser::new()
            .with_max_datasize(4096)
            .with_max_datasize(70_000),
        Parser::new().with_max_vars(Some(3)).with_max_vars(None),
        Parser::new()
            .with_magic_policy(MagicPolicy::Refuse)
            .with_magic_policy(MagicPolicy::Allow),
    ];
    for parser in &restored {
        assert!(defaults(parser), "{parser:?}");
    }
    // The bit goes with `PLAIN_REQUEST`: none where no header is a plain request (replies,
    // the caller's own patterns, which may start with any byte).
    assert!(defaults(&Parser::new().with_foreign_check(false)));
    assert!(!defaults(&Parser::new().with_direction(Direction::Reply)));
    assert!(!defaults(&Parser::new().with_foreign_pattern(*b"PROP")));
}

/// A datasize limit applies to a plain request on `parse_pairs`, whichever setter came last.
#[test]
fn parse_pairs_applies_the_datasize_limit_to_a_plain_request() {
    // H(0,12,0) kv("A","1") kv("B","2")
    let wire = b"\x00\x0c\x00\x00\x01\x00A\x01\x001\x01\x00B\x01\x002";
    let mut storage = [crate::EMPTY_PAIR; 4];
    let mut pairs = |parser: Parser| {
        let status = parser.parse_pairs(wire, &mut storage);
        status.map(|status| status.map(|packet| packet.pairs().len()))
    };
    let too_large = Err(Error::TooLarge { len: 12, max: 11 });
    assert_eq!(pairs(Parser::new().with_max_datasize(11)), too_large);
    let last = Parser::new().with_magic_policy(MagicPolicy::Refuse);
    assert_eq!(pairs(last.with_max_datasize(11)), too_large);
    assert_eq!(
        pairs(Parser::new().with_max_datasize(12)),
        Ok(Status::Complete(2))
    );
}
