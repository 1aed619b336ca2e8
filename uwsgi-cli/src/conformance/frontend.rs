//! Front-end conformance: a fixed set of HTTP requests sent to a front end (nginx, Apache,
//! lighttpd, uWSGI's http router, uwsgi-tools' proxy) whose uwsgi upstream is the runner's own
//! recorder (`uwsgi record`'s capture), and what reaches the upstream checked against
//! PROTOCOL.md:
//!
//! - every packet decodes strictly (§4), with `CONTENT_LENGTH` exactly the bytes that follow
//!   it and nothing after them (E7, C6), and `SERVER_PROTOCOL` of the form `HTTP/x.y` (E11);
//! - `PATH_INFO` is the path percent-decoded once (E10), bytes kept as they are (V9);
//! - a chunked body arrives de-chunked with its length (C5, E7), or the request is refused;
//! - a `Content-Length` that is not one plain number is refused or sent as one (C2, E7);
//! - header names with `_` are dropped (E8), repeated headers joined with `", "` (`"; "` for
//!   `Cookie`) or sent as duplicates (E9), and no header becomes a `UWSGI_*` var (M3).
//!
//! A request the front end refuses (any status but 2xx, and nothing sent upstream) passes
//! where refusing is allowed.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use uwsgi_codec::{Parser, Vars};

use super::report::{Counts, Outcome, print_line};
use super::verdict::{self, Judged};
use crate::net::{Listener, Target, seconds};
use crate::record::{capture, capture_name};
use crate::{ConformanceArgs, hex};

/// What a check gets: the vars and body of the packet the front end sent.
type Check = fn(&Vars<'_>, &[u8]) -> Vec<String>;

/// One request of the fixed set.
struct Case {
    name: &'static str,
    /// The request line and headers after `Host` (each ending in CRLF), then the body.
    head: &'static str,
    body: &'static [u8],
    /// Refusing it is allowed (the request is malformed or exotic HTTP).
    may_refuse: bool,
    check: Check,
    /// The `PATH_INFO` the path must become, and the rule that says so.
    path_info: Option<(&'static [u8], &'static str)>,
}

fn no_check(_: &Vars<'_>, _: &[u8]) -> Vec<String> {
    Vec::new()
}

fn var<'a>(vars: &Vars<'a>, key: &str) -> Option<&'a [u8]> {
    vars.get(key)
}

fn expect_var(vars: &Vars<'_>, key: &str, want: &[u8], rule: &str) -> Vec<String> {
    match var(vars, key) {
        Some(value) if value == want => Vec::new(),
        Some(value) => vec![format!(
            "{key} is {}, want {} ({rule})",
            hex::show(value, 60),
            hex::show(want, 60)
        )],
        None => vec![format!("no {key}, want {} ({rule})", hex::show(want, 60))],
    }
}

fn expect_body(body: &[u8], want: &[u8], rule: &str) -> Vec<String> {
    if body == want {
        Vec::new()
    } else {
        vec![format!(
            "the body is {}, want {} ({rule})",
            hex::show(body, 40),
            hex::show(want, 40)
        )]
    }
}

/// `CONTENT_LENGTH` and the body after the block.
fn expect_framed(
    vars: &Vars<'_>,
    body: &[u8],
    length: &[u8],
    want: &[u8],
    rule: &str,
) -> Vec<String> {
    let mut faults = expect_var(vars, "CONTENT_LENGTH", length, rule);
    faults.extend(expect_body(body, want, rule));
    faults
}

const BINARY: [u8; 256] = {
    let mut bytes = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        bytes[i] = i as u8;
        i += 1;
    }
    bytes
};

