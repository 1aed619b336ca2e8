#!/usr/bin/env python3
"""A lenient uwsgi upstream that records what a front end sends (standard library only).

  uwsgi_record.py PORT OUT_DIR [--timeout S] [--port-file F]

Listens on 127.0.0.1:PORT (0 = any free port, written to --port-file). For every connection it
reads the 4-byte header and the datasize bytes of the block, decodes the vars without giving up on
errors, reads CONTENT_LENGTH body bytes (leading-digits value; 0 if absent or not a number), then
whatever else arrives within 0.5 s, and saves:
  OUT_DIR/NAME.bin   every byte received, in order
  OUT_DIR/NAME.json  m1, datasize, m2, vars (latin-1 text), vars_error, content_length_values,
                     body_received, extra_len / extra_head (bytes after the framed body), status
NAME is the last HTTP_X_CAPTURE_NAME var (send `X-Capture-Name: x` through the front end) plus
"-NNN", else conn-NNN. It answers `HTTP/1.1 200 OK ... ok` and closes. Unlike
tests/vectors/record/recorder.py it never refuses what it gets: it is for finding out what a peer
sends, not for making vectors. Stops after --timeout seconds (default 600); stop it earlier by PID.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def parse_vars(block):
    pairs, pos, err = [], 0, None
    while pos < len(block):  # each pass advances pos or breaks
        if len(block) - pos < 2:
            err = "truncated key length at block offset %d" % pos
            break
        klen = int.from_bytes(block[pos:pos + 2], "little")
        if klen == 0:
            err = err or "empty key at block offset %d" % pos
        if klen > len(block) - pos - 2:
            err = "key overrun at block offset %d" % pos
            break
        key = block[pos + 2:pos + 2 + klen]
        pos += 2 + klen
        if len(block) - pos < 2:
            err = "truncated value length at block offset %d" % pos
            break
        vlen = int.from_bytes(block[pos:pos + 2], "little")
        if vlen > len(block) - pos - 2:
            err = "value overrun at block offset %d" % pos
            break
        pairs.append((key, block[pos + 2:pos + 2 + vlen]))
        pos += 2 + vlen
    return pairs, err


def recv_into(conn, n, buf, deadline):
    """Read up to n bytes into buf until the deadline: None when all came, else why not."""
    while n > 0:
        if time.monotonic() >= deadline:
            return "timeout"
        try:
            chunk = conn.recv(min(n, 65536))
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return "error: %s" % e
        if not chunk:
            return "eof"
        buf += chunk
        n -= len(chunk)
    return None


def leading_digits(value):
    digits = b""
    for b in value:
        if not 0x30 <= b <= 0x39:
            break
        digits += bytes([b])
    return int(digits) if digits else 0


def handle(conn, index, out_dir):
    conn.settimeout(1.0)
    buf, meta = bytearray(), {}
    deadline = time.monotonic() + 5
    status = recv_into(conn, 4, buf, deadline)
    pairs = []
    if status is None:
        datasize = buf[1] | buf[2] << 8
        meta.update(m1=buf[0], datasize=datasize, m2=buf[3])
        status = recv_into(conn, datasize, buf, deadline)
        if status is None:
            pairs, meta["vars_error"] = parse_vars(bytes(buf[4:]))
            meta["vars"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in pairs]
            lengths = [v for k, v in pairs if k == b"CONTENT_LENGTH"]
            meta["content_length_values"] = [v.decode("latin-1") for v in lengths]
            want = min(leading_digits(lengths[-1]), 64 << 20) if lengths else 0
            status = recv_into(conn, want, buf, deadline)
            meta["body_received"] = len(buf) - 4 - datasize
            extra = bytearray()
            conn.settimeout(0.5)
            recv_into(conn, 1 << 20, extra, time.monotonic() + 0.5)
            meta["extra_len"] = len(extra)
            meta["extra_head"] = bytes(extra[:200]).decode("latin-1")
            buf += extra
    meta["status"] = status or "complete"
    meta["total_len"] = len(buf)
    names = [v for k, v in pairs if k == b"HTTP_X_CAPTURE_NAME"]
    name = (names[-1].decode("latin-1") if names else "conn") + "-%03d" % index
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
        f.write(bytes(buf))
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("uwsgi_record: %s: %d bytes, datasize %s, %d vars, error %s, body %s, extra %s"
          % (name, len(buf), meta.get("datasize"), len(pairs), meta.get("vars_error"),
             meta.get("body_received"), meta.get("extra_len")), file=sys.stderr, flush=True)
    try:
        conn.settimeout(2)
        conn.sendall(REPLY)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("out_dir")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(64)
    if a.port_file:
        with open(a.port_file, "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
    end = time.monotonic() + a.timeout
    for index in range(1, 100001):  # bounded: one pass per connection
        if time.monotonic() >= end:
            break
        srv.settimeout(max(0.1, end - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        threading.Thread(target=handle, args=(conn, index, a.out_dir), daemon=True).start()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
