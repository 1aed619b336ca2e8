//! The head of the raw HTTP reply to a request-family packet (PROTOCOL.md §2.5, §8 "Replies"):
//! every form nginx accepts, fed whole and split at every point, and every form it rejects;
//! with feature `http`, each head as an `http::response::Parts`.

use uwsgi_codec::Status;
use uwsgi_codec::reply::{
    DEFAULT_MAX_HEAD_LEN, Error, HeadFault, ResponseHead, ResponseHeadParser, StatusSource,
};

/// A reply nginx accepts, and what its head must read as.
struct Valid {
    name: &'static str,
    reply: &'static [u8],
    status: u16,
    reason: &'static [u8],
    version: Option<(u8, u8)>,
    source: StatusSource,
    headers: &'static [(&'static [u8], &'static [u8])],
    body: &'static [u8],
}

const VALID: &[Valid] = &[
    Valid {
        name: "status line, CRLF",
        reply: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        status: 200,
        reason: b"OK",
        version: Some((1, 1)),
        source: StatusSource::StatusLine,
        headers: &[(b"Content-Type", b"text/plain"), (b"Content-Length", b"5")],
        body: b"hello",
    },
    Valid {
        name: "status line, LF only",
        reply: b"HTTP/1.0 404 Not Found\nX-A: 1\n\nbody",
        status: 404,
        reason: b"Not Found",
        version: Some((1, 0)),
        source: StatusSource::StatusLine,
        headers: &[(b"X-A", b"1")],
        body: b"body",
    },
    Valid {
        name: "HTTP/2.0 status line (uWSGI copies SERVER_PROTOCOL), no headers",
        reply: b"HTTP/2.0 201 Created\r\n\r\n",
        status: 201,
        reason: b"Created",
        version: Some((2, 0)),
        source: StatusSource::StatusLine,
        headers: &[],
        body: b"",
    },
    Valid {
        name: "status line without a reason",
        reply: b"HTTP/1.1 204\r\nX-A: 1\r\n\r\n",
        status: 204,
        reason: b"",
        version: Some((1, 1)),
        source: StatusSource::StatusLine,
        headers: &[(b"X-A", b"1")],
        body: b"",
    },
    Valid {
        name: "status line with an empty reason, a tab and obs-text in it",
        reply: b"HTTP/1.1 200 Tr\xc3\xa8s\tbien\r\n\r\n",
        status: 200,
        reason: b"Tr\xc3\xa8s\tbien",
        version: Some((1, 1)),
        source: StatusSource::StatusLine,
        headers: &[],
        body: b"",
    },
    Valid {
        name: "status line wins over a Status header, which is kept and not checked",
        reply: b"HTTP/1.1 200 OK\r\nStatus: bogus\r\n\r\n",
        status: 200,
        reason: b"OK",
        version: Some((1, 1)),
        source: StatusSource::StatusLine,
        headers: &[(b"Status", b"bogus")],
        body: b"",
    },
    Valid {
        name: "CGI Status header",
        reply: b"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>404</h1>",
        status: 404,
        reason: b"Not Found",
        version: None,
        source: StatusSource::StatusHeader,
        headers: &[
            (b"Status", b"404 Not Found"),
            (b"Content-Type", b"text/html"),
        ],
        body: b"<h1>404</h1>",
    },
    Valid {
        name: "CGI Status without a reason, LF only, any case, not first",
        reply: b"X-A: 1\nSTATUS: 500\n\n",
        status: 500,
        reason: b"",
        version: None,
        source: StatusSource::StatusHeader,
        headers: &[(b"X-A", b"1"), (b"STATUS", b"500")],
        body: b"",
    },
    Valid {
        name: "the first of two Status headers wins (nginx >= 1.23)",
        reply: b"Status: 201 A\r\nStatus: 202 B\r\n\r\n",
        status: 201,
        reason: b"A",
        version: None,
        source: StatusSource::StatusHeader,
        headers: &[(b"Status", b"201 A"), (b"Status", b"202 B")],
        body: b"",
    },
    Valid {
        name: "Location only: 302",
        reply: b"Location: /next\r\n\r\n",
        status: 302,
        reason: b"Moved Temporarily",
        version: None,
        source: StatusSource::Location,
        headers: &[(b"Location", b"/next")],
        body: b"",
    },
    Valid {
        name: "Status and Location: the Status",
        reply: b"location: /x\r\nStatus: 301 Moved Permanently\r\n\r\n",
        status: 301,
        reason: b"Moved Permanently",
        version: None,
        source: StatusSource::StatusHeader,
        headers: &[(b"location", b"/x"), (b"Status", b"301 Moved Permanently")],
        body: b"",
    },
    Valid {
        name: "neither Status nor status line: 200",
        reply: b"Content-Type: text/plain\r\n\r\nhi",
        status: 200,
        reason: b"OK",
        version: None,
        source: StatusSource::Default,
        headers: &[(b"Content-Type", b"text/plain")],
        body: b"hi",
    },
    Valid {
        name: "empty head, CRLF: 200 and the body",
        reply: b"\r\nbody",
        status: 200,
        reason: b"OK",
        version: None,
        source: StatusSource::Default,
        headers: &[],
        body: b"body",
    },
    Valid {
        name: "empty head, LF",
        reply: b"\n",
        status: 200,
        reason: b"OK",
        version: None,
        source: StatusSource::Default,
        headers: &[],
        body: b"",
    },
    Valid {
        name: "values trimmed, empty values, mixed endings, a header named HTTP-ish",
        reply: b"X-A: \t v w \t\r\nX-Empty:\nHTTP-Foo:1\r\n\n\r\n",
        status: 200,
        reason: b"OK",
        version: None,
        source: StatusSource::Default,
        headers: &[(b"X-A", b"v w"), (b"X-Empty", b""), (b"HTTP-Foo", b"1")],
        body: b"\r\n",
    },
    Valid {
        name: "obs-text in a value",
        reply: b"X-Latin1: caf\xe9 \xff\r\n\r\n",
        status: 200,
        reason: b"OK",
        version: None,
        source: StatusSource::Default,
        headers: &[(b"X-Latin1", b"caf\xe9 \xff")],
        body: b"",
    },
];