const CASES: &[Case] = &[
    Case {
        name: "fe_get_query",
        head: "GET /a/b%20c?x=1 HTTP/1.1\r\n",
        body: b"",
        may_refuse: false,
        check: |vars, body| {
            let mut faults = expect_var(
                vars,
                "PATH_INFO",
                b"/a/b c",
                "E10: PATH_INFO is the decoded path",
            );
            faults.extend(expect_var(vars, "QUERY_STRING", b"x=1", "E10"));
            faults.extend(expect_var(vars, "REQUEST_METHOD", b"GET", "E10"));
            faults.extend(expect_body(body, b"", "C1"));
            faults
        },
        path_info: None,
    },
    Case {
        name: "fe_path_decoded_once",
        head: "GET /%2561dmin/x HTTP/1.1\r\n",
        body: b"",
        may_refuse: true,
        check: no_check,
        path_info: Some((b"/%61dmin/x", "E10, V9: decoded once, never twice")),
    },
    Case {
        name: "fe_path_utf8",
        head: "GET /caf%C3%A9 HTTP/1.1\r\n",
        body: b"",
        may_refuse: false,
        check: no_check,
        path_info: Some(("/café".as_bytes(), "E10, V9: the bytes as they are")),
    },
    Case {
        name: "fe_path_dot_segments",
        head: "GET /a/%2e%2e/b/../c HTTP/1.1\r\n",
        body: b"",
        may_refuse: true,
        check: no_check,
        path_info: Some((
            b"/c",
            "E10: PATH_INFO is nginx's normalised $document_uri (RFC 3986 §5.2.4)",
        )),
    },
    Case {
        name: "fe_post_body",
        head: "POST /post HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n",
        body: b"hello world",
        may_refuse: false,
        check: |vars, body| expect_framed(vars, body, b"11", b"hello world", "E7"),
        path_info: None,
    },
    Case {
        name: "fe_post_binary",
        head: "POST /bin HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 256\r\n",
        body: &BINARY,
        may_refuse: false,
        check: |_, body| expect_body(body, &BINARY, "E7, V9: every byte value"),
        path_info: None,
    },
    Case {
        name: "fe_post_empty",
        head: "POST /empty HTTP/1.1\r\nContent-Length: 0\r\n",
        body: b"",
        may_refuse: false,
        check: |vars, body| {
            let mut faults = expect_body(body, b"", "E7");
            if !matches!(var(vars, "CONTENT_LENGTH"), None | Some(b"" | b"0")) {
                faults.push("CONTENT_LENGTH is not empty or 0 for an empty body (E7)".into());
            }
            faults
        },
        path_info: None,
    },
    Case {
        name: "fe_chunked_body",
        head: "POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n",
        body: b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        may_refuse: true,
        check: |vars, body| {
            expect_framed(
                vars,
                body,
                b"11",
                b"hello world",
                "C1, C5, E7: de-chunked, with its length",
            )
        },
        path_info: None,
    },
    Case {
        name: "fe_cl_and_chunked",
        head: "POST /clte HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        body: b"5\r\nhello\r\n0\r\n\r\n",
        may_refuse: true,
        check: |vars, body| {
            expect_framed(
                vars,
                body,
                b"5",
                b"hello",
                "C5, E7 (RFC 9112 §6.3: chunked wins)",
            )
        },
        path_info: None,
    },
    Case {
        name: "fe_cl_plus_sign",
        head: "POST /plus HTTP/1.1\r\nContent-Length: +5\r\n",
        body: b"hello",
        may_refuse: true,
        check: |vars, _| expect_var(vars, "CONTENT_LENGTH", b"5", "C2, E7: plain digits"),
        path_info: None,
    },
    Case {
        name: "fe_cl_trailing_letters",
        head: "POST /abc HTTP/1.1\r\nContent-Length: 5abc\r\n",
        body: b"hello",
        may_refuse: true,
        check: |vars, _| expect_var(vars, "CONTENT_LENGTH", b"5", "C2, E7: plain digits"),
        path_info: None,
    },
    Case {
        name: "fe_cl_two_values",
        head: "POST /two HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n",
        body: b"hello",
        may_refuse: true,
        check: |_, _| {
            vec!["two different Content-Length headers were forwarded: one request with two framings must be refused (C3, E7)".into()]
        },
        path_info: None,
    },
    Case {
        name: "fe_underscore_header",
        head: "GET /u HTTP/1.1\r\nX_Bar: under\r\nX-Bar: dash\r\n",
        body: b"",
        may_refuse: false,
        check: |vars, _| {
            let values: Vec<&[u8]> = vars.get_all("HTTP_X_BAR").collect();
            if values == [&b"dash"[..]] {
                Vec::new()
            } else {
                let shown: Vec<String> = values.iter().map(|v| hex::show(v, 30)).collect();
                vec![format!(
                    "HTTP_X_BAR = [{}], want [\"dash\"]: X_Bar must be dropped, it poses as X-Bar (E8)",
                    shown.join(", ")
                )]
            }
        },
        path_info: None,
    },
    Case {
        name: "fe_repeated_cookie",
        head: "GET /c HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\n",
        body: b"",
        may_refuse: false,
        check: |vars, _| {
            let values: Vec<&[u8]> = vars.get_all("HTTP_COOKIE").collect();
            match values.as_slice() {
                [joined] if *joined == b"a=1; b=2" => Vec::new(),
                [first, second] if *first == b"a=1" && *second == b"b=2" => Vec::new(),
                _ => {
                    let shown: Vec<String> = values.iter().map(|v| hex::show(v, 30)).collect();
                    vec![format!(
                        "HTTP_COOKIE = [{}], want \"a=1; b=2\" or the two values apart (E9)",
                        shown.join(", ")
                    )]
                }
            }
        },
        path_info: None,
    },
    Case {
        name: "fe_no_magic_from_headers",
        head: "GET /m HTTP/1.1\r\nUWSGI-FILE: /etc/passwd\r\nUwsgi_Scheme: https\r\n",
        body: b"",
        may_refuse: false,
        check: |vars, _| {
            vars.iter()
                .filter(|(key, _)| key.starts_with(b"UWSGI_") && *key != b"UWSGI_ROUTER")
                .map(|(key, _)| {
                    format!(
                        "a header became the magic var {} (M3, E8)",
                        hex::show(key, 40)
                    )
                })
                .collect()
        },
        path_info: None,
    },
    Case {
        name: "fe_header_over_64k",
        head: "GET /big HTTP/1.1\r\nX-Big: @BIG@\r\n",
        body: b"",
        may_refuse: true,
        check: |_, _| {
            vec!["a 70000-byte header cannot fit a uwsgi block: it must be refused (E2, E3)".into()]
        },
        path_info: None,
    },
];

