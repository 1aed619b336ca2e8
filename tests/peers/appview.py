"""Reference WSGI application for cross-peer conformance: reports exactly what it received.

Standard library only. For every request it reads the whole body and answers 200 with a JSON
object (Content-Type: application/json, with a Content-Length):

  environ        [[key, value], ...] for every str entry, in the environ's own insertion order.
                 Values are the text the server put there; PEP 3333 servers decode bytes as
                 latin-1, so s.encode("latin-1") gives back the wire bytes. An entry whose key or
                 value has a non-ASCII character gets a third element {"key_hex", "value_hex"}
                 with those bytes (a character above U+00FF, which no PEP 3333 server produces,
                 is encoded as UTF-8 there and flagged with "utf8": true).
  method, path, query, script_name   REQUEST_METHOD, PATH_INFO, QUERY_STRING, SCRIPT_NAME
                 as received (null when absent)
  request_uri    REQUEST_URI, or null when absent
  content_length CONTENT_LENGTH exactly as received (a string), or null when absent
  body_len, body_sha256   what wsgi.input gave
  body_complete  false if reading raised, or gave fewer bytes than CONTENT_LENGTH
  body_head_hex  the first 64 body bytes, in hex (to see what a short body held)
  body_error     the exception raised while reading, or null

Reading: CONTENT_LENGTH absent or empty is 0; a plain run of ASCII digits is read to exactly
that many bytes, 64 KiB at a time, stopping early at EOF (so a huge value does not allocate);
any other value (" 5", "5abc", "-1") is not a number to this app, so it reads wsgi.input to its
end with read(), i.e. the server's own framing decides, and body_complete is then true unless
reading raised.

Run it under any WSGI server, e.g. `uwsgi --plugin python3 --socket 127.0.0.1:PORT
--wsgi-file tests/peers/appview.py`; see tests/peers/README.md.
"""
import hashlib
import json

CHUNK = 64 * 1024


def _entry(key, value):
    entry = [key, value]
    if not (key.isascii() and value.isascii()):
        raw = {}
        for name, text in (("key_hex", key), ("value_hex", value)):
            try:
                raw[name] = text.encode("latin-1").hex()
            except UnicodeEncodeError:  # not a PEP 3333 "bytes as latin-1" string
                raw[name] = text.encode("utf-8", "surrogateescape").hex()
                raw["utf8"] = True
        entry.append(raw)
    return entry


def read_body(stream, content_length):
    """(body, complete, error): read CONTENT_LENGTH bytes, as described above."""
    cl = content_length if content_length is not None else ""
    chunks, got = [], 0
    try:
        if cl.isascii() and cl.isdigit():
            want = int(cl)
            while got < want:
                chunk = stream.read(min(CHUNK, want - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
            complete = got == want
        elif cl == "":
            complete = True
        else:
            chunk = stream.read()
            chunks.append(chunk)
            got = len(chunk)
            complete = True
    except Exception as e:  # report, never fail the request
        return b"".join(chunks), False, "%s: %s" % (type(e).__name__, e)
    return b"".join(chunks), complete, None


def application(environ, start_response):
    cl = environ.get("CONTENT_LENGTH")
    body, complete, error = read_body(environ["wsgi.input"], cl)
    report = {
        "environ": [_entry(k, v) for k, v in environ.items()
                    if isinstance(k, str) and isinstance(v, str)],
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING"),
        "script_name": environ.get("SCRIPT_NAME"),
        "request_uri": environ.get("REQUEST_URI"),
        "content_length": cl,
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_complete": complete,
        "body_head_hex": body[:64].hex(),
        "body_error": error,
    }
    out = json.dumps(report).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]
