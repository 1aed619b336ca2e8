"""The ASGI twin of appview.py, for gunicorn's asgi worker (`-k asgi --protocol uwsgi`).

Same JSON fields as appview.py, taken from the ASGI scope (standard library only):

  environ        [[key, value], ...]: the scope's str / bytes / number entries in the scope's own
                 order, then "server" and "client" as "host:port", then one ["header:NAME", value] per header in scope["headers"] order
                 (duplicates kept). bytes are shown latin-1-decoded, with the hex of the exact
                 bytes as a third element {"key_hex", "value_hex"} when non-ASCII.
  method, path   scope["method"], scope["path"] (ASGI: already percent-decoded)
  raw_path       scope["raw_path"], latin-1-decoded, or null
  query          scope["query_string"], latin-1-decoded
  script_name    scope["root_path"]
  request_uri    null (ASGI has no REQUEST_URI)
  content_length the last content-length header's value, or null; content_length_all lists them
  body_len, body_sha256, body_complete, body_head_hex, body_error   as in appview.py: the body
                 is every http.request message until more_body is false; it is incomplete if
                 http.disconnect comes first, or if fewer bytes than a plain-digits
                 content-length arrived.
"""
import hashlib
import json

from appview import _entry


def _text(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


async def _receive_body(receive):
    chunks, complete, error = [], False, None
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                complete = True
                break
    except Exception as e:  # report, never fail the request
        error = "%s: %s" % (type(e).__name__, e)
    return b"".join(chunks), complete, error


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] != "http":
        return
    body, complete, error = await _receive_body(receive)
    lengths = [_text(v) for k, v in scope["headers"] if k.lower() == b"content-length"]
    cl = lengths[-1] if lengths else None
    if cl is not None and cl.isascii() and cl.isdigit() and len(body) < int(cl):
        complete = False
    env = [_entry(k, _text(v)) for k, v in scope.items()
           if isinstance(v, (str, bytes, int, float)) and not isinstance(v, bool)]
    env += [_entry(k, "%s:%s" % tuple(scope[k])) for k in ("server", "client")
            if isinstance(scope.get(k), (list, tuple)) and len(scope[k]) == 2]
    env += [_entry("header:" + _text(k), _text(v)) for k, v in scope["headers"]]
    report = {
        "environ": env,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "raw_path": _text(scope["raw_path"]) if scope.get("raw_path") is not None else None,
        "query": _text(scope.get("query_string", b"")),
        "script_name": scope.get("root_path"),
        "request_uri": None,
        "content_length": cl,
        "content_length_all": lengths,
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_complete": complete,
        "body_head_hex": body[:64].hex(),
        "body_error": error,
    }
    out = json.dumps(report).encode("ascii")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})
