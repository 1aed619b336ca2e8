#!/usr/bin/env python3
"""Turn raw nginx captures (record.sh / recorder.py) into tests/vectors/nginx.json.

Standard library only. The vars are decoded by the small strict decoder below,
independently of the Rust crate, and checked against what PROTOCOL.md §8 says
nginx 1.22 sends, so a regeneration that changes behaviour fails loudly.

Also copies the browser-like GET capture to tests/captures/nginx-get.bin and
the small POST capture to tests/captures/nginx-post.bin.

Usage: make_vectors.py --captures DIR [--out FILE] [--captures-out DIR]
                       [--nginx PATH | --nginx-version X.Y.Z]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

# Debian bookworm /etc/nginx/uwsgi_params, in order (HTTPS is `if_not_empty`: absent on http).
PARAMS = [b"QUERY_STRING", b"REQUEST_METHOD", b"CONTENT_TYPE", b"CONTENT_LENGTH",
          b"REQUEST_URI", b"PATH_INFO", b"DOCUMENT_ROOT", b"SERVER_PROTOCOL",
          b"REQUEST_SCHEME", b"REMOTE_ADDR", b"REMOTE_PORT", b"SERVER_PORT",
          b"SERVER_NAME", b"HTTP_HOST"]


# --- independent strict decoder ---------------------------------------------------------------

class DecodeError(Exception):
    pass


def decode(wire):
    """wire = packet + body -> dict with header fields, vars, body_len, after."""
    if len(wire) < 4:
        raise DecodeError("shorter than the 4-byte header")
    m1, datasize, m2 = wire[0], wire[1] | (wire[2] << 8), wire[3]
    if len(wire) < 4 + datasize:
        raise DecodeError("block truncated: datasize %d, %d bytes present" % (datasize, len(wire) - 4))
    block = wire[4:4 + datasize]
    pairs, pos = [], 0
    while pos < len(block):
        if len(block) - pos < 2:
            raise DecodeError("truncated key length at offset %d" % (4 + pos))
        klen = int.from_bytes(block[pos:pos + 2], "little")
        if klen == 0:
            raise DecodeError("empty key at offset %d" % (4 + pos))
        if klen > len(block) - pos - 2:
            raise DecodeError("key overrun at offset %d" % (4 + pos))
        key = block[pos + 2:pos + 2 + klen]
        pos += 2 + klen
        if len(block) - pos < 2:
            raise DecodeError("truncated value length at offset %d" % (4 + pos))
        vlen = int.from_bytes(block[pos:pos + 2], "little")
        if vlen > len(block) - pos - 2:
            raise DecodeError("value overrun at offset %d" % (4 + pos))
        pairs.append((key, block[pos + 2:pos + 2 + vlen]))
        pos += 2 + vlen
    cls = [v for k, v in pairs if k == b"CONTENT_LENGTH"]
    if any(v != cls[0] for v in cls):
        raise DecodeError("conflicting CONTENT_LENGTH %r" % cls)
    if not cls or cls[0] == b"":
        body_len = 0
    elif re.fullmatch(rb"[0-9]+", cls[0]):
        body_len = int(cls[0])
    else:
        raise DecodeError("invalid CONTENT_LENGTH %r" % cls[0])
    after = wire[4 + datasize:]
    if len(after) != body_len:
        raise DecodeError("capture has %d bytes after the packet, CONTENT_LENGTH says %d"
                          % (len(after), body_len))
    return {"modifier1": m1, "datasize": datasize, "modifier2": m2,
            "vars": pairs, "body_len": body_len, "after": after}


# --- what each capture is, and what must hold for it ------------------------------------------

def get(d, key):
    vals = [v for k, v in d["vars"] if k == key]
    return vals[-1] if vals else None


def keys(d):
    return [k for k, _ in d["vars"]]


def check_get_query(d):
    assert keys(d)[:4] == [b"QUERY_STRING", b"REQUEST_METHOD", b"CONTENT_TYPE", b"CONTENT_LENGTH"]
    assert get(d, b"QUERY_STRING") == b"x=1"
    assert get(d, b"REQUEST_URI") == b"/a/b%20c?x=1"
    assert get(d, b"PATH_INFO") == b"/a/b c"
    assert get(d, b"CONTENT_TYPE") == b"" and get(d, b"CONTENT_LENGTH") == b""
    # Debian's uwsgi_params sends `HTTP_HOST $host`: the client's Host (127.0.0.1:PORT) loses its port
    assert get(d, b"HTTP_HOST") == b"127.0.0.1"


def check_benchmark_get(d):
    n, size = len(d["vars"]), 4 + d["datasize"]
    assert 20 <= n <= 25, "nginx_get has %d vars, want 20-25" % n
    assert 700 <= size <= 1200, "nginx_get packet is %d bytes, want 700-1200" % size


def check_post_small(d):
    assert d["after"] == b"hello"
    assert get(d, b"CONTENT_LENGTH") == b"5" and get(d, b"HTTP_CONTENT_LENGTH") == b"5"
    assert get(d, b"CONTENT_TYPE") == b"text/plain" == get(d, b"HTTP_CONTENT_TYPE")


def check_post_empty(d):
    assert get(d, b"CONTENT_LENGTH") == b"0" and d["after"] == b""


def check_post_binary(d):
    assert d["after"] == bytes((i * 37 + 11) & 0xFF for i in range(4096))


def check_chunked(d):
    assert get(d, b"HTTP_TRANSFER_ENCODING") == b"chunked"
    assert get(d, b"HTTP_CONTENT_LENGTH") is None
    assert get(d, b"CONTENT_LENGTH") == b"3000" and len(d["after"]) == 3000


def check_repeated(d):
    assert [v for k, v in d["vars"] if k == b"HTTP_X_FOO"] == [b"1", b"2"]
    assert not any(k.startswith(b"HTTP_X_BAR") or k.startswith(b"HTTP_X-BAR") for k in keys(d))


def check_big_cookie(d):
    assert len(get(d, b"HTTP_COOKIE")) > 5000


def check_nonutf8_escaped(d):
    assert get(d, b"PATH_INFO") == b"/caf\xe9/\xff\xfe/x"
    assert get(d, b"QUERY_STRING") == b"q=%FF"


def check_raw_bytes(d):
    assert b"\xff\xfe" in get(d, b"REQUEST_URI") and b"\xe9" in get(d, b"HTTP_X_LATIN1")


def check_method(method):
    def check(d):
        assert get(d, b"REQUEST_METHOD") == method
    return check


def check_http10(d):
    assert get(d, b"SERVER_PROTOCOL") == b"HTTP/1.0"


def check_options(d):
    assert get(d, b"REQUEST_METHOD") == b"OPTIONS"
    assert get(d, b"CONTENT_LENGTH") == b"" and d["after"] == b""
    assert get(d, b"HTTP_ORIGIN") == b"http://example.com"
    assert get(d, b"HTTP_ACCESS_CONTROL_REQUEST_METHOD") == b"PUT"


def check_put_json(d):
    assert get(d, b"REQUEST_METHOD") == b"PUT"
    assert get(d, b"CONTENT_TYPE") == b"application/json"
    assert d["after"].startswith(b'{"id":7') and get(d, b"CONTENT_LENGTH") == b"%d" % len(d["after"])


def check_long_query(d):
    q = get(d, b"QUERY_STRING")
    assert len(q) == 3002 and q.startswith(b"q=0000-0001-")
    assert get(d, b"REQUEST_URI") == b"/search?" + q


def check_http10_post(d):
    assert get(d, b"SERVER_PROTOCOL") == b"HTTP/1.0" and get(d, b"REQUEST_METHOD") == b"POST"
    assert get(d, b"CONTENT_TYPE") == b"application/x-www-form-urlencoded"
    assert d["after"] == b"a=1&b=two+words"


def check_expect_continue(d):
    assert get(d, b"HTTP_EXPECT") == b"100-continue"
    assert get(d, b"CONTENT_LENGTH") == b"2048" and len(d["after"]) == 2048


VECTORS = [
    ("nginx_get_query", "GET /a/b%20c?x=1 (curl -A t): QUERY_STRING first, escaped REQUEST_URI, "
     "decoded PATH_INFO, empty CONTENT_TYPE/CONTENT_LENGTH", check_get_query),
    ("nginx_get", "browser-like GET (Firefox-style User-Agent, Accept*, Referer, Cookie, Sec-Fetch-*, Connection); "
     "the nginx_get benchmark workload", check_benchmark_get),
    ("nginx_post_small", "POST of 'hello' as text/plain: CONTENT_LENGTH 5 and "
     "HTTP_CONTENT_TYPE/HTTP_CONTENT_LENGTH duplicates, 5-byte body", check_post_small),
    ("nginx_post_empty", "POST with Content-Length: 0: CONTENT_LENGTH '0', no body", check_post_empty),
    ("nginx_post_binary", "POST of 4096 binary bytes (every byte value, NUL included) as "
     "application/octet-stream", check_post_binary),
    ("nginx_post_chunked", "chunked 3000-byte upload: nginx de-chunks, sends computed "
     "CONTENT_LENGTH 3000 plus HTTP_TRANSFER_ENCODING chunked, no HTTP_CONTENT_LENGTH", check_chunked),
    ("nginx_repeated_headers", "X-Foo: 1 and X-Foo: 2 become two HTTP_X_FOO vars (nginx 1.22 "
     "duplicates); header X_Bar (underscore) is dropped", check_repeated),
    ("nginx_big_cookie", "GET with a ~6 KB Cookie header (over uWSGI's default 4096 buffer-size)",
     check_big_cookie),
    ("nginx_nonutf8_escaped", "GET /caf%E9/%FF%FE/%C0%AF/../x?q=%FF (curl --path-as-is): PATH_INFO "
     "holds the decoded, dot-segment-resolved raw non-UTF-8 bytes", check_nonutf8_escaped),
    ("nginx_raw_bytes", "raw bytes >= 0x80 in the request line and in an X-Latin1 header value "
     "(sent with a Python socket)", check_raw_bytes),
    ("nginx_head", "HEAD /head: REQUEST_METHOD HEAD passed through", check_method(b"HEAD")),
    ("nginx_delete", "DELETE /items/42?force=1", check_method(b"DELETE")),
    ("nginx_http10_no_host", "HTTP/1.0 GET without a Host header: SERVER_PROTOCOL HTTP/1.0, "
     "HTTP_HOST from $host = server_name", check_http10),
    ("nginx_options_preflight", "CORS preflight OPTIONS /api/items/7: HTTP_ORIGIN and "
     "HTTP_ACCESS_CONTROL_REQUEST_* vars, empty CONTENT_LENGTH, no body", check_options),
    ("nginx_put_json", "PUT /api/items/7 with a 54-byte application/json body", check_put_json),
    ("nginx_long_query", "GET with a 3000-character query value: QUERY_STRING (3002 bytes) and "
     "REQUEST_URI carry it verbatim", check_long_query),
    ("nginx_http10_post", "HTTP/1.0 form POST (curl -d): SERVER_PROTOCOL HTTP/1.0, "
     "application/x-www-form-urlencoded, 15-byte body", check_http10_post),
    ("nginx_expect_continue", "POST with Expect: 100-continue (2048-byte text body): nginx answers "
     "the 100 itself, still forwards HTTP_EXPECT", check_expect_continue),
]


def check_common(name, d):
    assert d["modifier1"] == 0 and d["modifier2"] == 0, "modifiers %d/%d" % (d["modifier1"], d["modifier2"])
    ks = keys(d)
    assert ks[:len(PARAMS)] == PARAMS, "param order differs: %r" % ks[:len(PARAMS)]
    assert all(k.startswith(b"HTTP_") for k in ks[len(PARAMS):]), "non-HTTP_ var after the params"
    assert get(d, b"HTTP_X_CAPTURE_NAME") == name.encode()
    # the client's Host header is not sent again: nginx skips headers that a uwsgi_param already names
    assert ks.count(b"HTTP_HOST") == 1


# --- output -------------------------------------------------------------------------------------

def nginx_version(args):
    if args.nginx_version:
        return args.nginx_version
    exe = args.nginx or "nginx"
    try:
        out = subprocess.run([exe, "-v"], capture_output=True, timeout=10).stderr.decode()
    except (OSError, subprocess.TimeoutExpired) as e:
        sys.exit("make_vectors: cannot run %s -v (%s); pass --nginx-version" % (exe, e))
    m = re.search(r"nginx/(\S+)", out)
    if not m:
        sys.exit("make_vectors: cannot parse %r; pass --nginx-version" % out)
    return m.group(1)


def render(value, indent=0):
    """json.dumps(indent=2), except that {key_hex, value_hex} objects stay on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if set(value) == {"key_hex", "value_hex"}:
            return json.dumps(value)
        items = ['%s%s: %s' % (inner, json.dumps(k), render(v, indent + 1)) for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + render(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--captures", required=True, help="directory with <name>.bin captures")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "vectors", "nginx.json"))
    ap.add_argument("--captures-out", default=os.path.join(ROOT, "tests", "captures"))
    ap.add_argument("--nginx", help="nginx binary to ask for its version (default: nginx on PATH)")
    ap.add_argument("--nginx-version", help="use this version instead of running nginx -v")
    args = ap.parse_args()

    version = nginx_version(args)
    known = {name for name, _, _ in VECTORS}
    present = {f[:-4] for f in os.listdir(args.captures) if f.endswith(".bin")}
    if present - known:
        sys.exit("make_vectors: unexpected captures: %s" % ", ".join(sorted(present - known)))
    if known - present:
        sys.exit("make_vectors: missing captures: %s" % ", ".join(sorted(known - present)))

    vectors, wires, failed = [], {}, False
    for name, description, check in VECTORS:
        with open(os.path.join(args.captures, name + ".bin"), "rb") as f:
            wire = f.read()
        wires[name] = wire
        try:
            d = decode(wire)
            check_common(name, d)
            check(d)
        except (DecodeError, AssertionError, TypeError) as e:
            print("make_vectors: %s: %s" % (name, str(e) or "check failed at make_vectors.py line %d"
                                                      % traceback.extract_tb(e.__traceback__)[-1].lineno), file=sys.stderr)
            failed = True
            continue
        vectors.append({
            "name": name,
            "description": description,
            "source": "nginx %s capture" % version,
            "wire_hex": wire.hex(),
            "expect": {"packet": {
                "modifier1": d["modifier1"], "datasize": d["datasize"], "modifier2": d["modifier2"],
                "block_kind": "vars",
                "vars": [{"key_hex": k.hex(), "value_hex": v.hex()} for k, v in d["vars"]],
                "body_len": d["body_len"],
                "after_hex": d["after"].hex(),
            }},
        })
        print("make_vectors: %-24s datasize %5d  vars %2d  body %4d  wire %5d"
              % (name, d["datasize"], len(d["vars"]), d["body_len"], len(wire)), file=sys.stderr)
    if failed:
        sys.exit("make_vectors: checks failed, nothing written")

    doc = {
        "description": "Real packets recorded from Debian nginx %s uwsgi_pass; "
                       "regenerate with tests/vectors/record/record.sh" % version,
        "schema": "uwsgi-vectors/decode/1",
        "vectors": vectors,
    }
    write(args.out, (render(doc) + "\n").encode())
    write(os.path.join(args.captures_out, "nginx-get.bin"), wires["nginx_get"])
    write(os.path.join(args.captures_out, "nginx-post.bin"), wires["nginx_post_small"])
    print("make_vectors: wrote %s (%d vectors), %s/nginx-get.bin, %s/nginx-post.bin"
          % (os.path.relpath(args.out, ROOT), len(vectors),
             os.path.relpath(args.captures_out, ROOT), os.path.relpath(args.captures_out, ROOT)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