/// The packet's faults before the case's own: strict decoding, exact body, `SERVER_PROTOCOL`.
fn packet_faults(case: &Case, wire: &[u8]) -> Vec<String> {
    let packet = match Parser::new().parse_eof(wire) {
        Ok(Some(packet)) => packet,
        Ok(None) => return vec!["an empty upstream connection".into()],
        Err(err) => {
            return vec![format!(
                "the packet does not decode: {err} (PROTOCOL.md §4, {})",
                err.kind()
            )];
        }
    };
    let after = wire.get(packet.wire_len()..).unwrap_or_default();
    let Some(vars) = packet.vars() else {
        return vec![format!(
            "modifier1 {} is not a request family",
            packet.modifier1()
        )];
    };
    let mut faults = Vec::new();
    let framed = match packet.body_len() {
        Ok(n) => n,
        Err(err) => return vec![format!("CONTENT_LENGTH: {err} (C2, C3, E7)")],
    };
    if after.len() as u64 != framed {
        faults.push(format!(
            "CONTENT_LENGTH says {framed}, {} bytes follow the block (E7, C6)",
            after.len()
        ));
    }
    let protocol = vars.get("SERVER_PROTOCOL").unwrap_or_default();
    if !matches!(protocol, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
    {
        faults.push(format!(
            "SERVER_PROTOCOL is {} (E11)",
            hex::show(protocol, 20)
        ));
    }
    let body = after
        .get(
            ..usize::try_from(framed)
                .unwrap_or(usize::MAX)
                .min(after.len()),
        )
        .unwrap_or_default();
    if let Some((want, rule)) = case.path_info {
        faults.extend(expect_var(vars, "PATH_INFO", want, rule));
    }
    faults.extend((case.check)(vars, body));
    faults
}

/// The raw HTTP request of a case.
fn request(case: &Case, host: &str) -> Vec<u8> {
    let big = "x".repeat(70_000);
    let head = case.head.replace("@BIG@", &big);
    let (line, rest) = head.split_once("\r\n").unwrap_or((&head, ""));
    let text = format!(
        "{line}\r\nHost: {host}\r\nX-Capture-Name: {}\r\n{rest}Connection: close\r\n\r\n",
        case.name
    );
    [text.as_bytes(), case.body].concat()
}

/// Sends the request and reads the front end's answer: its status, if any.
async fn send(target: &Target, request: &[u8], timeout: Duration) -> Result<Option<u16>, String> {
    let (mut stream, _) = target.connect(timeout).await?;
    let exchange = async {
        let _ = stream.write_all(request).await;
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply).await;
        reply
    };
    let reply = tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_default();
    let line = reply.split(|&b| b == b'\n').next().unwrap_or_default();
    let status = std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok());
    Ok(status)
}

