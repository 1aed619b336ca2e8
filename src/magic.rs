//! Magic variables (PROTOCOL.md §9): `UWSGI_*` keys that make uWSGI load code, change
//! process state or re-route a request, straight from the block and with no trust check.

use alloc::vec::Vec;

/// What a magic var can do to a uWSGI application server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MagicClass {
    /// Loads or runs code, or changes the process: `UWSGI_FILE`, `UWSGI_SCRIPT`,
    /// `UWSGI_MODULE`, `UWSGI_CALLABLE`, `UWSGI_PYHOME`, `UWSGI_HOME`, `UWSGI_CHDIR`,
    /// `UWSGI_SETENV`, `UWSGI_POSTFILE`, `UWSGI_TOUCH_RELOAD`, and any `UWSGI_*` key not
    /// known to be routing-only.
    CodeOrProcess,
    /// Only picks how the request is routed: `UWSGI_CACHE_GET`, `UWSGI_APPID`, `UWSGI_SCHEME`.
    Routing,
}

/// What every magic var's key starts with.
const MAGIC_PREFIX: &[u8] = b"UWSGI_";

/// Whether `key` is a magic var of any class (rule M1).
#[inline(always)]
pub(crate) fn is_magic(key: &[u8]) -> bool {
    key.starts_with(MAGIC_PREFIX)
}

const ROUTING_ONLY: [&[u8]; 3] = [b"UWSGI_CACHE_GET", b"UWSGI_APPID", b"UWSGI_SCHEME"];

/// Classifies a key (rule M1): `None` for an ordinary var.
///
/// The match is on the exact bytes, as uWSGI compares them: `uwsgi_file` is not magic.
///
/// ```
/// use uwsgi_codec::{MagicClass, magic_class};
///
/// assert_eq!(magic_class(b"UWSGI_FILE"), Some(MagicClass::CodeOrProcess));
/// assert_eq!(magic_class(b"UWSGI_SCHEME"), Some(MagicClass::Routing));
/// assert_eq!(magic_class(b"HTTP_UWSGI_FILE"), None);
/// ```
#[inline]
pub fn magic_class(key: &[u8]) -> Option<MagicClass> {
    if !is_magic(key) {
        None
    } else if ROUTING_ONLY.contains(&key) {
        Some(MagicClass::Routing)
    } else {
        Some(MagicClass::CodeOrProcess)
    }
}

/// Which magic vars are let through, on both sides (rules M2 and M3): the parser refuses the
/// others with `Error::MagicVar` when decoding, the builder when encoding.
///
/// The parser's default is [`Allow`](Self::Allow): trusted front ends legitimately send
/// `UWSGI_SCHEME` and the like. The builder's default is [`RoutingOnly`](Self::RoutingOnly): a
/// front end should not make an application server run code unless it means to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MagicPolicy {
    /// Accept every var (the parser's default; uWSGI's own behaviour).
    #[default]
    Allow,
    /// Accept the routing-only magic vars (`UWSGI_SCHEME`, `UWSGI_APPID`, `UWSGI_CACHE_GET`)
    /// and refuse the code- and process-affecting ones (the builder's default).
    RoutingOnly,
    /// Refuse any `UWSGI_*` key: for peers you do not trust.
    Refuse,
    /// Refuse every `UWSGI_*` key but these exact ones.
    AllowOnly(Vec<Vec<u8>>),
}

impl MagicPolicy {
    /// Whether a pair with this key is accepted.
    ///
    /// ```
    /// use uwsgi_codec::MagicPolicy;
    ///
    /// assert!(MagicPolicy::RoutingOnly.accepts(b"UWSGI_SCHEME"));
    /// assert!(!MagicPolicy::RoutingOnly.accepts(b"UWSGI_FILE"));
    /// assert!(MagicPolicy::Refuse.accepts(b"PATH_INFO"));
    /// ```
    #[inline(always)]
    pub fn accepts(&self, key: &[u8]) -> bool {
        // Every policy accepts an ordinary key: one comparison on the common path.
        !is_magic(key) || self.accepts_magic(key)
    }

    /// Whether a `UWSGI_*` key is accepted.
    fn accepts_magic(&self, key: &[u8]) -> bool {
        match self {
            MagicPolicy::Allow => true,
            MagicPolicy::RoutingOnly => magic_class(key) != Some(MagicClass::CodeOrProcess),
            MagicPolicy::Refuse => magic_class(key).is_none(),
            MagicPolicy::AllowOnly(allowed) => {
                magic_class(key).is_none() || allowed.iter().any(|a| a.as_slice() == key)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn allow_only_keeps_listed_magic_and_every_ordinary_key() {
        let policy = MagicPolicy::AllowOnly(vec![b"UWSGI_SCHEME".to_vec()]);
        assert!(policy.accepts(b"UWSGI_SCHEME"));
        assert!(policy.accepts(b"PATH_INFO"));
        assert!(!policy.accepts(b"UWSGI_FILE"));
        assert!(!MagicPolicy::Refuse.accepts(b"UWSGI_APPID"));
        assert!(MagicPolicy::Allow.accepts(b"UWSGI_FILE"));
    }

    #[test]
    fn unknown_uwsgi_keys_count_as_code_or_process() {
        assert_eq!(
            magic_class(b"UWSGI_SOMETHING_NEW"),
            Some(MagicClass::CodeOrProcess)
        );
        assert_eq!(magic_class(b"UWSGI_"), Some(MagicClass::CodeOrProcess));
        assert_eq!(magic_class(b"UWSGI"), None);
    }
}
