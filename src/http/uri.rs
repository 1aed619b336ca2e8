//! The request target in both of its forms: percent coding, nginx's `$document_uri`, raw
//! targets made acceptable to [`Uri`](::http::Uri), and `host[:port]` helpers.

use alloc::vec::Vec;

use ::http::uri::{Authority, PathAndQuery, Scheme};

use super::error::{Error, HttpPart, invalid};

/// A var's value and the offset of its first byte, counted from the packet's first byte.
pub(super) type At<'a> = Option<(usize, &'a [u8])>;

/// Bytes kept as they are in an encoded path: RFC 3986 `pchar` and `/`, the set every `http`
/// 1.x accepts, without `%` (so that a decoded `%` becomes `%25`).
fn path_keeps(b: u8) -> bool {
    matches!(b, 0x21 | 0x24 | 0x26..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E)
}

/// Bytes kept as they are in a raw path that `Uri` refused: [`path_keeps`] and `%`, since a
/// raw target is encoded already.
fn raw_path_keeps(b: u8) -> bool {
    b == b'%' || path_keeps(b)
}

/// Bytes kept as they are in a raw query that `Uri` refused.
fn query_keeps(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E)
}

/// Appends `bytes` to `out`, each byte that `keep` refuses as `%XX`.
fn percent_encode(bytes: &[u8], keep: impl Fn(u8) -> bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if keep(b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.extend(HEX.get(usize::from(b >> 4)));
            out.extend(HEX.get(usize::from(b & 0x0f)));
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `path` with every valid `%XX` decoded; a `%` not followed by two hex digits stays.
fn percent_decode(path: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(path.len());
    let mut rest = path;
    while let Some((&b, tail)) = rest.split_first() {
        let escaped = match tail {
            [high, low, ..] if b == b'%' => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                decoded.push(high << 4 | low);
                rest = tail.get(2..).unwrap_or_default();
            }
            None => {
                decoded.push(b);
                rest = tail;
            }
        }
    }
    decoded
}

/// The target of decoded paths (`SCRIPT_NAME`, `PATH_INFO`) and a raw query: the paths
/// percent-encoded so that decoding the result once gives them back (`%` becomes `%25`,
/// `?` `%3F`, a space `%20`), a `/` put in front when missing, then `?` and the query when
/// it is not empty, made acceptable by [`raw_target`] as a raw target is.
pub(super) fn decoded_target<'p>(
    paths: impl IntoIterator<Item = &'p [u8]>,
    query: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    for path in paths {
        percent_encode(path, path_keeps, &mut out);
    }
    if !out.starts_with(b"/") {
        out.insert(0, b'/');
    }
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        out.push(b'?');
        out.extend_from_slice(query);
    }
    raw_target(&out)
}

/// A raw request target as `Uri` takes it: unchanged when it already does, else with every
/// byte it might refuse (controls, spaces, `"`, `#`, bytes of 0x80 or more …)
/// percent-encoded, so that raw non-UTF-8 bytes become their `%XX` form instead of an error.
pub(super) fn raw_target(raw: &[u8]) -> Vec<u8> {
    if !raw.contains(&b'#') && PathAndQuery::try_from(raw).is_ok() {
        return raw.to_vec();
    }
    let (path, query) = match raw.iter().position(|&b| b == b'?') {
        Some(q) => (
            raw.get(..q).unwrap_or_default(),
            Some(raw.get(q + 1..).unwrap_or_default()),
        ),
        None => (raw, None),
    };
    let mut out = Vec::with_capacity(raw.len());
    percent_encode(path, raw_path_keeps, &mut out);
    if let Some(query) = query {
        out.push(b'?');
        percent_encode(query, query_keeps, &mut out);
    }
    out
}

