#!/usr/bin/env python3
"""Minimal uwsgi capture server (standard library only).

Listens on 127.0.0.1:PORT. For each connection it reads exactly one uwsgi
packet (4-byte header + datasize bytes of vars), then CONTENT_LENGTH body
bytes, writes the exact bytes received (packet + body) to OUT_DIR/<name>.bin,
answers a fixed raw HTTP response and closes the connection.

<name> is the value of the HTTP_X_CAPTURE_NAME var (the client header
X-Capture-Name), restricted to [A-Za-z0-9._-]; otherwise capture-NNN.

The server stops by itself after --count connections or after --timeout
seconds in total, whichever comes first. Every socket operation has a
timeout and every loop is bounded, so it cannot hang.

Exit status: 0 = --count packets captured cleanly; 1 = at least one
connection failed (short read, malformed packet, ...); 2 = the overall
timeout expired before --count connections arrived.
"""

import argparse
import os
import re
import socket
import sys
import time

HEADER_LEN = 4
REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
MAX_BODY = 64 * 1024 * 1024  # refuse to buffer absurd bodies
NAME_RE = re.compile(rb"^[A-Za-z0-9._-]{1,100}$")


class CaptureError(Exception):
    pass


def log(msg):
    print("recorder: " + msg, file=sys.stderr, flush=True)


def recv_exact(sock, n, received):
    """Read exactly n bytes into `received` (a bytearray); bounded by n.

    Each iteration either appends >= 1 byte or raises, so the loop runs at
    most n times; each recv() is bounded by the socket timeout.
    """
    remaining = n
    while remaining > 0:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise CaptureError(
                "EOF after %d bytes, %d more expected" % (len(received), remaining))
        received += chunk
        remaining -= len(chunk)


def parse_vars(block):
    """Strict decoder of a uwsgi vars block -> list of (key, value) bytes."""
    pairs = []
    pos = 0
    end = len(block)
    while pos < end:  # each iteration advances pos by >= 5 or raises
        if end - pos < 2:
            raise CaptureError("truncated key length at block offset %d" % pos)
        klen = block[pos] | (block[pos + 1] << 8)
        if klen == 0:
            raise CaptureError("empty key at block offset %d" % pos)
        pos += 2
        if klen > end - pos:
            raise CaptureError("key overrun at block offset %d" % (pos - 2))
        key = bytes(block[pos:pos + klen])
        pos += klen
        if end - pos < 2:
            raise CaptureError("truncated value length at block offset %d" % pos)
        vlen = block[pos] | (block[pos + 1] << 8)
        pos += 2
        if vlen > end - pos:
            raise CaptureError("value overrun at block offset %d" % (pos - 2))
        pairs.append((key, bytes(block[pos:pos + vlen])))
        pos += vlen
    return pairs


def content_length(pairs):
    values = [v for k, v in pairs if k == b"CONTENT_LENGTH"]
    if not values:
        return 0
    if len(set(values)) > 1:
        raise CaptureError("conflicting CONTENT_LENGTH values %r" % values)
    v = values[0]
    if v == b"":
        return 0
    if not v.isdigit() or not v.isascii():
        raise CaptureError("invalid CONTENT_LENGTH %r" % v)
    n = int(v)
    if n > MAX_BODY:
        raise CaptureError("CONTENT_LENGTH %d over the recorder's limit" % n)
    return n


def capture_name(pairs, counter):
    names = [v for k, v in pairs if k == b"HTTP_X_CAPTURE_NAME"]
    if names and NAME_RE.match(names[-1]) and names[-1] not in (b".", b".."):
        return names[-1].decode("ascii")
    return "capture-%03d" % counter


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def handle(conn, out_dir, counter, io_timeout):
    conn.settimeout(io_timeout)
    received = bytearray()
    try:
        recv_exact(conn, HEADER_LEN, received)
        m1, datasize, m2 = received[0], received[1] | (received[2] << 8), received[3]
        recv_exact(conn, datasize, received)
        pairs = parse_vars(received[HEADER_LEN:HEADER_LEN + datasize])
        body_len = content_length(pairs)
        recv_exact(conn, body_len, received)
    except (CaptureError, OSError) as e:
        path = os.path.join(out_dir, "capture-%03d.error" % counter)
        write_atomic(path, bytes(received))
        log("connection %d failed: %s (%d bytes kept in %s)" % (counter, e, len(received), path))
        return False

    name = capture_name(pairs, counter)
    path = os.path.join(out_dir, name + ".bin")
    if os.path.exists(path):
        log("warning: %s already exists, overwriting" % path)
    write_atomic(path, bytes(received))
    log("%s: m1=%d datasize=%d m2=%d vars=%d body=%d -> %s"
        % (name, m1, datasize, m2, len(pairs), body_len, path))

    # nginx sends nothing after the body; note it if a peer ever does.
    try:
        conn.settimeout(0.05)
        extra = conn.recv(65536)
        if extra:
            log("warning: %s: %d unexpected bytes after the body (not saved)" % (name, len(extra)))
    except (socket.timeout, OSError):
        pass

    try:
        conn.settimeout(io_timeout)
        conn.sendall(REPLY)
        conn.shutdown(socket.SHUT_WR)
    except OSError as e:
        log("warning: %s: reply failed: %s" % (name, e))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("out_dir", help="directory for the captured .bin files")
    ap.add_argument("--count", type=int, default=1, help="stop after this many connections")
    ap.add_argument("--timeout", type=float, default=60.0, help="stop after this many seconds")
    ap.add_argument("--io-timeout", type=float, default=5.0, help="per-connection socket timeout")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    port = srv.getsockname()[1]
    if args.port_file:
        write_atomic(args.port_file, ("%d\n" % port).encode())
    log("listening on 127.0.0.1:%d, %d connection(s), %.0fs timeout"
        % (port, args.count, args.timeout))

    deadline = time.monotonic() + args.timeout
    ok = failed = 0
    for counter in range(1, args.count + 1):  # bounded: one iteration per connection
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        srv.settimeout(remaining)
        try:
            conn, peer = srv.accept()
        except socket.timeout:
            break
        with conn:
            if handle(conn, args.out_dir, counter, args.io_timeout):
                ok += 1
            else:
                failed += 1
    srv.close()

    handled = ok + failed
    log("done: %d captured, %d failed, %d of %d connections" % (ok, failed, handled, args.count))
    if failed:
        return 1
    if handled < args.count:
        log("timed out waiting for connections")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
