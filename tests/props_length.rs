//! Properties of `CONTENT_LENGTH` framing (STYLE.md §5, PROTOCOL.md §5 C1 to C3, §7 E7),
//! public API only:
//!
//! 1. `parse_length` takes exactly the values C2 allows and names the first offending byte;
//! 2. `CONTENT_LENGTH` (or cache `size`) = n gives `body_len() == n`; an identical duplicate
//!    agrees, a respelled one conflicts at the later pair;
//! 3. `with_body_len(n)` fills a placeholder, appends a missing var, keeps an exact one and
//!    refuses any other (E7), and the packet it writes parses back with `body_len() == n`.

mod common;

use common::props::{
    Pair, body_length, borrowed, check_vars, complete, config, framed_modifiers, kind_of,
    length_value, plain_pairs, vars_modifiers,
};
use proptest::collection::vec;
use proptest::prelude::*;
use uwsgi_codec::{
    ContentLengthFault, Error, HEADER_LEN, PacketBuilder, PacketKind, PacketRef, parse_length,
};

/// What the caller put in `CONTENT_LENGTH` before `with_body_len(n)`.
#[derive(Debug, Clone)]
enum Existing {
    None,
    Placeholder,
    Exact,
    Padded,
    Other(u64),
}

fn existing() -> impl Strategy<Value = Existing> {
    prop_oneof![
        Just(Existing::None),
        Just(Existing::Placeholder),
        Just(Existing::Exact),
        Just(Existing::Padded),
        any::<u64>().prop_map(Existing::Other),
    ]
}

fn pairs_size(pairs: &[Pair]) -> usize {
    pairs.iter().map(|(k, v)| 4 + k.len() + v.len()).sum()
}

