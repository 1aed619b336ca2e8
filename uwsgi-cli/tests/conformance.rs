//! `uwsgi conformance` against live servers on loopback: the crate's own `uwsgi serve` passes
//! every vector it runs, in every setting (so that no vector is left unrun), also in app-view
//! mode; a WSGI peer in app-view mode fails exactly its expected-failure list; and the runner
//! cannot pass a broken server: fake servers that answer 500 to everything, answer twice, die,
//! or accept everything are judged as such.
//!
//! Peers come from `bash .ci/install-peers`; the harness is the `uwsgi-test-support` crate:
//! every server runs under a guard that stops it by PID or process group on drop, panics
//! included, and the runner is killed by its PID if it overstays its deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use uwsgi_test_support::{PeerCtl, Scratch, free_port, loopback_listener, repo, start_server};

/// The `uwsgi` binary under test.
fn uwsgi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_uwsgi"))
}

/// The longest a runner may take: it bounds every exchange itself, this is a backstop.
const RUNNER_DEADLINE: Duration = Duration::from_secs(120);

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "not one JSON object ({err}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }
}

/// Runs `uwsgi conformance ARGS`, killing it (by its PID) if it outlives the deadline.
fn conformance(args: &[&str]) -> Run {
    let mut child = Command::new(uwsgi())
        .arg("conformance")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start uwsgi conformance");
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

/// `name -> (verdict, reason)` from a JSON report.
fn verdicts(doc: &Value) -> BTreeMap<String, (String, String)> {
    let list = doc["vectors"].as_array().expect("a vectors array");
    list.iter()
        .map(|v| {
            let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
            (text("name"), (text("verdict"), text("reason")))
        })
        .collect()
}

fn with_verdict(verdicts: &BTreeMap<String, (String, String)>, verdict: &str) -> BTreeSet<String> {
    verdicts
        .iter()
        .filter(|(_, (v, _))| v == verdict)
        .map(|(n, _)| n.clone())
        .collect()
}

/// The names a list file holds; each must follow a `#` line citing PROTOCOL.md (a section or
/// a rule ID such as C7) or FINDINGS.md.
fn expected_failures(path: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cites = |line: &str| {
        line.contains('§')
            || line.contains("FINDINGS")
            || line
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| {
                    let mut chars = word.chars();
                    matches!(chars.next(), Some('A'..='Z'))
                        && word.len() <= 3
                        && chars.all(|c| c.is_ascii_digit())
                        && word.len() > 1
                })
    };
    let mut names = BTreeSet::new();
    let mut previous = "";
    for line in text.lines() {
        let name = line.split('#').next().unwrap_or("").trim();
        if !name.is_empty() {
            assert!(
                previous.starts_with('#') && cites(previous),
                "{}: {name} needs a `#` line above it citing its PROTOCOL.md rule",
                path.display()
            );
            assert!(names.insert(name.to_owned()), "{name} is listed twice");
        }
        previous = line;
    }
    names
}

fn list_path(peer: &str) -> PathBuf {
    repo().join(format!("tests/vectors/expected-failures/{peer}.txt"))
}

// ------------------------------------------------------------------------------------------
// Fake servers

/// A loopback server for `connections` connections, one after the other: connection `i` is
/// read until `read_until(i, bytes so far)` holds or EOF (at most 5 s), answered with
/// `reply(i)` and closed; later connections are refused.
fn fake_server(connections: usize, reply: fn(usize) -> Vec<u8>) -> u16 {
    let (listener, port) = loopback_listener();
    thread::spawn(move || {
        for (index, stream) in listener.incoming().take(connections).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
            let mut sink = [0u8; 65536];
            // A well-formed request is in within the first reads; then answer.
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                match stream.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
            let _ = stream.write_all(&reply(index));
        }
    });
    port
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

// ------------------------------------------------------------------------------------------
// The crate's own server

/// Every server setting the vectors use, as `uwsgi serve` flags (the runner takes the same).
const SETTINGS: &[&[&str]] = &[
    &[],
    &["--persistent"],
    &["--max-datasize", "4096"],
    &["--max-datasize", "0"],
    &["--max-vars", "128"],
    &["--magic", "refuse"],
    &["--no-foreign-check"],
    &["--no-foreign-check", "--max-datasize", "4096"],
];