/// Runs the front-end checks; `Ok(true)` iff nothing failed.
pub(super) async fn run(args: &ConformanceArgs, upstream: &str) -> Result<bool, String> {
    let target = Target::parse(&args.target)?;
    let timeout = seconds(args.timeout, "--timeout")?;
    let listed = match &args.expect_fail {
        Some(path) => verdict::load_list(path)?,
        None => Vec::new(),
    };
    let (listener, _) = Listener::bind(upstream).await?;
    let (sender, mut captures) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(async move {
        for count in 1.. {
            let Ok((stream, _)) = listener.accept(count).await else {
                continue;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                let _ = sender.send(capture(stream, Duration::from_secs(10)).await);
            });
        }
    });
    let mut outcomes = Vec::new();
    for case in CASES
        .iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| c.name.contains(o)))
    {
        let started = Instant::now();
        while captures.try_recv().is_ok() {} // late captures of earlier cases
        let status = send(&target, &request(case, &args.target), timeout).await;
        let wait = tokio::time::Instant::now() + Duration::from_millis(1500);
        let mut wire = None;
        while let Ok(Some(bytes)) = tokio::time::timeout_at(wait, captures.recv()).await {
            if bytes.is_empty()
                || capture_name(&bytes).as_deref() == Some(case.name)
                || capture_name(&bytes).is_none()
            {
                wire = Some(bytes);
                break;
            }
        }
        let judged = match (status, wire.filter(|w| !w.is_empty())) {
            (Err(err), _) => Judged::Fail(err),
            (Ok(status), Some(wire)) => {
                let faults = packet_faults(case, &wire);
                let sent = format!("sent {} bytes upstream", wire.len());
                match (faults.is_empty(), status) {
                    (true, _) => Judged::Pass(sent),
                    (false, _) => Judged::Fail(format!("{sent}: {}", faults.join("; "))),
                }
            }
            (Ok(Some(status)), None) if case.may_refuse && !(200..300).contains(&status) => {
                Judged::Pass(format!("refused with {status}, nothing sent upstream"))
            }
            (Ok(status), None) => Judged::Fail(format!(
                "nothing reached the upstream; the front end {}",
                status.map_or("closed without a status line".into(), |s| format!(
                    "answered {s}"
                ))
            )),
        };
        let (verdict, reason) =
            verdict::apply(&judged, listed.iter().any(|l| l == case.name), args.strict);
        let outcome = Outcome {
            name: case.name.to_owned(),
            file: None,
            expect: Some(if case.may_refuse {
                "refusal or exact"
            } else {
                "exact"
            }),
            verdict,
            reason,
            responses: Vec::new(),
            elapsed: started.elapsed(),
        };
        if !args.json {
            print_line(&outcome.line());
        }
        outcomes.push(outcome);
    }
    recorder.abort();
    let known: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    let stale = super::report::stale(&listed, &known);
    if !args.json {
        stale.iter().for_each(|o| print_line(&o.line()));
    }
    outcomes.extend(stale);
    let counts = Counts::of(&outcomes);
    if args.json {
        let settings = serde_json::json!({"front_end": true, "upstream": upstream});
        print_line(
            &super::report::json_report(&args.target, timeout, settings, &outcomes).to_string(),
        );
    } else {
        print_line(&counts.summary());
    }
    Ok(counts.failed == 0)
}
