"""A WSGI app that reports, as JSON, every environ var uWSGI decoded from the uwsgi packet.

uWSGI with Python 3 decodes each key and value as latin-1, so `s.encode('latin-1')` gives back
the exact bytes that were on the wire. Non-string entries (wsgi.input, wsgi.errors, ...) are
reported with "value_hex": null. The body is read fully from wsgi.input.
"""
import json


def _raw(s):
    return s.encode('latin-1').hex()


def application(env, start_response):
    body = env['wsgi.input'].read()
    vars_ = []
    for key, value in env.items():
        vars_.append({
            'key_hex': _raw(key),
            'value_hex': _raw(value) if isinstance(value, str) else None,
        })
    out = json.dumps({
        'vars': vars_,
        'body_len': len(body),
        'body_hex': body.hex(),
    }).encode('ascii')
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(out)))])
    return [out]
