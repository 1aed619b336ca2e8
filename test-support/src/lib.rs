//! The real-peer test harness of the workspace (crate `uwsgi-test-support`, not published):
//! paths and tools, scratch directories, loopback ports, the [`Peer`] guard, starters for
//! uWSGI, nginx and any program that prints `listening on ADDR` (such as `uwsgi serve`), the
//! peers of `tests/peers/peerctl.py` ([`PeerCtl`]), and curl. It has no dependency on
//! uwsgi-codec, so that every crate's tests can share it.
//!
//! The peers come from Debian and PyPI: `bash .ci/install-peers` installs them. Every peer
//! runs under a guard that stops it by its process group id or its PID (SIGTERM, then
//! SIGKILL) and reaps it on drop, panics included; ports are free loopback ports; files go
//! under `target/peer-tmp/<test>-<pid>/`.

// The root crate's test binaries include this file as a module and use only part of it.
#![allow(dead_code)]

mod http;
mod peer;
mod start;

pub use http::{HttpReply, curl, curl_data, curl_output, parse_http};
pub use peer::{Peer, PeerCtl, stop_all};
pub use start::{
    example, nginx_errors, start_example, start_listening, start_nginx, start_server, start_uwsgi,
    start_uwsgi_django, uwsgi_cli,
};

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::thread;

pub(crate) const INSTALL_HINT: &str = "run `bash .ci/install-peers` (installs nginx, uWSGI with its python3 \
                            and ping plugins, curl, and Django in target/peer-venv)";

/// The 13 params of nginx's `uwsgi_params`, in order, as plain HTTP sends them (`HTTPS` is
/// `if_not_empty`: absent).
pub const UWSGI_PARAMS: [&str; 13] = [
    "QUERY_STRING",
    "REQUEST_METHOD",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "REQUEST_URI",
    "PATH_INFO",
    "DOCUMENT_ROOT",
    "SERVER_PROTOCOL",
    "REQUEST_SCHEME",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SERVER_PORT",
    "SERVER_NAME",
];

// ------------------------------------------------------------------------------------------
// Paths and tools

/// The repository root (the workspace): this crate's parent, or the root package itself when
/// a root-crate test includes this file.
pub fn repo() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if dir.join("docs/PROTOCOL.md").is_file() {
        return dir;
    }
    dir.parent().map_or(dir.clone(), Path::to_path_buf)
}

/// A peer binary from PATH (or the usual sbin directories, which a non-login PATH may lack).
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
    ];
    std::env::split_paths(&path)
        .chain(fallback.into_iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed: {INSTALL_HINT}"))
}

pub(crate) fn uwsgi_binary() -> PathBuf {
    let uwsgi = tool("uwsgi");
    let plugin = Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so");
    assert!(
        plugin.exists(),
        "uWSGI's python3 plugin ({}) is missing: {INSTALL_HINT}",
        plugin.display()
    );
    uwsgi
}

/// The virtualenv with Django that `.ci/install-peers` builds from Debian's python3.
pub(crate) fn django_venv() -> PathBuf {
    let venv = repo().join("target/peer-venv");
    let has_django = fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| entry.path().join("site-packages/django").is_dir());
    assert!(
        has_django,
        "no virtualenv with Django at {}: {INSTALL_HINT}",
        venv.display()
    );
    venv
}

pub(crate) fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A fresh scratch directory `target/peer-tmp/<test>-<pid>/`, removed when the test passes and
/// kept for a post-mortem when it fails. Declare it first so that it outlives the peers.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `target/peer-tmp/<test>-<pid>/`, empty.
    pub fn new(test: &str) -> Scratch {
        let dir = repo()
            .join("target/peer-tmp")
            .join(format!("{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("peer files kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// A listener on a free loopback port, and that port.
pub fn loopback_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    let port = listener.local_addr().expect("local address").port();
    (listener, port)
}

/// A loopback port that was free a moment ago (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    loopback_listener().1
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Bytes for a message: printable ASCII as is, the rest escaped, cut after `max` bytes.
pub fn show(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let more = if bytes.len() > max {
        format!("... ({} bytes)", bytes.len())
    } else {
        String::new()
    };
    format!("\"{}\"{more}", cut.escape_ascii())
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
