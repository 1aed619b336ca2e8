//! Feature `http`: vars → `http::request::Parts` → vars, on every real nginx capture and on
//! each mapping rule, and the conversion errors.
#![cfg(feature = "http")]

mod support;

use std::net::SocketAddr;

use http::request::Parts;
use http::{Method, Request, Version};
use serde_json::Value;
use support::UWSGI_PARAMS;
use uwsgi_codec::{
    CgiMapping, ContentHeaders, Error, Escaped, HostVar, HttpPart, PacketBuilder, PacketRef,
    RepeatedHeaders, RequestVars, RequestVarsConfig, Underscores, magic_class, request,
    request_parts,
};

/// `assert_err!(err => pattern)` is `assert!(matches!(err, pattern), "{err:?}")`.
macro_rules! assert_err {
    ($err:expr => $($pattern:tt)+) => {{
        let err = &$err;
        assert!(matches!(*err, $($pattern)+), "{err:?}");
    }};
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

// ---------------------------------------------------------------------------------------------
// Helpers

fn unhex(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit: {:?}", char::from(c)),
    };
    assert!(text.len() % 2 == 0, "odd number of hex digits");
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect()
}

/// "Hex data" (tests/vectors/README.md §1): a hex string, a repeat object, or an array.
fn data(value: &Value) -> Vec<u8> {
    match value {
        Value::String(text) => unhex(text),
        Value::Object(map) => {
            let unit = unhex(map["repeat"].as_str().expect("repeat is a string"));
            unit.repeat(usize::try_from(map["count"].as_u64().expect("count")).expect("count"))
        }
        Value::Array(parts) => parts.iter().flat_map(data).collect(),
        _ => panic!("not hex data: {value}"),
    }
}

/// The nginx captures: (name, packet + body bytes).
fn captures() -> Vec<(String, Vec<u8>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/nginx.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("nginx.json"))
        .expect("nginx.json is JSON");
    let vectors = file["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 18, "expected the 18 nginx captures");
    vectors
        .iter()
        .map(|v| {
            let name = v["name"].as_str().expect("name").to_owned();
            (name, data(&v["wire_hex"]))
        })
        .collect()
}

fn show(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}\n", Escaped(k), Escaped(v)))
        .collect()
}

/// Builds a packet from `pairs`, parses it and converts its vars.
fn parts_of(pairs: &[(&[u8], &[u8])]) -> Result<Parts, Error> {
    let wire = PacketBuilder::new(0)
        .vars(pairs.iter().copied())
        .to_vec()
        .expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    request_parts(&packet.vars().expect("vars"))
}

fn parts(pairs: &[(&[u8], &[u8])]) -> Parts {
    parts_of(pairs).unwrap_or_else(|e| panic!("{e}"))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("socket address")
}

fn config() -> RequestVarsConfig {
    RequestVarsConfig::new(addr("127.0.0.1:8080"), addr("192.0.2.7:50123"))
}

