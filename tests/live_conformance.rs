//! The `conformance` example (h2spec for uwsgi application servers) against live servers on
//! loopback: the crate's own `server` example must pass every vector it runs; uWSGI 2.0 must fail
//! exactly the vectors listed in `tests/vectors/uwsgi-expected-failures.txt` (PROTOCOL.md §10);
//! and the runner's own verdicts (XFAIL, XPASS, a stale list, a server that dies) are checked
//! against small fake servers.
//!
//! uWSGI comes from `bash .ci/install-peers`. The harness is `tests/support` (shared with
//! `tests/peers.rs` and `tests/gateway.rs`): every server runs under a `Peer` guard that stops it
//! by process group (SIGTERM, then SIGKILL) on drop, panics included; the runner is killed by PID
//! if it overstays its deadline.
#![cfg(feature = "codec")]

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Scratch, example, free_port, loopback_listener, repo, start_server, start_uwsgi};

/// The known deviations of uWSGI 2.0, relative to the repository.
const UWSGI_EXPECTED_FAILURES: &str = "tests/vectors/uwsgi-expected-failures.txt";

/// The longest a runner may take: it bounds every exchange itself, this is a backstop.
const RUNNER_DEADLINE: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------------------------------
// The runner

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "runner output is not one JSON object ({err}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Every line but the summary, as (verdict, name, reason).
    fn lines(&self) -> Vec<(String, String, String)> {
        let mut lines: Vec<&str> = self.stdout.lines().collect();
        lines.pop();
        lines
            .into_iter()
            .map(|line| {
                let (verdict, rest) = line.split_once(' ').expect("VERDICT name: reason");
                let (name, reason) = rest.split_once(": ").expect("VERDICT name: reason");
                (verdict.to_owned(), name.to_owned(), reason.to_owned())
            })
            .collect()
    }

    fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }
}

