//! Conversions between uwsgi request vars and the [`http`](::http) crate's request types
//! (feature `http`): [`request_parts`] reads a parsed request as a
//! [`http::request::Parts`](::http::request::Parts), [`RequestVars`] writes a request as the
//! vars nginx would send for it.
//!
//! Both directions follow nginx (PROTOCOL.md §7 E8 to E10, §8). The header-name mapping is
//! lossy (`X-Foo`, `x-foo` and `X_Foo` all become `HTTP_X_FOO`), so vars → request → vars
//! keeps what nginx sends but not every byte of every var: each function documents what it
//! changes.

use alloc::borrow::ToOwned;
use alloc::string::ToString;
use alloc::vec::Vec;
use std::net::SocketAddr;

use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use ::http::request::Parts;
use ::http::uri::{Authority, PathAndQuery, Scheme};
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::cgi::{CgiMapping, ContentHeaders, NginxParams};
use crate::reply::token::{is_ctl, is_tchar};
use crate::{Escaped, Modifier1, PacketBuilder, Vars};

/// What can go wrong converting between vars and the `http` crate's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A var is not valid as the part of the request it maps to.
    #[error("the var at offset {offset} is not a valid HTTP {part}")]
    InvalidHttp {
        /// Offset of the offending byte, from the packet's first header byte.
        offset: usize,
        /// The part of the request that could not be made.
        part: HttpPart,
    },
    /// The body length cannot be framed.
    #[error(transparent)]
    Packet(#[from] crate::Error),
}

/// The part of an HTTP request that a var could not become (see [`Error::InvalidHttp`]).
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpPart {
    /// `REQUEST_METHOD`: empty, or a byte that is not a token character.
    Method,
    /// The request target (`REQUEST_URI`, or `PATH_INFO` and `QUERY_STRING`) that
    /// [`Uri`] refuses even after percent-encoding, for example one over 65534 bytes.
    Uri,
    /// `REQUEST_SCHEME` or `UWSGI_SCHEME`: not a valid URI scheme.
    Scheme,
    /// `HTTP_HOST`, or `SERVER_NAME` and `SERVER_PORT`: not a valid `host[:port]`.
    Authority,
    /// `SERVER_PROTOCOL`: not one of the versions [`request_parts`] lists.
    Version,
    /// An `HTTP_*` key whose rest is empty or has a byte that is not a token character.
    HeaderName,
    /// A header value with a control byte (a line feed, a NUL …); a tab is allowed.
    HeaderValue,
}

impl HttpPart {
    /// The part's name, as error messages print it.
    pub fn name(self) -> &'static str {
        match self {
            HttpPart::Method => "method",
            HttpPart::Uri => "request target",
            HttpPart::Scheme => "scheme",
            HttpPart::Authority => "host",
            HttpPart::Version => "version",
            HttpPart::HeaderName => "header name",
            HttpPart::HeaderValue => "header value",
        }
    }
}

impl core::fmt::Display for HttpPart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

fn invalid(offset: usize, part: HttpPart) -> Error {
    Error::InvalidHttp { offset, part }
}

