//! A reply head → [`http::response::Parts`](::http::response::Parts) / [`Response`]: what a
//! gateway in front of uWSGI hands back to its HTTP client.

use ::http::response::Parts;
use ::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Version};

use super::error::{Error, HttpPart};
use crate::reply::ResponseHead;

/// Reads a reply head as the head of an HTTP response.
///
/// - **Status**: [`ResponseHead::status`], however the reply gave it (status line, CGI
///   `Status` header, implied by `Location`, or the default 200). The reason phrase has no
///   place in `Parts` and is not carried: read it from [`ResponseHead::reason`].
/// - **Version**: the status line's (`HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0` …; uWSGI copies the
///   request's `SERVER_PROTOCOL` into it), HTTP/1.1 for a reply in CGI form.
/// - **Headers**: every header in order, duplicates included, each value as the reply sent
///   it (trimmed), except the CGI `Status` header (any case, every one), which is CGI's way
///   to give the status and not a response header. A `Transfer-Encoding` is kept as it is:
///   the body bytes after the head are what the application wrote, still chunked if it
///   chunked them.
///
/// The reply parser already refuses header names that are not tokens and values with
/// control bytes, so nothing is dropped or rewritten: what can still fail is what the `http`
/// crate cannot hold (see Errors) and a `Content-Length` that cannot frame the body.
///
/// # Errors
///
/// - [`Error::Reply`] with `InvalidContentLength` (offset from the reply's first byte): a
///   `Content-Length` that is not one decimal length, or two that differ, on a status that
///   has a body ([`ResponseHead::body_framing`]): a response with two framings is not
///   passed on;
/// - [`Error::UnsupportedVersion`]: a status line version that [`Version`] has no value for,
///   such as `HTTP/1.2`;
/// - [`Error::ResponseHeader`]: a header name over 65535 bytes (only with a head bound
///   raised above 64 KiB);
/// - [`Error::TooManyHeaders`]: more distinct header names than a [`HeaderMap`] holds (only
///   with a head bound raised above 64 KiB).
///
/// # Examples
///
/// ```
/// use uwsgi_codec::http::{Error, response_parts};
/// use uwsgi_codec::reply::ResponseHead;
///
/// let reply = b"Status: 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nnope";
/// let head = ResponseHead::parse(reply)?.complete().unwrap();
/// let parts = response_parts(&head)?;
/// assert_eq!(parts.status, http::StatusCode::NOT_FOUND);
/// assert_eq!(parts.version, http::Version::HTTP_11);
/// assert!(parts.headers.get("status").is_none());
/// assert_eq!(parts.headers.get_all("set-cookie").iter().collect::<Vec<_>>(), ["a=1", "b=2"]);
///
/// let head = ResponseHead::parse(b"HTTP/1.2 200 OK\r\n\r\n")?.complete().unwrap();
/// assert_eq!(response_parts(&head).unwrap_err(), Error::UnsupportedVersion { major: 1, minor: 2 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn response_parts(head: &ResponseHead<'_>) -> Result<Parts, Error> {
    head.body_framing(false)?;
    let version = match head.version() {
        None | Some((1, 1)) => Version::HTTP_11,
        Some((1, 0)) => Version::HTTP_10,
        Some((0, 9)) => Version::HTTP_09,
        Some((2, 0)) => Version::HTTP_2,
        Some((3, 0)) => Version::HTTP_3,
        Some((major, minor)) => return Err(Error::UnsupportedVersion { major, minor }),
    };
    // `ResponseHead::status` is 100 to 999 by construction, exactly the range `StatusCode`
    // takes, so the fallback is never used.
    let status = StatusCode::from_u16(head.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let count = head.headers().len();
    let mut headers = HeaderMap::try_with_capacity(count).unwrap_or_default();
    for (index, &(name, value)) in head.headers().iter().enumerate() {
        if name.eq_ignore_ascii_case(b"status") {
            continue;
        }
        let refused = |part| Error::ResponseHeader { index, part };
        let name = HeaderName::from_bytes(name).map_err(|_| refused(HttpPart::HeaderName))?;
        let value = HeaderValue::from_bytes(value).map_err(|_| refused(HttpPart::HeaderValue))?;
        headers
            .try_append(name, value)
            .map_err(|_| Error::TooManyHeaders { index })?;
    }
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers = headers;
    Ok(parts)
}

/// Reads a reply head as an HTTP response with `body`, by the rules of [`response_parts`].
///
/// The body is the caller's: the bytes after [`ResponseHead::head_len`], up to where
/// [`ResponseHead::body_framing`] says the body ends.
///
/// # Errors
///
/// As [`response_parts`].
///
/// # Examples
///
/// ```
/// use uwsgi_codec::http::response;
/// use uwsgi_codec::reply::ResponseHead;
///
/// let reply = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
/// let head = ResponseHead::parse(reply)?.complete().unwrap();
/// let response = response(&head, head.body(reply))?;
/// assert_eq!(response.status(), 201);
/// assert_eq!(*response.body(), b"ok");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn response<B>(head: &ResponseHead<'_>, body: B) -> Result<Response<B>, Error> {
    Ok(Response::from_parts(response_parts(head)?, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn every_token_byte_makes_a_header_name() {
        let name: Vec<u8> = (0..=u8::MAX)
            .filter(|&b| crate::reply::token::is_tchar(b))
            .collect();
        assert!(HeaderName::from_bytes(&name).is_ok(), "{name:?}");
    }

    /// The head of `reply`, parsed with a bound of 1 MiB.
    fn big_head(reply: &[u8]) -> ResponseHead<'_> {
        let parsed = crate::reply::ResponseHeadParser::new()
            .with_max_head_len(1 << 20)
            .parse(reply);
        match parsed {
            Ok(crate::Status::Complete(head)) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_name_over_the_http_limit_is_refused_by_index() {
        let mut reply = b"X-A: 1\r\n".to_vec();
        reply.resize(reply.len() + 65536, b'n');
        reply.extend_from_slice(b": v\r\n\r\n");
        let refused = Error::ResponseHeader {
            index: 1,
            part: HttpPart::HeaderName,
        };
        assert_eq!(response_parts(&big_head(&reply)).map(|_| ()), Err(refused));
    }

    #[test]
    fn more_names_than_a_header_map_holds_are_refused_by_index() {
        let mut reply = Vec::new();
        for i in 0..40_000u32 {
            reply.extend_from_slice(alloc::format!("h{i}:\n").as_bytes());
        }
        reply.push(b'\n');
        let err = response_parts(&big_head(&reply)).map(|_| ());
        assert!(
            matches!(err, Err(Error::TooManyHeaders { index }) if index >= 24_000),
            "{err:?}"
        );
    }
}
