//! HTTP header names to CGI var names (rules E8 and E9) and nginx's default `uwsgi_params`
//! (rule E10): what a front end needs to turn an HTTP request into vars.

use alloc::vec::Vec;

/// What to do with a header that appears more than once (rule E9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepeatedHeaders {
    /// One var, values in arrival order joined by `", "` (`"; "` for `Cookie`), as nginx
    /// 1.23.0 and later do.
    #[default]
    Join,
    /// One var per occurrence, in arrival order, as nginx 1.22 and earlier do.
    Duplicate,
}

/// What to do with header names that contain `_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Underscores {
    /// Drop them (nginx's `underscores_in_headers off`): `X_A` and `X-A` would both become
    /// `HTTP_X_A`, and one could pose as the other.
    #[default]
    Drop,
    /// Keep them.
    Keep,
}

/// How `Content-Type` and `Content-Length` headers are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentHeaders {
    /// `CONTENT_TYPE` and `CONTENT_LENGTH`, unprefixed, as the uWSGI http router and Apache
    /// send them.
    #[default]
    Unprefixed,
    /// `HTTP_CONTENT_TYPE` and `HTTP_CONTENT_LENGTH`, as nginx sends them next to its own
    /// unprefixed params.
    Prefixed,
}

/// The header-name mapping of a front end (rules E8 and E9).
///
/// The mapping is lossy (case and `-` versus `_` are gone), so reversing it is a guess. It
/// never produces a `UWSGI_*` key (rule M3): every name but the two content headers gets the
/// `HTTP_` prefix.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::cgi::CgiMapping;
///
/// let mapping = CgiMapping::default();
/// assert_eq!(mapping.var_name(b"User-Agent").as_deref(), Some(&b"HTTP_USER_AGENT"[..]));
/// assert_eq!(mapping.var_name(b"content-type").as_deref(), Some(&b"CONTENT_TYPE"[..]));
/// assert_eq!(mapping.var_name(b"X_Forwarded"), None); // underscores are dropped
///
/// let headers: [(&[u8], &[u8]); 3] = [(b"Cookie", b"a=1"), (b"Accept", b"*/*"), (b"cookie", b"b=2")];
/// let vars = mapping.header_vars(headers);
/// assert_eq!(vars[0], (b"HTTP_COOKIE".to_vec(), b"a=1; b=2".to_vec()));
/// assert_eq!(vars[1], (b"HTTP_ACCEPT".to_vec(), b"*/*".to_vec()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgiMapping {
    /// Repeated headers: joined (default) or duplicated.
    pub repeated: RepeatedHeaders,
    /// Names with `_`: dropped (default) or kept.
    pub underscores: Underscores,
    /// Content headers: unprefixed (default) or `HTTP_`-prefixed.
    pub content_headers: ContentHeaders,
}

impl CgiMapping {
    /// The var name for an HTTP header name, or `None` when the header is dropped.
    ///
    /// `HTTP_` + the name with ASCII letters upper-cased and `-` turned into `_`; other bytes
    /// unchanged, as nginx does.
    pub fn var_name(&self, header: &[u8]) -> Option<Vec<u8>> {
        if header.is_empty() || (self.underscores == Underscores::Drop && header.contains(&b'_')) {
            return None;
        }
        let mapped: Vec<u8> = header
            .iter()
            .map(|&b| {
                if b == b'-' {
                    b'_'
                } else {
                    b.to_ascii_uppercase()
                }
            })
            .collect();
        let content = matches!(&*mapped, b"CONTENT_TYPE" | b"CONTENT_LENGTH");
        if content && self.content_headers == ContentHeaders::Unprefixed {
            return Some(mapped);
        }
        Some([&b"HTTP_"[..], &mapped].concat())
    }

    /// The vars for a list of headers in arrival order, repeated headers joined or
    /// duplicated as configured.
    pub fn header_vars<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut vars: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (name, value) in headers {
            let Some(key) = self.var_name(name) else {
                continue;
            };
            let joined = match self.repeated {
                RepeatedHeaders::Duplicate => None,
                RepeatedHeaders::Join => vars.iter_mut().find(|(k, _)| *k == key),
            };
            match joined {
                Some((key, values)) => {
                    let separator: &[u8] = if key == b"HTTP_COOKIE" { b"; " } else { b", " };
                    values.extend_from_slice(separator);
                    values.extend_from_slice(value);
                }
                None => vars.push((key, value.to_vec())),
            }
        }
        vars
    }
}