/// No vector is skipped against `uwsgi serve` started with matching settings: every vector a
/// server can be sent runs (and passes) in at least one setting, and one whose options are
/// exactly a setting runs in that setting.
#[test]
fn crate_server_runs_every_vector_in_matching_settings() {
    let dir = Scratch::new("cli-conformance-settings");
    let mut ran: BTreeSet<String> = BTreeSet::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for (index, flags) in SETTINGS.iter().enumerate() {
        let args: Vec<&str> = ["serve", "--listen", "127.0.0.1:0"]
            .iter()
            .chain(flags.iter())
            .copied()
            .collect();
        let (mut server, addr) = start_server(&dir, &format!("serve-{index}"), uwsgi(), &args);
        let run_args: Vec<&str> = [addr.as_str(), "--json", "--strict", "--jobs", "4"]
            .iter()
            .chain(flags.iter())
            .copied()
            .collect();
        let run = conformance(&run_args);
        let doc = run.json();
        assert!(run.status.success(), "settings {flags:?}: {}", run.stdout);
        assert_eq!(
            (count(&doc, "failed"), count(&doc, "server_errors")),
            (0, 0),
            "{flags:?}: {doc}"
        );
        for (name, (verdict, reason)) in verdicts(&doc) {
            if verdict == "PASS" {
                ran.insert(name);
            } else {
                skipped.insert(name, reason);
            }
        }
        server.assert_running();
    }
    // What is never sent to a server: replies, datagrams, service packets (not request
    // families), and vectors that carry code-affecting magic vars unless --allow-magic.
    let never = |reason: &str| {
        reason.starts_with("a reply")
            || reason.starts_with("a datagram")
            || reason.contains("a service packet")
            || reason.contains("--allow-magic")
    };
    let left: Vec<_> = skipped
        .iter()
        .filter(|(name, reason)| !ran.contains(*name) && !never(reason))
        .collect();
    assert!(left.is_empty(), "skipped in every setting: {left:#?}");
    for name in [
        "spec_case34_persistent_mode",
        "spec_case04_over_limit_4096",
        "spec_l1_limit_0_empty_block",
        "spec_case23_129_pairs_max_128",
        "magic_refused_by_policy",
        "spec_p20_check_off",
        "spec_f1_check_off_limit_4096",
        "spec_p13_tls_1_0_record",
        "spec_p16_fastcgi",
        "spec_h7_empty_input",
    ] {
        assert!(ran.contains(name), "{name} never ran");
    }
    assert!(ran.len() >= 160, "only {} vectors ran", ran.len());
}

/// The text report agrees with the JSON one, and the vectors run over a unix socket too.
#[test]
fn crate_server_text_report_and_unix_socket() {
    let dir = Scratch::new("cli-conformance-text");
    let socket = dir.join("app.sock");
    let socket_path = socket.to_str().expect("a UTF-8 path");
    let (_server, addr) = start_server(&dir, "serve", uwsgi(), &["serve", "--listen", socket_path]);
    assert_eq!(addr, format!("unix:{socket_path}"));
    let text = conformance(&[&addr]);
    assert!(text.status.success(), "{}\n{}", text.stdout, text.stderr);
    let json = conformance(&[socket_path, "--json"]).json();
    let summary = format!(
        "{} passed, 0 failed, {} skipped",
        count(&json, "passed"),
        count(&json, "skipped")
    );
    assert_eq!(text.summary(), summary);
    assert!(count(&json, "passed") >= 140, "{json}");
    let lines = text.stdout.lines().count() - 1;
    assert_eq!(
        lines,
        json["vectors"].as_array().map_or(0, Vec::len),
        "one line per vector"
    );
}

