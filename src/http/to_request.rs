//! Vars → [`http::request::Parts`](::http::request::Parts) / [`Request`]: what a server behind
//! nginx hands its service. [`RequestConfig`] says where the target comes from
//! ([`TargetSource`]) and which URI form it takes ([`UriForm`]).

use alloc::vec::Vec;

use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use ::http::request::Parts;
use ::http::uri::PathAndQuery;
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use super::error::{Error, HttpPart, invalid};
use super::uri::{At, authority, decoded_target, raw_target, scheme};
use crate::Vars;
use crate::header::HEADER_LEN;
use crate::reply::token::{is_ctl, is_tchar};

/// Where the request target comes from (see [`RequestConfig`] for which to pick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetSource {
    /// `SCRIPT_NAME` + `PATH_INFO`, then `?` + `QUERY_STRING` when that is not empty: the
    /// path nginx matched its locations on, after `rewrite … break`, decoded and normalised,
    /// which is what WSGI applications route on. The decoded path is percent-encoded again
    /// (`%` as `%25`, `?` as `%3F`, a space as `%20`, bytes of 0x80 or more as `%XX` …) so
    /// that an application that decodes it once gets `PATH_INFO` back, byte for byte; a
    /// missing leading `/` is added. When neither `SCRIPT_NAME` nor `PATH_INFO` was sent,
    /// the target is `REQUEST_URI`, else `/`.
    #[default]
    PathInfo,
    /// `REQUEST_URI`: the target as the client sent it, before any rewrite, still encoded
    /// and not normalised. When it is absent or empty, the target is made as for
    /// [`PathInfo`](TargetSource::PathInfo).
    RequestUri,
}

/// Which form the request's [`Uri`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UriForm {
    /// Origin form, `/path?query` (or `*`): what hyper hands a service for an HTTP/1.1
    /// request and what axum's router and most middleware expect. The host is in the `host`
    /// header; the scheme is nowhere.
    #[default]
    Origin,
    /// Absolute form, `scheme://host/path?query`, when a host is known (origin form when
    /// not), as hyper hands a service an HTTP/2 request:
    /// - scheme: `https` when `HTTPS` is `on` (any case) or `1`; else `REQUEST_SCHEME`, else
    ///   `UWSGI_SCHEME`, when not empty; else `http`;
    /// - host: `HTTP_HOST` when not empty; else `SERVER_NAME`, with `:SERVER_PORT` unless the
    ///   port is the scheme's default (80, 443).
    Absolute,
}

/// How a request's vars become an [`http::Request`](Request): the settings of a server that
/// turns uwsgi requests into `http` requests for a tower or axum service behind nginx.
///
/// **Which target.** nginx sends the target twice. `REQUEST_URI` is `$request_uri`, the
/// target exactly as the client sent it: still percent-encoded, with its `..` and `//`, and
/// never changed by a rewrite. `PATH_INFO` is `$document_uri` (`$uri`): decoded, normalised
/// (dot segments resolved, slashes merged), and changed by `rewrite … break`, `index`,
/// `try_files` and other internal redirects; `QUERY_STRING` is `$args`, which a rewrite can
/// change too. So with `location /api/ { rewrite ^/api(/.*)$ $1 break; uwsgi_pass …; }`, a
/// request for `/api/users?id=7` arrives as `REQUEST_URI=/api/users?id=7` and
/// `PATH_INFO=/users`.
///
/// - [`TargetSource::PathInfo`] (the default) routes on the path nginx routed on: after its
///   rewrites, with its normalisation, the path its `location` blocks matched and its access
///   rules checked, so the application and nginx agree on what was asked for. It is what a
///   WSGI application behind the same `uwsgi_pass` sees. Decoding loses the difference
///   between `%2F` and `/`.
/// - [`TargetSource::RequestUri`] keeps the client's bytes: for signatures over the
///   target, proxies that pass it on unchanged, and paths where `%2F` must stay encoded.
///   Rewrites are then invisible, and the application has to normalise the path itself.
///
/// **Which form.** [`UriForm::Origin`] (the default) gives `/path?query`, as hyper gives an
/// HTTP/1.1 request; [`UriForm::Absolute`] adds the scheme and host the vars name.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::PacketBuilder;
/// use uwsgi_codec::http::{RequestConfig, TargetSource, UriForm};
///
/// // nginx: `rewrite ^/api(/.*)$ $1 break;` on a request for /api/a%20b?x=1
/// let wire = PacketBuilder::new(0)
///     .var("QUERY_STRING", "x=1")
///     .var("REQUEST_METHOD", "GET")
///     .var("REQUEST_URI", "/api/a%20b?x=1")
///     .var("PATH_INFO", "/a b")
///     .var("HTTP_HOST", "example.com")
///     .to_vec()?;
/// let packet = uwsgi_codec::PacketRef::parse(&wire)?.complete().unwrap();
/// let vars = packet.vars().unwrap();
///
/// assert_eq!(RequestConfig::default().parts(vars)?.uri, "/a%20b?x=1");
/// let raw = RequestConfig::new().with_target_source(TargetSource::RequestUri);
/// assert_eq!(raw.parts(vars)?.uri, "/api/a%20b?x=1");
/// let absolute = RequestConfig::new().with_uri_form(UriForm::Absolute);
/// assert_eq!(absolute.parts(vars)?.uri, "http://example.com/a%20b?x=1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RequestConfig {
    target: TargetSource,
    form: UriForm,
}

