#!/usr/bin/env python3
"""Replay the request-side decode vectors against a running application server, without Rust.

  replay_vectors.py HOST:PORT [--vectors DIR] [--json OUT] [--expect-fail FILE] [--timeout S]

A standard-library replica of the old byte-level runner (examples/conformance.rs, now `uwsgi conformance`), for peers the Rust runner is not
at hand for (it reproduces its old uWSGI list exactly for Debian's uWSGI
with hello.py). Which vectors run: request direction, not a datagram, default options, at least
4 bytes, a request family by PROTOCOL.md §3 (modifier1 173 only with modifier2 2-4), and no
code- or process-affecting UWSGI_* var; the rest are SKIP. A vector is well-formed when its expect
is a packet whose after_hex holds body_len bytes or frames without an error; else malformed.
Each runs on a fresh connection: all bytes written, write side shut down, reply read until
close / reset / a status line / the timeout (default 3 s). A well-formed vector passes on any
status line; a malformed one passes if no 2xx came AND a valid GET on a new connection is still
answered. Prints `VERDICT name: outcome` per vector and a summary; --json writes every result
(with the exact outcome: status code, "closed without a reply", "reset", "timeout").
"""
import argparse
import glob
import json
import os
import re
import socket
import sys
import time

LISTED_NON_REQUEST = {1, 2, 3, 10, 17, 22, 31, 32, 33, 48, 72, 73, 74, 95, 96, 97, 98, 100, 101,
                      109, 110, 111, 115, 123, 200, 224, 255}
ROUTING_MAGIC = {b"UWSGI_CACHE_GET", b"UWSGI_APPID", b"UWSGI_SCHEME"}
STATUS = re.compile(rb"HTTP/\d\.\d (\d{3})[ \r\n]")


def hexdata(h):
    if isinstance(h, str):
        return bytes.fromhex(h)
    if isinstance(h, dict):
        return bytes.fromhex(h["repeat"]) * h["count"]
    return b"".join(hexdata(x) for x in h)


def keys(block):
    pos, out = 0, []
    while pos + 2 <= len(block):
        klen = int.from_bytes(block[pos:pos + 2], "little")
        if klen == 0 or pos + 2 + klen > len(block):
            break
        out.append(block[pos + 2:pos + 2 + klen])
        pos += 2 + klen
        if pos + 2 > len(block):
            break
        pos += 2 + int.from_bytes(block[pos:pos + 2], "little")
    return out


def plan(v):
    """(expect, wire) or (None, why it is skipped)."""
    o = v.get("options", {})
    if o.get("direction", "request") != "request":
        return None, "a reply"
    if o.get("datagram"):
        return None, "a datagram"
    if (o.get("max_datasize", 65535) < 65535 or o.get("max_vars") is not None
            or o.get("foreign_check", True) is False or o.get("magic_policy", "allow") != "allow"
            or o.get("mode", "one-request") != "one-request"):
        return None, "non-default options"
    wire = hexdata(v["wire_hex"])
    if len(wire) < 4:
        return None, "shorter than a header"
    m1, m2 = wire[0], wire[3]
    if (m1 == 173 and m2 not in (2, 3, 4)) or (m1 != 173 and m1 in LISTED_NON_REQUEST):
        return None, "not a request family (modifier1 %d, modifier2 %d)" % (m1, m2)
    datasize = wire[1] | wire[2] << 8
    if any(k.startswith(b"UWSGI_") and k not in ROUTING_MAGIC for k in keys(wire[4:4 + datasize])):
        return None, "carries a code-affecting magic var"
    e = v["expect"]
    if "error" in e:
        return "refusal", wire
    if "frames" in e:
        return ("refusal" if any("error" in f for f in e["frames"]) else "response"), wire
    p = e["packet"]
    return ("response" if len(hexdata(p.get("after_hex", ""))) >= p.get("body_len", 0)
            else "refusal"), wire