/// App-view mode against the crate's own server: every request reaches the app as sent.
#[test]
fn crate_server_app_view() {
    let dir = Scratch::new("cli-conformance-appview");
    let (_server, addr) = start_server(
        &dir,
        "serve",
        uwsgi(),
        &["serve", "--listen", "127.0.0.1:0", "--app-view"],
    );
    let run = conformance(&[&addr, "--app-view", "--strict", "--json"]);
    let doc = run.json();
    assert!(run.status.success(), "{doc}");
    assert!(count(&doc, "passed") >= 140, "{doc}");
    // A server without the reference app cannot be judged in app-view mode.
    let (_hello, hello) = start_server(
        &dir,
        "hello",
        uwsgi(),
        &["serve", "--listen", "127.0.0.1:0"],
    );
    let run = conformance(&[&hello, "--app-view"]);
    assert_eq!(run.status.code(), Some(2), "{}", run.stdout);
    assert!(run.stderr.contains("not an app view"), "{}", run.stderr);
}

// ------------------------------------------------------------------------------------------
// Real peers

/// Runs a peerctl peer in app-view mode with its list: exactly the listed vectors fail.
fn peer_fails_exactly_its_list(peer: &str) {
    let dir = Scratch::new(&format!("cli-conformance-{peer}"));
    let server = PeerCtl::start(peer, &dir, None, None).unwrap_or_else(|e| panic!("{e}"));
    let list = list_path(peer);
    let listed = expected_failures(&list);
    let list_arg = list.to_str().expect("a UTF-8 path");
    let run = conformance(&[
        &server.addr(),
        "--app-view",
        "--strict",
        "--jobs",
        "4",
        "--json",
        "--expect-fail",
        list_arg,
    ]);
    let doc = run.json();
    let verdicts = verdicts(&doc);
    let wrong: Vec<_> = verdicts
        .iter()
        .filter(|(_, (v, _))| v == "FAIL" || v == "XPASS")
        .collect();
    assert!(
        wrong.is_empty(),
        "{peer} deviates from {} (FAIL: new, XPASS: fixed): {wrong:#?}\n{}",
        list.display(),
        server.log()
    );
    assert_eq!(
        with_verdict(&verdicts, "XFAIL"),
        listed,
        "the XFAIL set is the list"
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert!(count(&doc, "passed") >= 50, "{doc}");
}

#[test]
fn uwsgi_app_view_fails_exactly_its_list() {
    peer_fails_exactly_its_list("uwsgi");
}

#[test]
fn gunicorn_sync_app_view_fails_exactly_its_list() {
    peer_fails_exactly_its_list("gunicorn-sync");
}

/// Every list under tests/vectors/expected-failures explains each entry.
#[test]
fn every_list_explains_its_entries() {
    let dir = repo().join("tests/vectors/expected-failures");
    let mut lists = 0;
    for entry in fs::read_dir(&dir).expect("the lists' directory") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            expected_failures(&path);
            lists += 1;
        }
    }
    assert!(lists >= 11, "{lists} lists");
}

// ------------------------------------------------------------------------------------------
// The runner cannot pass a broken server

/// A server that answers 500 to every request: the run fails (it cannot even be judged).
#[test]
fn a_server_that_answers_500_to_everything_fails() {
    let port = fake_server(1000, |_| http("500 Internal Server Error", "oops"));
    let run = conformance(&[
        &format!("127.0.0.1:{port}"),
        "--timeout",
        "1",
        "--linger",
        "0.05",
    ]);
    assert_eq!(run.status.code(), Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("does not answer a valid request with a 2xx"),
        "{}",
        run.stderr
    );
}

/// 200 to the first connection, then 500 to everything: the well-formed vectors get the 5XX
/// verdict, which fails under --strict.
#[test]
fn a_5xx_is_its_own_verdict_and_fails_under_strict() {
    let only = [
        "--only",
        "spec_case01_base_get",
        "--only",
        "spec_case12_empty_value_last",
    ];
    for strict in [false, true] {
        let port = fake_server(10, |i| {
            if i == 0 {
                http("200 OK", "ok")
            } else {
                http("503 Busy", "")
            }
        });
        let target = format!("127.0.0.1:{port}");
        let mut args = vec![target.as_str(), "--json", "--timeout", "1"];
        args.extend(only);
        if strict {
            args.push("--strict");
        }
        let run = conformance(&args);
        let doc = run.json();
        let (verdict, reason) = verdicts(&doc).remove("spec_case01_base_get").expect("ran");
        assert!(reason.contains("503 Busy"), "{reason}");
        if strict {
            assert_eq!(verdict, "FAIL");
            assert_eq!(run.status.code(), Some(1));
        } else {
            assert_eq!(verdict, "5XX");
            assert_eq!(count(&doc, "server_errors"), 2, "{doc}");
            assert_eq!(run.status.code(), Some(0));
        }
    }
}