impl RequestConfig {
    /// The defaults: [`TargetSource::PathInfo`] and [`UriForm::Origin`].
    pub const fn new() -> Self {
        RequestConfig {
            target: TargetSource::PathInfo,
            form: UriForm::Origin,
        }
    }

    /// Sets where the target comes from; [`TargetSource::PathInfo`] by default.
    pub const fn with_target_source(mut self, source: TargetSource) -> Self {
        self.target = source;
        self
    }

    /// Sets the URI's form; [`UriForm::Origin`] by default.
    pub const fn with_uri_form(mut self, form: UriForm) -> Self {
        self.form = form;
        self
    }

    /// Where the target comes from.
    pub const fn target_source(&self) -> TargetSource {
        self.target
    }

    /// The URI's form.
    pub const fn uri_form(&self) -> UriForm {
        self.form
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
    /// - **URI**: the target from the [`TargetSource`], in the [`UriForm`]. A raw target
    ///   that [`Uri`] accepts (and that has no `#`) is kept byte for byte; otherwise every
    ///   byte outside RFC 3986's set (controls, spaces, `"`, `#`, bytes of 0x80 or more …)
    ///   is percent-encoded, so raw non-UTF-8 bytes become their `%XX` form instead of an
    ///   error. A target that is not a path (`*`) keeps its form.
    /// - **Headers**, in wire order, repeated vars as repeated values: every `HTTP_*` var,
    ///   named by the rest of its key lower-cased with `_` turned into `-` (`HTTP_HOST` is
    ///   the `host` header). The reverse of rule E8 is a guess: `HTTP_X_FOO` could have been
    ///   `X-Foo` or `X_Foo`. The content headers come from the **unprefixed** vars, which
    ///   frame the body:
    ///   - `content-type` is `CONTENT_TYPE` when that var exists (nothing when it is empty,
    ///     as nginx sends for bodyless requests), else each `HTTP_CONTENT_TYPE`;
    ///   - `content-length` is `CONTENT_LENGTH` when that var exists and is not empty, once,
    ///     and never `HTTP_CONTENT_LENGTH`, which is informational only (rule C4);
    ///   - both take the place of the first `HTTP_CONTENT_*` var when there is one, so that
    ///     nginx's order survives a round trip, else the place of the unprefixed var;
    ///   - `HTTP_TRANSFER_ENCODING` is left out: the body after the packet is exactly
    ///     `CONTENT_LENGTH` bytes, already de-chunked (rule C5), and a request head saying
    ///     `chunked` next to a `content-length` would be a smuggling shape.
    /// - Every other var (`DOCUMENT_ROOT`, `REMOTE_ADDR`, `UWSGI_*` …) has no place in
    ///   `Parts` and is not carried.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidHttp`] naming the [`HttpPart`] and the offending byte's offset
    ///   (counted from the packet's first header byte): an invalid method, version, target,
    ///   header name or header value (a control byte such as `\n`), and in the absolute form
    ///   an invalid scheme or host;
    /// - [`Error::Packet`] with `InvalidContentLength` or `ConflictingContentLength`: the
    ///   body length cannot be framed ([`Vars::content_length`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{PacketBuilder, PacketRef};
    /// use uwsgi_codec::http::{Error, HttpPart, RequestConfig};
    ///
    /// let wire = PacketBuilder::new(0)
    ///     .var("REQUEST_METHOD", "POST")
    ///     .var("PATH_INFO", "/a b")
    ///     .var("QUERY_STRING", "x=1")
    ///     .var("SERVER_PROTOCOL", "HTTP/1.1")
    ///     .var("CONTENT_TYPE", "text/plain")
    ///     .var("CONTENT_LENGTH", "5")
    ///     .var("HTTP_HOST", "example.com")
    ///     .var("HTTP_X_FOO", "1")
    ///     .var("HTTP_X_FOO", "2")
    ///     .to_vec()?;
    /// let packet = PacketRef::parse(&wire)?.complete().unwrap();
    /// let parts = RequestConfig::new().parts(packet.vars().unwrap())?;
    /// assert_eq!(parts.method, http::Method::POST);
    /// assert_eq!(parts.uri, "/a%20b?x=1");
    /// assert_eq!(parts.headers["host"], "example.com");
    /// assert_eq!(parts.headers["content-length"], "5");
    /// assert_eq!(parts.headers.get_all("x-foo").iter().collect::<Vec<_>>(), ["1", "2"]);
    ///
    /// // kv("HTTP_X", "a\nb"): the line feed is at offset 15.
    /// let bad = PacketBuilder::new(0).var("HTTP_X", "a\nb").to_vec()?;
    /// let err = RequestConfig::new().parts(PacketRef::parse(&bad)?.complete().unwrap().vars().unwrap());
    /// assert_eq!(err.unwrap_err(), Error::InvalidHttp { offset: 15, part: HttpPart::HeaderValue });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parts(&self, vars: &Vars<'_>) -> Result<Parts, Error> {
        vars.content_length()?;
        let found = Found::collect(vars);
        let method = method(found.method)?;
        let version = version(found.protocol)?;
        let uri = self.uri(&found)?;
        let headers = headers(vars, &found)?;
        let (mut parts, ()) = Request::new(()).into_parts();
        parts.method = method;
        parts.uri = uri;
        parts.version = version;
        parts.headers = headers;
        Ok(parts)
    }