/// The vars that the conversion reads, each the **last** occurrence (as [`Vars::get`]) with
/// the offset of its value.
#[derive(Default)]
struct Found<'a> {
    method: Option<(usize, &'a [u8])>,
    protocol: Option<(usize, &'a [u8])>,
    request_uri: Option<(usize, &'a [u8])>,
    script_name: Option<(usize, &'a [u8])>,
    path_info: Option<(usize, &'a [u8])>,
    query_string: Option<(usize, &'a [u8])>,
    https: Option<(usize, &'a [u8])>,
    request_scheme: Option<(usize, &'a [u8])>,
    uwsgi_scheme: Option<(usize, &'a [u8])>,
    host: Option<(usize, &'a [u8])>,
    server_name: Option<(usize, &'a [u8])>,
    server_port: Option<(usize, &'a [u8])>,
    content_type: Option<(usize, &'a [u8])>,
    content_length: Option<(usize, &'a [u8])>,
    http_content_type: bool,
    http_content_length: bool,
}

impl<'a> Found<'a> {
    fn collect(vars: &Vars<'a>) -> Found<'a> {
        let mut found = Found::default();
        for (offset, key, value) in vars.iter_with_offsets() {
            let at = Some((offset + 4 + key.len(), value));
            match key {
                b"REQUEST_METHOD" => found.method = at,
                b"SERVER_PROTOCOL" => found.protocol = at,
                b"REQUEST_URI" => found.request_uri = at,
                b"SCRIPT_NAME" => found.script_name = at,
                b"PATH_INFO" => found.path_info = at,
                b"QUERY_STRING" => found.query_string = at,
                b"HTTPS" => found.https = at,
                b"REQUEST_SCHEME" => found.request_scheme = at,
                b"UWSGI_SCHEME" => found.uwsgi_scheme = at,
                b"HTTP_HOST" => found.host = at,
                b"SERVER_NAME" => found.server_name = at,
                b"SERVER_PORT" => found.server_port = at,
                b"CONTENT_TYPE" => found.content_type = at,
                b"CONTENT_LENGTH" => found.content_length = at,
                b"HTTP_CONTENT_TYPE" => found.http_content_type = true,
                b"HTTP_CONTENT_LENGTH" => found.http_content_length = true,
                _ => {}
            }
        }
        found
    }
}

fn non_empty(var: Option<(usize, &[u8])>) -> Option<(usize, &[u8])> {
    var.filter(|(_, value)| !value.is_empty())
}

/// Reads a parsed request's vars as the head of an HTTP request.
///
/// The rules, each var taken at its **last** occurrence (as [`Vars::get`], which is what
/// uWSGI and WSGI see):
///
/// - **Method**: `REQUEST_METHOD`; `GET` when absent (as `http`'s own default).
/// - **Version**: `SERVER_PROTOCOL`, one of `HTTP/0.9`, `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`,
///   `HTTP/2.0`, `HTTP/3`, `HTTP/3.0`, or empty for HTTP/0.9 (nginx's `$server_protocol`
///   is empty for an HTTP/0.9 request); HTTP/1.1 when absent. Anything else is an error
///   rather than a guess (uWSGI copies it into the status line, rule E11).
/// - **Scheme**: `https` when `HTTPS` is `on` (any case) or `1`; else `REQUEST_SCHEME`,
///   else `UWSGI_SCHEME`, when not empty; else `http`.
/// - **Authority**: `HTTP_HOST` when not empty; else `SERVER_NAME`, with `:SERVER_PORT`
///   unless the port is the scheme's default (80, 443). **When a host is known the URI is
///   absolute** (`http://host/path?query`); when neither var is there it is origin-form
///   (`/path?query`) and carries no scheme.
/// - **Target**: `REQUEST_URI` (the raw target nginx received) when not empty; else
///   `SCRIPT_NAME` + `PATH_INFO` (decoded paths, so `%`, `?`, `#`, spaces and bytes of 0x80
///   or more are percent-encoded, and a missing leading `/` is added), then `?` +
///   `QUERY_STRING` when that is not empty. A raw target that [`Uri`] accepts (and that has
///   no `#`) is kept byte for byte; otherwise every byte `Uri` might refuse (controls,
///   spaces, `"`, `<`, `>`, `{`, `}`, `#`, bytes of 0x80 or more, …) is percent-encoded,
///   so a target with raw non-UTF-8 bytes becomes its `%XX` form instead of an error.
/// - **Headers**, in wire order, repeated vars as repeated values: every `HTTP_*` var,
///   named by the rest of its key lower-cased with `_` turned into `-` (`HTTP_HOST` is the
///   `host` header). The reverse of rule E8 is a guess: `HTTP_X_FOO` could have been `X-Foo`
///   or `X_Foo`. The content headers come from the **unprefixed** vars, which frame the body:
///   - `content-type` is `CONTENT_TYPE` when that var exists (nothing when it is empty, as
///     nginx sends for bodyless requests), else each `HTTP_CONTENT_TYPE`;
///   - `content-length` is `CONTENT_LENGTH` when that var exists and is not empty, once,
///     and never `HTTP_CONTENT_LENGTH`, which is informational only (rule C4);
///   - both take the place of the first `HTTP_CONTENT_*` var when there is one, so that
///     nginx's order survives a round trip, else the place of the unprefixed var;
///   - `HTTP_TRANSFER_ENCODING` is left out: the body after the packet is exactly
///     `CONTENT_LENGTH` bytes, already de-chunked (rule C5), and a request head saying
///     `chunked` next to a `content-length` would be a smuggling shape.
/// - Every other var (`DOCUMENT_ROOT`, `REMOTE_ADDR`, `UWSGI_*` …) has no place in `Parts`
///   and is not carried.
///
/// # Errors
///
/// - `InvalidHttp` naming the [`HttpPart`] and the offending byte's offset (counted from the
///   packet's first header byte): an invalid method, version, scheme, host, target, header
///   name or header value (a control byte such as `\n` in a value);
/// - `InvalidContentLength` / `ConflictingContentLength`: the body length cannot be framed
///   ([`Vars::content_length`]).
///
/// # Examples
///
/// ```
/// use uwsgi_codec::{PacketBuilder, PacketRef};
/// use uwsgi_codec::http::request_parts;
///
/// let wire = PacketBuilder::new(0)
///     .var("REQUEST_METHOD", "POST")
///     .var("REQUEST_URI", "/a%20b?x=1")
///     .var("SERVER_PROTOCOL", "HTTP/1.1")
///     .var("REQUEST_SCHEME", "https")
///     .var("CONTENT_TYPE", "text/plain")
///     .var("CONTENT_LENGTH", "5")
///     .var("HTTP_HOST", "example.com")
///     .var("HTTP_X_FOO", "1")
///     .var("HTTP_X_FOO", "2")
///     .to_vec()?;
/// let packet = PacketRef::parse(&wire)?.complete().unwrap();
/// let parts = request_parts(&packet.vars().unwrap())?;
/// assert_eq!(parts.method, http::Method::POST);
/// assert_eq!(parts.uri, "https://example.com/a%20b?x=1");
/// assert_eq!(parts.headers["host"], "example.com");
/// assert_eq!(parts.headers["content-length"], "5");
/// assert_eq!(parts.headers.get_all("x-foo").iter().collect::<Vec<_>>(), ["1", "2"]);
///
/// let bad = PacketBuilder::new(0).var("HTTP_X", "a\nb").to_vec()?;
/// let err = request_parts(&PacketRef::parse(&bad)?.complete().unwrap().vars().unwrap());
/// assert!(matches!(
///     err,
///     Err(uwsgi_codec::http::Error::InvalidHttp { offset: 15, part: uwsgi_codec::http::HttpPart::HeaderValue })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub fn request_parts(vars: &Vars<'_>) -> Result<Parts, Error> {
    vars.content_length()?;
    let found = Found::collect(vars);
    let method = method(found.method)?;
    let version = version(found.protocol)?;
    let scheme = scheme(&found)?;
    let authority = authority(&found, &scheme)?;
    let uri = uri(&found, scheme, authority)?;
    let headers = headers(vars, &found)?;
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok(parts)
}

/// Reads a parsed request's vars as an HTTP request with `body`, by the rules of
/// [`request_parts`].
///
/// # Errors
///
/// As [`request_parts`].
///
/// # Examples
///
/// ```
/// use uwsgi_codec::Vars;
/// use uwsgi_codec::http::request;
///
/// // kv("REQUEST_METHOD","GET") kv("PATH_INFO","/")
/// let vars = Vars::parse(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/")?;
/// let request = request(&vars, ())?;
/// assert_eq!(request.uri(), "/");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub fn request<B>(vars: &Vars<'_>, body: B) -> Result<Request<B>, Error> {
    Ok(Request::from_parts(request_parts(vars)?, body))
}

fn method(var: Option<(usize, &[u8])>) -> Result<Method, Error> {
    let Some((at, value)) = var else {
        return Ok(Method::GET);
    };
    Method::from_bytes(value).map_err(|_| {
        let bad = value.iter().position(|&b| !is_tchar(b)).unwrap_or(0);
        invalid(at + bad, HttpPart::Method)
    })
}

fn version(var: Option<(usize, &[u8])>) -> Result<Version, Error> {
    let Some((at, value)) = var else {
        return Ok(Version::HTTP_11);
    };
    match value {
        b"" | b"HTTP/0.9" => Ok(Version::HTTP_09),
        b"HTTP/1.0" => Ok(Version::HTTP_10),
        b"HTTP/1.1" => Ok(Version::HTTP_11),
        b"HTTP/2" | b"HTTP/2.0" => Ok(Version::HTTP_2),
        b"HTTP/3" | b"HTTP/3.0" => Ok(Version::HTTP_3),
        _ => Err(invalid(at, HttpPart::Version)),
    }
}

fn scheme(found: &Found<'_>) -> Result<Scheme, Error> {
    if let Some((_, https)) = found.https {
        if https.eq_ignore_ascii_case(b"on") || https == b"1" {
            return Ok(Scheme::HTTPS);
        }
    }
    match non_empty(found.request_scheme).or(non_empty(found.uwsgi_scheme)) {
        Some((at, value)) => Scheme::try_from(value).map_err(|_| invalid(at, HttpPart::Scheme)),
        None => Ok(Scheme::HTTP),
    }
}

fn authority(found: &Found<'_>, scheme: &Scheme) -> Result<Option<Authority>, Error> {
    // A Host header is `host[:port]`: no user info, whatever `Authority` would take.
    let parse = |at: usize, text: &[u8]| match text.iter().position(|&b| b == b'@') {
        Some(bad) => Err(invalid(at + bad, HttpPart::Authority)),
        None => Authority::try_from(text).map_err(|_| invalid(at, HttpPart::Authority)),
    };
    if let Some((at, host)) = non_empty(found.host) {
        return parse(at, host).map(Some);
    }
    let Some((at, name)) = non_empty(found.server_name) else {
        return Ok(None);
    };
    let mut text = name.to_vec();
    if let Some((port_at, port)) = non_empty(found.server_port) {
        if let Some(bad) = port.iter().position(|b| !b.is_ascii_digit()) {
            return Err(invalid(port_at + bad, HttpPart::Authority));
        }
        let default: &[u8] = if *scheme == Scheme::HTTPS {
            b"443"
        } else if *scheme == Scheme::HTTP {
            b"80"
        } else {
            b""
        };
        if port != default {
            text.push(b':');
            text.extend_from_slice(port);
        }
    }
    parse(at, &text).map(Some)
}

/// Bytes kept as they are in a path that has to be percent-encoded: RFC 3986 `pchar` and `/`,
/// the set every `http` 1.x accepts.
fn path_keeps(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E)
}

/// Bytes kept as they are in a query that has to be percent-encoded.
fn query_keeps(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E)
}

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

/// A raw request target as `Uri` takes it: unchanged when it already does, else with every
/// byte it might refuse percent-encoded.
fn raw_target(raw: &[u8]) -> Vec<u8> {
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
    percent_encode(path, path_keeps, &mut out);
    if let Some(query) = query {
        out.push(b'?');
        percent_encode(query, query_keeps, &mut out);
    }
    out
}

/// The request target and the offset errors about it point at.
fn target(found: &Found<'_>) -> (usize, Vec<u8>) {
    if let Some((at, raw)) = non_empty(found.request_uri) {
        return (at, raw_target(raw));
    }
    let mut raw = Vec::new();
    for (_, path) in [found.script_name, found.path_info].into_iter().flatten() {
        percent_encode(path, |b| b != b'%' && path_keeps(b), &mut raw);
    }
    if !raw.starts_with(b"/") {
        raw.insert(0, b'/');
    }
    if let Some((_, query)) = non_empty(found.query_string) {
        raw.push(b'?');
        raw.extend_from_slice(query);
    }
    let at = found
        .path_info
        .or(found.script_name)
        .or(found.query_string)
        .map_or(crate::header::HEADER_LEN, |(at, _)| at);
    (at, raw_target(&raw))
}

fn uri(found: &Found<'_>, scheme: Scheme, authority: Option<Authority>) -> Result<Uri, Error> {
    let (at, target) = target(found);
    let error = |_| invalid(at, HttpPart::Uri);
    match authority {
        Some(authority) if target.starts_with(b"/") => {
            let path_and_query = PathAndQuery::try_from(target.as_slice()).map_err(error)?;
            Uri::builder()
                .scheme(scheme)
                .authority(authority)
                .path_and_query(path_and_query)
                .build()
                .map_err(|_| invalid(at, HttpPart::Uri))
        }
        _ => Uri::try_from(target.as_slice()).map_err(error),
    }
}

fn header_name(rest: &[u8], at: usize) -> Result<HeaderName, Error> {
    if rest.is_empty() {
        return Err(invalid(at, HttpPart::HeaderName));
    }
    let mut name = Vec::with_capacity(rest.len());
    for (i, &b) in rest.iter().enumerate() {
        let b = if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        };
        if !is_tchar(b) {
            return Err(invalid(at + i, HttpPart::HeaderName));
        }
        name.push(b);
    }
    HeaderName::from_bytes(&name).map_err(|_| invalid(at, HttpPart::HeaderName))
}

fn append(map: &mut HeaderMap, name: HeaderName, value: &[u8], at: usize) -> Result<(), Error> {
    let value = HeaderValue::from_bytes(value).map_err(|_| {
        let bad = value.iter().position(|&b| is_ctl(b)).unwrap_or(0);
        invalid(at + bad, HttpPart::HeaderValue)
    })?;
    // A block holds at most 16383 pairs, well under `HeaderMap`'s 32768 entries, so this
    // cannot reach the limit at which `append` panics.
    map.append(name, value);
    Ok(())
}

/// Adds the header of an unprefixed content var the first time it is called.
fn content_header(
    map: &mut HeaderMap,
    name: HeaderName,
    var: Option<(usize, &[u8])>,
    done: &mut bool,
) -> Result<(), Error> {
    if core::mem::replace(done, true) {
        return Ok(());
    }
    match non_empty(var) {
        Some((at, value)) => append(map, name, value, at),
        None => Ok(()),
    }
}

fn headers(vars: &Vars<'_>, found: &Found<'_>) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    let (mut type_done, mut length_done) = (false, false);
    for (offset, key, value) in vars.iter_with_offsets() {
        let at = offset + 4 + key.len();
        match key {
            b"CONTENT_TYPE" if !found.http_content_type => {
                content_header(&mut map, CONTENT_TYPE, found.content_type, &mut type_done)?;
            }
            b"HTTP_CONTENT_TYPE" if found.content_type.is_some() => {
                content_header(&mut map, CONTENT_TYPE, found.content_type, &mut type_done)?;
            }
            b"CONTENT_LENGTH" if !found.http_content_length => {
                content_header(
                    &mut map,
                    CONTENT_LENGTH,
                    found.content_length,
                    &mut length_done,
                )?;
            }
            b"HTTP_CONTENT_LENGTH" => {
                content_header(
                    &mut map,
                    CONTENT_LENGTH,
                    found.content_length,
                    &mut length_done,
                )?;
            }
            b"HTTP_TRANSFER_ENCODING" => {}
            _ => {
                if let Some(rest) = key.strip_prefix(b"HTTP_") {
                    let name = header_name(rest, offset + 2 + 5)?;
                    append(&mut map, name, value, at)?;
                }
            }
        }
    }
    Ok(map)
}

/// Where a request's host goes in the vars it is written as.
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostVar {
    /// `HTTP_HOST` right after the params, from the (last) `host` header (else the URI's
    /// authority, as HTTP/2 requests carry it), and the `host` header is not repeated among
    /// the headers: what Debian's `uwsgi_params` (`uwsgi_param HTTP_HOST $host`) and nginx
    /// 1.29.5 and later send. Left out when empty.
    #[default]
    AfterParams,
    /// `HTTP_HOST` among the headers, where the `host` header is, as plain nginx up to 1.29.4
    /// sends it; first when only the URI has an authority.
    InHeaders,
}

/// What [`RequestVars`] needs besides the request: the connection's addresses, nginx's
/// `$document_root` and `$server_name`, and the header mapping.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::cgi::{CgiMapping, RepeatedHeaders};
/// use uwsgi_codec::http::{HostVar, RequestVarsConfig};
///
/// let config = RequestVarsConfig::new("127.0.0.1:80".parse()?, "192.0.2.7:50000".parse()?)
///     .with_document_root("/var/www/html")
///     .with_server_name("localhost")
///     .with_host_var(HostVar::InHeaders)
///     .with_mapping(CgiMapping { repeated: RepeatedHeaders::Duplicate, ..RequestVarsConfig::NGINX_MAPPING });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestVarsConfig {
    server_addr: SocketAddr,
    remote_addr: SocketAddr,
    document_root: Vec<u8>,
    server_name: Option<Vec<u8>>,
    mapping: CgiMapping,
    host: HostVar,
}

impl RequestVarsConfig {
    /// The mapping nginx applies to client headers: repeated headers joined (nginx 1.23.0 and
    /// later), names with `_` dropped, content headers sent as `HTTP_CONTENT_*` too.
    pub const NGINX_MAPPING: CgiMapping = CgiMapping {
        repeated: crate::cgi::RepeatedHeaders::Join,
        underscores: crate::cgi::Underscores::Drop,
        content_headers: ContentHeaders::Prefixed,
    };

    /// A configuration for a connection accepted on `server_addr` from `remote_addr`, with an
    /// empty document root, the server name taken from the request, the
    /// [`NGINX_MAPPING`](Self::NGINX_MAPPING) and `HTTP_HOST` after the params.
    pub fn new(server_addr: SocketAddr, remote_addr: SocketAddr) -> Self {
        RequestVarsConfig {
            server_addr,
            remote_addr,
            document_root: Vec::new(),
            server_name: None,
            mapping: Self::NGINX_MAPPING,
            host: HostVar::default(),
        }
    }

    /// Sets `DOCUMENT_ROOT` (nginx's `$document_root`); empty by default.
    pub fn with_document_root(mut self, root: impl AsRef<[u8]>) -> Self {
        self.document_root = root.as_ref().to_vec();
        self
    }

    /// Sets `SERVER_NAME` (nginx's `$server_name`, the `server_name` of the `server` block).
    ///
    /// By default it is the URI's host, else the `host` header without its port, else the
    /// server address's IP.
    pub fn with_server_name(mut self, name: impl AsRef<[u8]>) -> Self {
        self.server_name = Some(name.as_ref().to_vec());
        self
    }

    /// Sets how header names become var names and what repeated headers become (rules E8
    /// and E9).
    ///
    /// With [`ContentHeaders::Prefixed`] (as in [`NGINX_MAPPING`](Self::NGINX_MAPPING)) the
    /// content headers are sent twice, as nginx does: in the `CONTENT_TYPE` /
    /// `CONTENT_LENGTH` params and as `HTTP_CONTENT_*` among the headers. With
    /// [`ContentHeaders::Unprefixed`] they are sent in the params only.
    pub fn with_mapping(mut self, mapping: CgiMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Sets where `HTTP_HOST` goes; [`HostVar::AfterParams`] by default.
    pub fn with_host_var(mut self, host: HostVar) -> Self {
        self.host = host;
        self
    }
}

/// The vars of an HTTP request, as nginx's default `uwsgi_params` (rule E10) and its header
/// mapping would send them, owned and in order.
///
/// The order is `QUERY_STRING`, `REQUEST_METHOD`, `CONTENT_TYPE`, `CONTENT_LENGTH`,
/// `REQUEST_URI`, `PATH_INFO`, `DOCUMENT_ROOT`, `SERVER_PROTOCOL`, `REQUEST_SCHEME`, `HTTPS`
/// (only for `https`), `REMOTE_ADDR`, `REMOTE_PORT`, `SERVER_PORT`, `SERVER_NAME`, then
/// `HTTP_HOST` ([`HostVar`]), then one var per header in the [`HeaderMap`]'s order. The
/// values:
///
/// - `REQUEST_URI` is the URI's path and query as they are; `PATH_INFO` is the path
///   percent-decoded, with `.` and `..` segments resolved and repeated slashes merged, like
///   nginx's `$document_uri`; `QUERY_STRING` is the query, not decoded, or empty.
/// - `REQUEST_SCHEME` is the URI's scheme, `http` when it has none; `HTTPS` is `on` for
///   `https`.
/// - `CONTENT_TYPE` is the first `content-type` value or empty. `CONTENT_LENGTH` is the
///   `content-length` value, or empty: an nginx-style placeholder that
///   [`PacketBuilder::body_len`] fills in. Several different `content-length` values are
///   joined with `", "`, which no decoder accepts as a length and `body_len` refuses, so a
///   request that cannot be framed cannot be sent.
/// - `SERVER_PROTOCOL` is `HTTP/0.9`, `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0` or `HTTP/3.0`.
/// - Header vars come from the [`CgiMapping`]. A [`HeaderMap`] keeps the values of a name
///   together, so a header repeated around another one comes out next to its first
///   occurrence, not in arrival order.
///
/// No key ever starts with `UWSGI_` (rule M3): the params are fixed and every header var
/// starts with `HTTP_` or is a content param.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::PacketRef;
/// use uwsgi_codec::http::{RequestVars, RequestVarsConfig};
///
/// let request = http::Request::post("https://example.com/a%20b?x=1")
///     .header("content-type", "text/plain")
///     .header("x-foo", "1")
///     .header("x-foo", "2")
///     .body("hello")?;
/// let config = RequestVarsConfig::new("127.0.0.1:443".parse()?, "192.0.2.7:50000".parse()?);
/// let vars = RequestVars::from_request(&request, &config);
/// assert_eq!(vars.get("PATH_INFO"), Some(&b"/a b"[..]));
/// assert_eq!(vars.get("HTTPS"), Some(&b"on"[..]));
/// assert_eq!(vars.get("HTTP_X_FOO"), Some(&b"1, 2"[..]));
///
/// let wire = vars.builder(0).with_body_len(5).to_vec()?;
/// let packet = PacketRef::parse(&wire)?.complete().unwrap();
/// assert_eq!(packet.vars().unwrap().get("CONTENT_LENGTH"), Some(&b"5"[..]));
/// assert_eq!(packet.body_len()?, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestVars {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RequestVars {
    /// The vars for a request head.
    pub fn from_parts(parts: &Parts, config: &RequestVarsConfig) -> Self {
        Self::from_head(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            config,
        )
    }

    /// The vars for a request's head; the body is not looked at.
    pub fn from_request<B>(request: &Request<B>, config: &RequestVarsConfig) -> Self {
        Self::from_head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            config,
        )
    }

    fn from_head(
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        config: &RequestVarsConfig,
    ) -> Self {
        let scheme = uri.scheme_str().unwrap_or("http");
        let https: &[u8] = if scheme.eq_ignore_ascii_case("https") {
            b"on"
        } else {
            b""
        };
        let request_uri = match uri.path_and_query() {
            Some(path_and_query) => path_and_query.as_str(),
            None => uri.authority().map_or("/", Authority::as_str),
        };
        let path_info = document_uri(uri.path().as_bytes());
        let content_type = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let content_length = joined_lengths(headers);
        // The last, as `request_parts` takes the last `HTTP_HOST`.
        let host_header = headers
            .get_all(HOST)
            .iter()
            .next_back()
            .map(HeaderValue::as_bytes);
        let authority = uri.authority().map(|a| a.as_str().as_bytes());
        let host = host_header.or(authority).filter(|host| !host.is_empty());
        let server_name = match &config.server_name {
            Some(name) => name.clone(),
            None => match uri.host().map(str::as_bytes).or(host.map(strip_port)) {
                Some(name) => name.to_vec(),
                None => config.server_addr.ip().to_string().into_bytes(),
            },
        };
        let remote_addr = config.remote_addr.ip().to_string();
        let remote_port = config.remote_addr.port().to_string();
        let server_port = config.server_addr.port().to_string();
        let params = NginxParams {
            query_string: uri.query().unwrap_or_default().as_bytes(),
            request_method: method.as_str().as_bytes(),
            content_type: content_type.unwrap_or_default(),
            content_length: &content_length,
            request_uri: request_uri.as_bytes(),
            path_info: &path_info,
            document_root: &config.document_root,
            server_protocol: protocol(version),
            request_scheme: scheme.as_bytes(),
            https,
            remote_addr: remote_addr.as_bytes(),
            remote_port: remote_port.as_bytes(),
            server_port: server_port.as_bytes(),
            server_name: &server_name,
            host: host.filter(|_| config.host == HostVar::AfterParams),
        };
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = params
            .pairs()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();

        let unprefixed = config.mapping.content_headers == ContentHeaders::Unprefixed;
        let skip = |name: &HeaderName| {
            (config.host == HostVar::AfterParams && name == HOST)
                || (unprefixed && (name == CONTENT_TYPE || name == CONTENT_LENGTH))
        };
        if config.host == HostVar::InHeaders && host_header.is_none() {
            if let Some(authority) = authority.filter(|a| !a.is_empty()) {
                pairs.push((b"HTTP_HOST".to_vec(), authority.to_vec()));
            }
        }
        let header_vars = config.mapping.header_vars(
            headers
                .iter()
                .filter(|(name, _)| !skip(name))
                .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes())),
        );
        pairs.extend(header_vars);
        RequestVars { pairs }
    }

    /// The pairs in order, as [`PacketBuilder::extend_vars`] takes them.
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The value of the last pair with this exact key.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        let key = key.as_ref();
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs (never the case for a converted request).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// A [`PacketBuilder`] with these vars, in order. Call
    /// [`with_body_len`](PacketBuilder::with_body_len) on it when a body follows, so that the empty
    /// `CONTENT_LENGTH` placeholder is filled in (rule E7).
    pub fn builder(&self, modifier1: impl Into<Modifier1>) -> PacketBuilder<'_> {
        PacketBuilder::new(modifier1).extend_vars(self.pairs())
    }

    /// The pairs, owned.
    pub fn into_pairs(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.pairs
    }
}

impl core::fmt::Debug for RequestVars {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.pairs().map(|(k, v)| (Escaped(k), Escaped(v))))
            .finish()
    }
}

fn protocol(version: Version) -> &'static [u8] {
    if version == Version::HTTP_09 {
        b"HTTP/0.9"
    } else if version == Version::HTTP_10 {
        b"HTTP/1.0"
    } else if version == Version::HTTP_2 {
        b"HTTP/2.0"
    } else if version == Version::HTTP_3 {
        b"HTTP/3.0"
    } else {
        b"HTTP/1.1"
    }
}

