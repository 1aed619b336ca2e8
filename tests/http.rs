//! Feature `http`: vars → `http::request::Parts` → vars, on every real nginx capture and on
//! each mapping rule, with each `RequestConfig`, and the conversion errors.
#![cfg(feature = "http")]

use std::net::SocketAddr;

use http::request::Parts;
use http::{Method, Request, Version};
use serde_json::Value;
use uwsgi_codec::cgi::{CgiMapping, ContentHeaders, RepeatedHeaders, Underscores};
use uwsgi_codec::http::{
    Error, HostVar, HttpPart, RequestConfig, RequestVars, RequestVarsConfig, TargetSource,
    TransferEncoding, UriForm, request, request_parts,
};
use uwsgi_codec::{
    ContentLengthFault, Escaped, MagicPolicy, PacketBuilder, PacketRef, magic_class,
};

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;
/// A list of pairs, as a table row gives it.
type Input<'a> = &'a [(&'a [u8], &'a [u8])];

/// The 13 params of nginx's `uwsgi_params`, in order, as plain HTTP sends them (`HTTPS` is
/// `if_not_empty`: absent). The workspace's test support has the same list; this file keeps
/// its own, so that the published crate's tests build on their own.
const UWSGI_PARAMS: [&str; 13] = [
    "QUERY_STRING",
    "REQUEST_METHOD",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "REQUEST_URI",
    "PATH_INFO",
    "DOCUMENT_ROOT",
    "SERVER_PROTOCOL",
    "REQUEST_SCHEME",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SERVER_PORT",
    "SERVER_NAME",
];

/// The defaults: `PATH_INFO`, origin form.
const DEFAULT: RequestConfig = RequestConfig::new();
/// The client's `REQUEST_URI`, origin form.
const RAW: RequestConfig = RequestConfig::new().with_target_source(TargetSource::RequestUri);
/// `PATH_INFO`, absolute form.
const ABSOLUTE: RequestConfig = RequestConfig::new().with_uri_form(UriForm::Absolute);
/// Every combination of the settings.
const EVERY_CONFIG: [RequestConfig; 4] =
    [DEFAULT, RAW, ABSOLUTE, RAW.with_uri_form(UriForm::Absolute)];

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

fn capture(wanted: &str) -> Vec<u8> {
    captures()
        .into_iter()
        .find(|(name, _)| name == wanted)
        .unwrap_or_else(|| panic!("capture {wanted}"))
        .1
}

fn show(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}\n", Escaped(k), Escaped(v)))
        .collect()
}

fn get<'p>(pairs: &'p Pairs, key: &str) -> Option<&'p [u8]> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key.as_bytes())
        .map(|(_, v)| v.as_slice())
}

/// Builds a packet from `pairs`, parses it and converts its vars with `config`.
fn parts_with(config: RequestConfig, pairs: &[(&[u8], &[u8])]) -> Result<Parts, Error> {
    let wire = PacketBuilder::new(0)
        .with_vars(pairs)
        .to_vec()
        .expect("encodable");
    let packet = PacketRef::parse(&wire)
        .expect("valid")
        .complete()
        .expect("whole");
    config.parts(packet.vars().expect("vars"))
}

fn parts(pairs: &[(&[u8], &[u8])]) -> Parts {
    parts_with(DEFAULT, pairs).unwrap_or_else(|e| panic!("{e}"))
}

fn reparse(wire: &[u8]) -> PacketRef<'_> {
    PacketRef::parse(wire)
        .expect("valid")
        .complete()
        .expect("whole")
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