fn check(case: &Valid, head: &ResponseHead<'_>) {
    let name = case.name;
    assert_eq!(head.status(), case.status, "{name}");
    assert_eq!(head.reason(), case.reason, "{name}");
    assert_eq!(head.version(), case.version, "{name}");
    assert_eq!(head.source(), case.source, "{name}");
    assert_eq!(head.headers(), case.headers, "{name}");
    assert_eq!(
        head.head_len(),
        case.reply.len() - case.body.len(),
        "{name}"
    );
    assert_eq!(head.body(case.reply), case.body, "{name}");
}

fn complete<'a>(result: Result<Status<ResponseHead<'a>>, Error>, ctx: &str) -> ResponseHead<'a> {
    match result {
        Ok(Status::Complete(head)) => head,
        other => panic!("{ctx}: expected a complete head, got {other:?}"),
    }
}

#[test]
fn every_form_nginx_accepts() {
    for case in VALID {
        let head = complete(ResponseHead::parse(case.reply), case.name);
        check(case, &head);
        check(case, &ResponseHead::parse_eof(case.reply).expect(case.name));
    }
}

#[test]
fn every_split_point_gives_incomplete_then_the_same_head() {
    for case in VALID {
        let whole = complete(ResponseHead::parse(case.reply), case.name);
        let head_len = whole.head_len();
        for cut in 0..head_len {
            let ctx = format!("{} cut at {cut}", case.name);
            match ResponseHead::parse(&case.reply[..cut]) {
                Ok(Status::Incomplete(n)) => assert!(n >= 1, "{ctx}"),
                other => panic!("{ctx}: expected Incomplete, got {other:?}"),
            }
            // The resumable parser: the first piece, then the whole reply.
            let mut parser = ResponseHeadParser::new();
            assert!(
                matches!(parser.parse(&case.reply[..cut]), Ok(Status::Incomplete(_))),
                "{ctx}"
            );
            assert_eq!(complete(parser.parse(case.reply), &ctx), whole, "{ctx}");
        }
        for end in head_len..=case.reply.len() {
            let ctx = format!("{} ending at {end}", case.name);
            assert_eq!(
                complete(ResponseHead::parse(&case.reply[..end]), &ctx),
                whole,
                "{ctx}"
            );
        }
    }
}

