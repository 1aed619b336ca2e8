//! The real-peer harness of `tests/peers.rs` and `tests/live_conformance.rs`
//! (and nginx's `uwsgi_params` order, which `tests/http.rs` checks too): paths and tools, the
//! crate's examples (built on first use), scratch directories, loopback ports, the [`Peer`] guard,
//! uWSGI and nginx starters, and curl.
//!
//! The peers come from Debian: `bash .ci/install-peers` installs them. Every peer runs under a
//! [`Peer`] guard that stops it by its process group id (SIGTERM, then SIGKILL) and reaps it on
//! drop, panics included; ports are free loopback ports; files go under
//! `target/peer-tmp/<test>-<pid>/`.

// Every test binary that declares `mod support;` compiles its own copy of this module and uses
// only part of it (tests/http.rs only `UWSGI_PARAMS`), so the rest would warn as dead code there.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run `bash .ci/install-peers` (installs nginx, uWSGI with its python3 \
                            and ping plugins, curl, and Django in target/peer-venv)";

/// The 13 params of nginx's `uwsgi_params`, in order, as plain HTTP sends them (`HTTPS` is
/// `if_not_empty`: absent).
pub(crate) const UWSGI_PARAMS: [&str; 13] = [
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

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The examples the tests run; each has its own once-per-process build below.
const EXAMPLES: [&str; 3] = ["server", "client", "conformance"];

/// The crate's example `name`, built by `cargo build --example NAME` on its first use in this
/// process: `cargo test --test X` builds no examples, so the binary could be missing or stale.
pub(crate) fn example(name: &str) -> &'static Path {
    static BUILT: [OnceLock<PathBuf>; EXAMPLES.len()] = [const { OnceLock::new() }; EXAMPLES.len()];
    let index = EXAMPLES
        .iter()
        .position(|known| *known == name)
        .unwrap_or_else(|| panic!("example `{name}` is not in support::EXAMPLES"));
    BUILT[index].get_or_init(|| build_example(name))
}

/// The test binary is `target/<profile>/deps/X-HASH`; the example goes to
/// `target/<profile>/examples/NAME`, built into the same target directory and profile.
fn build_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let target = profile.parent().expect("target/<profile>");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--features", "codec", "--example", name])
        .arg("--target-dir")
        .arg(target);
    if profile.ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --example {name} failed ({status})"
    );
    let path = profile.join("examples").join(name);
    assert!(
        path.is_file(),
        "example `{name}` is not at {}",
        path.display()
    );
    path
}