fn keys(vars: &RequestVars) -> Vec<String> {
    vars.pairs()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn assert_no_magic(vars: &RequestVars, ctx: &str) {
    for (key, _) in vars.pairs() {
        assert_eq!(
            magic_class(key),
            None,
            "{ctx}: {} is a magic var (rule M3)",
            Escaped(key)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip over the real captures

/// The documented lossy differences of vars → Parts → vars on the captures, and why. Every
/// other var nginx sent comes back byte for byte and in order.
const LOSSY: &[(&str, &str, &str)] = &[
    (
        "nginx_raw_bytes",
        "REQUEST_URI",
        "raw bytes >= 0x80 in the target are percent-encoded for http::Uri",
    ),
    ("nginx_raw_bytes", "QUERY_STRING", "the same, in the query"),
    (
        "nginx_post_chunked",
        "HTTP_TRANSFER_ENCODING",
        "not carried: the body after the packet is CONTENT_LENGTH bytes, already de-chunked (C5)",
    ),
    (
        "nginx_post_chunked",
        "HTTP_CONTENT_LENGTH",
        "added: the content-length header, from CONTENT_LENGTH, is sent as nginx sends headers",
    ),
];

fn lossy(capture: &str, key: &[u8]) -> bool {
    LOSSY
        .iter()
        .any(|&(c, k, _)| c == capture && k.as_bytes() == key)
}

fn round_trip(name: &str, wire: &[u8], mapping: CgiMapping) -> (Pairs, Pairs, Parts) {
    let packet = PacketRef::parse(wire).expect(name).complete().expect(name);
    let vars = packet.vars().expect(name);
    let original: Pairs = vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    let parts = request_parts(&vars).unwrap_or_else(|e| panic!("{name}: {e}"));
    let get = |key: &str| String::from_utf8(vars.get(key).expect(key).to_vec()).expect(key);
    let remote = addr(&format!("{}:{}", get("REMOTE_ADDR"), get("REMOTE_PORT")));
    let server = addr(&format!("127.0.0.1:{}", get("SERVER_PORT")));
    let config = RequestVarsConfig::new(server, remote)
        .with_document_root(get("DOCUMENT_ROOT"))
        .with_server_name(get("SERVER_NAME"))
        .with_mapping(mapping);
    let back = RequestVars::from_parts(&parts, &config);
    assert_no_magic(&back, name);
    (original, back.into_pairs(), parts)
}

#[test]
fn captures_survive_vars_to_parts_to_vars() {
    let nginx_1_22 = CgiMapping {
        repeated: RepeatedHeaders::Duplicate,
        ..RequestVarsConfig::NGINX_MAPPING
    };
    let mut exact = 0;
    for (name, wire) in captures() {
        let (original, back, _) = round_trip(&name, &wire, nginx_1_22);
        let keep = |pairs: &Pairs| -> Pairs {
            pairs
                .iter()
                .filter(|(k, _)| !lossy(&name, k))
                .cloned()
                .collect()
        };
        assert_eq!(
            show(&keep(&back)),
            show(&keep(&original)),
            "{name}: only the documented differences may change"
        );
        if back == original {
            exact += 1;
            // Byte for byte: the same packet nginx sent.
            let packet = PacketRef::parse(&wire)
                .expect(&name)
                .complete()
                .expect(&name);
            let body_len = packet.body_len().expect(&name);
            let rebuilt = PacketBuilder::new(0)
                .vars(back.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
                .body_len(body_len)
                .to_vec()
                .expect(&name);
            assert_eq!(rebuilt, packet.as_bytes(), "{name}: re-encoded bytes");
        }
    }
    assert_eq!(
        exact, 16,
        "all captures but the two with documented differences are exact"
    );
}

#[test]
fn documented_differences_are_exactly_these() {
    let all = captures();
    let find = |wanted: &str| {
        all.iter()
            .find(|(name, _)| name == wanted)
            .unwrap_or_else(|| panic!("capture {wanted}"))
    };
    let (name, wire) = find("nginx_raw_bytes");
    let (original, back, parts) = round_trip(name, wire, RequestVarsConfig::NGINX_MAPPING);
    let get = |pairs: &Pairs, key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get(&original, "REQUEST_URI").as_deref(),
        Some(&b"/raw/caf\xe9/\xff\xfe/%E2%82%AC?q=\xe9\x80&r=%FF"[..])
    );
    assert_eq!(
        get(&back, "REQUEST_URI").as_deref(),
        Some(&b"/raw/caf%E9/%FF%FE/%E2%82%AC?q=%E9%80&r=%FF"[..])
    );
    assert_eq!(
        get(&back, "QUERY_STRING").as_deref(),
        Some(&b"q=%E9%80&r=%FF"[..])
    );
    // PATH_INFO, decoded from the encoded target, is what nginx sent.
    assert_eq!(get(&back, "PATH_INFO"), get(&original, "PATH_INFO"));
    assert_eq!(parts.headers["x-latin1"].as_bytes(), b"caf\xe9 \xff");

    let (name, wire) = find("nginx_post_chunked");
    let (original, back, parts) = round_trip(name, wire, RequestVarsConfig::NGINX_MAPPING);
    assert_eq!(
        get(&original, "HTTP_TRANSFER_ENCODING").as_deref(),
        Some(&b"chunked"[..])
    );
    assert_eq!(get(&back, "HTTP_TRANSFER_ENCODING"), None);
    assert!(parts.headers.get("transfer-encoding").is_none());
    assert_eq!(parts.headers["content-length"], "3000");
    assert_eq!(get(&original, "HTTP_CONTENT_LENGTH"), None);
    assert_eq!(
        get(&back, "HTTP_CONTENT_LENGTH").as_deref(),
        Some(&b"3000"[..])
    );
    assert_eq!(get(&back, "CONTENT_LENGTH").as_deref(), Some(&b"3000"[..]));
}

#[test]
fn nginx_1_23_joins_the_repeated_capture_header() {
    let all = captures();
    let (name, wire) = all
        .iter()
        .find(|(name, _)| name == "nginx_repeated_headers")
        .expect("capture");
    let (original, back, parts) = round_trip(name, wire, RequestVarsConfig::NGINX_MAPPING);
    assert_eq!(
        parts.headers.get_all("x-foo").iter().collect::<Vec<_>>(),
        ["1", "2"]
    );
    let foo = |pairs: &Pairs| -> Vec<Vec<u8>> {
        pairs
            .iter()
            .filter(|(k, _)| k == b"HTTP_X_FOO")
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(foo(&original), [b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(foo(&back), [b"1, 2".to_vec()]);
}

#[test]
fn captures_read_as_nginx_received_them() {
    for (name, wire) in captures() {
        let packet = PacketRef::parse(&wire)
            .expect(&name)
            .complete()
            .expect(&name);
        let vars = packet.vars().expect(&name);
        let parts = request_parts(&vars).expect(&name);
        assert_eq!(parts.uri.scheme_str(), Some("http"), "{name}");
        let host = vars.get("HTTP_HOST").expect("HTTP_HOST");
        assert_eq!(
            parts.uri.authority().map(|a| a.as_str().as_bytes()),
            Some(host),
            "{name}"
        );
        assert_eq!(parts.headers["host"].as_bytes(), host, "{name}");
        assert_eq!(
            parts.method.as_str().as_bytes(),
            vars.get("REQUEST_METHOD").expect("method")
        );
        let version = if vars.get("SERVER_PROTOCOL") == Some(b"HTTP/1.0") {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        assert_eq!(parts.version, version, "{name}");
        let body = packet.body_len().expect(&name);
        let length = parts
            .headers
            .get("content-length")
            .map(|v| v.to_str().expect("ascii"));
        let expected = vars.get("CONTENT_LENGTH").filter(|v| !v.is_empty());
        assert_eq!(length.map(str::as_bytes), expected, "{name}");
        if let Some(length) = length {
            assert_eq!(length.parse::<u64>().ok(), Some(body), "{name}");
        }
        assert!(parts.headers.get("transfer-encoding").is_none(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// vars → Parts, rule by rule

#[test]
fn method_is_request_method_and_get_when_absent() {
    assert_eq!(
        parts(&[(b"REQUEST_METHOD", b"PATCH")]).method,
        Method::PATCH
    );
    assert_eq!(
        parts(&[(b"REQUEST_METHOD", b"PROPFIND")]).method.as_str(),
        "PROPFIND"
    );
    assert_eq!(parts(&[(b"PATH_INFO", b"/")]).method, Method::GET);
}

#[test]
fn bad_method_bytes_are_an_error_at_the_byte() {
    // Pair at 4, key at 6..20, value length at 20, value at 22.
    let err = parts_of(&[(b"REQUEST_METHOD", b"GE T")]).expect_err("space");
    assert_err!(err => Error::InvalidHttp { offset: 24, part: HttpPart::Method });
    assert_eq!((err.kind(), err.offset()), ("InvalidHttp", Some(24)));
    assert!(err.to_string().contains("method"), "{err}");
    assert_err!(
        parts_of(&[(b"REQUEST_METHOD", b"")]).expect_err("empty")
            => Error::InvalidHttp { offset: 22, part: HttpPart::Method }
    );
    assert_err!(
        parts_of(&[(b"REQUEST_METHOD", b"G\xc3\x89T")]).expect_err("non-ASCII")
            => Error::InvalidHttp { offset: 23, part: HttpPart::Method }
    );
}

#[test]
fn version_is_server_protocol() {
    let cases: [(&[u8], Version); 7] = [
        (b"HTTP/0.9", Version::HTTP_09),
        (b"HTTP/1.0", Version::HTTP_10),
        (b"HTTP/1.1", Version::HTTP_11),
        (b"HTTP/2", Version::HTTP_2),
        (b"HTTP/2.0", Version::HTTP_2),
        (b"HTTP/3", Version::HTTP_3),
        (b"HTTP/3.0", Version::HTTP_3),
    ];
    for (protocol, version) in cases {
        assert_eq!(parts(&[(b"SERVER_PROTOCOL", protocol)]).version, version);
    }
    assert_eq!(parts(&[(b"PATH_INFO", b"/")]).version, Version::HTTP_11);
    assert_eq!(
        parts(&[(b"SERVER_PROTOCOL", b"")]).version,
        Version::HTTP_09,
        "nginx, HTTP/0.9"
    );
    for bad in [&b"https"[..], b"HTTP/1.2", b"http/1.1", b"HTTP/1.1 "] {
        let err = parts_of(&[(b"SERVER_PROTOCOL", bad)]).expect_err("bad version");
        // Pair at 4, key at 6..21, value at 23.
        assert_err!(err => Error::InvalidHttp { offset: 23, part: HttpPart::Version });
    }
}

#[test]
fn target_is_request_uri_else_path_info_and_query_string() {
    let p = parts(&[(b"REQUEST_URI", b"/a%20b?x=1"), (b"PATH_INFO", b"/ignored")]);
    assert_eq!(p.uri, "/a%20b?x=1");
    let p = parts(&[(b"PATH_INFO", b"/a b"), (b"QUERY_STRING", b"x=1&y")]);
    assert_eq!(p.uri, "/a%20b?x=1&y");
    let p = parts(&[(b"PATH_INFO", b"/a"), (b"QUERY_STRING", b"")]);
    assert_eq!(p.uri, "/a");
    assert_eq!(p.uri.query(), None);
    let p = parts(&[(b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"/x")]);
    assert_eq!(p.uri, "/app/x");
    // Decoded paths: `%`, `?` and `#` are data, so they are encoded.
    let p = parts(&[(b"PATH_INFO", b"/100%?#")]);
    assert_eq!(p.uri, "/100%25%3F%23");
    // A missing leading slash is added; nothing at all is `/`.
    assert_eq!(parts(&[(b"PATH_INFO", b"x")]).uri, "/x");
    assert_eq!(parts(&[(b"REQUEST_METHOD", b"GET")]).uri, "/");
    // An empty REQUEST_URI does not count.
    assert_eq!(
        parts(&[(b"REQUEST_URI", b""), (b"PATH_INFO", b"/p")]).uri,
        "/p"
    );
    // `OPTIONS *` keeps its asterisk, without a host.
    assert_eq!(parts(&[(b"REQUEST_URI", b"*")]).uri, "*");
}

#[test]
fn non_utf8_path_bytes_are_percent_encoded_not_an_error() {
    let p = parts(&[
        (b"PATH_INFO", b"/caf\xe9/\xff x"),
        (b"QUERY_STRING", b"q=\xff"),
    ]);
    assert_eq!(p.uri, "/caf%E9/%FF%20x?q=%FF");
    let p = parts(&[(b"REQUEST_URI", b"/caf\xe9?q=\xe9#frag")]);
    assert_eq!(p.uri, "/caf%E9?q=%E9%23frag");
    // And back: PATH_INFO is the decoded path again.
    let vars = RequestVars::from_parts(&p, &config());
    assert_eq!(vars.get("PATH_INFO"), Some(&b"/caf\xe9"[..]));
    assert_eq!(vars.get("QUERY_STRING"), Some(&b"q=%E9%23frag"[..]));
}

#[test]
fn scheme_from_https_request_scheme_uwsgi_scheme_or_http() {
    let host: (&[u8], &[u8]) = (b"HTTP_HOST", b"h");
    let scheme = |pairs: &[(&[u8], &[u8])]| {
        let mut all = pairs.to_vec();
        all.push(host);
        parts(&all).uri.scheme_str().map(str::to_owned)
    };
    assert_eq!(scheme(&[(b"HTTPS", b"on")]).as_deref(), Some("https"));
    assert_eq!(
        scheme(&[(b"HTTPS", b"ON"), (b"REQUEST_SCHEME", b"http")]).as_deref(),
        Some("https")
    );
    assert_eq!(scheme(&[(b"HTTPS", b"1")]).as_deref(), Some("https"));
    assert_eq!(scheme(&[(b"HTTPS", b"off")]).as_deref(), Some("http"));
    assert_eq!(
        scheme(&[(b"REQUEST_SCHEME", b"https")]).as_deref(),
        Some("https")
    );
    assert_eq!(
        scheme(&[(b"REQUEST_SCHEME", b""), (b"UWSGI_SCHEME", b"https")]).as_deref(),
        Some("https")
    );
    assert_eq!(
        scheme(&[(b"REQUEST_SCHEME", b"http"), (b"UWSGI_SCHEME", b"https")]).as_deref(),
        Some("http")
    );
    assert_eq!(scheme(&[]).as_deref(), Some("http"));
    assert_err!(
        parts_of(&[(b"REQUEST_SCHEME", b"ht tp"), host]).expect_err("scheme")
            => Error::InvalidHttp { part: HttpPart::Scheme, offset: 22 }
    );
}

#[test]
fn authority_from_http_host_else_server_name_and_port() {
    let p = parts(&[
        (b"HTTP_HOST", b"example.com:8443"),
        (b"SERVER_NAME", b"other"),
    ]);
    assert_eq!(p.uri, "http://example.com:8443/");
    assert_eq!(p.headers["host"], "example.com:8443");
    let p = parts(&[(b"SERVER_NAME", b"example.com"), (b"SERVER_PORT", b"8080")]);
    assert_eq!(p.uri, "http://example.com:8080/");
    assert!(p.headers.get("host").is_none(), "no Host header is made up");
    let p = parts(&[(b"SERVER_NAME", b"example.com"), (b"SERVER_PORT", b"80")]);
    assert_eq!(p.uri, "http://example.com/");
    let p = parts(&[
        (b"HTTPS", b"on"),
        (b"SERVER_NAME", b"example.com"),
        (b"SERVER_PORT", b"443"),
    ]);
    assert_eq!(p.uri, "https://example.com/");
    let p = parts(&[(b"HTTP_HOST", b""), (b"SERVER_NAME", b"fallback")]);
    assert_eq!(p.uri, "http://fallback/");
    // No host known: origin-form, no scheme.
    let p = parts(&[(b"REQUEST_URI", b"/x?y"), (b"HTTPS", b"on")]);
    assert_eq!((p.uri.scheme(), p.uri.authority()), (None, None));
    assert_eq!(p.uri, "/x?y");

    // Pair at 4, key at 6..15, value at 17.
    assert_err!(
        parts_of(&[(b"HTTP_HOST", b"a b")]).expect_err("space")
            => Error::InvalidHttp { part: HttpPart::Authority, offset: 17 }
    );
    assert_err!(
        parts_of(&[(b"HTTP_HOST", b"user@host")]).expect_err("user info")
            => Error::InvalidHttp { part: HttpPart::Authority, offset: 21 }
    );
    let err = parts_of(&[(b"SERVER_NAME", b"h"), (b"SERVER_PORT", b"8x")]).expect_err("port");
    // The SERVER_NAME pair takes 4..20; SERVER_PORT's value starts at 20 + 2 + 11 + 2 = 35.
    assert_err!(err => Error::InvalidHttp { part: HttpPart::Authority, offset: 36 });
}

/// A proptest finding: two `HTTP_HOST` vars, the first no valid host. Both directions take
/// the last one, so the round trip parses again.
#[test]
fn repeated_http_host_uses_the_last_both_ways() {
    let p = parts(&[(b"HTTP_HOST", b"/a%20b?x"), (b"HTTP_HOST", b"on")]);
    assert_eq!(p.uri, "http://on/");
    assert_eq!(
        p.headers.get_all("host").iter().collect::<Vec<_>>(),
        ["/a%20b?x", "on"]
    );
    let vars = RequestVars::from_parts(&p, &config());
    assert_eq!(vars.get("HTTP_HOST"), Some(&b"on"[..]));
    let wire = vars.builder(0).to_vec().expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    assert!(request_parts(&packet.vars().expect("vars")).is_ok());
}

#[test]
fn headers_from_http_vars_in_wire_order() {
    let p = parts(&[
        (b"HTTP_USER_AGENT", b"t"),
        (b"HTTP_X_FOO", b"1"),
        (b"HTTP_ACCEPT", b"*/*"),
        (b"HTTP_X_FOO", b"2"),
        (b"HTTP_x-lower", b"v"),
        (b"HTTPS", b"on"),
        (b"REMOTE_ADDR", b"127.0.0.1"),
    ]);
    let names: Vec<&str> = p.headers.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["user-agent", "x-foo", "accept", "x-lower"]);
    assert_eq!(
        p.headers.get_all("x-foo").iter().collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(p.headers.len(), 5, "HTTPS and REMOTE_ADDR are not headers");
}

#[test]
fn a_header_value_with_a_line_feed_is_an_error_at_the_byte() {
    // Pair at 4, key at 6..12, value at 14: `\n` at 15.
    assert_err!(
        parts_of(&[(b"HTTP_X", b"a\nb")]).expect_err("LF")
            => Error::InvalidHttp { offset: 15, part: HttpPart::HeaderValue }
    );
    assert_err!(
        parts_of(&[(b"HTTP_X", b"a\r\nX-Injected: 1")]).expect_err("CRLF")
            => Error::InvalidHttp { offset: 15, part: HttpPart::HeaderValue }
    );
    assert_err!(
        parts_of(&[(b"HTTP_X", b"\x00")]).expect_err("NUL")
            => Error::InvalidHttp { offset: 14, part: HttpPart::HeaderValue }
    );
    // A tab and obs-text are fine.
    assert_eq!(
        parts(&[(b"HTTP_X", b"a\tb\xff")]).headers["x"].as_bytes(),
        b"a\tb\xff"
    );
}

#[test]
fn bad_header_names_are_an_error_at_the_byte() {
    // Pair at 4, key at 6: the rest of `HTTP_` starts at 11.
    assert_err!(
        parts_of(&[(b"HTTP_", b"v")]).expect_err("empty name")
            => Error::InvalidHttp { offset: 11, part: HttpPart::HeaderName }
    );
    assert_err!(
        parts_of(&[(b"HTTP_X Y", b"v")]).expect_err("space")
            => Error::InvalidHttp { offset: 12, part: HttpPart::HeaderName }
    );
    assert_err!(
        parts_of(&[(b"HTTP_X:", b"v")]).expect_err("colon")
            => Error::InvalidHttp { offset: 12, part: HttpPart::HeaderName }
    );
}

#[test]
fn content_headers_come_from_the_unprefixed_vars_once() {
    // nginx's POST: both forms, HTTP_* ones among the headers.
    let p = parts(&[
        (b"CONTENT_TYPE", b"text/plain"),
        (b"CONTENT_LENGTH", b"5"),
        (b"HTTP_HOST", b"h"),
        (b"HTTP_CONTENT_TYPE", b"text/plain"),
        (b"HTTP_X", b"x"),
        (b"HTTP_CONTENT_LENGTH", b"5"),
    ]);
    let names: Vec<&str> = p.headers.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["host", "content-type", "x", "content-length"]);
    assert_eq!(p.headers.get_all("content-type").iter().count(), 1);
    assert_eq!(p.headers.get_all("content-length").iter().count(), 1);

    // The unprefixed var rules when they differ.
    let p = parts(&[
        (b"CONTENT_TYPE", b"text/plain"),
        (b"CONTENT_LENGTH", b"5"),
        (b"HTTP_CONTENT_TYPE", b"application/json"),
        (b"HTTP_CONTENT_LENGTH", b"7"),
    ]);
    assert_eq!(p.headers["content-type"], "text/plain");
    assert_eq!(p.headers["content-length"], "5");

    // nginx's empty params for a GET: no header.
    let p = parts(&[(b"CONTENT_TYPE", b""), (b"CONTENT_LENGTH", b"")]);
    assert!(p.headers.is_empty());

    // Only the prefixed ones (another front end): content-type passes, content-length does
    // not, since it frames nothing (C4).
    let p = parts(&[
        (b"HTTP_CONTENT_TYPE", b"a/b"),
        (b"HTTP_CONTENT_LENGTH", b"9"),
    ]);
    assert_eq!(p.headers["content-type"], "a/b");
    assert!(p.headers.get("content-length").is_none());

    // Only the unprefixed ones, in their place.
    let p = parts(&[(b"CONTENT_LENGTH", b"3"), (b"HTTP_A", b"1")]);
    let names: Vec<&str> = p.headers.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["content-length", "a"]);
}

#[test]
fn transfer_encoding_is_not_carried_and_lengths_are_checked() {
    let p = parts(&[
        (b"CONTENT_LENGTH", b"6"),
        (b"HTTP_TRANSFER_ENCODING", b"chunked"),
    ]);
    assert!(p.headers.get("transfer-encoding").is_none());
    assert_eq!(p.headers["content-length"], "6");
    assert_err!(
        parts_of(&[(b"CONTENT_LENGTH", b"5abc")]).expect_err("not digits")
            => Error::InvalidContentLength { offset: 23, .. }
    );
    assert_err!(
        parts_of(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"6")]).expect_err("conflict")
            => Error::ConflictingContentLength { first: 5, second: 6, .. }
    );
}

#[test]
fn vars_that_are_no_part_of_a_request_are_dropped() {
    let p = parts(&[
        (b"DOCUMENT_ROOT", b"/srv"),
        (b"REMOTE_ADDR", b"1.2.3.4"),
        (b"UWSGI_APPID", b"x"),
        (b"X_CUSTOM", b"y"),
    ]);
    assert!(p.headers.is_empty());
    assert!(p.extensions.is_empty());
}

#[test]
fn request_wraps_the_parts_with_a_body() {
    let wire = PacketBuilder::new(0)
        .var("REQUEST_METHOD", "PUT")
        .var("PATH_INFO", "/x")
        .var("CONTENT_LENGTH", "")
        .body_len(3)
        .to_vec()
        .expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    let req: Request<&[u8]> = request(&packet.vars().expect("vars"), &b"abc"[..]).expect("request");
    assert_eq!(req.method(), Method::PUT);
    assert_eq!(req.headers()["content-length"], "3");
    assert_eq!(*req.body(), b"abc");
}

// ---------------------------------------------------------------------------------------------
// Parts → vars, rule by rule

#[test]
fn vars_follow_nginx_uwsgi_params_order() {
    let req = Request::get("http://example.com/a/b%20c?x=1")
        .header("host", "example.com")
        .header("user-agent", "t")
        .header("accept", "*/*")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config().with_document_root("/var/www"));
    let headers = ["HTTP_HOST", "HTTP_USER_AGENT", "HTTP_ACCEPT"];
    let want: Vec<&str> = UWSGI_PARAMS.iter().copied().chain(headers).collect();
    assert_eq!(keys(&vars), want);
    let value = |key: &str| String::from_utf8_lossy(vars.get(key).expect(key)).into_owned();
    assert_eq!(value("QUERY_STRING"), "x=1");
    assert_eq!(value("CONTENT_TYPE"), "");
    assert_eq!(value("CONTENT_LENGTH"), "");
    assert_eq!(value("REQUEST_URI"), "/a/b%20c?x=1");
    assert_eq!(value("PATH_INFO"), "/a/b c");
    assert_eq!(value("DOCUMENT_ROOT"), "/var/www");
    assert_eq!(value("SERVER_PROTOCOL"), "HTTP/1.1");
    assert_eq!(value("REQUEST_SCHEME"), "http");
    assert_eq!(value("REMOTE_ADDR"), "192.0.2.7");
    assert_eq!(value("REMOTE_PORT"), "50123");
    assert_eq!(value("SERVER_PORT"), "8080");
    assert_eq!(value("SERVER_NAME"), "example.com");
    assert_eq!(value("HTTP_HOST"), "example.com");
    assert_no_magic(&vars, "GET");
}

#[test]
fn https_only_for_https_and_scheme_defaults_to_http() {
    let req = Request::get("https://example.com/")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("HTTPS"), Some(&b"on"[..]));
    assert_eq!(vars.get("REQUEST_SCHEME"), Some(&b"https"[..]));
    let position = keys(&vars).iter().position(|k| k == "HTTPS");
    assert_eq!(position, Some(9), "HTTPS sits after REQUEST_SCHEME");
    let req = Request::get("/origin-form").body(()).expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("HTTPS"), None);
    assert_eq!(vars.get("REQUEST_SCHEME"), Some(&b"http"[..]));
    assert_eq!(vars.get("HTTP_HOST"), None, "no host, no HTTP_HOST");
    assert_eq!(
        vars.get("SERVER_NAME"),
        Some(&b"127.0.0.1"[..]),
        "the server IP at last"
    );
}

#[test]
fn server_protocol_for_every_version() {
    let cases = [
        (Version::HTTP_09, "HTTP/0.9"),
        (Version::HTTP_10, "HTTP/1.0"),
        (Version::HTTP_11, "HTTP/1.1"),
        (Version::HTTP_2, "HTTP/2.0"),
        (Version::HTTP_3, "HTTP/3.0"),
    ];
    for (version, protocol) in cases {
        let req = Request::get("/")
            .version(version)
            .body(())
            .expect("request");
        let vars = RequestVars::from_request(&req, &config());
        assert_eq!(vars.get("SERVER_PROTOCOL"), Some(protocol.as_bytes()));
        // And back.
        let wire = vars.builder(0).to_vec().expect("encodable");
        let packet = PacketRef::parse(&wire)
            .expect("valid")
            .complete()
            .expect("whole");
        assert_eq!(
            request_parts(&packet.vars().expect("vars"))
                .expect("parts")
                .version,
            version
        );
    }
}

#[test]
fn repeated_headers_join_by_default_or_duplicate() {
    let req = Request::get("/")
        .header("x-foo", "1")
        .header("cookie", "a=1")
        .header("x-foo", "2")
        .header("cookie", "b=2")
        .body(())
        .expect("request");
    let joined = RequestVars::from_request(&req, &config());
    assert_eq!(joined.get("HTTP_X_FOO"), Some(&b"1, 2"[..]));
    assert_eq!(joined.get("HTTP_COOKIE"), Some(&b"a=1; b=2"[..]));
    let duplicate = config().with_mapping(CgiMapping {
        repeated: RepeatedHeaders::Duplicate,
        ..RequestVarsConfig::NGINX_MAPPING
    });
    let vars = RequestVars::from_request(&req, &duplicate);
    let headers: Vec<(String, String)> = vars
        .pairs()
        .filter(|(k, _)| k.starts_with(b"HTTP_"))
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into(),
                String::from_utf8_lossy(v).into(),
            )
        })
        .collect();
    // A HeaderMap keeps a name's values together: the documented loss of interleaving.
    let expected = [
        ("HTTP_X_FOO", "1"),
        ("HTTP_X_FOO", "2"),
        ("HTTP_COOKIE", "a=1"),
        ("HTTP_COOKIE", "b=2"),
    ];
    assert_eq!(headers, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
}

#[test]
fn underscored_names_are_dropped_by_default_and_never_become_magic() {
    let req = Request::get("/")
        .header("x_a", "1")
        .header("uwsgi_file", "exec://id")
        .header("uwsgi-file", "exec://id")
        .header("UWSGI-SCHEME", "https")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("HTTP_X_A"), None);
    assert_eq!(vars.get("HTTP_UWSGI_FILE"), Some(&b"exec://id"[..]));
    assert_eq!(vars.get("UWSGI_FILE"), None);
    assert_eq!(vars.get("UWSGI_SCHEME"), None);
    assert_no_magic(&vars, "default mapping");
    let keep = config().with_mapping(CgiMapping {
        underscores: Underscores::Keep,
        ..RequestVarsConfig::NGINX_MAPPING
    });
    let vars = RequestVars::from_request(&req, &keep);
    assert_eq!(vars.get("HTTP_X_A"), Some(&b"1"[..]));
    assert_no_magic(&vars, "underscores kept");
    for content in [ContentHeaders::Prefixed, ContentHeaders::Unprefixed] {
        let mapping = CgiMapping {
            underscores: Underscores::Keep,
            repeated: RepeatedHeaders::Duplicate,
            content_headers: content,
        };
        for host in [HostVar::AfterParams, HostVar::InHeaders] {
            let vars = RequestVars::from_request(
                &req,
                &config().with_mapping(mapping).with_host_var(host),
            );
            assert_no_magic(&vars, "every configuration");
            vars.builder(0)
                .to_vec()
                .expect("the builder accepts every key");
        }
    }
}

#[test]
fn host_after_params_or_in_headers() {
    let req = Request::get("/")
        .header("accept", "*/*")
        .header("host", "example.com:8080")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    let tail: Vec<String> = keys(&vars).split_off(12);
    assert_eq!(tail, ["SERVER_NAME", "HTTP_HOST", "HTTP_ACCEPT"]);
    assert_eq!(vars.get("HTTP_HOST"), Some(&b"example.com:8080"[..]));
    assert_eq!(
        vars.get("SERVER_NAME"),
        Some(&b"example.com"[..]),
        "host without its port"
    );

    let vars = RequestVars::from_request(&req, &config().with_host_var(HostVar::InHeaders));
    let tail: Vec<String> = keys(&vars).split_off(12);
    assert_eq!(tail, ["SERVER_NAME", "HTTP_ACCEPT", "HTTP_HOST"]);

    // HTTP/2: the host is only in the URI.
    let h2 = Request::get("https://example.org/x")
        .version(Version::HTTP_2)
        .header("accept", "*/*")
        .body(())
        .expect("request");
    for host in [HostVar::AfterParams, HostVar::InHeaders] {
        let vars = RequestVars::from_request(&h2, &config().with_host_var(host));
        assert_eq!(vars.get("HTTP_HOST"), Some(&b"example.org"[..]), "{host:?}");
        let tail: Vec<String> = keys(&vars).split_off(13);
        assert_eq!(
            tail,
            ["SERVER_NAME", "HTTP_HOST", "HTTP_ACCEPT"],
            "{host:?}"
        );
    }
}

#[test]
fn content_headers_as_nginx_sends_them_or_params_only() {
    let req = Request::post("/upload")
        .header("content-type", "text/plain")
        .header("content-length", "5")
        .header("x-a", "1")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("CONTENT_TYPE"), Some(&b"text/plain"[..]));
    assert_eq!(vars.get("CONTENT_LENGTH"), Some(&b"5"[..]));
    let headers: Vec<String> = keys(&vars).split_off(13);
    assert_eq!(
        headers,
        ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_X_A"]
    );

    let params_only = config().with_mapping(CgiMapping {
        content_headers: ContentHeaders::Unprefixed,
        ..RequestVarsConfig::NGINX_MAPPING
    });
    let vars = RequestVars::from_request(&req, &params_only);
    let headers: Vec<String> = keys(&vars).split_off(13);
    assert_eq!(headers, ["HTTP_X_A"]);
    assert_eq!(
        vars.pairs()
            .filter(|(k, _)| *k == b"CONTENT_LENGTH")
            .count(),
        1
    );
    let wire = vars.builder(0).body_len(5).to_vec().expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    assert_eq!(packet.body_len().expect("length"), 5);
}

#[test]
fn the_builder_fills_the_content_length_placeholder() {
    let req = Request::post("/chunked")
        .header("transfer-encoding", "chunked")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("CONTENT_LENGTH"), Some(&b""[..]));
    assert_eq!(vars.get("HTTP_TRANSFER_ENCODING"), Some(&b"chunked"[..]));
    let wire = vars.builder(0).body_len(3000).to_vec().expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    let block = packet.vars().expect("vars");
    assert_eq!(block.get("CONTENT_LENGTH"), Some(&b"3000"[..]));
    assert_eq!(packet.body_len().expect("length"), 3000);
    assert_eq!(
        vars.builder(0)
            .body_len(0)
            .to_vec()
            .expect("empty body")
            .len(),
        wire.len() - 4
    );
}