    /// Reads a parsed request's vars as an HTTP request with `body`, by the rules of
    /// [`parts`](Self::parts).
    ///
    /// # Errors
    ///
    /// As [`parts`](Self::parts).
    pub fn request<B>(&self, vars: &Vars<'_>, body: B) -> Result<Request<B>, Error> {
        Ok(Request::from_parts(self.parts(vars)?, body))
    }

    /// The target by the [`TargetSource`] and the offset errors about it point at.
    fn target(&self, found: &Found<'_>) -> (usize, Vec<u8>) {
        let raw = non_empty(found.request_uri);
        let paths = [found.script_name, found.path_info];
        let no_paths = paths.iter().all(Option::is_none);
        match raw {
            Some((at, raw)) if self.target == TargetSource::RequestUri || no_paths => {
                (at, raw_target(raw))
            }
            _ => {
                let at = found
                    .path_info
                    .or(found.script_name)
                    .or(found.query_string)
                    .map_or(HEADER_LEN, |(at, _)| at);
                let paths = paths.into_iter().flatten().map(|(_, path)| path);
                (
                    at,
                    decoded_target(paths, found.query_string.map(|(_, q)| q)),
                )
            }
        }
    }

    fn uri(&self, found: &Found<'_>) -> Result<Uri, Error> {
        let absolute = match self.form {
            UriForm::Origin => None,
            UriForm::Absolute => {
                let named = non_empty(found.request_scheme).or(non_empty(found.uwsgi_scheme));
                let scheme = scheme(found.https.map(|(_, https)| https), named)?;
                let (host, name) = (non_empty(found.host), non_empty(found.server_name));
                authority(host, name, non_empty(found.server_port), &scheme)?
                    .map(|authority| (scheme, authority))
            }
        };
        let (at, target) = self.target(found);
        let error = |_| invalid(at, HttpPart::Uri);
        match absolute {
            Some((scheme, authority)) if target.starts_with(b"/") => {
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
}

/// Reads a parsed request's vars as the head of an HTTP request, with the default
/// [`RequestConfig`]: the target from `SCRIPT_NAME` + `PATH_INFO` and `QUERY_STRING`, in
/// origin form. See [`RequestConfig::parts`] for the rules.
///
/// # Errors
///
/// As [`RequestConfig::parts`]: [`Error::InvalidHttp`] and [`Error::Packet`].
///
/// # Examples
///
/// ```
/// use uwsgi_codec::Vars;
/// use uwsgi_codec::http::request_parts;
///
/// // kv("REQUEST_METHOD","GET") kv("PATH_INFO","/100%")
/// let vars = Vars::parse(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x05\x00/100%")?;
/// assert_eq!(request_parts(&vars)?.uri, "/100%25");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_parts(vars: &Vars<'_>) -> Result<Parts, Error> {
    RequestConfig::new().parts(vars)
}

/// Reads a parsed request's vars as an HTTP request with `body`, with the default
/// [`RequestConfig`].
///
/// # Errors
///
/// As [`RequestConfig::parts`]: [`Error::InvalidHttp`] and [`Error::Packet`].
///
/// # Examples
///
/// ```
/// use uwsgi_codec::Vars;
/// use uwsgi_codec::http::request;
///
/// // kv("REQUEST_METHOD","GET") kv("PATH_INFO","/")
/// let vars = Vars::parse(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/")?;
/// let request = request(&vars, "body")?;
/// assert_eq!(request.uri(), "/");
/// assert_eq!(*request.body(), "body");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request<B>(vars: &Vars<'_>, body: B) -> Result<Request<B>, Error> {
    RequestConfig::new().request(vars, body)
}

/// The vars that the conversion reads, each the **last** occurrence (as [`Vars::get`]).
#[derive(Default)]
struct Found<'a> {
    method: At<'a>,
    protocol: At<'a>,
    request_uri: At<'a>,
    script_name: At<'a>,
    path_info: At<'a>,
    query_string: At<'a>,
    https: At<'a>,
    request_scheme: At<'a>,
    uwsgi_scheme: At<'a>,
    host: At<'a>,
    server_name: At<'a>,
    server_port: At<'a>,
    content_type: At<'a>,
    content_length: At<'a>,
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

fn non_empty(var: At<'_>) -> At<'_> {
    var.filter(|(_, value)| !value.is_empty())
}

fn method(var: At<'_>) -> Result<Method, Error> {
    let Some((at, value)) = var else {
        return Ok(Method::GET);
    };
    Method::from_bytes(value).map_err(|_| {
        let bad = value.iter().position(|&b| !is_tchar(b)).unwrap_or(0);
        invalid(at + bad, HttpPart::Method)
    })
}

/// `SERVER_PROTOCOL` for each version, as written; the first of a version is what
/// [`server_protocol`] writes.
const PROTOCOLS: [(&[u8], Version); 8] = [
    (b"HTTP/1.1", Version::HTTP_11),
    (b"HTTP/1.0", Version::HTTP_10),
    (b"HTTP/0.9", Version::HTTP_09),
    (b"", Version::HTTP_09),
    (b"HTTP/2.0", Version::HTTP_2),
    (b"HTTP/2", Version::HTTP_2),
    (b"HTTP/3.0", Version::HTTP_3),
    (b"HTTP/3", Version::HTTP_3),
];

fn version(var: At<'_>) -> Result<Version, Error> {
    let Some((at, value)) = var else {
        return Ok(Version::HTTP_11);
    };
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == value)
        .map(|&(_, version)| version)
        .ok_or_else(|| invalid(at, HttpPart::Version))
}

/// The `SERVER_PROTOCOL` of a version, `HTTP/x.y` (rule E11); `HTTP/1.1` for any other.
pub(super) fn server_protocol(version: Version) -> &'static [u8] {
    PROTOCOLS
        .iter()
        .find(|&&(_, v)| v == version)
        .map_or(b"HTTP/1.1", |&(name, _)| name)
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
    // A block holds at most 16383 pairs, well under `HeaderMap`'s 32768 names, so this
    // cannot reach the limit at which `append` panics.
    map.append(name, value);
    Ok(())
}

