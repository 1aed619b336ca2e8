//! Starting peers: programs that print `listening on ADDR` (`uwsgi serve`, the root crate's
//! examples), uWSGI and nginx.

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use super::{Peer, django_venv, free_port, repo, tool, utf8, uwsgi_binary};

/// The workspace's examples the tests run, as (package, example); each has its own
/// once-per-process build below.
const EXAMPLES: [(&str, &str); 2] = [("uwsgi-service", "proxy"), ("uwsgi-service", "axum")];

/// The crate's example `name`, built by `cargo build --example NAME` on its first use in this
/// process: `cargo test --test X` builds no examples, so the binary could be missing or stale.
pub fn example(name: &str) -> &'static Path {
    static BUILT: [OnceLock<PathBuf>; EXAMPLES.len()] = [const { OnceLock::new() }; EXAMPLES.len()];
    let index = EXAMPLES
        .iter()
        .position(|(_, known)| *known == name)
        .unwrap_or_else(|| panic!("example `{name}` is not in support::EXAMPLES"));
    let package = EXAMPLES
        .get(index)
        .map_or("uwsgi-codec", |(package, _)| package);
    BUILT[index].get_or_init(|| build_example(package, name))
}

/// The test binary is `target/<profile>/deps/X-HASH`; the example goes to
/// `target/<profile>/examples/NAME`, built into the same target directory and profile.
fn build_example(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let target = profile.parent().expect("target/<profile>");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(repo())
        .args(["build", "--quiet", "-p", package, "--example", name])
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

/// `program` with `args` (it must print `listening on ADDR` first, as `uwsgi serve` and the
/// root crate's examples do): stderr into `dir/NAME.log`, stdout into `dir/NAME.stdout`;
/// returns the guard and ADDR.
pub fn start_listening(dir: &Path, name: &str, program: &Path, args: &[&str]) -> (Peer, String) {
    let log = dir.join(format!("{name}.log"));
    let mut command = Command::new(program);
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

/// The root crate's example `program`, built on first use, as [`start_listening`] starts it.
pub fn start_example(dir: &Path, name: &str, program: &str, args: &[&str]) -> (Peer, String) {
    start_listening(dir, name, example(program), args)
}

/// The `uwsgi` binary of the workspace's `uwsgi-cli` crate: `$UWSGI_BIN` when set (the CLI's
/// own tests set nothing and pass `CARGO_BIN_EXE_uwsgi` instead), else built by `cargo build
/// -p uwsgi-cli` on first use in this process, into the caller's target directory.
pub fn uwsgi_cli() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        if let Some(path) = std::env::var_os("UWSGI_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps");
        let target = profile.parent().expect("target/<profile>");
        let status = Command::new(env!("CARGO"))
            .current_dir(repo())
            .args([
                "build",
                "--quiet",
                "-p",
                "uwsgi-cli",
                "--bin",
                "uwsgi",
                "--target-dir",
            ])
            .arg(target)
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build -p uwsgi-cli failed ({status})"
        );
        profile.join("uwsgi")
    })
}

/// `uwsgi serve` (the binary at `program`) with `args`; returns the guard and its address.
pub fn start_server(dir: &Path, name: &str, program: &Path, args: &[&str]) -> (Peer, String) {
    start_listening(dir, name, program, args)
}

/// uWSGI on a free TCP port with one worker, logging to `dir/NAME.log`; `buffer_size` is its
/// largest accepted datasize (65535 is the protocol maximum; uWSGI's default is 4096,
/// PROTOCOL.md §4.2). `app` names the app (and any further options, such as a second socket).
pub fn start_uwsgi(
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
pub fn start_uwsgi_django(dir: &Path, buffer_size: u16) -> (Peer, u16) {
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
pub fn start_nginx(dir: &Path, locations: &str) -> (Peer, u16, PathBuf) {
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
events {{ worker_connections 1024; }}
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
pub fn nginx_errors(error_log: &Path) -> Vec<String> {
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