#[test]
fn conflicting_content_lengths_cannot_be_sent() {
    let req = Request::post("/")
        .header("content-length", "5")
        .header("content-length", "6")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("CONTENT_LENGTH"), Some(&b"5, 6"[..]));
    assert_err!(
        vars.builder(0).body_len(5).to_vec().expect_err("two framings")
            => Error::InvalidContentLength { .. }
    );
    let wire = vars
        .builder(0)
        .to_vec()
        .expect("encodable without a body length");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    assert!(packet.body_len().is_err(), "no decoder frames it either");
    // Identical values are one length.
    let req = Request::post("/")
        .header("content-length", "5")
        .header("content-length", "5")
        .body(())
        .expect("request");
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(vars.get("CONTENT_LENGTH"), Some(&b"5"[..]));
}

#[test]
fn path_info_is_decoded_and_normalised_like_document_uri() {
    let cases: [(&str, &[u8]); 5] = [
        ("/caf%E9/%FF%FE/%C0%AF/../x?q=%FF", b"/caf\xe9/\xff\xfe/x"),
        ("/a//b/./c/", b"/a/b/c/"),
        ("/a/%2e%2e/b", b"/b"),
        ("/../x", b"/x"),
        ("/%zz", b"/%zz"),
    ];
    for (target, path_info) in cases {
        let req = Request::get(target).body(()).expect("request");
        let vars = RequestVars::from_request(&req, &config());
        assert_eq!(vars.get("PATH_INFO"), Some(path_info), "{target}");
        assert_eq!(vars.get("REQUEST_URI"), Some(target.as_bytes()), "{target}");
    }
}

