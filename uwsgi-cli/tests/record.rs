//! `uwsgi record` behind a client, and `uwsgi conformance --front-end` behind nginx: what a
//! front end sends is saved as vectors, and checked against PROTOCOL.md.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use uwsgi_test_support::{PeerCtl, Scratch, free_port, repo};

fn uwsgi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_uwsgi"))
}

/// `uwsgi record --count 2` saves two connections as decode vectors, named after their
/// `X-Capture-Name` header, with the crate's reading of them as the expected outcome.
#[test]
fn record_saves_connections_as_vectors() {
    let dir = Scratch::new("cli-record");
    let out = dir.join("recorded.json");
    let mut recorder = Command::new(uwsgi())
        .args([
            "record",
            "--listen",
            "127.0.0.1:0",
            "--count",
            "2",
            "--duration",
            "30",
            "--front-end",
            "uwsgi curl",
        ])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start uwsgi record");
    let mut first = String::new();
    let stdout = recorder.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on ADDR")
        .to_owned();
    let curl = |args: &[&str]| {
        let output = Command::new(uwsgi())
            .arg("curl")
            .arg(&addr)
            .args(args)
            .output()
            .expect("uwsgi curl");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let reply = curl(&["/a%20b?x=1", "-H", "X-Capture-Name: first"]);
    assert!(
        reply.ends_with(b"recorded\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let body = dir.join("body.bin");
    std::fs::write(&body, b"hello").expect("write the body");
    curl(&["/post", "--data", body.to_str().expect("UTF-8")]);
    let started = Instant::now();
    while recorder.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the recorder did not stop after 2 connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut text = String::new();
    std::fs::File::open(&out)
        .and_then(|mut f| f.read_to_string(&mut text))
        .expect("the vector file");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["schema"], "uwsgi-vectors/decode/1");
    let vectors = doc["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[0]["name"], "first");
    assert_eq!(vectors[1]["name"], "recorded_002");
    let packet = &vectors[1]["expect"]["packet"];
    assert_eq!(packet["body_len"], 5);
    assert_eq!(packet["after_hex"], "68656c6c6f");
    let path = vectors[0]["expect"]["packet"]["vars"]
        .as_array()
        .and_then(|vars| vars.iter().find(|v| v["key_hex"] == "504154485f494e464f"))
        .map(|v| v["value_hex"].clone());
    assert_eq!(path, Some(Value::from("2f612062")), "PATH_INFO /a b");
}

/// nginx passes every front-end check (its list is empty).
#[test]
fn nginx_passes_the_front_end_checks() {
    let dir = Scratch::new("cli-frontend-nginx");
    let upstream = free_port();
    let nginx =
        PeerCtl::start("nginx", &dir, Some(upstream), None).unwrap_or_else(|e| panic!("{e}"));
    let list = repo().join("tests/vectors/expected-failures/nginx.txt");
    let output = Command::new(uwsgi())
        .args([
            "conformance",
            &nginx.addr(),
            "--front-end",
            &format!("127.0.0.1:{upstream}"),
        ])
        .arg("--expect-fail")
        .arg(&list)
        .output()
        .expect("uwsgi conformance --front-end");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", nginx.log());
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.starts_with("16 passed, 0 failed"), "{stdout}");
}