/// nginx's `$document_uri` for a path: `%XX` decoded, `.` and `..` segments resolved (never
/// above the root), repeated slashes merged. A path not starting with `/` (`*`, or empty
/// for an authority-form target) is only decoded.
pub(super) fn document_uri(path: &[u8]) -> Vec<u8> {
    let decoded = percent_decode(path);
    let Some(segments) = decoded.strip_prefix(b"/") else {
        return decoded;
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in segments.split(|&b| b == b'/') {
        trailing_slash = matches!(segment, b"" | b"." | b"..");
        match segment {
            b"" | b"." => {}
            b".." => {
                kept.pop();
            }
            _ => kept.push(segment),
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for segment in &kept {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash || kept.is_empty() {
        out.push(b'/');
    }
    out
}

/// `host[:port]` without the port; `[v6]:port` keeps its brackets.
pub(super) fn strip_port(host: &[u8]) -> &[u8] {
    let end = if host.starts_with(b"[") {
        host.iter()
            .position(|&b| b == b']')
            .map_or(host.len(), |i| i + 1)
    } else {
        host.iter().position(|&b| b == b':').unwrap_or(host.len())
    };
    host.get(..end).unwrap_or(host)
}

/// The port a URI leaves out for this scheme: 80 for `http`, 443 for `https`.
fn default_port(scheme: &Scheme) -> Option<&'static [u8]> {
    if *scheme == Scheme::HTTPS {
        Some(b"443")
    } else if *scheme == Scheme::HTTP {
        Some(b"80")
    } else {
        None
    }
}

/// The scheme of an absolute URI: `https` when `https` (the `HTTPS` var) is `on` (any case)
/// or `1`; else `named` (a non-empty `REQUEST_SCHEME` or `UWSGI_SCHEME`); else `http`.
pub(super) fn scheme(https: Option<&[u8]>, named: At<'_>) -> Result<Scheme, Error> {
    if https.is_some_and(|https| https.eq_ignore_ascii_case(b"on") || https == b"1") {
        return Ok(Scheme::HTTPS);
    }
    match named {
        Some((at, value)) => Scheme::try_from(value).map_err(|_| invalid(at, HttpPart::Scheme)),
        None => Ok(Scheme::HTTP),
    }
}

/// The host of an absolute URI, from non-empty vars: `host` (`HTTP_HOST`); else `name`
/// (`SERVER_NAME`) with `:port` (`SERVER_PORT`) unless it is the scheme's default; else none.
pub(super) fn authority(
    host: At<'_>,
    name: At<'_>,
    port: At<'_>,
    scheme: &Scheme,
) -> Result<Option<Authority>, Error> {
    // A Host header is `host[:port]`: no user info, whatever `Authority` would take.
    let parse = |at: usize, text: &[u8]| match text.iter().position(|&b| b == b'@') {
        Some(bad) => Err(invalid(at + bad, HttpPart::Authority)),
        None => Authority::try_from(text).map_err(|_| invalid(at, HttpPart::Authority)),
    };
    if let Some((at, host)) = host {
        return parse(at, host).map(Some);
    }
    let Some((at, name)) = name else {
        return Ok(None);
    };
    let mut text = name.to_vec();
    if let Some((port_at, port)) = port {
        if let Some(bad) = port.iter().position(|b| !b.is_ascii_digit()) {
            return Err(invalid(port_at + bad, HttpPart::Authority));
        }
        if Some(port) != default_port(scheme) {
            text.push(b':');
            text.extend_from_slice(port);
        }
    }
    parse(at, &text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Escaped;

    #[test]
    fn each_helper_gives_its_bytes() {
        type Rows<'a> = &'a [(&'a [u8], &'a [u8])];
        let strip = |host: &[u8]| strip_port(host).to_vec();
        let helpers: [(&str, fn(&[u8]) -> Vec<u8>, Rows<'_>); 3] = [
            // `$document_uri`: decoded, then dots and slashes resolved.
            (
                "document_uri",
                document_uri,
                &[
                    (b"/", b"/"),
                    (b"/a/b%20c", b"/a/b c"),
                    (b"/caf%E9/%FF%FE/%C0%AF/../x", b"/caf\xe9/\xff\xfe/x"),
                    (b"/a/./b/", b"/a/b/"),
                    (b"//a//b", b"/a/b"),
                    (b"/a/..", b"/"),
                    (b"/../../x", b"/x"),
                    (b"/%2e%2e/x/%", b"/x/%"),
                    (b"*", b"*"),
                ],
            ),
            // Ports go, IPv6 brackets stay.
            (
                "strip_port",
                strip,
                &[
                    (b"example.com:8080", b"example.com"),
                    (b"[::1]:8080", b"[::1]"),
                    (b"host", b"host"),
                ],
            ),
            // Raw targets are kept unless `Uri` refuses them.
            (
                "raw_target",
                raw_target,
                &[
                    (b"/a%20b?x=1", b"/a%20b?x=1"),
                    (b"/a b?x y#z", b"/a%20b?x%20y%23z"),
                    (b"/\xff?\xe9", b"/%FF?%E9"),
                ],
            ),
        ];
        for (name, helper, rows) in helpers {
            for &(input, expected) in rows {
                assert_eq!(helper(input), expected, "{name}({})", Escaped(input));
            }
        }
    }

    #[test]
    fn decoded_paths_are_encoded_to_decode_exactly_once() {
        type Case<'a> = (&'a [&'a [u8]], Option<&'a [u8]>, &'a [u8]);
        let cases: [Case<'_>; 7] = [
            (&[b"/100%?#"], None, b"/100%25%3F%23"),
            (&[b"/a%2Fb"], None, b"/a%252Fb"),
            (&[b"/a b"], Some(b"x=1&y"), b"/a%20b?x=1&y"),
            (&[b"/app", b"/x"], Some(b""), b"/app/x"),
            (&[b"x"], None, b"/x"),
            (&[], None, b"/"),
            (&[b"/caf\xe9"], Some(b"q=\xff#"), b"/caf%E9?q=%FF%23"),
        ];
        for (paths, query, expected) in cases {
            let target = decoded_target(paths.iter().copied(), query);
            assert_eq!(target, expected, "{}", Escaped(expected));
            let path = target.split(|&b| b == b'?').next().unwrap_or_default();
            let joined = paths.concat();
            let slash: &[u8] = if joined.starts_with(b"/") { b"" } else { b"/" };
            assert_eq!(
                percent_decode(path),
                [slash, &joined].concat(),
                "decoded once"
            );
        }
    }
}
