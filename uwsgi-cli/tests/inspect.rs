//! `uwsgi inspect` as a program: the same output and `--json` schema as the old example.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;
use uwsgi_codec::PacketRef;

/// The repository root (the captures live in its tests/).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The exit code is `code`; a failure shows both outputs.
    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `uwsgi inspect` with `args`, feeding `stdin` (empty if `None`).
fn inspect(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_uwsgi"))
        .arg("inspect")
        .args(args)
        .current_dir(REPO)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("uwsgi runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.unwrap_or_default().to_vec();
    // A thread, so a child that writes before it has read everything cannot deadlock us.
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().expect("uwsgi finishes");
    writer
        .join()
        .expect("writer thread")
        .expect("stdin written");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The `--json` output: exactly `count` lines, each one JSON object.
fn json_lines(run: &Run, count: usize) -> Vec<Value> {
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), count, "{}", run.stdout);
    lines
}

fn capture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{REPO}/tests/captures/{name}")).expect("capture exists")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kv(key: &[u8], value: &[u8]) -> Vec<u8> {
    let len = |b: &[u8]| u16::try_from(b.len()).expect("short").to_le_bytes();
    [&len(key)[..], key, &len(value), value].concat()
}

/// PROTOCOL.md §11 `BASE`: three vars, 62 bytes.
fn base() -> Vec<u8> {
    [
        kv(b"REQUEST_METHOD", b"GET"),
        kv(b"PATH_INFO", b"/"),
        kv(b"SERVER_PROTOCOL", b"HTTP/1.1"),
    ]
    .concat()
}

#[test]
fn default_run_dumps_the_bundled_capture() {
    let run = inspect(&[], None);
    run.assert_code(0);
    for expected in [
        "tests/captures/nginx-get.bin",
        "modifier1: 0 (WSGI)",
        "datasize: 1010",
        "vars: 24 pairs",
        "REQUEST_METHOD",
        "\"GET\"",
        "HTTP_X_CAPTURE_NAME",
        "\"nginx_get\"",
        "body: 0 bytes",
        "1 packet, every byte decoded",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn json_of_the_post_capture_matches_the_library() {
    let wire = capture("nginx-post.bin");
    let packet = PacketRef::parse(&wire)
        .expect("the capture parses")
        .complete()
        .expect("the capture is whole");
    let run = inspect(&["--json", "tests/captures/nginx-post.bin"], None);
    run.assert_code(0);
    let lines = json_lines(&run, 1);
    let object = &lines[0];
    assert_eq!(object["modifier1"], 0);
    assert_eq!(object["datasize"], 442);
    assert_eq!(object["modifier2"], 0);
    assert_eq!(object["body_len"], 5);
    let expected: Vec<Value> = packet
        .vars()
        .expect("a vars block")
        .iter()
        .map(|(key, value)| {
            serde_json::json!({
                "key": std::str::from_utf8(key).ok(),
                "value": std::str::from_utf8(value).ok(),
                "key_hex": hex(key),
                "value_hex": hex(value),
            })
        })
        .collect();
    assert_eq!(expected.len(), 19);
    assert_eq!(object["vars"], Value::Array(expected));
}

#[test]
fn hex_stdin_with_a_truncated_key_length_is_an_error_at_66() {
    // PROTOCOL.md §11 case 13: H(0,63,0) BASE 00, as spaced hex over two lines.
    let wire = [&[0x00, 63, 0x00, 0x00][..], &base(), &[0x00]].concat();
    let (first, second) = wire.split_at(20);
    let text = format!(" {}\n\t{}\n", hex(first), hex(second).replace("00", "00 "));
    let run = inspect(&["--json", "--hex", "-"], Some(text.as_bytes()));
    run.assert_code(1);
    let lines = json_lines(&run, 1);
    let error = &lines[0]["error"];
    assert_eq!(error["kind"], "TruncatedLength");
    assert_eq!(error["offset"], 66);
    assert_eq!(
        error["message"],
        "block ends inside the 2-byte key length at offset 66"
    );
}

#[test]
fn http_on_stdin_is_a_foreign_protocol() {
    let run = inspect(
        &["--json", "-"],
        Some(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
    );
    run.assert_code(1);
    let lines = json_lines(&run, 1);
    let error = &lines[0]["error"];
    assert_eq!(error["kind"], "ForeignProtocol");
    assert_eq!(error["offset"], 0);
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains("uwsgi_pass"), "{message}");
}

#[test]
fn concatenated_packets_give_one_line_each() {
    // POST + its 5-byte body, then a bodyless GET, then an RPC array (m1 173, §11 case 37).
    let rpc = b"\xad\x0d\x00\x00\x05\x00hello\x01\x00a\x01\x00b";
    let stream = [
        capture("nginx-post.bin"),
        capture("nginx-get.bin"),
        rpc.to_vec(),
    ]
    .concat();
    let run = inspect(&["--json", "-"], Some(&stream));
    run.assert_code(0);
    let lines = json_lines(&run, 3);
    assert_eq!(lines[0]["datasize"], 442);
    assert_eq!(lines[0]["body_len"], 5);
    assert_eq!(lines[1]["datasize"], 1010);
    assert_eq!(lines[1]["body_len"], 0);
    assert_eq!(lines[1]["vars"][1]["value"], "GET");
    assert_eq!(lines[2]["modifier1"], 173);
    assert_eq!(lines[2]["vars"], serde_json::json!([]));
    assert_eq!(
        lines[2]["items"],
        serde_json::json!(["68656c6c6f", "61", "62"])
    );
}

#[test]
fn text_dump_of_a_stream_shows_bodies_and_stops_at_a_truncated_packet() {
    // The POST and its body, then a ping with a raw payload, then 6 bytes of a 66-byte packet.
    let ping = b"\x64\x03\x00\x00abc";
    let truncated = [&[0x00, 62, 0x00, 0x00][..], &base()[..2]].concat();
    let stream = [capture("nginx-post.bin"), ping.to_vec(), truncated].concat();
    let run = inspect(&["-"], Some(&stream));
    run.assert_code(1);
    for expected in [
        "packet 1 at input offset 0..446",
        "body: 5 bytes (CONTENT_LENGTH \"5\"): \"hello\"",
        "packet 2 at input offset 451..458",
        "modifier1: 100 (ping)",
        "raw: 3 bytes: \"abc\"",
        "packet 3 at input offset 458",
        "error: UnexpectedEof",
        "60 more needed",
        "hint: the peer closed the connection",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    let run = inspect(&["--max-datasize", "x"], None);
    run.assert_code(2);
    let run = inspect(&["--hex"], None);
    run.assert_code(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = inspect(&["/no/such/file"], None);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("uwsgi inspect: cannot read /no/such/file"),
        "{}",
        run.stderr
    );
    let run = inspect(&["--hex", "-"], Some(b"0g"));
    run.assert_code(2);
}
