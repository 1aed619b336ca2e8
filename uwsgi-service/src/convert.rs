//! Every conversion between uwsgi and the `http` crate that this crate makes, in one place:
//! each is `uwsgi-codec`'s own (feature `http`), called with this crate's settings.

use bytes::Bytes;
use http::header::CONNECTION;
use http::{HeaderMap, HeaderName, request, response};
use uwsgi_codec::Vars;
use uwsgi_codec::http::{RequestConfig, RequestVars, RequestVarsConfig};
use uwsgi_codec::reply::ResponseHead;

/// What a conversion can fail on, with the cause from `uwsgi-codec`.
pub(crate) type ConvertError = uwsgi_codec::http::Error;

/// The head of the HTTP request that a request packet's vars carry.
pub(crate) fn request_parts(
    vars: &Vars<'_>,
    config: &RequestConfig,
) -> Result<request::Parts, ConvertError> {
    config.parts(vars)
}

/// The status and headers of a reply, hop-by-hop headers left out (a CGI `Status` header
/// never makes it into the parts).
pub(crate) fn response_parts(head: &ResponseHead<'_>) -> Result<response::Parts, ConvertError> {
    let mut parts = uwsgi_codec::http::response_parts(head)?;
    strip_hop_by_hop(&mut parts.headers);
    Ok(parts)
}

/// The vars nginx would send for a request head (`Transfer-Encoding` as `config` says).
pub(crate) fn request_vars(parts: &request::Parts, config: &RequestVarsConfig) -> RequestVars {
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
