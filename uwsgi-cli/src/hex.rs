//! Hex text in both directions, and bytes shown for a person.

use std::fmt::Write as _;

/// Lower-case hex, two digits per byte, no separators.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Hex with a space between bytes.
pub(crate) fn spaced(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

fn digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Decodes hex text, ignoring ASCII whitespace anywhere; says where it is not hex.
pub(crate) fn decode_lenient(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (at, &byte) in text.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        let Some(value) = digit(byte) else {
            let shown = uwsgi_codec::Escaped(text.get(at..=at).unwrap_or_default());
            return Err(format!("{shown:?} at byte {at} is not a hex digit"));
        };
        match high.take() {
            Some(high) => out.push(high << 4 | value),
            None => high = Some(value),
        }
    }
    match high {
        Some(_) => Err("odd number of hex digits".into()),
        None => Ok(out),
    }
}

/// Decodes a strict hex string (no whitespace), `None` if it is not one.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let digits: Option<Vec<u8>> = text.bytes().map(digit).collect();
    let digits = digits?;
    if digits.len() % 2 != 0 {
        return None;
    }
    Some(
        digits
            .chunks(2)
            .map(|pair| match pair {
                [high, low] => high << 4 | low,
                _ => 0,
            })
            .collect(),
    )
}

/// At most `max` bytes as an escaped, quoted string, with a note of how many were left out.
pub(crate) fn show(bytes: &[u8], max: usize) -> String {
    let cut = bytes.get(..max).unwrap_or(bytes);
    let more = if bytes.len() > cut.len() {
        format!("... ({} bytes)", bytes.len())
    } else {
        String::new()
    };
    format!("\"{}\"{more}", cut.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        assert_eq!(encode(b"\x00\xffA"), "00ff41");
        assert_eq!(decode("00ff41").as_deref(), Some(&b"\x00\xffA"[..]));
        assert_eq!(decode("0"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode_lenient(b" 00\nff 4 1"), Ok(b"\x00\xffA".to_vec()));
        assert!(decode_lenient(b"0g").is_err());
        assert_eq!(show(b"abcdef", 3), "\"abc\"... (6 bytes)");
    }
}
