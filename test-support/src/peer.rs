//! [`Peer`]: a process under a guard that stops it by its process group on drop, and
//! [`PeerCtl`]: a peer that `tests/peers/peerctl.py` starts and stops by its PID.

use std::fs::{self, File};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{loopback, repo};
use std::net::TcpStream;

/// A running peer. Dropping it stops it: SIGTERM to its process group (uWSGI's master then
/// buries its workers itself), SIGKILL to the group after 5 s, and the leader is always reaped.
pub struct Peer {
    name: String,
    pub(crate) child: Child,
    log: PathBuf,
    /// SIGTERM already sent.
    stopping: bool,
    /// Already reaped: its pid (and so its group id) may belong to someone else now.
    reaped: bool,
}

impl Peer {
    /// Starts `command` in a process group of its own, stdout and stderr into `log`.
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Peer {
        let file = File::create(&log).expect("create the peer's log file");
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone a file handle"))
            .stderr(file);
        Peer::start(name, command, log)
    }

    /// Starts `command` in a process group of its own (stdio as the caller set it up).
    pub fn start(name: &str, mut command: Command, log: PathBuf) -> Peer {
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

    /// The peer's log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Panics with the peer's log if it has exited.
    pub fn assert_running(&mut self) {
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
    pub fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
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
    pub fn wait_for_port(&mut self, port: u16) {
        self.wait_until(&format!("answer on 127.0.0.1:{port}"), || {
            TcpStream::connect_timeout(&loopback(port), Duration::from_millis(200)).is_ok()
        });
    }

    /// Asks the peer to stop without waiting: lets several peers shut down in parallel.
    pub fn terminate(&mut self) {
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
pub fn stop_all(mut peers: Vec<Peer>) {
    for peer in &mut peers {
        peer.terminate();
    }
    drop(peers);
}

/// A peer of `tests/peers/peerctl.py` (uWSGI, pyuwsgi, gunicorn's workers, nginx, Apache,
/// lighttpd, uWSGI's http router, uwsgi-tools' proxy) in its own directory; dropping it runs
/// `peerctl.py stop`, which stops it by its PID (SIGTERM, then SIGKILL to its group).
pub struct PeerCtl {
    name: String,
    dir: PathBuf,
    /// The port it listens on (uwsgi for application servers, HTTP for front ends).
    pub port: u16,
}

impl PeerCtl {
    /// `peerctl.py start PEER --dir DIR --port PORT [--upstream U] [--app APP]` on a free
    /// port; `Err` with peerctl's output when it does not start (not installed, say).
    pub fn start(
        peer: &str,
        dir: &Path,
        upstream: Option<u16>,
        app: Option<&str>,
    ) -> Result<PeerCtl, String> {
        let port = super::free_port();
        let dir = dir.join(peer);
        let mut command = Command::new("python3");
        command
            .current_dir(repo())
            .arg(repo().join("tests/peers/peerctl.py"))
            .args(["start", peer, "--dir"])
            .arg(&dir)
            .args(["--port", &port.to_string()])
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(upstream) = upstream {
            command.args(["--upstream", &upstream.to_string()]);
        }
        if let Some(app) = app {
            command.args(["--app", app]);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("python3: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "peerctl start {peer} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(PeerCtl {
            name: peer.to_owned(),
            dir,
            port,
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The peer's log (`DIR/log`).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.dir.join("log")).unwrap_or_default()).into_owned()
    }

    /// The peer's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PeerCtl {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(repo().join("tests/peers/peerctl.py"))
            .args(["stop", "--dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