#[test]
fn byte_at_a_time_resumes_to_the_same_head() {
    for case in VALID {
        let whole = complete(ResponseHead::parse(case.reply), case.name);
        let mut parser = ResponseHeadParser::new();
        for end in 0..whole.head_len() {
            let ctx = format!("{} at {end}", case.name);
            assert!(
                matches!(parser.parse(&case.reply[..end]), Ok(Status::Incomplete(_))),
                "{ctx}"
            );
        }
        let head = complete(parser.parse(&case.reply[..whole.head_len()]), case.name);
        assert_eq!(head, whole, "{}", case.name);
        // Asking again, with more bytes, gives the same head.
        assert_eq!(
            complete(parser.parse(case.reply), case.name),
            whole,
            "{}",
            case.name
        );
    }
}

/// A reply nginx rejects (or that this crate rejects more strictly), the error, and the
/// length of the shortest prefix that proves it.
struct Rejected {
    name: &'static str,
    reply: &'static [u8],
    error: Error,
    proof: usize,
}

fn header_error(offset: usize, fault: HeadFault) -> Error {
    Error::InvalidResponseHeader { offset, fault }
}

fn rejected() -> Vec<Rejected> {
    use HeadFault::*;
    vec![
        Rejected {
            name: "uwsgi-framed pong 64 00 00 01",
            reply: b"\x64\x00\x00\x01",
            error: header_error(1, NameByte),
            proof: 2,
        },
        Rejected {
            name: "uwsgi-framed RPC reply ad 03 00 00 a|b",
            reply: b"\xad\x03\x00\x00a|b",
            error: header_error(0, NameByte),
            proof: 1,
        },
        Rejected {
            name: "uwsgi-framed cache reply 6f 15 00 11",
            reply: b"\x6f\x15\x00\x11\x06\x00status\x02\x00ok",
            error: header_error(1, NameByte),
            proof: 2,
        },
        Rejected {
            name: "binary reply",
            reply: b"\x00\x01\x02\x03",
            error: header_error(0, NameByte),
            proof: 1,
        },
        Rejected {
            name: "uWSGI with SERVER_PROTOCOL=https: `https 200 OK`",
            reply: b"https 200 OK\r\n\r\n",
            error: header_error(5, NameByte),
            proof: 6,
        },
        Rejected {
            name: "Status not a number",
            reply: b"Status: abc\r\n\r\n",
            error: Error::InvalidStatus { offset: 8 },
            proof: 13,
        },
        Rejected {
            name: "Status of two digits",
            reply: b"Status: 20\n\n",
            error: Error::InvalidStatus { offset: 10 },
            proof: 11,
        },
        Rejected {
            name: "Status of four digits",
            reply: b"Status: 2000 OK\r\n\r\n",
            error: Error::InvalidStatus { offset: 11 },
            proof: 17,
        },
        Rejected {
            name: "Status under 100",
            reply: b"X: 1\r\nstatus:  099 x\r\n\r\n",
            error: Error::InvalidStatus { offset: 15 },
            proof: 22,
        },
        Rejected {
            name: "empty Status",
            reply: b"Status:\r\n\r\n",
            error: Error::InvalidStatus { offset: 7 },
            proof: 9,
        },
        Rejected {
            name: "status line with a 2-digit code",
            reply: b"HTTP/1.1 20 OK\r\n\r\n",
            error: Error::InvalidStatusLine { offset: 11 },
            proof: 12,
        },
        Rejected {
            name: "status line without a minor version",
            reply: b"HTTP/1 200 OK\r\n\r\n",
            error: Error::InvalidStatusLine { offset: 6 },
            proof: 7,
        },
        Rejected {
            name: "status line with no space after the code",
            reply: b"HTTP/1.1 200OK\r\n\r\n",
            error: Error::InvalidStatusLine { offset: 12 },
            proof: 13,
        },
        Rejected {
            name: "status line with a bare CR",
            reply: b"HTTP/1.1 200 OK\rX\n\n",
            error: Error::InvalidStatusLine { offset: 16 },
            proof: 17,
        },
        Rejected {
            name: "status line with a NUL in the reason",
            reply: b"HTTP/1.1 200 O\x00K\r\n\r\n",
            error: Error::InvalidStatusLine { offset: 14 },
            proof: 15,
        },
        Rejected {
            name: "header line without a colon",
            reply: b"X-A\r\n\r\n",
            error: header_error(3, MissingColon),
            proof: 4,
        },
        Rejected {
            name: "space before the colon",
            reply: b"X-A : 1\r\n\r\n",
            error: header_error(3, NameByte),
            proof: 4,
        },
        Rejected {
            name: "empty header name",
            reply: b"X: 1\r\n: 2\r\n\r\n",
            error: header_error(6, EmptyName),
            proof: 7,
        },
        Rejected {
            name: "obsolete line folding",
            reply: b"X-A: 1\r\n  2\r\n\r\n",
            error: header_error(8, Folded),
            proof: 9,
        },
        Rejected {
            name: "bare CR in a value",
            reply: b"X-A: 1\rX: 2\r\n\r\n",
            error: header_error(7, BareCr),
            proof: 8,
        },
        Rejected {
            name: "bare CR at a line start",
            reply: b"X-A: 1\r\n\rX",
            error: header_error(9, BareCr),
            proof: 10,
        },
        Rejected {
            name: "NUL in a value",
            reply: b"X-A: a\x00b\r\n\r\n",
            error: header_error(6, ValueByte),
            proof: 7,
        },
        Rejected {
            name: "a second status line",
            reply: b"HTTP/1.1 100 Continue\r\nHTTP/1.1 200 OK\r\n\r\n",
            error: header_error(27, NameByte),
            proof: 28,
        },
    ]
}

