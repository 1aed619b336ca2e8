#!/usr/bin/env python3
"""Send exact bytes to a peer on loopback and show what came back (standard library only).

  uwsgi_send.py HOST:PORT --hex 003e0000...          the bytes, as hex (spaces allowed)
  uwsgi_send.py HOST:PORT --var REQUEST_METHOD=GET --var PATH_INFO=/ [--body TEXT] [--m1 N] [--m2 N]
                                                     build one packet: vars in this order,
                                                     CONTENT_LENGTH only if given as a --var
  options: --no-shut (keep the write side open; default: half-close after sending, so a peer
           waiting for more bytes sees EOF), --timeout S (default 3), --raw (print the whole
           reply instead of the summary)

Prints the hex that was sent, how the exchange ended (closed / reset / timeout) and every HTTP
response in the reply (several on a kept-alive connection). When a response body is appview.py's
JSON it prints its main fields and the vars it saw. Works for HTTP front ends too: --hex of a raw
HTTP request. Used by the reproductions in tests/vectors/FINDINGS.md.
"""
import argparse
import json
import socket
import sys
import time


def packet(pairs, m1=0, m2=0, body=b""):
    block = b"".join(len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v
                     for k, v in pairs)
    return bytes([m1]) + len(block).to_bytes(2, "little") + bytes([m2]) + block + body


def exchange(host, port, data, shut=True, timeout=3.0):
    reply, end = bytearray(), "closed"
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            end = "send failed: %s" % e
        while time.monotonic() < deadline:  # bounded by the timeout
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                end = "timeout"
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not chunk:
                break
            reply += chunk
        else:
            end = "timeout"
    return bytes(reply), end


def responses(reply):
    """Split on Content-Length; the last one without it runs to the end."""
    out, rest = [], reply
    for _ in range(16):
        head, sep, after = rest.partition(b"\r\n\r\n")
        if not rest or not sep:
            if rest:
                out.append((None, rest))
            break
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body, rest = (after[:length], after[length:]) if length is not None else (after, b"")
        out.append((head, body))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", help="HOST:PORT")
    ap.add_argument("--hex")
    ap.add_argument("--var", action="append", default=[], help="KEY=VALUE (latin-1)")
    ap.add_argument("--body", default="")
    ap.add_argument("--m1", type=int, default=0)
    ap.add_argument("--m2", type=int, default=0)
    ap.add_argument("--no-shut", action="store_true")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--raw", action="store_true")
    a = ap.parse_args()
    host, _, port = a.target.rpartition(":")
    if a.hex:
        data = bytes.fromhex(a.hex.replace(" ", ""))
    else:
        pairs = [tuple(x.encode("latin-1") for x in v.split("=", 1)) for v in a.var]
        data = packet(pairs, a.m1, a.m2, a.body.encode("latin-1"))
    print("sent %d bytes: %s" % (len(data), data.hex()))
    reply, end = exchange(host or "127.0.0.1", int(port), data, not a.no_shut, a.timeout)
    print("end: %s after %d reply bytes" % (end, len(reply)))
    if a.raw:
        sys.stdout.write(reply.decode("latin-1") + "\n")
        return 0
    for i, (head, body) in enumerate(responses(reply)):
        if head is None:
            print("[%d] not HTTP: %r" % (i, body[:200]))
            continue
        print("[%d] %s" % (i, head.split(b"\r\n")[0].decode("latin-1")))
        try:
            j = json.loads(body)
        except ValueError:
            print("    body: %r" % body[:200])
            continue
        fields = {k: j.get(k) for k in ("method", "path", "query", "script_name", "request_uri",
                                        "content_length", "body_len", "body_complete",
                                        "body_head_hex", "body_error")}
        print("    " + json.dumps(fields))
        for entry in j.get("environ", []):
            print("    %s" % json.dumps(entry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