/// `parse_length` (C2): empty is 0, digits only, and the first offending byte is named.
fn check_parse_length(value: &[u8], base: usize) -> Result<(), TestCaseError> {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let fits = |digits: &[u8]| {
        digits.is_empty()
            || std::str::from_utf8(digits)
                .ok()
                .and_then(|text| text.parse::<u128>().ok())
                .is_some_and(|n| n <= u128::from(u64::MAX))
    };
    match parse_length(value, base) {
        Ok(n) => {
            prop_assert_eq!(
                digits,
                value.len(),
                "{:02x?} accepted with a non-digit",
                value
            );
            let text = String::from_utf8_lossy(value);
            let trimmed = text.trim_start_matches('0');
            let expected = if trimmed.is_empty() { "0" } else { trimmed };
            prop_assert_eq!(
                n.to_string(),
                expected,
                "the decimal value of {:02x?}",
                value
            );
        }
        Err(Error::InvalidContentLength { offset, reason }) => {
            prop_assert!(
                offset >= base,
                "offset {} before the value at {}",
                offset,
                base
            );
            let at = offset - base;
            prop_assert!(at < value.len(), "offset {} past the value", offset);
            match reason {
                ContentLengthFault::NotDigit => {
                    prop_assert_eq!(at, digits, "NotDigit names the first non-digit");
                    prop_assert!(fits(&value[..at]), "the digits before it fit a u64");
                }
                ContentLengthFault::Overflow => {
                    prop_assert!(at < digits, "Overflow at a digit");
                    prop_assert!(fits(&value[..at]), "the digits before it fit a u64");
                    prop_assert!(!fits(&value[..=at]), "the digit it names overflows");
                }
            }
        }
        Err(e) => prop_assert!(false, "parse_length failed with {:?}", e),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// 1. `parse_length` on digit strings, overflowing ones and ones with a stray byte (C2).
    #[test]
    fn parse_length_follows_c2(value in length_value(), zeros in 0usize..4, base in 0usize..100) {
        let padded = [vec![b'0'; zeros], value].concat();
        check_parse_length(&padded, base)?;
    }

    /// 1. `parse_length` on any bytes, at the offsets a value has in a packet (C2).
    #[test]
    fn parse_length_on_any_bytes(value in vec(any::<u8>(), 0..40), base in prop_oneof![Just(0usize), Just(84), 0usize..70_000]) {
        check_parse_length(&value, base)?;
    }

    /// 2. `CONTENT_LENGTH` (or cache `size`) = n in decimal, leading zeros or not, gives
    /// `body_len() == n`; an identical duplicate agrees, a respelled one conflicts (C1 to C3).
    #[test]
    fn content_length_is_the_body_len(
        n in body_length(),
        zeros in 0usize..4,
        (m1, m2) in framed_modifiers(),
        before in plain_pairs(),
        after in plain_pairs(),
        duplicate in 0u8..3,
    ) {
        let key = kind_of(m1, m2).body.length_key().expect("a framed body").to_vec();
        let digits = [vec![b'0'; zeros], n.to_string().into_bytes()].concat();
        let mut pairs = before.clone();
        pairs.push((key.clone(), digits.clone()));
        pairs.extend(after.iter().cloned());
        let respelled = [b"0".as_slice(), &digits].concat();
        match duplicate {
            1 => pairs.push((key.clone(), digits.clone())),
            2 => pairs.push((key.clone(), respelled)),
            _ => {}
        }
        let block: Vec<u8> = pairs.iter().flat_map(|(k, v)| common::kv(k, v)).collect();
        let wire = common::packet(m1, m2, &block);
        let packet = complete(PacketRef::parse(&wire), "a length var packet")?;
        let vars = packet.vars().expect("a vars block");
        check_vars(vars, &pairs)?;
        prop_assert_eq!(packet.body_len(), vars.length_var(&key), "body_len = length_var");
        let conflict_at = HEADER_LEN + pairs_size(&pairs[..pairs.len() - 1]);
        if duplicate == 2 {
            let conflict = Error::ConflictingContentLength { first: n, second: n, offset: conflict_at };
            prop_assert_eq!(packet.body_len(), Err(conflict), "a respelled duplicate conflicts");
        } else {
            prop_assert_eq!(packet.body_len(), Ok(n), "body_len of {:?}", String::from_utf8_lossy(&digits));
        }
        if key == b"CONTENT_LENGTH" {
            prop_assert_eq!(vars.content_length(), packet.body_len(), "content_length = body_len");
        }
    }

    /// 3. `with_body_len(n)` fills an empty `CONTENT_LENGTH` placeholder with decimal n (empty
    /// for 0), appends one when there is none and n > 0, keeps an exact one and refuses any
    /// other value (E7); the parse gives `body_len() == n`.
    #[test]
    fn builder_body_len_frames_the_body(
        n in body_length(),
        (m1, m2) in vars_modifiers().prop_filter("CONTENT_LENGTH framing", |&(m1, m2)| {
            kind_of(m1, m2) == PacketKind::REQUEST
        }),
        before in plain_pairs(),
        after in plain_pairs(),
        existing in existing(),
    ) {
        let decimal = n.to_string().into_bytes();
        let caller_value = match &existing {
            Existing::None => None,
            Existing::Placeholder => Some(Vec::new()),
            Existing::Exact => Some(decimal.clone()),
            Existing::Padded => Some([b"0".as_slice(), &decimal].concat()),
            Existing::Other(m) => Some(m.to_string().into_bytes()),
        };
        let mut pairs = before.clone();
        if let Some(value) = &caller_value {
            pairs.push((b"CONTENT_LENGTH".to_vec(), value.clone()));
        }
        pairs.extend(after.iter().cloned());
        let slice = borrowed(&pairs);
        let builder = PacketBuilder::new(m1).with_modifier2(m2).with_vars(&slice).with_body_len(n);
        let result = builder.to_vec();
        let pair_at = HEADER_LEN + pairs_size(&before);
        let conflicting = match &existing {
            Existing::Padded => Some(n),
            Existing::Other(m) if *m != n => Some(*m),
            _ => None,
        };
        if let Some(first) = conflicting {
            let conflict = Error::ConflictingContentLength { first, second: n, offset: pair_at };
            prop_assert_eq!(result, Err(conflict.clone()), "CONTENT_LENGTH {:?} with body_len({})", caller_value, n);
            prop_assert_eq!(builder.encoded_len(), Err(conflict), "encoded_len agrees");
            return Ok(());
        }
        prop_assert!(result.is_ok(), "body_len({}) with {:?}: {:?}", n, existing, result);
        let wire = result.unwrap();
        prop_assert_eq!(builder.encoded_len(), Ok(wire.len()), "encoded_len");
        let packet = complete(PacketRef::parse(&wire), "framed packet")?;
        prop_assert_eq!(packet.body_len(), Ok(n), "body_len after parse");

        let filled = if n == 0 { Vec::new() } else { decimal.clone() };
        let mut expected = before.clone();
        match existing {
            Existing::Placeholder => expected.push((b"CONTENT_LENGTH".to_vec(), filled)),
            Existing::None => {}
            _ => expected.push((b"CONTENT_LENGTH".to_vec(), caller_value.clone().unwrap_or_default())),
        }
        expected.extend(after.iter().cloned());
        if matches!(existing, Existing::None) && n > 0 {
            expected.push((b"CONTENT_LENGTH".to_vec(), decimal));
        }
        check_vars(packet.vars().expect("a vars block"), &expected)?;
    }
}