fn headers(vars: &Vars<'_>, found: &Found<'_>) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    let (mut type_done, mut length_done) = (false, false);
    for (offset, key, value) in vars.iter_with_offsets() {
        let is_type = (key == b"CONTENT_TYPE" && !found.http_content_type)
            || (key == b"HTTP_CONTENT_TYPE" && found.content_type.is_some());
        let is_length = (key == b"CONTENT_LENGTH" && !found.http_content_length)
            || key == b"HTTP_CONTENT_LENGTH";
        // The header of an unprefixed content var, at the first of its places.
        let content = if is_type {
            Some((CONTENT_TYPE, found.content_type, &mut type_done))
        } else if is_length {
            Some((CONTENT_LENGTH, found.content_length, &mut length_done))
        } else {
            None
        };
        if let Some((name, var, done)) = content {
            let first = !core::mem::replace(done, true);
            if let Some((at, value)) = non_empty(var).filter(|_| first) {
                append(&mut map, name, value, at)?;
            }
        } else if let Some(rest) = key.strip_prefix(b"HTTP_") {
            if rest != b"TRANSFER_ENCODING" {
                let name = header_name(rest, offset + 2 + 5)?;
                append(&mut map, name, value, offset + 4 + key.len())?;
            }
        }
    }
    Ok(map)
}