#[test]
fn ipv6_addresses_as_nginx_prints_them() {
    let config = RequestVarsConfig::new(addr("[::1]:443"), addr("[2001:db8::7]:50000"));
    let vars = RequestVars::from_request(&Request::get("/").body(()).expect("request"), &config);
    assert_eq!(vars.get("REMOTE_ADDR"), Some(&b"2001:db8::7"[..]));
    assert_eq!(vars.get("SERVER_PORT"), Some(&b"443"[..]));
    assert_eq!(vars.get("SERVER_NAME"), Some(&b"::1"[..]));
    assert!(!vars.is_empty());
    assert_eq!(vars.len(), 13);
    let debug = format!("{vars:?}");
    assert!(debug.contains("\"REMOTE_ADDR\""), "{debug}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = Vec<u8>> {
        let known = prop::sample::select(vec![
            &b"REQUEST_METHOD"[..],
            b"REQUEST_URI",
            b"PATH_INFO",
            b"SCRIPT_NAME",
            b"QUERY_STRING",
            b"SERVER_PROTOCOL",
            b"HTTPS",
            b"REQUEST_SCHEME",
            b"UWSGI_SCHEME",
            b"HTTP_HOST",
            b"SERVER_NAME",
            b"SERVER_PORT",
            b"CONTENT_TYPE",
            b"CONTENT_LENGTH",
            b"HTTP_CONTENT_TYPE",
            b"HTTP_CONTENT_LENGTH",
            b"HTTP_TRANSFER_ENCODING",
            b"HTTP_",
            b"HTTP_X_A",
        ])
        .prop_map(<[u8]>::to_vec);
        prop_oneof![
            3 => known,
            1 => prop::collection::vec(any::<u8>(), 1..12),
            1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|rest| [&b"HTTP_"[..], &rest].concat()),
        ]
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::sample::select(vec![
                &b""[..],
                b"GET",
                b"/a%20b?x",
                b"HTTP/1.1",
                b"on",
                b"example.com:80",
                b"80",
                b"5",
            ])
            .prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 0..16),
        ]
    }

    proptest! {
        #[test]
        fn any_vars_convert_without_panic_and_back(pairs in prop::collection::vec((key(), value()), 0..12)) {
            let wire = PacketBuilder::new(0)
                .allow_magic(true)
                .vars(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
                .to_vec();
            let Ok(wire) = wire else { return Ok(()) };
            let packet = PacketRef::parse(&wire).expect("built").complete().expect("whole");
            let vars = packet.vars().expect("vars");
            match request_parts(&vars) {
                Ok(parts) => {
                    let back = RequestVars::from_parts(&parts, &config());
                    for (key, _) in back.pairs() {
                        prop_assert_eq!(magic_class(key), None, "no magic var");
                    }
                    // Whatever came out is a request that parses back.
                    let wire = back.builder(0).to_vec();
                    if let Ok(wire) = wire {
                        let packet = PacketRef::parse(&wire).expect("built").complete().expect("whole");
                        let again = request_parts(&packet.vars().expect("vars"));
                        prop_assert!(again.is_ok(), "{:?}", again);
                    }
                }
                Err(err) => {
                    let offset = err.offset().unwrap_or(0);
                    prop_assert!(offset <= wire.len(), "offset {} inside {}", offset, wire.len());
                }
            }
        }
    }
}