/// A server that answers twice on one connection (it parsed the bytes after the body as a
/// second packet, or it answered our end of input) fails in one-request mode.
#[test]
fn a_server_that_answers_twice_fails() {
    let port = fake_server(10, |_| {
        [http("200 OK", "one"), http("200 OK", "two")].concat()
    });
    let target = format!("127.0.0.1:{port}");
    let run = conformance(&[&target, "--only", "spec_case01_base_get", "--timeout", "2"]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("FAIL spec_case01_base_get: answered 2 times"),
        "{}",
        run.stdout
    );
    assert_eq!(run.summary(), "0 passed, 1 failed");
}

/// XFAIL, XPASS and a stale entry, against a server that answers 200 to anything.
#[test]
fn expect_fail_list_stays_honest() {
    let dir = Scratch::new("cli-conformance-xfail");
    let port = fake_server(64, |_| http("200 OK", "ok"));
    let target = format!("127.0.0.1:{port}");
    let only = [
        "--only",
        "spec_case01_base_get",
        "--only",
        "spec_case11_empty_key",
        "--only",
        "spec_case12_empty_value_last",
    ];
    let run = conformance(&[&[target.as_str()][..], &only].concat());
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    assert_eq!(run.summary(), "2 passed, 1 failed", "{}", run.stdout);
    assert!(
        run.stdout
            .contains("FAIL spec_case11_empty_key: accepted (EmptyKey expected)"),
        "{}",
        run.stdout
    );

    let list = dir.join("list.txt");
    fs::write(&list, "# V2: accepts an empty key\nspec_case11_empty_key\n")
        .expect("write the list");
    let list_arg = list.to_str().expect("a UTF-8 path");
    let run = conformance(&[&[target.as_str(), "--expect-fail", list_arg][..], &only].concat());
    assert_eq!(run.status.code(), Some(0), "{}", run.stdout);
    assert_eq!(run.summary(), "2 passed, 0 failed, 1 expected failures");

    fs::write(
        &list,
        "spec_case11_empty_key\nspec_case01_base_get\nno_such_vector\n",
    )
    .expect("write the list");
    let run = conformance(
        &[
            &[target.as_str(), "--json", "--expect-fail", list_arg][..],
            &only,
        ]
        .concat(),
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    let verdicts = verdicts(&run.json());
    assert_eq!(
        with_verdict(&verdicts, "XPASS"),
        BTreeSet::from(["spec_case01_base_get".to_owned()])
    );
    assert_eq!(
        with_verdict(&verdicts, "XFAIL"),
        BTreeSet::from(["spec_case11_empty_key".to_owned()])
    );
    assert_eq!(
        with_verdict(&verdicts, "FAIL"),
        BTreeSet::from(["no_such_vector".to_owned()])
    );
}

/// A server that refuses a malformed vector and then stops answering fails that vector; one
/// that answers nothing at all stops the run (exit status 2).
#[test]
fn a_server_that_dies_fails_the_vector() {
    let port = fake_server(2, |index| {
        if index == 0 {
            http("200 OK", "ok")
        } else {
            Vec::new()
        }
    });
    let run = conformance(&[
        &format!("127.0.0.1:{port}"),
        "--timeout",
        "1",
        "--only",
        "spec_case11_empty_key",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("FAIL spec_case11_empty_key: refused: closed without a reply; but then a valid request failed"),
        "{}",
        run.stdout
    );
    let dead = free_port();
    let run = conformance(&[&format!("127.0.0.1:{dead}"), "--timeout", "1"]);
    assert_eq!(run.status.code(), Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("does not answer a valid request"),
        "{}",
        run.stderr
    );
}

/// Bad arguments: one line on stderr, exit status 2, no panic.
#[test]
fn bad_arguments() {
    for args in [
        &["nowhere"][..],
        &["127.0.0.1:1", "--timeout", "0"],
        &["127.0.0.1:1", "--jobs", "0"],
        &["127.0.0.1:1", "--vectors", "/no/such/dir"],
    ] {
        let run = conformance(args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}
