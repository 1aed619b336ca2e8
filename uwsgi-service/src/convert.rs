//! Every conversion between uwsgi and the `http` crate that this crate makes, in one place.
//!
//! The conversions themselves belong to `uwsgi-codec`'s `http` feature; this module only
//! calls them with this crate's settings. Until that feature offers a target source, an origin
//! form and a reply-head conversion (branch `http-layer`), the few lines that fill the gap sit
//! here and nowhere else, so that switching to the codec's API is a change to this file alone.

use bytes::Bytes;
use http::header::{CONNECTION, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, request, response};
use uwsgi_codec::http::{RequestVars, RequestVarsConfig};
use uwsgi_codec::reply::{ResponseHead, StatusSource};
use uwsgi_codec::{Packet, PacketBuilder, Vars};

/// Where the server takes a request's target (its path and query) from.
///
/// nginx sends both `REQUEST_URI` (the target the client sent, not decoded) and `PATH_INFO`
/// (nginx's `$document_uri`: decoded, normalised, and **rewritten**). A `rewrite … break` in
/// the `location` changes `PATH_INFO` only, so an app that reads `REQUEST_URI` never sees the
/// rewrite. The default follows the rewrite, as WSGI apps behind uWSGI do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetSource {
    /// `SCRIPT_NAME` + `PATH_INFO` (percent-encoded again), then `?` + `QUERY_STRING`: what
    /// nginx routed, rewrites included. `%2F` in the client's path arrives as `/`.
    #[default]
    PathInfo,
    /// `REQUEST_URI` byte for byte (when it is there and not empty): the target the client
    /// sent, before any rewrite.
    RequestUri,
}

/// The form of the request URI the server gives the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UriForm {
    /// `/path?query`, what an HTTP/1.1 server such as hyper hands an axum app; the host is in
    /// the `host` header.
    #[default]
    Origin,
    /// `scheme://host/path?query` when the vars name a host (`HTTP_HOST` or `SERVER_NAME`).
    Absolute,
}

/// What a conversion can fail on, with the cause from `uwsgi-codec`.
pub(crate) type ConvertError = uwsgi_codec::http::Error;

/// The head of the HTTP request that a request packet carries.
pub(crate) fn request_parts(
    packet: &Packet,
    vars: &Vars<'_>,
    source: TargetSource,
    form: UriForm,
) -> Result<request::Parts, ConvertError> {
    let rewritten = match vars.get("REQUEST_URI") {
        Some(uri) if !uri.is_empty() => !same_target(uri, vars),
        _ => false,
    };
    let mut parts = if source == TargetSource::PathInfo && rewritten {
        // `request_parts` prefers `REQUEST_URI`: read the vars without it.
        let without = PacketBuilder::new(packet.modifier1())
            .extend_vars(vars.iter().filter(|(key, _)| *key != b"REQUEST_URI"))
            .to_vec()?;
        let block = without.get(uwsgi_codec::HEADER_LEN..).unwrap_or_default();
        uwsgi_codec::http::request_parts(&Vars::parse(block)?)?
    } else {
        uwsgi_codec::http::request_parts(vars)?
    };
    if form == UriForm::Origin {
        if let Some(path_and_query) = parts.uri.path_and_query() {
            parts.uri = Uri::from(path_and_query.clone());
        }
    }
    Ok(parts)
}

/// Whether `REQUEST_URI` names the same target as `SCRIPT_NAME` + `PATH_INFO` and
/// `QUERY_STRING` (no rewrite, nothing to decode): then either source gives the same URI, and
/// the common case needs no second look at the vars.
fn same_target(request_uri: &[u8], vars: &Vars<'_>) -> bool {
    let (path, query) = match request_uri.iter().position(|&b| b == b'?') {
        Some(at) => request_uri.split_at(at),
        None => (request_uri, &b""[..]),
    };
    let query = query.strip_prefix(b"?").unwrap_or(query);
    let [script, path_info, query_string] =
        vars.get_many([&b"SCRIPT_NAME"[..], &b"PATH_INFO"[..], &b"QUERY_STRING"[..]]);
    let (script, path_info) = (script.unwrap_or_default(), path_info.unwrap_or_default());
    let plain = |b: &u8| *b != b'%' && *b != b'#';
    path.iter().all(plain)
        && path.len() == script.len() + path_info.len()
        && path.starts_with(script)
        && path.ends_with(path_info)
        && query == query_string.unwrap_or_default()
}

/// Why a reply head could not become an [`http::response::Parts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyPart {
    /// A status code that `http` refuses.
    Status(u16),
    /// A header name that is not a token.
    HeaderName,
    /// A header value with a control byte.
    HeaderValue,
}

/// The status and headers of a reply, hop-by-hop headers and a CGI `Status` header left out.
pub(crate) fn response_parts(head: &ResponseHead<'_>) -> Result<response::Parts, ReplyPart> {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status =
        StatusCode::from_u16(head.status()).map_err(|_| ReplyPart::Status(head.status()))?;
    let cgi = head.source() == StatusSource::StatusHeader;
    let mut headers = HeaderMap::with_capacity(head.headers().len());
    for &(name, value) in head.headers() {
        if cgi && name.eq_ignore_ascii_case(b"status") {
            continue;
        }
        let name = HeaderName::from_bytes(name).map_err(|_| ReplyPart::HeaderName)?;
        let value = HeaderValue::from_bytes(value).map_err(|_| ReplyPart::HeaderValue)?;
        headers.append(name, value);
    }
    strip_hop_by_hop(&mut headers);
    parts.headers = headers;
    Ok(parts)
}

/// The vars for a request head, `Transfer-Encoding` left out unless `keep_transfer_encoding`
/// (the body after a uwsgi packet is always framed by its length, rule C5).
pub(crate) fn request_vars(
    parts: &mut request::Parts,
    config: &RequestVarsConfig,
    keep_transfer_encoding: bool,
) -> RequestVars {
    if !keep_transfer_encoding {
        parts.headers.remove(TRANSFER_ENCODING);
    }
    RequestVars::from_parts(parts, config)
}

/// The connection-level headers of RFC 9110 §7.6.1, which a proxy never forwards.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop headers, and every header the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().copied().map(HeaderName::from_static) {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

/// A body chunk as `Bytes`, copied only when the body's own buffer type is not `Bytes`.
pub(crate) fn into_bytes(mut data: impl bytes::Buf) -> Bytes {
    data.copy_to_bytes(data.remaining())
}