#[test]
fn every_form_nginx_rejects_fails_at_its_byte_and_every_later_split() {
    for case in rejected() {
        for end in 0..=case.reply.len() {
            let ctx = format!("{} ending at {end}", case.name);
            let result = ResponseHead::parse(&case.reply[..end]);
            if end < case.proof {
                assert!(
                    matches!(result, Ok(Status::Incomplete(_))),
                    "{ctx}: {result:?}"
                );
            } else {
                let err = result.expect_err(&ctx);
                assert_eq!(err, case.error, "{ctx}");
                assert!(err.offset().is_some_and(|o| o < end), "{ctx}");
            }
        }
        // Fed one byte at a time, the resumable parser fails at the same point.
        let mut parser = ResponseHeadParser::new();
        let failed_at = (0..=case.reply.len())
            .find_map(|end| parser.parse(&case.reply[..end]).err().map(|e| (end, e)));
        assert_eq!(failed_at, Some((case.proof, case.error)), "{}", case.name);
    }
}

#[test]
fn eof_inside_the_head_is_an_error() {
    let cases: [(&[u8], usize); 5] = [
        (b"", 0),
        (b"HTTP/1.1 200 OK", 15),
        (b"HTTP/1.1 200 OK\r\n", 17),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n", 25),
        (b"Status: 200\r\n\r", 14),
    ];
    for (reply, offset) in cases {
        let expected = Err(Error::TruncatedResponseHead { offset });
        assert_eq!(ResponseHead::parse_eof(reply), expected);
        assert_eq!(ResponseHeadParser::new().parse_eof(reply), expected);
    }
    assert_eq!(
        ResponseHead::parse_eof(b"").map(|_| ()).unwrap_err().kind(),
        "TruncatedResponseHead"
    );
}