fn header_names(parts: &Parts) -> Vec<&str> {
    parts.headers.keys().map(|k| k.as_str()).collect()
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

/// The documented lossy differences of vars → Parts → vars on the captures with the raw
/// target, and why. Every other var nginx sent comes back byte for byte and in order.
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

fn round_trip(
    name: &str,
    wire: &[u8],
    request: RequestConfig,
    mapping: CgiMapping,
) -> (Pairs, Pairs, Parts) {
    let packet = PacketRef::parse(wire).expect(name).complete().expect(name);
    let vars = packet.vars().expect(name);
    let original: Pairs = vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    let parts = request
        .parts(vars)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
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
fn captures_survive_vars_to_parts_to_vars_with_the_raw_target() {
    let nginx_1_22 = CgiMapping {
        repeated: RepeatedHeaders::Duplicate,
        ..RequestVarsConfig::NGINX_MAPPING
    };
    let mut exact = 0;
    for (name, wire) in captures() {
        let (original, back, _) = round_trip(&name, &wire, RAW, nginx_1_22);
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
            let packet = reparse(&wire);
            let rebuilt = PacketBuilder::new(0)
                .extend_vars(back.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
                .with_body_len(packet.body_len().expect(&name))
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
fn captures_keep_path_info_and_query_string_with_the_default_target() {
    for (name, wire) in captures() {
        let (original, back, parts) =
            round_trip(&name, &wire, DEFAULT, RequestVarsConfig::NGINX_MAPPING);
        assert_eq!(
            (parts.uri.scheme(), parts.uri.authority()),
            (None, None),
            "{name}: origin form"
        );
        assert_eq!(
            get(&back, "PATH_INFO"),
            get(&original, "PATH_INFO"),
            "{name}: PATH_INFO decodes back exactly once"
        );
        if !lossy(&name, b"QUERY_STRING") {
            assert_eq!(
                get(&back, "QUERY_STRING"),
                get(&original, "QUERY_STRING"),
                "{name}"
            );
        }
    }
    // The client's `..` is gone from the target: nginx resolved it before PATH_INFO.
    let wire = capture("nginx_nonutf8_escaped");
    let vars = *reparse(&wire).vars().expect("vars");
    assert_eq!(
        vars.get("REQUEST_URI"),
        Some(&b"/caf%E9/%FF%FE/%C0%AF/../x?q=%FF"[..])
    );
    let uri = |config: RequestConfig| config.parts(&vars).expect("parts").uri.to_string();
    assert_eq!(uri(DEFAULT), "/caf%E9/%FF%FE/x?q=%FF");
    assert_eq!(uri(RAW), "/caf%E9/%FF%FE/%C0%AF/../x?q=%FF");
}

#[test]
fn documented_differences_are_exactly_these() {
    let name = "nginx_raw_bytes";
    let (original, back, parts) =
        round_trip(name, &capture(name), RAW, RequestVarsConfig::NGINX_MAPPING);
    let cases: [(&Pairs, &str, Option<&[u8]>); 4] = [
        (
            &original,
            "REQUEST_URI",
            Some(b"/raw/caf\xe9/\xff\xfe/%E2%82%AC?q=\xe9\x80&r=%FF"),
        ),
        (
            &back,
            "REQUEST_URI",
            Some(b"/raw/caf%E9/%FF%FE/%E2%82%AC?q=%E9%80&r=%FF"),
        ),
        (&back, "QUERY_STRING", Some(b"q=%E9%80&r=%FF")),
        // PATH_INFO, decoded from the encoded target, is what nginx sent.
        (&back, "PATH_INFO", get(&original, "PATH_INFO")),
    ];
    for (pairs, key, value) in cases {
        assert_eq!(get(pairs, key), value, "{name} {key}");
    }
    assert_eq!(parts.headers["x-latin1"].as_bytes(), b"caf\xe9 \xff");

    let name = "nginx_post_chunked";
    let (original, back, parts) =
        round_trip(name, &capture(name), RAW, RequestVarsConfig::NGINX_MAPPING);
    let cases: [(&Pairs, &str, Option<&[u8]>); 5] = [
        (&original, "HTTP_TRANSFER_ENCODING", Some(b"chunked")),
        (&back, "HTTP_TRANSFER_ENCODING", None),
        (&original, "HTTP_CONTENT_LENGTH", None),
        (&back, "HTTP_CONTENT_LENGTH", Some(b"3000")),
        (&back, "CONTENT_LENGTH", Some(b"3000")),
    ];
    for (pairs, key, value) in cases {
        assert_eq!(get(pairs, key), value, "{name} {key}");
    }
    assert!(parts.headers.get("transfer-encoding").is_none());
    assert_eq!(parts.headers["content-length"], "3000");
}

#[test]
fn nginx_1_23_joins_the_repeated_capture_header() {
    let name = "nginx_repeated_headers";
    let (original, back, parts) = round_trip(
        name,
        &capture(name),
        DEFAULT,
        RequestVarsConfig::NGINX_MAPPING,
    );
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
fn captures_read_as_nginx_received_them_in_either_form() {
    for (name, wire) in captures() {
        let packet = reparse(&wire);
        let vars = packet.vars().expect(&name);
        let host = vars.get("HTTP_HOST").expect("HTTP_HOST");
        for config in EVERY_CONFIG {
            let ctx = format!("{name} {config:?}");
            let parts = config.parts(vars).expect(&ctx);
            let (scheme, authority) = match config.uri_form() {
                UriForm::Origin => (None, None),
                UriForm::Absolute => (Some("http"), Some(host)),
            };
            assert_eq!(parts.uri.scheme_str(), scheme, "{ctx}");
            let uri_host = parts.uri.authority().map(|a| a.as_str().as_bytes());
            assert_eq!(uri_host, authority, "{ctx}");
            assert_eq!(parts.headers["host"].as_bytes(), host, "{ctx}");
            assert_eq!(
                parts.method.as_str().as_bytes(),
                vars.get("REQUEST_METHOD").expect("method")
            );
            let version = if vars.get("SERVER_PROTOCOL") == Some(b"HTTP/1.0") {
                Version::HTTP_10
            } else {
                Version::HTTP_11
            };
            assert_eq!(parts.version, version, "{ctx}");
            let length = parts
                .headers
                .get("content-length")
                .map(|v| v.to_str().expect("ascii"));
            let expected = vars.get("CONTENT_LENGTH").filter(|v| !v.is_empty());
            assert_eq!(length.map(str::as_bytes), expected, "{ctx}");
            if let Some(length) = length {
                let body = packet.body_len().expect(&name);
                assert_eq!(length.parse::<u64>().ok(), Some(body), "{ctx}");
            }
            assert!(parts.headers.get("transfer-encoding").is_none(), "{ctx}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// vars → Parts, rule by rule

#[test]
fn method_is_request_method_and_get_when_absent() {
    // Pair at 4, key at 6..20, value length at 20, value at 22.
    let method = |offset| {
        Err(Error::InvalidHttp {
            offset,
            part: HttpPart::Method,
        })
    };
    let cases: [(Input, Result<Method, Error>); 6] = [
        (&[(b"REQUEST_METHOD", b"PATCH")], Ok(Method::PATCH)),
        (
            &[(b"REQUEST_METHOD", b"PROPFIND")],
            Ok(Method::from_bytes(b"PROPFIND").expect("token")),
        ),
        (&[(b"PATH_INFO", b"/")], Ok(Method::GET)),
        (&[(b"REQUEST_METHOD", b"GE T")], method(24)),
        (&[(b"REQUEST_METHOD", b"")], method(22)),
        (&[(b"REQUEST_METHOD", b"G\xc3\x89T")], method(23)),
    ];
    for (pairs, expected) in cases {
        assert_eq!(parts_with(DEFAULT, pairs).map(|p| p.method), expected);
    }
}

#[test]
fn version_is_server_protocol() {
    // Pair at 4, key at 6..21, value at 23.
    let bad = Err(Error::InvalidHttp {
        offset: 23,
        part: HttpPart::Version,
    });
    let cases: [(&[u8], Result<Version, Error>); 12] = [
        (b"HTTP/0.9", Ok(Version::HTTP_09)),
        (b"HTTP/1.0", Ok(Version::HTTP_10)),
        (b"HTTP/1.1", Ok(Version::HTTP_11)),
        (b"HTTP/2", Ok(Version::HTTP_2)),
        (b"HTTP/2.0", Ok(Version::HTTP_2)),
        (b"HTTP/3", Ok(Version::HTTP_3)),
        (b"HTTP/3.0", Ok(Version::HTTP_3)),
        (b"", Ok(Version::HTTP_09)), // nginx, HTTP/0.9
        (b"https", bad.clone()),
        (b"HTTP/1.2", bad.clone()),
        (b"http/1.1", bad.clone()),
        (b"HTTP/1.1 ", bad),
    ];
    for (protocol, expected) in cases {
        let version = parts_with(DEFAULT, &[(b"SERVER_PROTOCOL", protocol)]).map(|p| p.version);
        assert_eq!(version, expected, "{}", Escaped(protocol));
    }
    assert_eq!(parts(&[(b"PATH_INFO", b"/")]).version, Version::HTTP_11);
}

#[test]
fn target_is_path_info_by_default_or_request_uri() {
    let rewritten: Input = &[
        (b"QUERY_STRING", b"id=7"),
        (b"REQUEST_URI", b"/api/users?id=7"),
        (b"PATH_INFO", b"/users"),
    ];
    let cases: [(RequestConfig, Input, &str); 21] = [
        // nginx: `rewrite ^/api(/.*)$ $1 break;`
        (DEFAULT, rewritten, "/users?id=7"),
        (RAW, rewritten, "/api/users?id=7"),
        (ABSOLUTE, rewritten, "/users?id=7"), // no host known: origin form
        // A decoded path is encoded to decode exactly once.
        (
            DEFAULT,
            &[(b"PATH_INFO", b"/a b"), (b"QUERY_STRING", b"x=1&y")],
            "/a%20b?x=1&y",
        ),
        (DEFAULT, &[(b"PATH_INFO", b"/100%?#")], "/100%25%3F%23"),
        (
            DEFAULT,
            &[(b"PATH_INFO", b"/a/b"), (b"REQUEST_URI", b"/a%2Fb")],
            "/a/b",
        ),
        (
            RAW,
            &[(b"PATH_INFO", b"/a/b"), (b"REQUEST_URI", b"/a%2Fb")],
            "/a%2Fb",
        ),
        (
            DEFAULT,
            &[(b"PATH_INFO", b"/a"), (b"QUERY_STRING", b"")],
            "/a",
        ),
        (
            DEFAULT,
            &[(b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"/x")],
            "/app/x",
        ),
        (
            DEFAULT,
            &[(b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"")],
            "/app",
        ),
        // A missing leading slash is added; nothing at all is `/`.
        (DEFAULT, &[(b"PATH_INFO", b"x")], "/x"),
        (DEFAULT, &[(b"REQUEST_METHOD", b"GET")], "/"),
        (RAW, &[(b"REQUEST_METHOD", b"GET")], "/"),
        // Each source falls back to the other.
        (DEFAULT, &[(b"REQUEST_URI", b"/only?raw")], "/only?raw"),
        (RAW, &[(b"REQUEST_URI", b""), (b"PATH_INFO", b"/p")], "/p"),
        (
            RAW,
            &[(b"PATH_INFO", b"/a b"), (b"QUERY_STRING", b"x")],
            "/a%20b?x",
        ),
        // `OPTIONS *` keeps its asterisk, without a host.
        (RAW, &[(b"REQUEST_URI", b"*")], "*"),
        (
            DEFAULT,
            &[(b"REQUEST_URI", b"*"), (b"HTTP_HOST", b"h")],
            "*",
        ),
        (
            ABSOLUTE,
            &[(b"REQUEST_URI", b"*"), (b"HTTP_HOST", b"h")],
            "*",
        ),
        // Non-UTF-8 bytes are percent-encoded, not an error.
        (
            DEFAULT,
            &[
                (b"PATH_INFO", b"/caf\xe9/\xff x"),
                (b"QUERY_STRING", b"q=\xff"),
            ],
            "/caf%E9/%FF%20x?q=%FF",
        ),
        (
            RAW,
            &[(b"REQUEST_URI", b"/caf\xe9?q=\xe9#frag")],
            "/caf%E9?q=%E9%23frag",
        ),
    ];
    for (config, pairs, expected) in cases {
        let uri = parts_with(config, pairs).map(|p| p.uri.to_string());
        assert_eq!(uri.as_deref(), Ok(expected), "{config:?} {pairs:?}");
    }
    assert_eq!(
        parts(&[(b"PATH_INFO", b"/a"), (b"QUERY_STRING", b"")])
            .uri
            .query(),
        None
    );
}

#[test]
fn a_target_that_no_uri_takes_is_an_error_at_its_var() {
    // PATH_INFO's value starts at 4 + 2 + 9 + 2 = 17; encoded, it triples past Uri's limit.
    let long = vec![0xff; 30_000];
    for config in EVERY_CONFIG {
        let err = parts_with(config, &[(b"PATH_INFO", &long)]).map(|_| ());
        assert_eq!(
            err,
            Err(Error::InvalidHttp {
                offset: 17,
                part: HttpPart::Uri
            }),
            "{config:?}"
        );
    }
}

#[test]
fn a_decoded_target_comes_back_as_path_info() {
    let p = parts_with(RAW, &[(b"REQUEST_URI", b"/caf\xe9?q=\xe9#frag")]).expect("parts");
    let vars = RequestVars::from_parts(&p, &config());
    assert_eq!(vars.get("PATH_INFO"), Some(&b"/caf\xe9"[..]));
    assert_eq!(vars.get("QUERY_STRING"), Some(&b"q=%E9%23frag"[..]));
}

#[test]
fn scheme_from_https_request_scheme_uwsgi_scheme_or_http_in_absolute_form() {
    let cases: [(Input, &str); 8] = [
        (&[(b"HTTPS", b"on")], "https"),
        (&[(b"HTTPS", b"ON"), (b"REQUEST_SCHEME", b"http")], "https"),
        (&[(b"HTTPS", b"1")], "https"),
        (&[(b"HTTPS", b"off")], "http"),
        (&[(b"REQUEST_SCHEME", b"https")], "https"),
        (
            &[(b"REQUEST_SCHEME", b""), (b"UWSGI_SCHEME", b"https")],
            "https",
        ),
        (
            &[(b"REQUEST_SCHEME", b"http"), (b"UWSGI_SCHEME", b"https")],
            "http",
        ),
        (&[], "http"),
    ];
    for (pairs, expected) in cases {
        let host: (&[u8], &[u8]) = (b"HTTP_HOST", b"h");
        let mut all = pairs.to_vec();
        all.push(host);
        let absolute = parts_with(ABSOLUTE, &all).expect("parts");
        assert_eq!(absolute.uri.scheme_str(), Some(expected), "{pairs:?}");
        assert_eq!(parts(&all).uri.scheme_str(), None, "origin form: {pairs:?}");
    }
    // REQUEST_SCHEME's value is at 4 + 2 + 14 + 2 = 22; only the absolute form reads it.
    let bad: Input = &[(b"REQUEST_SCHEME", b"ht tp"), (b"HTTP_HOST", b"h")];
    let err = parts_with(ABSOLUTE, bad).map(|_| ());
    assert_eq!(
        err,
        Err(Error::InvalidHttp {
            offset: 22,
            part: HttpPart::Scheme
        })
    );
    assert_eq!(parts(bad).uri, "/");
}

#[test]
fn authority_from_http_host_else_server_name_and_port_in_absolute_form() {
    let authority = |offset| {
        Err(Error::InvalidHttp {
            offset,
            part: HttpPart::Authority,
        })
    };
    let cases: [(Input, Result<&str, Error>); 9] = [
        (
            &[
                (b"HTTP_HOST", b"example.com:8443"),
                (b"SERVER_NAME", b"other"),
            ],
            Ok("http://example.com:8443/"),
        ),
        (
            &[(b"SERVER_NAME", b"example.com"), (b"SERVER_PORT", b"8080")],
            Ok("http://example.com:8080/"),
        ),
        (
            &[(b"SERVER_NAME", b"example.com"), (b"SERVER_PORT", b"80")],
            Ok("http://example.com/"),
        ),
        (
            &[
                (b"HTTPS", b"on"),
                (b"SERVER_NAME", b"example.com"),
                (b"SERVER_PORT", b"443"),
            ],
            Ok("https://example.com/"),
        ),
        (
            &[(b"HTTP_HOST", b""), (b"SERVER_NAME", b"fallback")],
            Ok("http://fallback/"),
        ),
        // No host known: origin form, no scheme.
        (&[(b"REQUEST_URI", b"/x?y"), (b"HTTPS", b"on")], Ok("/x?y")),
        // HTTP_HOST's value is at 4 + 2 + 9 + 2 = 17.
        (&[(b"HTTP_HOST", b"a b")], authority(17)),
        (&[(b"HTTP_HOST", b"user@host")], authority(21)),
        // The SERVER_NAME pair takes 4..20; SERVER_PORT's value starts at 20 + 2 + 11 + 2 = 35.
        (
            &[(b"SERVER_NAME", b"h"), (b"SERVER_PORT", b"8x")],
            authority(36),
        ),
    ];
    for (pairs, expected) in cases {
        let uri = parts_with(ABSOLUTE, pairs).map(|p| p.uri.to_string());
        assert_eq!(uri.as_deref().map_err(Clone::clone), expected, "{pairs:?}");
        // The origin form reads no host at all.
        assert!(parts_with(DEFAULT, pairs).is_ok(), "{pairs:?}");
    }
    let p = parts_with(ABSOLUTE, &[(b"SERVER_NAME", b"example.com")]).expect("parts");
    assert!(p.headers.get("host").is_none(), "no Host header is made up");
    assert_eq!(parts(&[(b"HTTP_HOST", b"a b")]).headers["host"], "a b");
}

/// A proptest finding: two `HTTP_HOST` vars, the first no valid host. Both directions take
/// the last one, so the round trip parses again.
#[test]
fn repeated_http_host_uses_the_last_both_ways() {
    let pairs: Input = &[(b"HTTP_HOST", b"/a%20b?x"), (b"HTTP_HOST", b"on")];
    for config in EVERY_CONFIG {
        let p = parts_with(config, pairs).expect("parts");
        assert_eq!(
            p.headers.get_all("host").iter().collect::<Vec<_>>(),
            ["/a%20b?x", "on"]
        );
        let vars = RequestVars::from_parts(&p, &self::config());
        assert_eq!(vars.get("HTTP_HOST"), Some(&b"on"[..]));
        let wire = vars.builder(0).to_vec().expect("encodable");
        assert!(config.parts(reparse(&wire).vars().expect("vars")).is_ok());
    }
    assert_eq!(
        parts_with(ABSOLUTE, pairs).expect("parts").uri,
        "http://on/"
    );
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
    assert_eq!(
        header_names(&p),
        ["user-agent", "x-foo", "accept", "x-lower"]
    );
    assert_eq!(
        p.headers.get_all("x-foo").iter().collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(p.headers.len(), 5, "HTTPS and REMOTE_ADDR are not headers");
    // A tab and obs-text are fine in a value.
    assert_eq!(
        parts(&[(b"HTTP_X", b"a\tb\xff")]).headers["x"].as_bytes(),
        b"a\tb\xff"
    );
}

#[test]
fn bad_header_names_and_values_are_an_error_at_the_byte() {
    let value = |offset| Error::InvalidHttp {
        offset,
        part: HttpPart::HeaderValue,
    };
    let name = |offset| Error::InvalidHttp {
        offset,
        part: HttpPart::HeaderName,
    };
    let cases: [(&[u8], &[u8], Error); 6] = [
        // Pair at 4, key at 6..12, value at 14.
        (b"HTTP_X", b"a\nb", value(15)),
        (b"HTTP_X", b"a\r\nX-Injected: 1", value(15)),
        (b"HTTP_X", b"\x00", value(14)),
        // Pair at 4, key at 6: the rest of `HTTP_` starts at 11.
        (b"HTTP_", b"v", name(11)),
        (b"HTTP_X Y", b"v", name(12)),
        (b"HTTP_X:", b"v", name(12)),
    ];
    for (key, val, expected) in cases {
        for config in EVERY_CONFIG {
            let err = parts_with(config, &[(key, val)]).map(|_| ());
            assert_eq!(err, Err(expected.clone()), "{} {config:?}", Escaped(key));
        }
    }
}

#[test]
fn content_headers_come_from_the_unprefixed_vars_once() {
    let cases: [(Input, &[(&str, &str)]); 5] = [
        // nginx's POST: both forms, HTTP_* ones among the headers.
        (
            &[
                (b"CONTENT_TYPE", b"text/plain"),
                (b"CONTENT_LENGTH", b"5"),
                (b"HTTP_HOST", b"h"),
                (b"HTTP_CONTENT_TYPE", b"text/plain"),
                (b"HTTP_X", b"x"),
                (b"HTTP_CONTENT_LENGTH", b"5"),
            ],
            &[
                ("host", "h"),
                ("content-type", "text/plain"),
                ("x", "x"),
                ("content-length", "5"),
            ],
        ),
        // The unprefixed var rules when they differ.
        (
            &[
                (b"CONTENT_TYPE", b"text/plain"),
                (b"CONTENT_LENGTH", b"5"),
                (b"HTTP_CONTENT_TYPE", b"application/json"),
                (b"HTTP_CONTENT_LENGTH", b"7"),
            ],
            &[("content-type", "text/plain"), ("content-length", "5")],
        ),
        // nginx's empty params for a GET: no header.
        (&[(b"CONTENT_TYPE", b""), (b"CONTENT_LENGTH", b"")], &[]),
        // Only the prefixed ones (another front end): content-type passes, content-length
        // does not, since it frames nothing (C4).
        (
            &[
                (b"HTTP_CONTENT_TYPE", b"a/b"),
                (b"HTTP_CONTENT_LENGTH", b"9"),
            ],
            &[("content-type", "a/b")],
        ),
        // Only the unprefixed ones, in their place.
        (
            &[(b"CONTENT_LENGTH", b"3"), (b"HTTP_A", b"1")],
            &[("content-length", "3"), ("a", "1")],
        ),
    ];
    for (pairs, expected) in cases {
        let p = parts(pairs);
        let headers: Vec<(&str, &str)> = p
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().expect("ascii")))
            .collect();
        assert_eq!(headers, expected, "{pairs:?}");
    }
}

#[test]
fn transfer_encoding_is_not_carried_and_lengths_are_checked() {
    let p = parts(&[
        (b"CONTENT_LENGTH", b"6"),
        (b"HTTP_TRANSFER_ENCODING", b"chunked"),
    ]);
    assert!(p.headers.get("transfer-encoding").is_none());
    assert_eq!(p.headers["content-length"], "6");
    let cases: [(Input, uwsgi_codec::Error); 2] = [
        // The value is at 4 + 2 + 14 + 2 = 22: `a` at 23.
        (
            &[(b"CONTENT_LENGTH", b"5abc")],
            uwsgi_codec::Error::InvalidContentLength {
                offset: 23,
                reason: ContentLengthFault::NotDigit,
            },
        ),
        // The first pair takes 4..23.
        (
            &[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"6")],
            uwsgi_codec::Error::ConflictingContentLength {
                first: 5,
                second: 6,
                offset: 23,
            },
        ),
    ];
    for (pairs, expected) in cases {
        for config in EVERY_CONFIG {
            let err = parts_with(config, pairs).map(|_| ());
            assert_eq!(err, Err(Error::Packet(expected.clone())), "{pairs:?}");
        }
    }
}

#[test]
fn errors_say_their_kind_offset_and_origin() {
    let err = parts_with(DEFAULT, &[(b"REQUEST_METHOD", b"GE T")]).expect_err("space");
    assert_eq!((err.kind(), err.offset()), ("InvalidHttp", Some(24)));
    assert!(err.to_string().contains("method"), "{err}");
    assert!(!err.hint().is_empty());
    assert_eq!((err.packet(), err.reply()), (None, None));

    let err = parts_with(DEFAULT, &[(b"CONTENT_LENGTH", b"-1")]).expect_err("sign");
    assert_eq!(
        (err.kind(), err.offset()),
        ("InvalidContentLength", Some(22))
    );
    assert_eq!(err.packet().and_then(uwsgi_codec::Error::offset), Some(22));
    assert_eq!(err.hint(), err.packet().expect("core").hint());
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
        .with_body_len(3)
        .to_vec()
        .expect("encodable");
    let packet = reparse(&wire);
    let vars = packet.vars().expect("vars");
    let req: Request<&[u8]> = request(vars, &b"abc"[..]).expect("request");
    assert_eq!(req.method(), Method::PUT);
    assert_eq!(req.uri(), "/x");
    assert_eq!(req.headers()["content-length"], "3");
    assert_eq!(*req.body(), b"abc");
    let same = DEFAULT.request(vars, ()).expect("request");
    assert_eq!(*same.uri(), request_parts(vars).expect("parts").uri);
}

#[test]
fn request_config_defaults_and_setters() {
    assert_eq!(RequestConfig::default(), RequestConfig::new());
    assert_eq!(
        (DEFAULT.target_source(), DEFAULT.uri_form()),
        (TargetSource::PathInfo, UriForm::Origin)
    );
    let config = RAW.with_uri_form(UriForm::Absolute);
    assert_eq!(
        (config.target_source(), config.uri_form()),
        (TargetSource::RequestUri, UriForm::Absolute)
    );
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
    let cases = [
        ("QUERY_STRING", "x=1"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/a/b%20c?x=1"),
        ("PATH_INFO", "/a/b c"),
        ("DOCUMENT_ROOT", "/var/www"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "192.0.2.7"),
        ("REMOTE_PORT", "50123"),
        ("SERVER_PORT", "8080"),
        ("SERVER_NAME", "example.com"),
        ("HTTP_HOST", "example.com"),
    ];
    for (key, value) in cases {
        assert_eq!(vars.get(key), Some(value.as_bytes()), "{key}");
    }
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
        let back = request_parts(reparse(&wire).vars().expect("vars")).expect("parts");
        assert_eq!(back.version, version);
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
    let headers: Vec<(&[u8], &[u8])> = vars
        .pairs()
        .filter(|(k, _)| k.starts_with(b"HTTP_"))
        .collect();
    // A HeaderMap keeps a name's values together: the documented loss of interleaving.
    let expected: [(&[u8], &[u8]); 4] = [
        (b"HTTP_X_FOO", b"1"),
        (b"HTTP_X_FOO", b"2"),
        (b"HTTP_COOKIE", b"a=1"),
        (b"HTTP_COOKIE", b"b=2"),
    ];
    assert_eq!(headers, expected);
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
    let cases: [(&str, Option<&[u8]>); 4] = [
        ("HTTP_X_A", None),
        ("HTTP_UWSGI_FILE", Some(b"exec://id")),
        ("UWSGI_FILE", None),
        ("UWSGI_SCHEME", None),
    ];
    for (key, value) in cases {
        assert_eq!(vars.get(key), value, "{key}");
    }
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
    // HTTP/2: the host is only in the URI.
    let h2 = Request::get("https://example.org/x")
        .version(Version::HTTP_2)
        .header("accept", "*/*")
        .body(())
        .expect("request");
    let cases = [
        (
            &req,
            HostVar::AfterParams,
            12,
            ["SERVER_NAME", "HTTP_HOST", "HTTP_ACCEPT"],
            "example.com:8080",
        ),
        (
            &req,
            HostVar::InHeaders,
            12,
            ["SERVER_NAME", "HTTP_ACCEPT", "HTTP_HOST"],
            "example.com:8080",
        ),
        (
            &h2,
            HostVar::AfterParams,
            13,
            ["SERVER_NAME", "HTTP_HOST", "HTTP_ACCEPT"],
            "example.org",
        ),
        (
            &h2,
            HostVar::InHeaders,
            13,
            ["SERVER_NAME", "HTTP_HOST", "HTTP_ACCEPT"],
            "example.org",
        ),
    ];
    for (req, host, at, tail, value) in cases {
        let vars = RequestVars::from_request(req, &config().with_host_var(host));
        assert_eq!(keys(&vars).split_off(at), tail, "{host:?}");
        assert_eq!(vars.get("HTTP_HOST"), Some(value.as_bytes()), "{host:?}");
    }
    let vars = RequestVars::from_request(&req, &config());
    assert_eq!(
        vars.get("SERVER_NAME"),
        Some(&b"example.com"[..]),
        "host without its port"
    );
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
    let wire = vars
        .builder(0)
        .with_body_len(5)
        .to_vec()
        .expect("encodable");
    assert_eq!(reparse(&wire).body_len(), Ok(5));
}

#[test]
fn transfer_encoding_is_left_out_unless_kept_and_the_builder_fills_the_length() {
    let req = Request::post("/chunked")
        .header("transfer-encoding", "chunked")
        .body(())
        .expect("request");
    let cases: [(TransferEncoding, Option<&[u8]>); 2] = [
        (TransferEncoding::Drop, None),
        (TransferEncoding::Keep, Some(b"chunked")),
    ];
    for (setting, expected) in cases {
        let config = config().with_transfer_encoding(setting);
        assert_eq!(config.transfer_encoding(), setting);
        let vars = RequestVars::from_request(&req, &config);
        assert_eq!(vars.get("HTTP_TRANSFER_ENCODING"), expected, "{setting:?}");
        assert_eq!(vars.get("CONTENT_LENGTH"), Some(&b""[..]));
        let wire = vars
            .builder(0)
            .with_body_len(3000)
            .to_vec()
            .expect("encodable");
        let packet = reparse(&wire);
        let block = packet.vars().expect("vars");
        assert_eq!(block.get("CONTENT_LENGTH"), Some(&b"3000"[..]));
        assert_eq!(packet.body_len(), Ok(3000));
        // The request the server sees carries no transfer-encoding either way (C5).
        let parts = request_parts(block).expect("parts");
        assert!(parts.headers.get("transfer-encoding").is_none());
        let empty = vars
            .builder(0)
            .with_body_len(0)
            .to_vec()
            .expect("empty body");
        assert_eq!(empty.len(), wire.len() - 4);
    }
    assert_eq!(self::config().transfer_encoding(), TransferEncoding::Drop);
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
    let wire = vars
        .builder(0)
        .to_vec()
        .expect("encodable without a body length");
    let packet = reparse(&wire);
    let (at, _, _) = packet
        .vars()
        .expect("vars")
        .iter_with_offsets()
        .find(|(_, k, _)| *k == b"CONTENT_LENGTH")
        .expect("CONTENT_LENGTH");
    // The `,` after `5`, in the value after the 14-byte key.
    let comma = at + 2 + 14 + 2 + 1;
    let not_digit = uwsgi_codec::Error::InvalidContentLength {
        offset: comma,
        reason: ContentLengthFault::NotDigit,
    };
    let err = vars.builder(0).with_body_len(5).to_vec();
    assert_eq!(err, Err(not_digit.clone()), "two framings");
    assert_eq!(
        packet.body_len(),
        Err(not_digit),
        "no decoder frames it either"
    );
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
    assert_eq!(config.server_addr(), addr("[::1]:443"));
    let vars = RequestVars::from_request(&Request::get("/").body(()).expect("request"), &config);
    let cases = [
        ("REMOTE_ADDR", "2001:db8::7"),
        ("SERVER_PORT", "443"),
        ("SERVER_NAME", "::1"),
    ];
    for (key, value) in cases {
        assert_eq!(vars.get(key), Some(value.as_bytes()), "{key}");
    }
    assert!(!vars.is_empty());
    assert_eq!(vars.len(), 13);
    let debug = format!("{vars:?}");
    assert!(debug.contains("\"REMOTE_ADDR\""), "{debug}");
}

#[test]
fn request_vars_config_getters_read_back_the_setters() {
    let mapping = CgiMapping {
        repeated: RepeatedHeaders::Duplicate,
        ..RequestVarsConfig::NGINX_MAPPING
    };
    let fresh = config();
    assert_eq!(
        (
            fresh.document_root(),
            fresh.server_name(),
            fresh.mapping(),
            fresh.host_var()
        ),
        (
            &b""[..],
            None,
            RequestVarsConfig::NGINX_MAPPING,
            HostVar::AfterParams
        )
    );
    let set = config()
        .with_document_root("/srv")
        .with_server_name("name")
        .with_mapping(mapping)
        .with_host_var(HostVar::InHeaders);
    assert_eq!(
        (
            set.document_root(),
            set.server_name(),
            set.mapping(),
            set.host_var()
        ),
        (
            &b"/srv"[..],
            Some(&b"name"[..]),
            mapping,
            HostVar::InHeaders
        )
    );
    assert_eq!(set.remote_addr(), addr("192.0.2.7:50123"));
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
                .with_magic_policy(MagicPolicy::Allow)
                .extend_vars(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
                .to_vec();
            let Ok(wire) = wire else { return Ok(()) };
            let packet = reparse(&wire);
            let vars = packet.vars().expect("vars");
            for config in EVERY_CONFIG {
                match config.parts(vars) {
                    Ok(parts) => {
                        let back = RequestVars::from_parts(&parts, &super::config());
                        for (key, _) in back.pairs() {
                            prop_assert_eq!(magic_class(key), None, "no magic var");
                        }
                        // Whatever came out is a request that parses back.
                        if let Ok(wire) = back.builder(0).to_vec() {
                            let again = config.parts(reparse(&wire).vars().expect("vars"));
                            prop_assert!(again.is_ok(), "{:?} {:?}", config, again);
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
}