/// Runs the `conformance` example, killing it (by its PID) if it outlives [`RUNNER_DEADLINE`].
fn conformance(args: &[&str]) -> Run {
    let mut child = Command::new(example("conformance"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the conformance example");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + RUNNER_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the runner") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("conformance {args:?} still runs after {RUNNER_DEADLINE:?}: killed");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn count(doc: &Value, key: &str) -> u64 {
    doc[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key:?} in {doc}"))
}

/// `name -> (verdict, reason)` from the JSON report.
fn verdicts(doc: &Value) -> Vec<(String, String, String)> {
    doc["vectors"]
        .as_array()
        .expect("a vectors array")
        .iter()
        .map(|v| {
            let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
            (text("verdict"), text("name"), text("reason"))
        })
        .collect()
}

fn names_with(verdicts: &[(String, String, String)], verdict: &str) -> BTreeSet<String> {
    verdicts
        .iter()
        .filter(|(v, _, _)| v == verdict)
        .map(|(_, name, _)| name.clone())
        .collect()
}

/// The names an expect-fail file lists, parsed as the runner does; also checks that every name
/// has a `#` line right above it that names its §10 row (or says that none explains it).
fn expected_failures(path: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names = BTreeSet::new();
    let mut previous = "";
    for line in text.lines() {
        let name = line.split('#').next().unwrap_or("").trim();
        if !name.is_empty() {
            assert!(
                previous.starts_with('#') && previous.contains("§10"),
                "{}: {name} needs a `#` line above it naming its PROTOCOL.md §10 row",
                path.display()
            );
            assert!(names.insert(name.to_owned()), "{name} is listed twice");
        }
        previous = line;
    }
    names
}

// ------------------------------------------------------------------------------------------
// Fake servers for the runner's own verdicts

/// A loopback server that serves `connections` connections one after the other and then stops
/// listening (later connections are refused): connection `i` (from 0) is read to EOF (at most
/// 5 s), answered with `reply(i)` (nothing if empty) and closed.
fn fake_server(connections: usize, reply: fn(usize) -> &'static [u8]) -> u16 {
    let (listener, port) = loopback_listener();
    thread::spawn(move || {
        for (index, stream) in listener.incoming().take(connections).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut sink = [0u8; 4096];
            while let Ok(1..) = stream.read(&mut sink) {}
            let _ = stream.write_all(reply(index));
        }
    });
    port
}

const OK_REPLY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

// ------------------------------------------------------------------------------------------
// Tests

/// The crate's own server passes every vector the runner sends, in both output formats.
#[test]
fn crate_server_passes_every_vector() {
    let dir = Scratch::new("live-conformance-server");
    let (mut server, addr) = start_server(&dir, "server", &["--listen", "127.0.0.1:0"]);
    let started = Instant::now();

    let text = conformance(&[&addr]);
    assert!(
        text.status.success(),
        "conformance against the crate's server failed ({}):\n{}\nstderr: {}",
        text.status,
        text.stdout,
        text.stderr
    );
    let lines = text.lines();
    let failures: Vec<_> = lines
        .iter()
        .filter(|(verdict, _, _)| verdict != "PASS" && verdict != "SKIP")
        .collect();
    assert!(failures.is_empty(), "not PASS: {failures:#?}");
    let passed = lines.iter().filter(|(v, _, _)| v == "PASS").count();
    let skipped = lines.len() - passed;
    assert_eq!(
        text.summary(),
        format!("{passed} passed, 0 failed, {skipped} skipped"),
        "the summary line"
    );

    let json = conformance(&["--json", &addr]);
    assert!(json.status.success(), "--json run failed: {}", json.stderr);
    let doc = json.json();
    assert_eq!(count(&doc, "failed"), 0, "{doc}");
    assert_eq!(count(&doc, "expected_failures"), 0, "{doc}");
    assert_eq!(count(&doc, "unexpected_passes"), 0, "{doc}");
    assert_eq!(count(&doc, "passed"), passed as u64, "text and JSON agree");
    assert_eq!(
        count(&doc, "skipped"),
        skipped as u64,
        "text and JSON agree"
    );
    let verdicts = verdicts(&doc);
    assert_eq!(verdicts.len(), lines.len(), "one verdict per vector");
    // Both kinds of vector really ran: the 18 nginx captures, the §11 refusals.
    let run = |expect: &str| {
        doc["vectors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["expect"] == expect)
            .count()
    };
    assert!(
        run("response") >= 50,
        "too few well-formed vectors ran: {doc}"
    );
    assert!(run("refusal") >= 50, "too few malformed vectors ran: {doc}");
    let pass = names_with(&verdicts, "PASS");
    for name in [
        "nginx_post_chunked",
        "spec_case05_datasize_65535",
        "spec_case18_key_overrun_no_resync",
        "spec_case32_truncated_body",
        "cl_conflict_last_wins_in_uwsgi",
        "diff_1001_pairs",
        "spec_p01_get",
    ] {
        assert!(pass.contains(name), "{name} did not PASS");
    }
    // What must be skipped: a reply, a datagram, a non-default setting, a code-affecting magic var.
    let skip = names_with(&verdicts, "SKIP");
    for name in [
        "spec_case37_rpc_framed_reply",
        "spec_case46_subscription_datagram",
        "spec_case04_at_limit_4096",
        "spec_case34_persistent_mode",
        "spec_case41_ping",
        "magic_allowed_by_default",
    ] {
        assert!(skip.contains(name), "{name} was not skipped");
    }
    server.assert_running();
    eprintln!(
        "crate server: {} in {:?}",
        text.summary(),
        started.elapsed()
    );
}

/// The same over a unix socket (a `/` in the target), on a few vectors.
#[test]
fn crate_server_over_a_unix_socket() {
    let dir = Scratch::new("live-conformance-unix");
    let socket = dir.join("app.sock");
    let socket_path = socket.to_str().expect("a UTF-8 path");
    let (_server, addr) = start_server(&dir, "server", &["--listen", socket_path]);
    assert_eq!(addr, format!("unix:{}", socket.display()));
    for target in [addr.as_str(), socket_path] {
        let run = conformance(&[target, "--only", "spec_case1", "--only", "nginx_post"]);
        assert!(run.status.success(), "{}\n{}", run.stdout, run.stderr);
        let lines = run.lines();
        assert!(
            lines.iter().filter(|(v, _, _)| v == "PASS").count() >= 10,
            "{}",
            run.stdout
        );
        assert!(
            run.summary().contains(" passed, 0 failed"),
            "{}",
            run.stdout
        );
    }
}

/// uWSGI 2.0 fails exactly its known deviations (tests/vectors/uwsgi-expected-failures.txt).
#[test]
fn uwsgi_fails_exactly_its_known_deviations() {
    let dir = Scratch::new("live-conformance-uwsgi");
    let listed = expected_failures(&repo().join(UWSGI_EXPECTED_FAILURES));
    // The classic hello app, the protocol's largest block.
    let app = ["--wsgi-file", "tests/peers/hello.py"];
    let (mut uwsgi, port) = start_uwsgi(&dir, "uwsgi", "python3", 65535, &app);
    let target = format!("127.0.0.1:{port}");
    let expect_fail = repo().join(UWSGI_EXPECTED_FAILURES);
    let expect_fail = expect_fail.to_str().expect("a UTF-8 path");
    let started = Instant::now();

    let run = conformance(&["--json", "--expect-fail", expect_fail, &target]);
    let doc = run.json();
    let verdicts = verdicts(&doc);
    let unexpected: Vec<_> = verdicts
        .iter()
        .filter(|(v, _, _)| v == "FAIL" || v == "XPASS")
        .collect();
    assert!(
        unexpected.is_empty(),
        "uWSGI deviates beyond {UWSGI_EXPECTED_FAILURES} (FAIL: a new deviation, investigate it \
         against PROTOCOL.md §10; XPASS: a listed one is gone): {unexpected:#?}\nuWSGI log: {}",
        dir.join("uwsgi.log").display()
    );
    assert!(
        run.status.success(),
        "exit status {}: {}",
        run.status,
        run.stderr
    );
    assert_eq!(count(&doc, "failed"), 0);
    assert_eq!(count(&doc, "unexpected_passes"), 0);
    let xfail = names_with(&verdicts, "XFAIL");
    assert_eq!(
        xfail, listed,
        "the XFAIL set must equal {UWSGI_EXPECTED_FAILURES}"
    );
    assert_eq!(count(&doc, "expected_failures"), listed.len() as u64);
    assert!(count(&doc, "passed") >= 50, "too few vectors passed: {doc}");
    uwsgi.assert_running();

    // The text report agrees, and its summary line has all four counts.
    let text = conformance(&["--expect-fail", expect_fail, &target]);
    assert!(text.status.success(), "{}", text.stderr);
    assert_eq!(
        text.summary(),
        format!(
            "{} passed, 0 failed, {} skipped, {} expected failures",
            count(&doc, "passed"),
            count(&doc, "skipped"),
            listed.len()
        )
    );
    eprintln!("uWSGI: {} in {:?}", text.summary(), started.elapsed());
}

/// XFAIL, XPASS and a stale list entry, against a server that answers 200 to anything.
#[test]
fn expect_fail_list_stays_honest() {
    let dir = Scratch::new("live-conformance-xfail");
    let port = fake_server(64, |_| OK_REPLY);
    let target = format!("127.0.0.1:{port}");
    let only = [
        "--only",
        "spec_case01_base_get",
        "--only",
        "spec_case11_empty_key",
        "--only",
        "spec_case12_empty_value_last",
    ];

    // No list: the malformed vector is accepted, so it fails.
    let run = conformance(&[&[target.as_str()][..], &only].concat());
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    assert_eq!(run.summary(), "2 passed, 1 failed", "{}", run.stdout);
    let lines = run.lines();
    assert!(
        lines.iter().any(|(v, name, reason)| v == "FAIL"
            && name == "spec_case11_empty_key"
            && reason.starts_with("accepted: answered `HTTP/1.1 200 OK`")),
        "{}",
        run.stdout
    );

    // Listed: an expected failure, exit 0.
    let list = dir.join("list.txt");
    fs::write(
        &list,
        "# known\nspec_case11_empty_key  # accepts an empty key\n\n",
    )
    .unwrap();
    let list_arg = list.to_str().unwrap();
    let run = conformance(&[&[target.as_str(), "--expect-fail", list_arg][..], &only].concat());
    assert_eq!(run.status.code(), Some(0), "{}", run.stdout);
    assert_eq!(run.summary(), "2 passed, 0 failed, 1 expected failures");

    // A listed vector that passes is XPASS and counts as failed; so does a name no file defines.
    fs::write(
        &list,
        "spec_case11_empty_key\nspec_case01_base_get\nno_such_vector\n",
    )
    .unwrap();
    let run = conformance(
        &[
            &[target.as_str(), "--json", "--expect-fail", list_arg][..],
            &only,
        ]
        .concat(),
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    let doc = run.json();
    let verdicts = verdicts(&doc);
    assert_eq!(
        names_with(&verdicts, "XPASS"),
        BTreeSet::from(["spec_case01_base_get".to_owned()])
    );
    assert_eq!(
        names_with(&verdicts, "XFAIL"),
        BTreeSet::from(["spec_case11_empty_key".to_owned()])
    );
    assert_eq!(
        names_with(&verdicts, "FAIL"),
        BTreeSet::from(["no_such_vector".to_owned()])
    );
    assert_eq!(
        (
            count(&doc, "passed"),
            count(&doc, "failed"),
            count(&doc, "expected_failures")
        ),
        (1, 2, 1)
    );
}

/// A server that refuses a malformed vector and then stops answering fails that vector; one
/// that answers nothing at all stops the run (exit status 2).
#[test]
fn a_server_that_dies_fails_the_vector() {
    // Connection 0: the runner's opening GET, answered; 1: the malformed vector, closed without
    // a reply; then nothing listens, so the known-good GET after it cannot connect.
    let port = fake_server(2, |index| if index == 0 { OK_REPLY } else { b"" });
    let target = format!("127.0.0.1:{port}");
    let run = conformance(&[&target, "--timeout", "1", "--only", "spec_case11_empty_key"]);
    assert_eq!(run.status.code(), Some(1), "{}\n{}", run.stdout, run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    let (verdict, _, reason) = &lines[0];
    assert_eq!(verdict, "FAIL");
    assert!(
        reason.starts_with(
            "refused: closed without a reply; but then a valid GET got no status line"
        ),
        "{reason}"
    );

    // Nothing listens at all: no vector can be judged.
    let dead = free_port();
    let run = conformance(&[&format!("127.0.0.1:{dead}"), "--timeout", "1"]);
    assert_eq!(run.status.code(), Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("does not answer a valid GET"),
        "{}",
        run.stderr
    );
}