#[test]
fn the_head_is_bounded() {
    let reply = b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n"; // 27 bytes
    let exact = ResponseHeadParser::new().with_max_head_len(27).parse(reply);
    assert_eq!(
        exact.ok().and_then(Status::complete).map(|h| h.head_len()),
        Some(27)
    );
    let mut parser = ResponseHeadParser::new().with_max_head_len(26);
    assert_eq!(parser.max_head_len(), 26);
    assert!(matches!(
        parser.parse(&reply[..25]),
        Ok(Status::Incomplete(_))
    ));
    assert_eq!(
        parser.parse(reply),
        Err(Error::ResponseHeadTooLarge { max: 26 })
    );

    // A head that never ends fails at the default bound instead of buffering forever.
    let mut endless = b"X-Big: ".to_vec();
    endless.resize(DEFAULT_MAX_HEAD_LEN - 1, b'a');
    assert!(matches!(
        ResponseHead::parse(&endless),
        Ok(Status::Incomplete(_))
    ));
    endless.push(b'a');
    let err = ResponseHead::parse(&endless).expect_err("too large");
    assert_eq!(
        err,
        Error::ResponseHeadTooLarge {
            max: DEFAULT_MAX_HEAD_LEN
        }
    );
    assert_eq!(err.kind(), "ResponseHeadTooLarge");
}

#[test]
fn a_parser_resets_for_the_next_reply() {
    let mut parser = ResponseHeadParser::new();
    let first = complete(parser.parse(b"Status: 201\n\n"), "first");
    assert_eq!(first.status(), 201);
    parser.reset();
    let second = complete(parser.parse(b"Location: /\r\n\r\n"), "second");
    assert_eq!(second.status(), 302);
    // A shorter buffer than before starts over by itself.
    let third = complete(parser.parse(b"\n"), "third");
    assert_eq!(third.status(), 200);
}

#[test]
fn errors_name_the_fault() {
    let cases: [(&[u8], &str, usize, &[&str]); 3] = [
        (
            b"\x64\x00\x00\x01",
            "InvalidResponseHeader",
            1,
            &["header name", "offset 1"],
        ),
        (
            b"Status: x\n\n",
            "InvalidStatus",
            8,
            &["Status", "offset 8"],
        ),
        (
            b"HTTP/x",
            "InvalidStatusLine",
            5,
            &["status line", "offset 5"],
        ),
    ];
    for (reply, kind, offset, words) in cases {
        let err = ResponseHead::parse(reply).expect_err(kind);
        assert_eq!((err.kind(), err.offset()), (kind, Some(offset)));
        let message = err.to_string();
        for word in words {
            assert!(message.contains(word), "{message}");
        }
        assert!(!err.hint().is_empty(), "{kind}");
    }
}

#[test]
fn header_lookup_ignores_case_and_takes_the_first() {
    let head = complete(
        ResponseHead::parse(b"Set-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n"),
        "cookies",
    );
    assert_eq!(head.header("SET-COOKIE"), Some(&b"a=1"[..]));
    assert_eq!(head.header("x-missing"), None);
    let debug = format!("{head:?}");
    assert!(
        debug.contains("set-cookie") && debug.contains("status: 200"),
        "{debug}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Bytes biased towards the ones the head grammar cares about.
    fn reply() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"HTP/1. 20OKStaus:Loc\r\n\t".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..96)
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic_and_errors_point_inside(bytes in reply()) {
            match ResponseHead::parse(&bytes) {
                Ok(Status::Complete(head)) => {
                    prop_assert!(head.head_len() <= bytes.len(), "head inside the input");
                    prop_assert!((100..=999).contains(&head.status()), "status in range");
                }
                Ok(Status::Incomplete(n)) => prop_assert!(n >= 1, "Incomplete is never 0"),
                Err(err) => {
                    let offset = err.offset().unwrap_or(0);
                    prop_assert!(offset < bytes.len().max(1), "offset {} inside {}", offset, bytes.len());
                }
            }
        }

        #[test]
        fn two_pieces_give_the_one_shot_outcome(bytes in reply(), cut in 0usize..96) {
            let cut = cut.min(bytes.len());
            let one_shot = ResponseHead::parse(&bytes);
            let mut parser = ResponseHeadParser::new();
            let pieces = match parser.parse(&bytes[..cut]) {
                Ok(Status::Incomplete(_)) => parser.parse(&bytes),
                other => other,
            };
            prop_assert_eq!(pieces, one_shot, "cut at {}", cut);
        }
    }
}

