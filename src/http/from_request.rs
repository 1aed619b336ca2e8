//! An [`http::Request`](Request) → the vars nginx would send for it: [`RequestVars`], with
//! [`RequestVarsConfig`], [`HostVar`] and [`TransferEncoding`] for what nginx's config decides.

use alloc::borrow::ToOwned;
use alloc::string::ToString;
use alloc::vec::Vec;
use std::net::SocketAddr;

use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use ::http::request::Parts;
use ::http::uri::Authority;
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use super::to_request::server_protocol;
use super::uri::{document_uri, strip_port};
use crate::cgi::{CgiMapping, ContentHeaders, NginxParams, RepeatedHeaders, Underscores};
use crate::{Escaped, Modifier1, PacketBuilder};

/// Where a request's host goes in the vars it is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

/// Whether a `transfer-encoding` header becomes an `HTTP_TRANSFER_ENCODING` var.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransferEncoding {
    /// Leave it out. The body after a uwsgi packet is always exactly `CONTENT_LENGTH` bytes,
    /// de-chunked beforehand (rule C5), so the header describes nothing the application
    /// receives, and `HTTP_TRANSFER_ENCODING: chunked` beside a `CONTENT_LENGTH` is the
    /// shape decoders flag as a smuggling risk.
    #[default]
    Drop,
    /// Send it, as nginx does (§8: a de-chunked body with `HTTP_TRANSFER_ENCODING=chunked`
    /// and a computed `CONTENT_LENGTH`), for an application that must see what nginx sends.
    Keep,
}

/// What [`RequestVars`] needs besides the request: the connection's addresses, nginx's
/// `$document_root` and `$server_name`, and the header mapping.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::cgi::{CgiMapping, RepeatedHeaders};
/// use uwsgi_codec::http::{HostVar, RequestVarsConfig, TransferEncoding};
///
/// let config = RequestVarsConfig::new("127.0.0.1:80".parse()?, "192.0.2.7:50000".parse()?)
///     .with_document_root("/var/www/html")
///     .with_server_name("localhost")
///     .with_host_var(HostVar::InHeaders)
///     .with_transfer_encoding(TransferEncoding::Keep)
///     .with_mapping(CgiMapping { repeated: RepeatedHeaders::Duplicate, ..RequestVarsConfig::NGINX_MAPPING });
/// assert_eq!(config.server_name(), Some(&b"localhost"[..]));
/// assert_eq!(config.remote_addr().port(), 50000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestVarsConfig {
    server_addr: SocketAddr,
    remote_addr: SocketAddr,
    document_root: Vec<u8>,
    server_name: Option<Vec<u8>>,
    mapping: CgiMapping,
    host: HostVar,
    transfer_encoding: TransferEncoding,
}

impl RequestVarsConfig {
    /// The mapping nginx applies to client headers: repeated headers joined (nginx 1.23.0 and
    /// later), names with `_` dropped, content headers sent as `HTTP_CONTENT_*` too.
    pub const NGINX_MAPPING: CgiMapping = CgiMapping {
        repeated: RepeatedHeaders::Join,
        underscores: Underscores::Drop,
        content_headers: ContentHeaders::Prefixed,
    };

    /// A configuration for a connection accepted on `server_addr` from `remote_addr`, with an
    /// empty document root, the server name taken from the request, the
    /// [`NGINX_MAPPING`](Self::NGINX_MAPPING), `HTTP_HOST` after the params and no
    /// `HTTP_TRANSFER_ENCODING`.
    pub fn new(server_addr: SocketAddr, remote_addr: SocketAddr) -> Self {
        RequestVarsConfig {
            server_addr,
            remote_addr,
            document_root: Vec::new(),
            server_name: None,
            mapping: Self::NGINX_MAPPING,
            host: HostVar::default(),
            transfer_encoding: TransferEncoding::default(),
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

    /// Sets whether `transfer-encoding` is sent as `HTTP_TRANSFER_ENCODING`;
    /// [`TransferEncoding::Drop`] by default.
    pub fn with_transfer_encoding(mut self, transfer_encoding: TransferEncoding) -> Self {
        self.transfer_encoding = transfer_encoding;
        self
    }

    /// The address the connection was accepted on (`SERVER_PORT`, and `SERVER_NAME` at last).
    pub fn server_addr(&self) -> SocketAddr {
        self.server_addr
    }

    /// The client's address (`REMOTE_ADDR`, `REMOTE_PORT`).
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// `DOCUMENT_ROOT`.
    pub fn document_root(&self) -> &[u8] {
        &self.document_root
    }

    /// `SERVER_NAME`, when set; `None` takes it from the request.
    pub fn server_name(&self) -> Option<&[u8]> {
        self.server_name.as_deref()
    }

    /// The header mapping.
    pub fn mapping(&self) -> CgiMapping {
        self.mapping
    }

    /// Where `HTTP_HOST` goes.
    pub fn host_var(&self) -> HostVar {
        self.host
    }

    /// Whether `transfer-encoding` is sent.
    pub fn transfer_encoding(&self) -> TransferEncoding {
        self.transfer_encoding
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
///   [`PacketBuilder::with_body_len`] fills in. Several different `content-length` values
///   are joined with `", "`, which no decoder accepts as a length and `with_body_len`
///   refuses, so a request that cannot be framed cannot be sent.
/// - `SERVER_PROTOCOL` is `HTTP/0.9`, `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0` or `HTTP/3.0`.
/// - Header vars come from the [`CgiMapping`]. A [`HeaderMap`] keeps the values of a name
///   together, so a header repeated around another one comes out next to its first
///   occurrence, not in arrival order. `transfer-encoding` is left out unless
///   [`TransferEncoding::Keep`] is set.
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
        // The last, as `RequestConfig::parts` takes the last `HTTP_HOST`.
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
            server_protocol: server_protocol(version),
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
                || (config.transfer_encoding == TransferEncoding::Drop && name == TRANSFER_ENCODING)
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

    /// A [`PacketBuilder`] with these vars, in order, borrowed: the builder's list of pairs
    /// is one allocation of the exact size, and no byte is copied before it encodes. Call
    /// [`with_body_len`](PacketBuilder::with_body_len) on it when a body follows, so that the
    /// empty `CONTENT_LENGTH` placeholder is filled in (rule E7).
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