def exchange(port_addr, wire, timeout):
    """(status code or None, how it ended)."""
    deadline, reply, end = time.monotonic() + timeout, b"", "closed without a reply"
    try:
        s = socket.create_connection(port_addr, timeout=timeout)
    except OSError as e:
        return None, "no connection: %s" % e
    with s:
        try:
            s.sendall(wire)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            end = "closed while sending"
        while True:  # bounded by the deadline
            if time.monotonic() >= deadline:
                end = "timeout"
                break
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                end = "timeout"
                break
            except OSError:
                end = "reset"
                break
            if not chunk:
                break
            reply += chunk
            while True:  # skip interim 1xx responses
                m = STATUS.match(reply)
                if m and m.group(1).startswith(b"1") and b"\r\n\r\n" in reply:
                    reply = reply[reply.index(b"\r\n\r\n") + 4:]
                    continue
                break
            m = STATUS.match(reply)
            if m or (len(reply) >= 16 and not reply.startswith(b"HTTP/")):
                break
    m = STATUS.match(reply)
    if m:
        return int(m.group(1)), m.group(1).decode()
    if reply:
        return None, "%d bytes that are not HTTP" % len(reply)
    return None, end


def good_get():
    pairs = [("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
             ("CONTENT_LENGTH", ""), ("REQUEST_URI", "/"), ("PATH_INFO", "/"),
             ("DOCUMENT_ROOT", "/var/www/html"), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "5000"),
             ("SERVER_PORT", "80"), ("SERVER_NAME", "localhost"), ("HTTP_HOST", "localhost")]
    block = b"".join(len(k).to_bytes(2, "little") + k.encode() + len(v).to_bytes(2, "little")
                     + v.encode() for k, v in pairs)
    return b"\x00" + len(block).to_bytes(2, "little") + b"\x00" + block


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", help="HOST:PORT")
    ap.add_argument("--vectors", default=os.path.join(here, "..", "vectors"))
    ap.add_argument("--json")
    ap.add_argument("--expect-fail")
    ap.add_argument("--timeout", type=float, default=3.0)
    a = ap.parse_args()
    host, _, port = a.target.rpartition(":")
    addr = (host or "127.0.0.1", int(port))
    listed = set()
    if a.expect_fail:
        with open(a.expect_fail) as f:
            listed = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
    good = good_get()
    if exchange(addr, good, a.timeout)[0] is None:
        sys.exit("replay_vectors: %s does not answer a valid GET" % a.target)
    results, counts = [], {}
    for path in sorted(glob.glob(os.path.join(a.vectors, "*.json"))):
        with open(path) as f:
            doc = json.load(f)
        if doc.get("schema", "uwsgi-vectors/decode/1") != "uwsgi-vectors/decode/1":
            continue
        for v in doc["vectors"]:
            r = {"name": v["name"], "file": os.path.basename(path)}
            expect, wire = plan(v)
            if expect is None:
                r.update(verdict="SKIP", outcome=wire)
            else:
                code, how = exchange(addr, wire, a.timeout)
                if expect == "response":
                    passed = code is not None
                elif code is not None and 200 <= code < 300:
                    passed = False
                else:
                    good_code, good_how = exchange(addr, good, a.timeout)
                    passed = good_code is not None
                    if not passed:
                        how += "; then a valid GET got: " + good_how
                listed_here = v["name"] in listed
                verdict = {(True, False): "PASS", (False, False): "FAIL",
                           (False, True): "XFAIL", (True, True): "XPASS"}[(passed, listed_here)]
                r.update(verdict=verdict, expect=expect, code=code, outcome=how)
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
            results.append(r)
            print("%s %s: %s%s" % (r["verdict"], r["name"],
                                   (r["expect"] + " expected, got ") if "expect" in r else "",
                                   r["outcome"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    print("replay: %d pass, %d fail, %d skip, %d xfail, %d xpass"
          % tuple(counts.get(k, 0) for k in ("PASS", "FAIL", "SKIP", "XFAIL", "XPASS")))
    return 1 if counts.get("FAIL") or counts.get("XPASS") else 0


if __name__ == "__main__":
    sys.exit(main())