/// `CONTENT_LENGTH` for the `content-length` values: empty for none, the value when they
/// all agree, all of them joined with `", "` when they do not.
fn joined_lengths(headers: &HeaderMap) -> Vec<u8> {
    let mut values = headers
        .get_all(CONTENT_LENGTH)
        .iter()
        .map(HeaderValue::as_bytes);
    let Some(first) = values.next() else {
        return Vec::new();
    };
    let mut joined = first.to_owned();
    let mut differ = false;
    for value in values {
        differ |= value != first;
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(value);
    }
    if differ { joined } else { first.to_owned() }
}

/// `host[:port]` without the port; `[v6]:port` keeps its brackets.
fn strip_port(host: &[u8]) -> &[u8] {
    let end = if host.starts_with(b"[") {
        host.iter()
            .position(|&b| b == b']')
            .map_or(host.len(), |i| i + 1)
    } else {
        host.iter().position(|&b| b == b':').unwrap_or(host.len())
    };
    host.get(..end).unwrap_or(host)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// nginx's `$document_uri` for a path: `%XX` decoded, `.` and `..` segments resolved (never
/// above the root), repeated slashes merged. A path not starting with `/` (`*`, or empty
/// for an authority-form target) is only decoded.
fn document_uri(path: &[u8]) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_uri_decodes_then_resolves_dots_and_slashes() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"/", b"/"),
            (b"/a/b%20c", b"/a/b c"),
            (b"/caf%E9/%FF%FE/%C0%AF/../x", b"/caf\xe9/\xff\xfe/x"),
            (b"/a/./b/", b"/a/b/"),
            (b"//a//b", b"/a/b"),
            (b"/a/..", b"/"),
            (b"/../../x", b"/x"),
            (b"/%2e%2e/x/%", b"/x/%"),
            (b"*", b"*"),
        ];
        for (path, expected) in cases {
            assert_eq!(document_uri(path), expected, "{}", Escaped(path));
        }
    }

    #[test]
    fn strip_port_keeps_ipv6_brackets() {
        assert_eq!(strip_port(b"example.com:8080"), b"example.com");
        assert_eq!(strip_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(strip_port(b"host"), b"host");
    }

    #[test]
    fn raw_targets_are_kept_unless_refused() {
        assert_eq!(raw_target(b"/a%20b?x=1"), b"/a%20b?x=1");
        assert_eq!(raw_target(b"/a b?x y#z"), b"/a%20b?x%20y%23z");
        assert_eq!(raw_target(b"/\xff?\xe9"), b"/%FF?%E9");
    }
}
