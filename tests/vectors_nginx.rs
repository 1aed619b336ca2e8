//! Real nginx 1.22.1 `uwsgi_pass` captures (`tests/vectors/nginx.json`): every vector parses to
//! the recorded header, vars, body length and trailing bytes, and re-encodes byte for byte (E5).

use serde_json::Value;
use uwsgi_codec::{PacketBuilder, PacketRef, Status};

const VECTORS: &str = include_str!("vectors/nginx.json");

/// Lower- or upper-case hex, an even number of digits, nothing else.
fn unhex(text: &str) -> Vec<u8> {
    fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit: {:?}", char::from(c)),
        }
    }
    let text = text.as_bytes();
    assert!(text.len() % 2 == 0, "odd number of hex digits");
    text.chunks_exact(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect()
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}

fn u64_field(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {value}"))
}

#[test]
fn hex_decoder() {
    assert_eq!(unhex(""), b"");
    assert_eq!(unhex("00ff7A"), [0x00, 0xff, 0x7a]);
}

#[test]
fn nginx_vectors() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().expect("a vectors array");
    assert!(vectors.len() >= 3, "only {} vectors", vectors.len());

    for vector in vectors {
        let name = str_field(vector, "name");
        let wire = unhex(str_field(vector, "wire_hex"));
        let expect = &vector["expect"]["packet"];

        let packet = match PacketRef::parse(&wire) {
            Ok(Status::Complete(packet)) => packet,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            u64::from(packet.modifier1().0),
            u64_field(expect, "modifier1"),
            "{name}: modifier1"
        );
        assert_eq!(
            u64::from(packet.datasize()),
            u64_field(expect, "datasize"),
            "{name}: datasize"
        );
        assert_eq!(
            u64::from(packet.modifier2()),
            u64_field(expect, "modifier2"),
            "{name}: modifier2"
        );
        assert_eq!(
            str_field(expect, "block_kind"),
            "vars",
            "{name}: block_kind"
        );
        assert_eq!(packet.kind().block.name(), "vars", "{name}: block kind");
        assert_eq!(packet.wire_len(), 4 + usize::from(packet.datasize()));

        let expected_vars: Vec<(Vec<u8>, Vec<u8>)> = expect["vars"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: vars is not an array"))
            .iter()
            .map(|pair| {
                (
                    unhex(str_field(pair, "key_hex")),
                    unhex(str_field(pair, "value_hex")),
                )
            })
            .collect();
        let vars = packet.vars().unwrap_or_else(|| panic!("{name}: no vars"));
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(got, expected_vars, "{name}: vars in wire order");
        assert_eq!(vars.len(), expected_vars.len(), "{name}: var count");

        assert_eq!(
            packet.body_len().unwrap(),
            u64_field(expect, "body_len"),
            "{name}: body_len"
        );
        assert_eq!(
            &wire[packet.wire_len()..],
            &unhex(str_field(expect, "after_hex"))[..],
            "{name}: bytes after the packet"
        );

        // E5: the same modifiers and pairs, in order, encode to the same bytes.
        let pairs: Vec<(&[u8], &[u8])> = expected_vars
            .iter()
            .map(|(k, v)| (&k[..], &v[..]))
            .collect();
        let encoded = PacketBuilder::new(packet.modifier1())
            .modifier2(packet.modifier2())
            .vars(pairs)
            .to_vec()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(encoded, packet.as_bytes(), "{name}: re-encoding");
        assert_eq!(
            &encoded[..],
            &wire[..packet.wire_len()],
            "{name}: re-encoding"
        );
    }
}
