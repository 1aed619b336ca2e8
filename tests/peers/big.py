"""Big bodies for tests/gateway.rs.

GET /big: 1,048,576 bytes (byte i is i % 251) with a Content-Length.
GET /stream: the same bytes in 64 KiB pieces, no Content-Length (the front end must stream).
POST /echo: the request body, byte for byte, with a Content-Length.
"""

BIG = bytes(i % 251 for i in range(1 << 20))
PIECE = 64 * 1024


def application(env, start_response):
    path = env['PATH_INFO']
    binary = ('Content-Type', 'application/octet-stream')
    if path == '/big':
        start_response('200 OK', [binary, ('Content-Length', str(len(BIG)))])
        return [BIG]
    if path == '/stream':
        start_response('200 OK', [binary])
        return (BIG[i:i + PIECE] for i in range(0, len(BIG), PIECE))
    if path == '/echo':
        body = env['wsgi.input'].read(int(env.get('CONTENT_LENGTH') or 0))
        start_response('200 OK', [binary, ('Content-Length', str(len(body)))])
        return [body]
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'no such path\n']