/// A peer binary from PATH (or the usual sbin directories, which a non-login PATH may lack).
pub(crate) fn tool(name: &str) -> PathBuf {
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

fn uwsgi_binary() -> PathBuf {
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
fn django_venv() -> PathBuf {
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

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A fresh scratch directory `target/peer-tmp/<test>-<pid>/`, removed when the test passes and
/// kept for a post-mortem when it fails. Declare it first so that it outlives the peers.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(test: &str) -> Scratch {
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
pub(crate) fn loopback_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    let port = listener.local_addr().expect("local address").port();
    (listener, port)
}

/// A loopback port that was free a moment ago (nothing listens on it once this returns).
pub(crate) fn free_port() -> u16 {
    loopback_listener().1
}

pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Bytes for a message: printable ASCII as is, the rest escaped, cut after `max` bytes.
pub(crate) fn show(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let more = if bytes.len() > max {
        format!("... ({} bytes)", bytes.len())
    } else {
        String::new()
    };
    format!("\"{}\"{more}", cut.escape_ascii())
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

// ------------------------------------------------------------------------------------------
// Processes

/// A running peer. Dropping it stops it: SIGTERM to its process group (uWSGI's master then
/// buries its workers itself), SIGKILL to the group after 5 s, and the leader is always reaped.
pub(crate) struct Peer {
    name: String,
    child: Child,
    log: PathBuf,
    /// SIGTERM already sent.
    stopping: bool,
    /// Already reaped: its pid (and so its group id) may belong to someone else now.
    reaped: bool,
}

impl Peer {
    /// Starts `command` in a process group of its own, stdout and stderr into `log`.
    pub(crate) fn spawn(name: &str, mut command: Command, log: PathBuf) -> Peer {
        let file = File::create(&log).expect("create the peer's log file");
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone a file handle"))
            .stderr(file);
        Peer::start(name, command, log)
    }

    /// Starts `command` in a process group of its own (stdio as the caller set it up).
    pub(crate) fn start(name: &str, mut command: Command, log: PathBuf) -> Peer {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name} ({command:?}): {err}"));
        Peer {
            name: name.into(),
            child,
            log,
            stopping: false,
            reaped: false,
        }
    }

    pub(crate) fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Panics with the peer's log if it has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.reaped = true;
            panic!(
                "{} exited early ({status}); {}:\n{}",
                self.name,
                self.log.display(),
                self.log()
            );
        }
    }

    /// Waits (5 s at most, checking every 50 ms that the peer still runs) until `ready` holds.
    pub(crate) fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ready() {
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{}: no {what} after 5 s; {}:\n{}",
                self.name,
                self.log.display(),
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (5 s at most) until `port` on loopback accepts connections.
    pub(crate) fn wait_for_port(&mut self, port: u16) {
        self.wait_until(&format!("answer on 127.0.0.1:{port}"), || {
            TcpStream::connect_timeout(&loopback(port), Duration::from_millis(200)).is_ok()
        });
    }

    /// Asks the peer to stop without waiting: lets several peers shut down in parallel.
    pub(crate) fn terminate(&mut self) {
        if !self.stopping && !self.reaped {
            self.stopping = true;
            signal_group(self.child.id(), "TERM");
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                _ => return,
            }
        }
        // Not reaped yet, so the group id is still ours.
        signal_group(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}

/// Sends a signal to a whole process group (bash's builtin kill: procps may be absent).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("bash")
        .args(["-c", &format!("kill -{signal} -- -{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops several peers at once (uWSGI takes about a second to bury its worker).
pub(crate) fn stop_all(mut peers: Vec<Peer>) {
    for peer in &mut peers {
        peer.terminate();
    }
    drop(peers);
}

/// The crate's example `program` with `args` (it must print `listening on ADDR` first): stderr
/// into `dir/NAME.log`, stdout into `dir/NAME.stdout`; returns the guard and ADDR.
pub(crate) fn start_example(
    dir: &Path,
    name: &str,
    program: &str,
    args: &[&str],
) -> (Peer, String) {
    let log = dir.join(format!("{name}.log"));
    let mut command = Command::new(example(program));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("create a log file"));
    let mut peer = Peer::start(name, command, log);
    let stdout = peer.child.stdout.take().expect("piped stdout");
    let out_log = dir.join(format!("{name}.stdout"));
    let (lines, first) = mpsc::channel();
    // Drains stdout until the example exits, so that it never blocks on a full pipe.
    thread::spawn(move || {
        let mut out = File::create(out_log).ok();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(out) = out.as_mut() {
                let _ = writeln!(out, "{line}");
            }
            let _ = lines.send(line);
        }
    });
    let Ok(line) = first.recv_timeout(Duration::from_secs(10)) else {
        peer.assert_running();
        panic!("{name} printed no line in 10 s");
    };
    let Some(addr) = line.strip_prefix("listening on ") else {
        panic!("{name}'s first stdout line is {line:?}, want `listening on ADDR`");
    };
    (peer, addr.to_owned())
}

/// The crate's `server` example; returns the guard and the address from its first stdout line.
pub(crate) fn start_server(dir: &Path, name: &str, args: &[&str]) -> (Peer, String) {
    start_example(dir, name, "server", args)
}

/// uWSGI on a free TCP port with one worker, logging to `dir/NAME.log`; `buffer_size` is its
/// largest accepted datasize (65535 is the protocol maximum; uWSGI's default is 4096,
/// PROTOCOL.md §4.2). `app` names the app (and any further options, such as a second socket).
pub(crate) fn start_uwsgi(
    dir: &Path,
    name: &str,
    plugins: &str,
    buffer_size: u16,
    app: &[&str],
) -> (Peer, u16) {
    let port = free_port();
    let mut command = Command::new(uwsgi_binary());
    command
        .current_dir(repo())
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1") // no __pycache__ in tests/peers
        .args([
            "--plugin",
            plugins,
            "--socket",
            &format!("127.0.0.1:{port}"),
        ])
        .args(app)
        .args(["--master", "--processes", "1"])
        .args(["--buffer-size", &buffer_size.to_string()])
        .args(["--die-on-term", "--need-app"]);
    let mut peer = Peer::spawn(name, command, dir.join(format!("{name}.log")));
    peer.wait_for_port(port);
    (peer, port)
}

/// uWSGI (`dir/uwsgi.log`) serving the Django project `tests/peers/djangoapp` from the
/// virtualenv of `.ci/install-peers`.
pub(crate) fn start_uwsgi_django(dir: &Path, buffer_size: u16) -> (Peer, u16) {
    let venv = django_venv();
    let project = repo().join("tests/peers/djangoapp");
    let app = [
        "--virtualenv",
        utf8(&venv),
        "--chdir",
        utf8(&project),
        "--module",
        "hellosite.wsgi:application",
    ];
    start_uwsgi(dir, "uwsgi", "python3", buffer_size, &app)
}

/// nginx in the foreground, single process, every path inside `dir/nginx`, serving `locations`
/// on a free port; returns the guard, the port and the error log.
pub(crate) fn start_nginx(dir: &Path, locations: &str) -> (Peer, u16, PathBuf) {
    let nginx = tool("nginx");
    let port = free_port();
    let prefix = dir.join("nginx");
    fs::create_dir_all(prefix.join("html")).expect("create the nginx prefix");
    let p = prefix.display();
    let conf = format!(
        r#"daemon off;
master_process off;
pid "{p}/nginx.pid";
error_log "{p}/error.log" info;
events {{ worker_connections 64; }}
http {{
    access_log "{p}/access.log";
    client_body_temp_path "{p}/client_body";
    proxy_temp_path "{p}/proxy";
    fastcgi_temp_path "{p}/fastcgi";
    uwsgi_temp_path "{p}/uwsgi";
    scgi_temp_path "{p}/scgi";
    large_client_header_buffers 8 64k;
    client_max_body_size 10m;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root "{p}/html";
{locations}
    }}
}}
"#
    );
    let conf_path = prefix.join("nginx.conf");
    fs::write(&conf_path, conf).expect("write nginx.conf");
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(prefix.join("error.log"));
    let mut peer = Peer::spawn("nginx", command, prefix.join("nginx.out"));
    peer.wait_for_port(port);
    (peer, port, prefix.join("error.log"))
}

/// nginx error-log lines at level error or worse.
pub(crate) fn nginx_errors(error_log: &Path) -> Vec<String> {
    let text = fs::read_to_string(error_log).unwrap_or_default();
    text.lines()
        .filter(|line| {
            ["[error]", "[crit]", "[alert]", "[emerg]"]
                .iter()
                .any(|l| line.contains(l))
        })
        .map(str::to_owned)
        .collect()
}

// ------------------------------------------------------------------------------------------
// HTTP

pub(crate) struct HttpReply {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl HttpReply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Splits a raw HTTP/1.x response (curl's `-i` output), skipping interim 1xx responses
/// (`100 Continue`).
pub(crate) fn parse_http(raw: &[u8]) -> HttpReply {
    let mut rest = raw;
    loop {
        let end = find(rest, b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of HTTP headers in {}", show(raw, 2000)));
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status line in {}", show(raw, 2000)));
        rest = &rest[end + 4..];
        if !(100..200).contains(&status) {
            let body = rest.to_vec();
            return HttpReply { status, head, body };
        }
    }
}

/// curl with no proxy from the environment, 20 s at most, `-i` to see the head; its output as
/// it is.
pub(crate) fn curl_output(url: &str, args: &[&str]) -> Output {
    Command::new(tool("curl"))
        .args(["-s", "-S", "-i", "--noproxy", "*", "--max-time", "20"])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

/// Writes `body` to `dir/NAME` and returns curl's `@PATH` argument for it.
pub(crate) fn curl_data(dir: &Path, name: &str, body: &[u8]) -> String {
    let file = dir.join(name);
    fs::write(&file, body).expect("write a request body");
    format!("@{}", file.display())
}

/// [`curl_output`], which must succeed, as a reply.
pub(crate) fn curl(url: &str, args: &[&str]) -> HttpReply {
    let output = curl_output(url, args);
    assert!(
        output.status.success(),
        "curl {url} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_http(&output.stdout)
}