/// The params of nginx's default `uwsgi_params` file, in its order (rule E10).
///
/// Every param is sent even when empty, except `HTTPS`, which nginx sends only when it is not
/// empty. `host`, when set, is appended as `HTTP_HOST` after the params, as Debian's packaged
/// file does (`uwsgi_param HTTP_HOST $host`).
///
/// # Examples
///
/// ```
/// use uwsgi_codec::PacketBuilder;
/// use uwsgi_codec::cgi::NginxParams;
///
/// let params = NginxParams {
///     request_method: b"GET",
///     request_uri: b"/a?x=1",
///     path_info: b"/a",
///     query_string: b"x=1",
///     server_protocol: b"HTTP/1.1",
///     ..NginxParams::default()
/// };
/// let keys: Vec<&[u8]> = params.pairs().map(|(k, _)| k).collect();
/// assert_eq!(keys[..2], [&b"QUERY_STRING"[..], b"REQUEST_METHOD"]);
/// assert!(!keys.contains(&&b"HTTPS"[..]));
/// let wire = PacketBuilder::new(0).extend_vars(params.pairs()).to_vec()?;
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NginxParams<'a> {
    /// `$query_string`.
    pub query_string: &'a [u8],
    /// `$request_method`.
    pub request_method: &'a [u8],
    /// `$content_type`.
    pub content_type: &'a [u8],
    /// `$content_length` (empty for bodyless requests).
    pub content_length: &'a [u8],
    /// `$request_uri`: the raw URI with its query.
    pub request_uri: &'a [u8],
    /// `$document_uri`: the decoded path.
    pub path_info: &'a [u8],
    /// `$document_root`.
    pub document_root: &'a [u8],
    /// `$server_protocol`, `HTTP/x.y` (uWSGI copies it into the status line, rule E11).
    pub server_protocol: &'a [u8],
    /// `$scheme`.
    pub request_scheme: &'a [u8],
    /// `$https`: `on` or empty (then not sent).
    pub https: &'a [u8],
    /// `$remote_addr`.
    pub remote_addr: &'a [u8],
    /// `$remote_port`.
    pub remote_port: &'a [u8],
    /// `$server_port`.
    pub server_port: &'a [u8],
    /// `$server_name`.
    pub server_name: &'a [u8],
    /// Debian's extra `HTTP_HOST $host`, if wanted.
    pub host: Option<&'a [u8]>,
}

impl<'a> NginxParams<'a> {
    /// The params as pairs, in `uwsgi_params` order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static [u8], &'a [u8])> + use<'a> {
        let params: [(&'static [u8], &'a [u8]); 14] = [
            (b"QUERY_STRING", self.query_string),
            (b"REQUEST_METHOD", self.request_method),
            (b"CONTENT_TYPE", self.content_type),
            (b"CONTENT_LENGTH", self.content_length),
            (b"REQUEST_URI", self.request_uri),
            (b"PATH_INFO", self.path_info),
            (b"DOCUMENT_ROOT", self.document_root),
            (b"SERVER_PROTOCOL", self.server_protocol),
            (b"REQUEST_SCHEME", self.request_scheme),
            (b"HTTPS", self.https),
            (b"REMOTE_ADDR", self.remote_addr),
            (b"REMOTE_PORT", self.remote_port),
            (b"SERVER_PORT", self.server_port),
            (b"SERVER_NAME", self.server_name),
        ];
        let host = self.host.map(|host| (&b"HTTP_HOST"[..], host));
        params
            .into_iter()
            .filter(|(key, value)| *key != b"HTTPS" || !value.is_empty())
            .chain(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::magic::magic_class;

    #[test]
    fn no_header_maps_to_a_magic_var() {
        let mapping = CgiMapping {
            underscores: Underscores::Keep,
            ..CgiMapping::default()
        };
        for name in [&b"UWSGI_FILE"[..], b"uwsgi-file", b"Uwsgi_Scheme"] {
            let var = mapping.var_name(name).unwrap_or_default();
            assert_eq!(magic_class(&var), None, "{var:?}");
        }
    }

    #[test]
    fn duplicate_policy_keeps_every_occurrence_in_order() {
        let mapping = CgiMapping {
            repeated: RepeatedHeaders::Duplicate,
            ..CgiMapping::default()
        };
        let headers: [(&[u8], &[u8]); 3] =
            [(b"X-Foo", b"1"), (b"Accept", b"*/*"), (b"x-foo", b"2")];
        let keys: Vec<Vec<u8>> = mapping
            .header_vars(headers)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, [&b"HTTP_X_FOO"[..], b"HTTP_ACCEPT", b"HTTP_X_FOO"]);
    }

    #[test]
    fn prefixed_content_headers_match_nginx() {
        let mapping = CgiMapping {
            content_headers: ContentHeaders::Prefixed,
            ..CgiMapping::default()
        };
        assert_eq!(
            mapping.var_name(b"Content-Length").as_deref(),
            Some(&b"HTTP_CONTENT_LENGTH"[..])
        );
    }
}