/// Feature `http`: every head as an `http::response::Parts`, and what the conversion refuses.
#[cfg(feature = "http")]
mod to_http {
    use super::*;
    use http::{StatusCode, Version};
    use uwsgi_codec::http::{Error as HttpError, response, response_parts};

    fn head(reply: &[u8]) -> ResponseHead<'_> {
        complete(ResponseHead::parse(reply), "head")
    }

    #[test]
    fn every_accepted_head_converts_without_its_status_header() {
        for case in VALID {
            let parts = response_parts(&head(case.reply)).expect(case.name);
            assert_eq!(parts.status.as_u16(), case.status, "{}", case.name);
            let version = match case.version {
                None | Some((1, 1)) => Version::HTTP_11,
                Some((1, 0)) => Version::HTTP_10,
                Some((2, 0)) => Version::HTTP_2,
                other => panic!("{}: no version table entry for {other:?}", case.name),
            };
            assert_eq!(parts.version, version, "{}", case.name);
            let expected: Vec<(String, &[u8])> = case
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case(b"status"))
                .map(|&(name, value)| (String::from_utf8_lossy(name).to_lowercase(), value))
                .collect();
            let got: Vec<(String, &[u8])> = parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes()))
                .collect();
            assert_eq!(got, expected, "{}: in order, duplicates kept", case.name);
        }
    }

    #[test]
    fn the_status_line_version_maps_or_is_refused() {
        let cases: [(&[u8], Result<Version, HttpError>); 6] = [
            (b"HTTP/0.9 200 OK\r\n\r\n", Ok(Version::HTTP_09)),
            (b"HTTP/1.0 200 OK\r\n\r\n", Ok(Version::HTTP_10)),
            (b"HTTP/3.0 200 OK\r\n\r\n", Ok(Version::HTTP_3)),
            (
                b"HTTP/1.2 200 OK\r\n\r\n",
                Err(HttpError::UnsupportedVersion { major: 1, minor: 2 }),
            ),
            (
                b"HTTP/2.1 200 OK\r\n\r\n",
                Err(HttpError::UnsupportedVersion { major: 2, minor: 1 }),
            ),
            (
                b"HTTP/4.0 200 OK\r\n\r\n",
                Err(HttpError::UnsupportedVersion { major: 4, minor: 0 }),
            ),
        ];
        for (reply, expected) in cases {
            let version = response_parts(&head(reply)).map(|p| p.version);
            assert_eq!(version, expected, "{}", String::from_utf8_lossy(reply));
        }
    }

    #[test]
    fn a_content_length_that_cannot_frame_the_body_is_refused() {
        // The status line takes 0..17; `Content-Length: ` is 16 bytes, so the first value is
        // at 33 and, after the 19-byte first header line, the second at 52.
        let cases: [(&[u8], Result<(), HttpError>); 5] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
                Err(HttpError::Reply(Error::InvalidContentLength { offset: 33 })),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                Err(HttpError::Reply(Error::InvalidContentLength { offset: 52 })),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                Ok(()),
            ),
            // No body to frame: 204 and 304 carry it as metadata, unchecked, as nginx does.
            (
                b"HTTP/1.1 204 No Content\r\nContent-Length: abc\r\n\r\n",
                Ok(()),
            ),
            (
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5, 6\r\n\r\n",
                Ok(()),
            ),
        ];
        for (reply, expected) in &cases {
            let result = response_parts(&head(reply)).map(|_| ());
            assert_eq!(result, *expected, "{}", String::from_utf8_lossy(reply));
        }
        let err = response_parts(&head(cases[0].0)).expect_err("abc");
        assert_eq!((err.kind(), err.offset()), ("InvalidContentLength", None));
        assert_eq!(err.reply().and_then(Error::offset), Some(33));
    }

    #[test]
    fn response_wraps_the_parts_with_the_body() {
        let reply = b"Location: /next\r\nX-A: 1\r\n\r\nmoved";
        let head = head(reply);
        let response = response(&head, head.body(reply)).expect("response");
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()["location"], "/next");
        assert_eq!(*response.body(), b"moved");
    }
}
