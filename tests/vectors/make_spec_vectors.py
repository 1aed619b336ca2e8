#!/usr/bin/env python3
"""Write the hand-made uwsgi test vectors: tests/vectors/spec.json and tests/vectors/encoder.json.

Standard library only. Every expected outcome below (accept or refuse, error kind, offsets,
lengths, body lengths, frames) is written by hand from PROTOCOL.md, case by case; nothing is
obtained by running the Rust crate or any other decoder. The wire bytes are built with the
spec's own notation (H, kv, BASE). The only checks this script makes are structural, to catch
typos in the hand-written expectations: the header fields of an expected packet match the wire,
the listed vars / items / raw bytes re-encode to exactly the block, and `after_hex` is what
follows the packet.

Usage: python3 tests/vectors/make_spec_vectors.py [--check]
  --check  write nothing; exit 1 if spec.json or encoder.json differ from what would be written

The schema is documented in tests/vectors/README.md.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DECODE_SCHEMA = "uwsgi-vectors/decode/1"
ENCODE_SCHEMA = "uwsgi-vectors/encode/1"

# --- notation (PROTOCOL.md front matter) -----------------------------------------------------


def le16(n):
    assert 0 <= n <= 0xFFFF, n
    return bytes([n & 0xFF, n >> 8])


def H(m1, n, m2):
    """H(m1,n,m2) = m1, n&0xff, n>>8, m2."""
    return bytes([m1]) + le16(n) + bytes([m2])


def kv(k, v):
    """kv(k,v) = len(k):u16le k len(v):u16le v."""
    return le16(len(k)) + k + le16(len(v)) + v


def item(b):
    return le16(len(b)) + b


BASE_VARS = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/"), (b"SERVER_PROTOCOL", b"HTTP/1.1")]
BASE = b"".join(kv(k, v) for k, v in BASE_VARS)
assert len(BASE) == 62


def base_packet(tail=b"", m1=0, m2=0):
    """H(m1, 62 + |tail|, m2) BASE tail: the shape of the §11 "Vars block" cases."""
    return H(m1, 62 + len(tail), m2) + BASE + tail


# --- compact hex data ------------------------------------------------------------------------

RUN_MIN = 64  # runs of one byte value at least this long become {"repeat", "count"} objects


def hexdata(b):
    """A hex string, or for data with long single-byte runs a compact form (README "hex data")."""
    b = bytes(b)
    segments, i = [], 0
    while i < len(b):
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        if j - i >= RUN_MIN:
            segments.append({"repeat": "%02x" % b[i], "count": j - i})
        elif segments and isinstance(segments[-1], str):
            segments[-1] += b[i:j].hex()
        else:
            segments.append(b[i:j].hex())
        i = j
    if not segments:
        return ""
    if len(segments) == 1:
        return segments[0]
    return segments


def unhexdata(d):
    if isinstance(d, str):
        return bytes.fromhex(d)
    if isinstance(d, dict):
        return bytes.fromhex(d["repeat"]) * d["count"]
    return b"".join(unhexdata(x) for x in d)


# --- expectation builders ------------------------------------------------------------------------


def packet(m1, datasize, m2, vars=None, items=None, raw=None, body_len=0, after=b""):
    """An expected packet. body_len=None leaves body_len out (a framing error follows);
    after=None leaves after_hex out (inside `frames`)."""
    p = {"modifier1": m1, "datasize": datasize, "modifier2": m2}
    kinds = [x is not None for x in (vars, items, raw)]
    assert kinds.count(True) == 1, "exactly one of vars / items / raw"
    if vars is not None:
        p["block_kind"] = "vars"
        p["vars"] = [{"key_hex": hexdata(k), "value_hex": hexdata(v)} for k, v in vars]
    elif items is not None:
        p["block_kind"] = "array"
        p["items"] = [hexdata(x) for x in items]
    else:
        p["block_kind"] = "raw"
        p["raw_hex"] = hexdata(raw)
    if body_len is not None:
        p["body_len"] = body_len
    if after is not None:
        p["after_hex"] = hexdata(after)
    return p


def err(kind, offset, **numbers):
    e = {"kind": kind, "offset": offset}
    e.update(numbers)
    return e


def block_of(p):
    if p["block_kind"] == "vars":
        return b"".join(kv(unhexdata(x["key_hex"]), unhexdata(x["value_hex"])) for x in p["vars"])
    if p["block_kind"] == "array":
        return b"".join(item(unhexdata(x)) for x in p["items"])
    return unhexdata(p["raw_hex"])


def check_packet_matches(name, wire, p, start=0):
    """Structural self-check of a hand-written packet against the wire at `start`."""
    hdr = wire[start:start + 4]
    assert hdr == H(p["modifier1"], p["datasize"], p["modifier2"]), \
        "%s: header %s does not match the expected fields" % (name, hdr.hex())
    end = start + 4 + p["datasize"]
    assert len(wire) >= end, "%s: wire shorter than the packet" % name
    assert wire[start + 4:end] == block_of(p), "%s: the expected block does not re-encode to the wire" % name
    if "after_hex" in p:
        assert wire[end:] == unhexdata(p["after_hex"]), "%s: after_hex is not the rest of the wire" % name
    return end


HEADER_KINDS = {"ForeignProtocol", "TooLarge"}
BLOCK_KINDS = {"TruncatedLength", "Overrun", "EmptyKey", "TooManyVars", "MagicVar"}
FRAMING_KINDS = {"InvalidContentLength", "ConflictingContentLength"}
EOF_KINDS = {"UnexpectedEof", "TruncatedBody"}

SOURCES = ("nginx ", "uWSGI 2.0 behaviour", "spec §")

SPEC = []
ENCODER = []


def check_common(name, description, source):
    assert name and all(c.isalnum() or c == "_" for c in name), name
    assert "\n" not in description and description.strip() == description and description, name
    assert source.startswith(SOURCES), "%s: source %r" % (name, source)
    assert name not in {v["name"] for v in SPEC + ENCODER}, "duplicate name %s" % name


def dec(name, description, source, wire, expect, **options):
    """A decode vector. `expect` is {"packet"}, {"error"}, {"packet","error"} or {"frames"}."""
    check_common(name, description, source)
    wire = bytes(wire)
    if "packet" in expect:
        check_packet_matches(name, wire, expect["packet"])
        if "error" in expect:
            assert expect["error"]["kind"] in FRAMING_KINDS, name
            assert "body_len" not in expect["packet"], name
    elif "error" in expect:
        kind = expect["error"]["kind"]
        if kind in BLOCK_KINDS:
            assert len(wire) >= 4 + wire[1] + (wire[2] << 8), "%s: block error without the whole block" % name
        if kind in HEADER_KINDS:
            assert len(wire) >= 4, name
    else:
        frames = expect["frames"]
        pos = 0
        for f in frames:
            if "packet" in f:
                pos = check_packet_matches(name, wire, f["packet"], pos)
            elif "body_hex" in f:
                body = unhexdata(f["body_hex"])
                assert body and wire[pos:pos + len(body)] == body, "%s: body frame" % name
                pos += len(body)
            elif "trailing_hex" in f:
                tail = unhexdata(f["trailing_hex"])
                assert tail and wire[pos:] == tail, "%s: trailing frame" % name
                pos = len(wire)
        assert frames or not wire, "%s: no frames for a non-empty input" % name
        assert (frames and "error" in frames[-1]) or pos == len(wire), "%s: frames do not cover the wire" % name
    v = {"name": name, "description": description, "source": source, "wire_hex": hexdata(wire)}
    if options:
        for key, value in options.items():
            assert key in {"max_datasize", "max_vars", "foreign_check", "magic_policy", "direction",
                           "datagram", "mode"}, key
        v["options"] = options
    v["expect"] = expect
    SPEC.append(v)


def enc(name, description, source, modifier1, expect, modifier2=0, pairs=None, items=None,
        raw=None, body_len=None, max_datasize=None, allow_magic=None):
    """An encoder vector; `expect` is wire bytes or an error object."""
    check_common(name, description, source)
    assert pairs is None or items is None
    inp = {"modifier1": modifier1, "modifier2": modifier2}
    if pairs is not None:
        inp["pairs"] = [{"key_hex": hexdata(k), "value_hex": hexdata(v)} for k, v in pairs]
    if items is not None:
        inp["items"] = [hexdata(x) for x in items]
    if raw is not None:
        inp["raw_hex"] = hexdata(raw)
    if body_len is not None:
        inp["body_len"] = body_len
    if max_datasize is not None:
        inp["max_datasize"] = max_datasize
    if allow_magic is not None:
        inp["allow_magic"] = allow_magic
    if isinstance(expect, (bytes, bytearray)):
        expect_obj = {"wire_hex": hexdata(expect)}
    else:
        expect_obj = {"error": expect}
    ENCODER.append({"name": name, "description": description, "source": source,
                    "input": inp, "expect": expect_obj})


def P(*a, **k):
    return {"packet": packet(*a, **k)}


def E(kind, offset, **numbers):
    return {"error": err(kind, offset, **numbers)}


def frames(*fs):
    return {"frames": list(fs)}


def fp(*a, **k):
    """A packet frame (no after_hex)."""
    return {"packet": packet(*a, after=None, **k)}


def fbody(b):
    return {"body_hex": hexdata(b)}


END = {"end": True}


def ftrail(b):
    return {"trailing_hex": hexdata(b)}


def ferr(kind, offset, **numbers):
    return {"error": err(kind, offset, **numbers)}


# =============================================================================================
# §11 conformance cases
# =============================================================================================

BV = BASE_VARS

# --- Framing / header -------------------------------------------------------------------------

dec("spec_case01_base_get", "H(0,62,0) BASE: three vars in wire order, no body",
    "spec §4.1 H1–H6, §11 case 1", base_packet(), P(0, 62, 0, vars=BV))
dec("spec_case02_one_byte_per_segment",
    "case 1 fed one byte at a time: Incomplete(3), (2), (1), (62), (61) … (1), then the packet (the split rule checks it)",
    "spec §4.1 H1, H4, §11 case 2", base_packet(), P(0, 62, 0, vars=BV))
dec("spec_case03_empty_block", "H(0,0,0): an empty vars block is valid, zero vars, no body",
    "spec §4.3 V7, §11 case 3", H(0, 0, 0), P(0, 0, 0, vars=[]))
pad4027 = b"x" * 4027
dec("spec_case04_at_limit_4096", "limit 4096, datasize exactly 4096 (BASE + PAD of 4027 x): accepted",
    "spec §4.1 H3, §4.2 L1, §11 case 4", base_packet(kv(b"PAD", pad4027)),
    P(0, 4096, 0, vars=BV + [(b"PAD", pad4027)]), max_datasize=4096)
dec("spec_case04_over_limit_4096",
    "limit 4096, datasize 4097: TooLarge from the 4 header bytes, before any block byte",
    "spec §4.1 H3, §11 case 4", base_packet(kv(b"PAD", b"x" * 4028)),
    E("TooLarge", 1, len=4097, max=4096), max_datasize=4096)
pad65466 = b"x" * 65466
dec("spec_case05_datasize_65535", "datasize 65535 (BASE + PAD of 65466 x) with the default limit: accepted",
    "spec §4.2 L1, §11 case 5", base_packet(kv(b"PAD", pad65466)),
    P(0, 65535, 0, vars=BV + [(b"PAD", pad65466)]))
dec("spec_case06_http_get", "an HTTP GET on the uwsgi socket: ForeignProtocol after 4 bytes (m1 71, datasize 21573)",
    "spec §6 F1, §11 case 6", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    E("ForeignProtocol", 0, protocol="HttpRequest", modifier1=71, datasize=21573))
dec("spec_case06_http_post", "an HTTP POST on the uwsgi socket: ForeignProtocol after 4 bytes (m1 80, datasize 21327)",
    "spec §6 F1, §11 case 6", b"POST /form HTTP/1.1\r\nHost: localhost\r\n\r\n",
    E("ForeignProtocol", 0, protocol="HttpRequest", modifier1=80, datasize=21327))
dec("spec_case07_tls_client_hello",
    "TLS ClientHello record: ForeignProtocol after 4 bytes (m1 22, datasize 259); uWSGI waits for 259 bytes, then logs unavailable modifier 22",
    "spec §6 F1, §11 case 7", bytes.fromhex("1603010200010001fc0303"),
    E("ForeignProtocol", 0, protocol="Tls", modifier1=22, datasize=259))
dec("spec_case08_eof_inside_the_block", "H(0,72,0) BASE then end of input: 10 block bytes missing",
    "spec §4.1 H7, §11 case 8", H(0, 72, 0) + BASE, E("UnexpectedEof", 66, needed=10))
dec("spec_case09_modifier1_99",
    "modifier1 99 read as a request family as §11 case 9 says (unlisted → R), although §3's table lists 95–99 without a handler",
    "spec §3 rule 2, §11 case 9", base_packet(m1=99), P(99, 62, 0, vars=BV))
dec("spec_case09_modifier1_4", "modifier1 4, listed nowhere in §3: a request family (vars + CONTENT_LENGTH body)",
    "spec §3 rule 2, §11 case 9", base_packet(m1=4), P(4, 62, 0, vars=BV))
dec("spec_case10_modifier2_preserved", "H(0,62,7) BASE: modifier2 7 is kept although modifier1 0 ignores it",
    "spec §3 rule 1, §11 case 10", base_packet(m2=7), P(0, 62, 7, vars=BV))

dec("spec_h7_empty_input", "no bytes at all, then end of input: a clean end at a packet start, no frames",
    "spec §4.1 H7", b"", frames())
dec("spec_f1_foreign_before_limit",
    "GET request with limit 4096: ForeignProtocol, because the foreign check runs before the datasize limit",
    "spec §6 F1", b"GET / HTTP/1.1\r\n\r\n",
    E("ForeignProtocol", 0, protocol="HttpRequest", modifier1=71, datasize=21573), max_datasize=4096)
dec("spec_f1_check_off_limit_4096",
    "GET request, foreign check off, limit 4096: TooLarge 21573 (what uWSGI logs: invalid request block size: 21573 (max 4096))",
    "uWSGI 2.0 behaviour; spec §6 F1, F3", b"GET / HTTP/1.1\r\n\r\n",
    E("TooLarge", 1, len=21573, max=4096), max_datasize=4096, foreign_check=False)
dec("spec_l1_limit_65536_does_not_wrap",
    "limit 65536 means 65535, never 0 (uWSGI buffer-size = 65536 once wrapped to 0): a datasize-65535 packet is accepted",
    "spec §4.2 L1", base_packet(kv(b"PAD", pad65466)),
    P(0, 65535, 0, vars=BV + [(b"PAD", pad65466)]), max_datasize=65536)
dec("spec_l1_limit_0_empty_block", "limit 0: datasize 0 equals the limit and is accepted",
    "spec §4.1 H3", H(0, 0, 0), P(0, 0, 0, vars=[]), max_datasize=0)
dec("spec_l1_limit_0_one_byte", "limit 0: datasize 1 is TooLarge", "spec §4.1 H3",
    H(100, 1, 0) + b"x", E("TooLarge", 1, len=1, max=0), max_datasize=0)

# --- Vars block -------------------------------------------------------------------------------

dec("spec_case11_empty_key", "BASE kv(\"\",\"x\"): zero key length at offset 66",
    "spec §4.3 V2, §11 case 11", base_packet(kv(b"", b"x")), E("EmptyKey", 66))
dec("spec_case12_empty_value_last", "BASE kv(\"X_EMPTY\",\"\"): an empty value as the last pair is valid",
    "spec §4.3 V6, §11 case 12", base_packet(b"\x07\x00X_EMPTY\x00\x00"),
    P(0, 73, 0, vars=BV + [(b"X_EMPTY", b"")]))
dec("spec_case13_one_trailing_byte", "BASE 00: one byte left where a key length should start",
    "spec §4.3 V1, V8, §11 case 13", base_packet(b"\x00"), E("TruncatedLength", 66, field="key"))
dec("spec_case14_trailing_00_00", "BASE 00 00: a trailing zero key length is an empty key, not padding",
    "spec §4.3 V2, V8, §11 case 14", base_packet(b"\x00\x00"), E("EmptyKey", 66))
dec("spec_case15_key_ends_at_block_end", "BASE 01 00 41: the key ends exactly at the block end, no value length",
    "spec §4.3 V4, §11 case 15", base_packet(b"\x01\x00\x41"), E("TruncatedLength", 69, field="value"))
dec("spec_case16_half_a_value_length", "BASE 01 00 4B 00: one byte of the value length",
    "spec §4.3 V4, §11 case 16", base_packet(b"\x01\x00\x4b\x00"), E("TruncatedLength", 69, field="value"))
dec("spec_case17_value_overrun", "BASE 01 00 4B 10 00 61 62: value length 16 with 2 bytes left",
    "spec §4.3 V5, §11 case 17", base_packet(bytes.fromhex("01004b10006162")),
    E("Overrun", 69, field="value", len=16, available=2))
dec("spec_case18_key_overrun_no_resync",
    "BASE FF 00 01 00 4B 00 00: key length 255 with 5 bytes left; the uWSGI worker resyncs and accepts K=\"\", the crate does not",
    "spec §4.3 V3, §11 case 18", base_packet(bytes.fromhex("ff0001004b0000")),
    E("Overrun", 66, field="key", len=255, available=5))
dec("spec_case18_key_length_ffff", "H(0,3,0) FF FF 00: key length 65535 with 1 byte left (go-uwsgi panics on it)",
    "spec §4.3 V3, §11 case 18", H(0, 3, 0) + b"\xff\xff\x00",
    E("Overrun", 4, field="key", len=65535, available=1))
dec("spec_case19_key_without_value_length", "BASE 03 00 \"K=v\": the key ends at the block end",
    "spec §4.3 V4, §11 case 19", base_packet(b"\x03\x00K=v"), E("TruncatedLength", 71, field="value"))
dup = [(b"HTTP_X", b"first"), (b"HTTP_X", b"second")]
dec("spec_case20_duplicate_keys", "two HTTP_X pairs: both kept in wire order (get = second, get_first = first)",
    "spec §4.3 V10, §11 case 20", base_packet(b"".join(kv(k, v) for k, v in dup)),
    P(0, 93, 0, vars=BV + dup))
dec("spec_case21_conflicting_content_length",
    "CONTENT_LENGTH 2 then 5, body hello: the block is valid, framing fails at the later pair (uWSGI and gunicorn: last wins)",
    "spec §5 C3, §11 case 21", base_packet(kv(b"CONTENT_LENGTH", b"2") + kv(b"CONTENT_LENGTH", b"5")) + b"hello",
    {"packet": packet(0, 100, 0, vars=BV + [(b"CONTENT_LENGTH", b"2"), (b"CONTENT_LENGTH", b"5")],
                      body_len=None, after=b"hello"),
     "error": err("ConflictingContentLength", 85, first=2, second=5)})
opaque = [(b"HTTP_X", b"\xff\xfe\x00\x7a"), (b"\x4b\xe9", b"v")]
dec("spec_case22_opaque_bytes", "NUL, 0xff and a latin-1 key byte: kept unchanged, nothing decoded or cut at NUL",
    "spec §4.3 V9, §11 case 22", base_packet(b"".join(kv(k, v) for k, v in opaque)),
    P(0, 62 + 14 + 7, 0, vars=BV + opaque))
utf8_path = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", "/caf\u00e9".encode("utf-8")),
             (b"SERVER_PROTOCOL", b"HTTP/1.1")]
utf8_block = b"".join(kv(k, v) for k, v in utf8_path)
dec("spec_v9_utf8_path",
    "PATH_INFO /caf\u00e9 in UTF-8 (2f 63 61 66 c3 a9), as nginx passes /caf%C3%A9: kept as sent; a WSGI environ holds its "
    "latin-1 text, an ASGI scope's path its UTF-8 text (gunicorn's asgi worker: the latin-1 text, FINDINGS G2)",
    "spec §4.3 V9", H(0, len(utf8_block), 0) + utf8_block, P(0, len(utf8_block), 0, vars=utf8_path))


def many_vars(count):
    names = [b"V%03d" % i for i in range(count)]
    block = b"".join(kv(n, b"") for n in names) + BASE
    return H(0, len(block), 0) + block, [(n, b"") for n in names] + BV


w128, v128 = many_vars(125)
w129, v129 = many_vars(126)
dec("spec_case23_128_pairs", "V000…V124 + BASE: 128 pairs, datasize 1062, no pair limit by default",
    "spec §4.2 L2, §11 case 23", w128, P(0, 1062, 0, vars=v128))
dec("spec_case23_129_pairs", "V000…V125 + BASE: 129 pairs, datasize 1070; uWSGI's 128-pair vector would refuse it",
    "spec §4.2 L2, §11 case 23", w129, P(0, 1070, 0, vars=v129))
dec("spec_case23_129_pairs_max_128", "129 pairs with max_vars 128: TooManyVars at the 129th pair (offset 1047)",
    "spec §4.2 L2, §11 case 23", w129, E("TooManyVars", 1047, max=128), max_vars=128)
dec("spec_case23_128_pairs_max_128", "128 pairs with max_vars 128: exactly at the maximum is accepted",
    "spec §4.2 L2, §11 case 23", w128, P(0, 1062, 0, vars=v128), max_vars=128)
x65530 = b"x" * 65530
dec("spec_case24_one_maximal_pair", "H(0,65535,0) kv(\"K\", 65530 x): the largest value a packet can carry",
    "spec §2.2, §4.2 L1, §11 case 24", H(0, 65535, 0) + kv(b"K", x65530), P(0, 65535, 0, vars=[(b"K", x65530)]))
dec("spec_case24_limit_4096", "the same packet with limit 4096: TooLarge from the header",
    "spec §4.1 H3, §11 case 24", H(0, 65535, 0) + kv(b"K", x65530),
    E("TooLarge", 1, len=65535, max=4096), max_datasize=4096)
dec("spec_case25_nginx_long_param_name",
    "nginx <= 1.31.4 writes a 289-byte uwsgi_param name with length 289 mod 256 = 33: value Overrun at 39",
    "spec §8, §11 case 25", bytes.fromhex("002c01002100") + b"A" * 289 + bytes.fromhex("010076010042010077"),
    E("Overrun", 39, field="value", len=16705, available=263))
dec("spec_case26_raw_uwsgi_string_tail", "kv(A,b) + literal RAW\\x01 appended by uwsgi_string: key Overrun at 10",
    "spec §7 E6, §11 case 26", H(0, 13, 0) + bytes.fromhex("010041010062") + b"RAW\\x01",
    E("Overrun", 10, field="key", len=16722, available=5))
dec("spec_case27_vars_block_as_array",
    "m1 173 m2 1 (RPC, raw reply): a vars block read as an array of 4 items (uWSGI uwsgi_parse_array rejects the empty last item)",
    "spec §2.3, §4.4 A1, §11 case 27", bytes.fromhex("ad160001") + kv(b"hellolua", b"foo") + kv(b"bar", b""),
    P(173, 22, 1, items=[b"hellolua", b"foo", b"bar", b""]))

# --- CONTENT_LENGTH and body ------------------------------------------------------------------


def cl_packet(v, after=b"", extra=b""):
    return base_packet(extra + kv(b"CONTENT_LENGTH", v)) + after


dec("spec_case28_empty_content_length", "CONTENT_LENGTH \"\" (what nginx sends without a body): body 0",
    "spec §5 C2, §11 case 28", cl_packet(b""), P(0, 80, 0, vars=BV + [(b"CONTENT_LENGTH", b"")]))
dec("spec_case29_trailing_letters", "CONTENT_LENGTH 5abc: InvalidContentLength at the a (offset 85)",
    "spec §5 C2, §11 case 29", cl_packet(b"5abc"),
    {"packet": packet(0, 84, 0, vars=BV + [(b"CONTENT_LENGTH", b"5abc")], body_len=None),
     "error": err("InvalidContentLength", 85, reason="NotDigit")})
dec("spec_case30_minus_one", "CONTENT_LENGTH -1: InvalidContentLength at the sign (offset 84)",
    "spec §5 C2, §11 case 30", cl_packet(b"-1"),
    {"packet": packet(0, 82, 0, vars=BV + [(b"CONTENT_LENGTH", b"-1")], body_len=None),
     "error": err("InvalidContentLength", 84, reason="NotDigit")})
dec("spec_case30_leading_space", "CONTENT_LENGTH \" 5\": InvalidContentLength at the space (offset 84)",
    "spec §5 C2, §11 case 30", cl_packet(b" 5"),
    {"packet": packet(0, 82, 0, vars=BV + [(b"CONTENT_LENGTH", b" 5")], body_len=None),
     "error": err("InvalidContentLength", 84, reason="NotDigit")})
dec("spec_case31_overflow", "CONTENT_LENGTH 18446744073709551621: overflow at the 20th digit (offset 103)",
    "spec §5 C2, §11 case 31", cl_packet(b"18446744073709551621"),
    {"packet": packet(0, 100, 0, vars=BV + [(b"CONTENT_LENGTH", b"18446744073709551621")], body_len=None),
     "error": err("InvalidContentLength", 103, reason="Overflow")})
cl10 = BV + [(b"CONTENT_LENGTH", b"10")]
dec("spec_case32_truncated_body", "CONTENT_LENGTH 10, 3 body bytes, end of input: TruncatedBody",
    "spec §5 C7, §11 case 32", cl_packet(b"10", b"abc"),
    frames(fp(0, 82, 0, vars=cl10, body_len=10), fbody(b"abc"), ferr("TruncatedBody", None, expected=10, received=3)))
cl5 = BV + [(b"CONTENT_LENGTH", b"5")]
dec("spec_case33_packet_and_body", "header, block (CONTENT_LENGTH 5) and hello in one segment: packet, body, end",
    "spec §5 C6, §11 case 33", cl_packet(b"5", b"hello"),
    frames(fp(0, 81, 0, vars=cl5, body_len=5), fbody(b"hello"), END))
second = base_packet()
dec("spec_case34_one_request_mode",
    "case 33 + a second valid packet, one-request mode: the second packet is reported as trailing bytes, never parsed",
    "spec §5 C8, §11 case 34", cl_packet(b"5", b"hello") + second,
    frames(fp(0, 81, 0, vars=cl5, body_len=5), fbody(b"hello"), END, ftrail(second)), mode="one-request")
dec("spec_case34_persistent_mode",
    "case 33 + a second valid packet, persistent mode: the second packet is decoded after the 5 body bytes",
    "spec §5 C8, §11 case 34", cl_packet(b"5", b"hello") + second,
    frames(fp(0, 81, 0, vars=cl5, body_len=5), fbody(b"hello"), END, fp(0, 62, 0, vars=BV, body_len=0), END),
    mode="persistent")
te = [(b"HTTP_TRANSFER_ENCODING", b"chunked"), (b"CONTENT_LENGTH", b"6")]
dec("spec_case35_chunked_is_not_dechunked",
    "HTTP_TRANSFER_ENCODING chunked + CONTENT_LENGTH 6: body abcdef framed by CONTENT_LENGTH, never de-chunked",
    "spec §5 C5, §11 case 35", base_packet(b"".join(kv(k, v) for k, v in te)) + b"abcdef",
    frames(fp(0, 62 + 33 + 19, 0, vars=BV + te, body_len=6), fbody(b"abcdef"), END))
for suffix, http_cl, what in ((b"", b"11", "equal"), (b"_differs", b"3", "3"), (b"_garbage", b"abc", "abc")):
    pairs = [(b"CONTENT_LENGTH", b"11"), (b"HTTP_CONTENT_LENGTH", http_cl)]
    block_tail = b"".join(kv(k, v) for k, v in pairs)
    dec("spec_case36_http_content_length" + suffix.decode(),
        "CONTENT_LENGTH 11 and HTTP_CONTENT_LENGTH %s: body 11 from CONTENT_LENGTH, HTTP_CONTENT_LENGTH is never read" % what,
        "spec §5 C4, §11 case 36", base_packet(block_tail) + b"hello world",
        frames(fp(0, 62 + len(block_tail), 0, vars=BV + pairs, body_len=11), fbody(b"hello world"), END))

# --- Arrays / service packets -------------------------------------------------------------------

dec("spec_case37_rpc_request", "RPC m2 0: array [hello, a, b] (function name, then arguments)",
    "spec §2.3, §4.4 A1, §11 case 37", bytes.fromhex("ad0d0000") + item(b"hello") + item(b"a") + item(b"b"),
    P(173, 13, 0, items=[b"hello", b"a", b"b"]))
dec("spec_case37_rpc_framed_reply", "reply ad 03 00 00 a|b: m1 173 with a raw block (replies are raw)",
    "spec §2.5, §3 rule 2, §11 case 37", bytes.fromhex("ad030000") + b"a|b",
    P(173, 3, 0, raw=b"a|b"), direction="reply")
dec("spec_case38_empty_item_in_the_middle", "RPC array [hello, \"\", a]: the empty item is kept (uWSGI skips it)",
    "spec §4.4 A1, §11 case 38", bytes.fromhex("ad0c0000") + item(b"hello") + item(b"") + item(b"a"),
    P(173, 12, 0, items=[b"hello", b"", b"a"]))
dec("spec_case39_empty_item_last", "RPC array [hello, \"\"]: an empty last item is valid (uWSGI: invalid uwsgi array)",
    "spec §4.4 A1, §11 case 39", bytes.fromhex("ad090000") + item(b"hello") + item(b""),
    P(173, 9, 0, items=[b"hello", b""]))
big = b"Z" * 70000
dec("spec_case40_rpc_dict_and_body_reply",
    "RPC reply m2 5: vars CONTENT_LENGTH 70000, then a 70000-byte body (a return value over 65535 bytes)",
    "spec §2.4, §2.5, §5, §11 case 40", bytes.fromhex("ad170005") + kv(b"CONTENT_LENGTH", b"70000") + big,
    P(173, 23, 5, vars=[(b"CONTENT_LENGTH", b"70000")], body_len=70000, after=big), direction="reply")
dec("spec_case41_ping", "ping 64 00 00 00: empty raw block", "spec §2.4, §11 case 41",
    bytes.fromhex("64000000"), P(100, 0, 0, raw=b""))
dec("spec_case41_ping_with_payload", "ping with a 3-byte payload: accepted as a raw block (uWSGI ignores it)",
    "spec §2.4, §11 case 41", bytes.fromhex("64030000") + b"abc", P(100, 3, 0, raw=b"abc"))
dec("spec_case41_pong", "reply 64 00 00 01: m1 100, m2 1, empty raw block", "spec §2.5, §11 case 41",
    bytes.fromhex("64000001"), P(100, 0, 1, raw=b""), direction="reply")
dec("spec_case42_echo", "echo 65 0a 00 00 hello-echo: a raw block of 10 bytes", "spec §2.4, §11 case 42",
    bytes.fromhex("650a0000") + b"hello-echo", P(101, 10, 0, raw=b"hello-echo"))
dec("spec_case42_echo_reply_is_not_a_packet",
    "the echo reply is the payload without a header; read as a packet (m1 104, datasize 27749) it never completes",
    "spec §2.5, §11 case 42", b"hello-echo", E("UnexpectedEof", 10, needed=27743), direction="reply")
dec("spec_case43_signal", "signal 6e 00 00 11: signal 17 in modifier2, empty raw block", "spec §2.4, §3, §11 case 43",
    bytes.fromhex("6e000011"), P(110, 0, 17, raw=b""))
dec("spec_case43_generic_reply", "reply ff 00 00 01: generic reply, delivered", "spec §2.5, §11 case 43",
    bytes.fromhex("ff000001"), P(255, 0, 1, raw=b""), direction="reply")
dec("spec_case44_cache_magic_request", "cache m2 17 request: vars cmd=get key=k1, no size, so no body",
    "spec §2.4, §11 case 44", bytes.fromhex("6f130011") + kv(b"cmd", b"get") + kv(b"key", b"k1"),
    P(111, 19, 17, vars=[(b"cmd", b"get"), (b"key", b"k1")]))
dec("spec_case44_cache_magic_reply", "cache m2 17 reply: vars status=ok size=9, then 9 body bytes framed by size",
    "spec §2.4, §5, §11 case 44",
    bytes.fromhex("6f150011") + kv(b"status", b"ok") + kv(b"size", b"9") + b"value-one",
    P(111, 21, 17, vars=[(b"status", b"ok"), (b"size", b"9")], body_len=9, after=b"value-one"), direction="reply")
dec("spec_case45_cache_get", "cache get 6f 02 00 00 k1: a raw key", "spec §2.4, §11 case 45",
    bytes.fromhex("6f020000") + b"k1", P(111, 2, 0, raw=b"k1"))
dec("spec_case45_pointer_reply",
    "uWSGI's cache get reply starts with 4 heap-pointer bytes (reads as datasize 20096): a non-conforming peer, UnexpectedEof",
    "spec §2.5, §11 case 45", bytes.fromhex("00804ebc") + b"value-one",
    E("UnexpectedEof", 13, needed=20087), direction="reply")
sub = [(b"key", b"example.com"), (b"address", b"127.0.0.1:18099"), (b"modifier1", b"0"),
       (b"modifier2", b"0"), (b"cores", b"1"), (b"load", b"0"), (b"weight", b"0")]
sub_wire = bytes.fromhex("e0660000") + b"".join(kv(k, v) for k, v in sub)
dec("spec_case46_subscription_datagram", "subscription datagram, block 102: vars, no body",
    "spec §4.1 H8, §2.4, §11 case 46", sub_wire, P(224, 102, 0, vars=sub), datagram=True)
dec("spec_case46_subscription_datagram_extra_byte",
    "the subscription datagram with one extra byte: DatagramLength (uWSGI's subscription server parses len - 4 instead)",
    "spec §4.1 H8, §11 case 46", sub_wire + b"\x00", E("DatagramLength", None, datasize=102, len=107), datagram=True)
sync_set = H(111, 11, 10) + item(b"k1") + item(b"hello")
sync_del = H(111, 4, 11) + item(b"k1")
dec("spec_case47_cache_sync_set", "cache UDP sync set (m1 111 m2 10) datagram: array [k1, hello]",
    "spec §2.4, §4.1 H8, §11 case 47", sync_set, P(111, 11, 10, items=[b"k1", b"hello"]), datagram=True)
dec("spec_case47_cache_sync_del", "cache UDP sync del (m1 111 m2 11) datagram: array [k1]",
    "spec §2.4, §4.1 H8, §11 case 47", sync_del, P(111, 4, 11, items=[b"k1"]), datagram=True)
dec("spec_case47_cache_sync_longer", "cache sync set datagram with 2 extra bytes: DatagramLength (uWSGI drops it silently)",
    "spec §4.1 H8, §11 case 47", sync_set + b"xy", E("DatagramLength", None, datasize=11, len=17), datagram=True)
dec("spec_case47_cache_sync_shorter", "cache sync del datagram cut to 7 bytes: DatagramLength",
    "spec §4.1 H8, §11 case 47", sync_del[:7], E("DatagramLength", None, datasize=4, len=7), datagram=True)

# --- Foreign preambles P1-P22 -----------------------------------------------------------------------

FOREIGN = [
    ("p01_get", "P1", b"GET / HTTP/1.1\r\n", "HttpRequest", 71, 21573),
    ("p02_post", "P2", b"POST /x HTTP/1.1\r\n", "HttpRequest", 80, 21327),
    ("p03_put", "P3", b"PUT /x HTTP/1.1\r\n", "HttpRequest", 80, 21589),
    ("p04_head", "P4", b"HEAD / HTTP/1.1\r\n", "HttpRequest", 72, 16709),
    ("p05_delete", "P5", b"DELETE /x HTTP/1.1\r\n", "HttpRequest", 68, 19525),
    ("p06_options", "P6", b"OPTIONS * HTTP/1.1\r\n", "HttpRequest", 79, 21584),
    ("p07_patch", "P7", b"PATCH /x HTTP/1.1\r\n", "HttpRequest", 80, 21569),
    ("p08_connect", "P8", b"CONNECT example.com:443 HTTP/1.1\r\n", "HttpRequest", 67, 20047),
    ("p09_trace", "P9", b"TRACE / HTTP/1.1\r\n", "HttpRequest", 84, 16722),
    ("p10_http2_preface", "P10", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Http2", 80, 18770),
    ("p11_proxy_v1", "P11", b"PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n", "ProxyV1", 80, 20306),
    ("p12_proxy_v2", "P12", bytes.fromhex("0d0a0d0a000d0a515549540a"), "ProxyV2", 13, 3338),
    ("p13_tls_1_0_record", "P13", bytes.fromhex("1603010200"), "Tls", 22, 259),
    ("p14_tls_1_2_record", "P14", bytes.fromhex("160303007a"), "Tls", 22, 771),
    ("p15_ssh", "P15", b"SSH-2.0-OpenSSH_9.2\r\n", "Ssh", 83, 18515),
    ("p16_fastcgi", "P16", bytes.fromhex("0101000100080000"), "FastCgi", 1, 1),
    ("p17_scgi_two_digits", "P17", b"70:CONTENT_LENGTH\x0027\x00", "Scgi", 55, 14896),
    ("p18_scgi_three_digits", "P18", b"123:CONTENT_LENGTH\x000\x00", "Scgi", 49, 13106),
    ("p19_http_response", "P19", b"HTTP/1.1 200 OK\r\n", "HttpResponse", 72, 21588),
]
for name, pid, wire, proto, m1, ds in FOREIGN:
    printable = all(0x20 <= c < 0x7F for c in wire[:4])
    shown = wire[:4].hex(" ") + (" (%s)" % wire[:4].decode("ascii") if printable else "")
    dec("spec_" + name, "%s: %s preamble %s, refused from its first 4 bytes (as uwsgi: m1 %d, datasize %d)"
        % (pid, proto, shown, m1, ds),
        "spec §6 F1, F2, §11 %s" % pid, wire, E("ForeignProtocol", 0, protocol=proto, modifier1=m1, datasize=ds))
dec("spec_p19_http_response_as_a_reply",
    "P19 where a client expects a framed reply (direction reply): a raw HTTP response is ForeignProtocol, not m1 72",
    "spec §2.5, §6 F1, §11 P19", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    E("ForeignProtocol", 0, protocol="HttpResponse", modifier1=72, datasize=21588), direction="reply")
dec("spec_f3_check_off_modifier1_22",
    "foreign check off: H(22,259,2) spells a TLS record header but is accepted as modifier1 22 with a 259-byte raw block",
    "spec §6 F3", H(22, 259, 2) + b"a" * 259, P(22, 259, 2, raw=b"a" * 259), foreign_check=False)
dec("spec_f_tls_ssl3_record", "16 03 00 00 2f: a TLS record with minor version 0 is TLS too (datasize 3)",
    "spec §6 F1 (TLS row)", bytes.fromhex("160300002f"), E("ForeignProtocol", 0, protocol="Tls", modifier1=22, datasize=3))
dec("spec_f_tls_1_1_record", "16 03 02 00 31: a TLS 1.1 record (datasize 515)",
    "spec §6 F1 (TLS row)", bytes.fromhex("1603020031"), E("ForeignProtocol", 0, protocol="Tls", modifier1=22, datasize=515))
dec("spec_f_scgi_four_digits", "1234:…: a four-digit SCGI netstring length (m1 49, datasize 13106)",
    "spec §6 F1 (SCGI row)", b"1234:CONTENT_LENGTH\x000\x00",
    E("ForeignProtocol", 0, protocol="Scgi", modifier1=49, datasize=13106))
dec("spec_f2_scgi_needs_a_nonzero_first_digit",
    "07:CONTENT_LENGTH is no SCGI length (leading 0): m1 48 with datasize 14903, which never arrives",
    "spec §6 F2", b"07:CONTENT_LENGTH", E("UnexpectedEof", 17, needed=14890))
dec("spec_p20_check_off",
    "P20: foreign check off, GET request: m1 71 with datasize 21573, Incomplete(21573) after 4 bytes, then EOF",
    "spec §6 F3, §11 P20", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    E("UnexpectedEof", 35, needed=21542), foreign_check=False)
dec("spec_p21_fewer_than_four_bytes", "P21: G, GE, GET give Incomplete(3), (2), (1); never a guess from fewer than 4 bytes",
    "spec §6 F2, §11 P21", b"GET", E("UnexpectedEof", 3, needed=1))
dec("spec_p22_modifier1_72", "P22: 48 00 00 00 is modifier1 72 with an empty raw block, not HEAD or HTTP",
    "spec §6 F2, §11 P22", bytes.fromhex("48000000"), P(72, 0, 0, raw=b""))

# =============================================================================================
# §3 modifier families: one packet per named modifier1 (and modifier2 where it changes the block)
# =============================================================================================

# Request families: vars + CONTENT_LENGTH body. The same block and a 2-byte body for each.
R_VARS = [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"2")]
R_BLOCK = b"".join(kv(k, v) for k, v in R_VARS)
assert len(R_BLOCK) == 41
R_FAMILIES = [
    (0, 0, "WSGI"), (5, 0, "PSGI"), (6, 0, "Lua/WSAPI"), (7, 0, "Rack"), (8, 0, "JVM JWSGI"),
    (8, 1, "JVM Ring"), (9, 0, "CGI"), (11, 0, "gccgo"), (14, 0, "PHP"), (15, 0, "Mono"),
    (18, 200, "symcall (m2 0-255)"), (19, 0, "SSI"), (23, 0, "XSLT"), (24, 0, "V8"), (25, 0, "GridFS"),
    (27, 0, "GlusterFS (registered at 27 in code)"), (28, 0, "Rados"),
    (30, 0, "WSGI with SCRIPT_NAME stripped"), (35, 0, "WebDAV"), (250, 0, "example / C++ plugins"),
    (173, 2, "RPC PATH_INFO bridge"), (173, 3, "RPC XML-RPC"), (173, 4, "RPC JSON-RPC"),
    (26, 0, "unlisted (the docs put GlusterFS here, the code does not)"), (120, 0, "unlisted"),
    (99, 0, "config request (§11 case 9 makes it R)"),
]
for m1, m2, label in R_FAMILIES:
    src = "spec §3, §11 case 9" if m1 == 99 else ("spec §3 rule 2" if "unlisted" in label else "spec §3")
    dec("mod_%03d_m2_%d_request_family" % (m1, m2),
        "modifier1 %d m2 %d (%s): request family, vars block + 2-byte CONTENT_LENGTH body" % (m1, m2, label),
        src, H(m1, 41, m2) + R_BLOCK + b"hi", P(m1, 41, m2, vars=R_VARS, body_len=2, after=b"hi"))

# Listed without R and not named by §2.4: raw block, no body. "ab" would overrun as a vars
# block (key length 25185), so accepting it shows the block is not validated (rule A3).
RAW_FAMILIES = [
    (1, 0, "reserved"), (2, 0, "reserved"), (3, 0, "reserved"), (10, 0, "management flag"),
    (22, 0, "raw code eval"), (31, 0, "message"), (32, 0, "message array"), (33, 0, "marshal"),
    (48, 0, "SNMP (BER tag 0x30)"), (72, 0, "raw HTTP response (H)"), (73, 0, "multicast announce"),
    (74, 0, "multicast message"), (95, 0, "cluster"), (96, 0, "remote log"), (97, 0, "reload"),
    (98, 0, "brutal reload"), (109, 0, "legion"), (110, 15, "signal 15"), (115, 0, "emperor config push"),
    (123, 0, "corerouter flag"), (200, 0, "persistent-connection close mark"), (255, 0, "generic reply"),
    (111, 2, "cache del"), (111, 5, "cache get-stream"), (111, 6, "cache dump"),
    (111, 7, "cache, unlisted modifier2"), (173, 9, "RPC, unlisted modifier2"),
]
for m1, m2, label in RAW_FAMILIES:
    dec("mod_%03d_m2_%d_raw" % (m1, m2),
        "modifier1 %d m2 %d (%s): raw block, not validated, no body" % (m1, m2, label),
        "spec §3 rule 2, §4.4 A3", H(m1, 2, m2) + b"ab", P(m1, 2, m2, raw=b"ab"))
dec("mod_001_datasize_1_is_fastcgi",
    "modifier1 1 with datasize low byte 1 reads as 01 01 xx xx, the FastCGI BEGIN_REQUEST pattern: ForeignProtocol",
    "spec §6 F1 (FastCGI row)", bytes.fromhex("01010000") + b"a",
    E("ForeignProtocol", 0, protocol="FastCgi", modifier1=1, datasize=1))
dec("mod_101_echo_empty", "echo with an empty payload: raw, empty", "spec §2.4",
    bytes.fromhex("65000000"), P(101, 0, 0, raw=b""))
dec("mod_111_m2_1_cache_set_array", "cache set (m1 111 m2 1): array [key, value]", "spec §2.4",
    H(111, 11, 1) + item(b"k1") + item(b"value"), P(111, 11, 1, items=[b"k1", b"value"]))
dec("mod_111_m2_10_cache_sync_on_a_stream", "cache sync set (m2 10) on a stream: the same array as the datagram",
    "spec §2.4", sync_set, P(111, 11, 10, items=[b"k1", b"hello"]))
dec("mod_173_m2_0_no_arguments", "RPC m2 0 with an empty block: an array of zero items", "spec §4.4 A1",
    bytes.fromhex("ad000000"), P(173, 0, 0, items=[]))
dec("mod_173_m2_0_item_overrun", "RPC array whose second item declares 9 bytes with 1 left: Overrun (item)",
    "spec §4.4 A2", bytes.fromhex("ad080000") + item(b"fn") + bytes.fromhex("0900") + b"ab",
    E("Overrun", 8, field="item", len=9, available=2))
dec("mod_173_m2_0_item_truncated_length", "RPC array with one byte left at an item start: TruncatedLength (item)",
    "spec §4.4 A2", bytes.fromhex("ad050000") + item(b"fn") + b"\x01",
    E("TruncatedLength", 8, field="item"))
spool = [(b"spooler_task", b"job1"), (b"CONTENT_LENGTH", b"4")]
dec("mod_017_spooler", "spooler (m1 17): vars, no body even with a CONTENT_LENGTH var (the 4 bytes after are not body)",
    "spec §2.4", H(17, 39, 0) + b"".join(kv(k, v) for k, v in spool) + b"body",
    P(17, 39, 0, vars=spool, body_len=0, after=b"body"))
dec("mod_111_m2_3_dict_get", "cache m2 3 (dict get): vars, no body", "spec §2.4",
    H(111, 9, 3) + kv(b"key", b"k1"), P(111, 9, 3, vars=[(b"key", b"k1")]))
dec("mod_111_m2_4_dict_get", "cache m2 4 (dict get): vars, no body", "spec §2.4",
    H(111, 9, 4) + kv(b"key", b"k1"), P(111, 9, 4, vars=[(b"key", b"k1")]))
cset = [(b"cmd", b"set"), (b"key", b"k"), (b"size", b"3")]
dec("mod_111_m2_17_cache_set_with_size", "cache m2 17 set: vars with size 3, then 3 body bytes framed by size",
    "spec §2.4, §5", H(111, 27, 17) + b"".join(kv(k, v) for k, v in cset) + b"abc",
    P(111, 27, 17, vars=cset, body_len=3, after=b"abc"))
cbad = [(b"cmd", b"set"), (b"key", b"k"), (b"size", b"+3")]
dec("mod_111_m2_17_size_with_a_sign", "cache m2 17 with size +3: the CONTENT_LENGTH integer rule applies to size",
    "spec §5 C2", H(111, 28, 17) + b"".join(kv(k, v) for k, v in cbad) + b"abc",
    {"packet": packet(111, 28, 17, vars=cbad, body_len=None, after=b"abc"),
     "error": err("InvalidContentLength", 30, reason="NotDigit")})
subc = [(b"key", b"example.com"), (b"CONTENT_LENGTH", b"5")]
dec("mod_224_m2_0_on_a_stream", "subscription (m1 224) on a stream: vars, no body even with CONTENT_LENGTH",
    "spec §2.4", H(224, 37, 0) + b"".join(kv(k, v) for k, v in subc), P(224, 37, 0, vars=subc))
dec("mod_224_m2_1_unsubscribe", "subscription m2 1 (unsubscribe) datagram: vars",
    "spec §2.4, §3", H(224, 18, 1) + kv(b"key", b"example.com"),
    P(224, 18, 1, vars=[(b"key", b"example.com")]), datagram=True)
dec("mod_000_reply_is_raw", "modifier1 0 in a reply: raw block (replies are raw but for 111/17 and 173/5)",
    "spec §3 rule 2", H(0, 5, 0) + b"hello", P(0, 5, 0, raw=b"hello"), direction="reply")
dec("mod_173_m2_1_reply_raw", "RPC m2 1 header in a reply: raw block", "spec §3 rule 2",
    H(173, 2, 1) + b"ok", P(173, 2, 1, raw=b"ok"), direction="reply")
dec("mod_111_m2_7_dump_reply", "cache dump reply (m2 7): its vars are read as a raw block, as §3 rule 2 says for replies",
    "spec §2.5, §3 rule 2", H(111, 23, 7) + kv(b"items", b"1") + kv(b"blocksize", b""),
    P(111, 23, 7, raw=kv(b"items", b"1") + kv(b"blocksize", b"")), direction="reply")
dec("mod_111_m2_17_reply_without_size", "cache m2 17 reply without size: vars, body 0",
    "spec §2.4, §5 C1", H(111, 14, 17) + kv(b"status", b"miss"),
    P(111, 14, 17, vars=[(b"status", b"miss")]), direction="reply")
dec("mod_173_m2_5_reply_empty_content_length", "RPC m2 5 reply with CONTENT_LENGTH \"\": vars, body 0",
    "spec §2.4, §5 C2", H(173, 18, 5) + kv(b"CONTENT_LENGTH", b""),
    P(173, 18, 5, vars=[(b"CONTENT_LENGTH", b"")]), direction="reply")
dec("mod_173_m2_5_reply_invalid_content_length", "RPC m2 5 reply with CONTENT_LENGTH \"1 0\": the integer rule applies, NotDigit at the space",
    "spec §5 C2", H(173, 21, 5) + kv(b"CONTENT_LENGTH", b"1 0") + b"0123456789",
    {"packet": packet(173, 21, 5, vars=[(b"CONTENT_LENGTH", b"1 0")], body_len=None, after=b"0123456789"),
     "error": err("InvalidContentLength", 23, reason="NotDigit")}, direction="reply")
dec("mod_111_m2_3_reply_raw", "cache m2 3 header in a reply: raw block (only 111/17 and 173/5 replies are vars)",
    "spec §3 rule 2", H(111, 5, 3) + b"value", P(111, 5, 3, raw=b"value"), direction="reply")
dec("mod_255_m2_0_reply_failed", "generic reply ff 00 00 00: failed", "spec §2.5",
    bytes.fromhex("ff000000"), P(255, 0, 0, raw=b""), direction="reply")

# =============================================================================================
# §5 CONTENT_LENGTH table (value at offset 84 of BASE kv("CONTENT_LENGTH", v))
# =============================================================================================


def cl_ok(name, v, n, after, description, source):
    dec(name, description, source, cl_packet(v, after),
        P(0, 80 + len(v), 0, vars=BV + [(b"CONTENT_LENGTH", v)], body_len=n, after=after))


def cl_bad(name, v, after, offset, reason, description, source):
    dec(name, description, source, cl_packet(v, after),
        {"packet": packet(0, 80 + len(v), 0, vars=BV + [(b"CONTENT_LENGTH", v)], body_len=None, after=after),
         "error": err("InvalidContentLength", offset, reason=reason)})


dec("cl_absent_bytes_after_are_not_body",
    "no CONTENT_LENGTH, 3 bytes after the packet: body 0, the 3 bytes are trailing (crate, uWSGI and gunicorn: 0)",
    "spec §5 C1, table row 1", base_packet(kv(b"CONTENT_TYPE", b"text/plain")) + b"xyz",
    P(0, 88, 0, vars=BV + [(b"CONTENT_TYPE", b"text/plain")], body_len=0, after=b"xyz"))
cl_ok("cl_zero", b"0", 0, b"", "CONTENT_LENGTH 0: body 0 (crate, uWSGI and gunicorn agree)", "spec §5 C2, table row 1")
cl_ok("cl_leading_zeros", b"007", 7, b"1234567", "CONTENT_LENGTH 007: leading zeros allowed, body 7 (all agree)",
      "spec §5 C2, table row 1")
cl_ok("cl_u64_max", b"18446744073709551615", 18446744073709551615, b"",
      "CONTENT_LENGTH 18446744073709551615 fits a u64: body u64::MAX, so the stream ends in TruncatedBody",
      "spec §5 C2, table row 6")
cl_bad("cl_5abc_with_body", b"5abc", b"hello", 85, "NotDigit",
       "CONTENT_LENGTH 5abc + hello: crate InvalidContentLength at 85; uWSGI frames 5 bytes (leading digits), gunicorn 0",
       "uWSGI 2.0 behaviour; spec §5 table row 2, §10")
cl_bad("cl_minus_one_with_body", b"-1", b"hello", 84, "NotDigit",
       "CONTENT_LENGTH -1 + hello: crate InvalidContentLength at 84; uWSGI 0 (the 5 bytes are ignored)",
       "uWSGI 2.0 behaviour; spec §5 table row 3, §10")
cl_bad("cl_plus_five", b"+5", b"hello", 84, "NotDigit",
       "CONTENT_LENGTH +5 + hello: crate InvalidContentLength at 84; uWSGI 0, gunicorn int() 5",
       "uWSGI 2.0 behaviour; spec §5 table row 3, §10")
cl_bad("cl_leading_space_with_body", b" 5", b"hello", 84, "NotDigit",
       "CONTENT_LENGTH \" 5\" + hello: crate InvalidContentLength at 84; uWSGI 0, gunicorn 5",
       "uWSGI 2.0 behaviour; spec §5 table row 4, §10")
cl_bad("cl_trailing_space", b"5 ", b"hello", 85, "NotDigit",
       "CONTENT_LENGTH \"5 \" + hello: crate InvalidContentLength at 85; uWSGI 5, gunicorn 5",
       "uWSGI 2.0 behaviour; spec §5 table row 4, §10")
cl_bad("cl_underscore", b"1_0", b"0123456789", 85, "NotDigit",
       "CONTENT_LENGTH 1_0 + 10 bytes: crate InvalidContentLength at 85; uWSGI 1, gunicorn int() 10",
       "uWSGI 2.0 behaviour; spec §5 table row 5, §10")
cl_bad("cl_overflow_with_body", b"18446744073709551621", b"hello", 103, "Overflow",
       "CONTENT_LENGTH 2^64+5 + hello: crate Overflow at the 20th digit (103); uWSGI wraps to 5, gunicorn a big int",
       "uWSGI 2.0 behaviour; spec §5 table row 7, §10")
cl_bad("cl_comma_list", b"5,5", b"hello", 85, "NotDigit",
       "CONTENT_LENGTH \"5,5\" (a comma list): InvalidContentLength at the comma", "spec §5 C2")
cl_bad("cl_hex_prefix", b"0x5", b"hello", 85, "NotDigit",
       "CONTENT_LENGTH 0x5: InvalidContentLength at the x", "spec §5 C2")
conf = [(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"2")]
dec("cl_conflict_last_wins_in_uwsgi",
    "CONTENT_LENGTH 5 then 2 + hello: crate ConflictingContentLength (first 5, second 2); uWSGI and gunicorn frame 2 (last wins)",
    "uWSGI 2.0 behaviour; spec §5 C3, table row 8, §10",
    base_packet(b"".join(kv(k, v) for k, v in conf)) + b"hello",
    {"packet": packet(0, 100, 0, vars=BV + conf, body_len=None, after=b"hello"),
     "error": err("ConflictingContentLength", 85, first=5, second=2)})
conf = [(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"05")]
dec("cl_conflict_same_number_different_bytes",
    "CONTENT_LENGTH 5 then 05: any byte difference conflicts, even for the same number",
    "spec §5 C3", base_packet(b"".join(kv(k, v) for k, v in conf)) + b"hello",
    {"packet": packet(0, 101, 0, vars=BV + conf, body_len=None, after=b"hello"),
     "error": err("ConflictingContentLength", 85, first=5, second=5)})
same = [(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"5")]
dec("cl_identical_duplicates", "CONTENT_LENGTH 5 twice, byte-identical: allowed, body 5",
    "spec §5 C3", base_packet(b"".join(kv(k, v) for k, v in same)) + b"hello",
    P(0, 100, 0, vars=BV + same, body_len=5, after=b"hello"))
dec("cl_body_then_trailing", "CONTENT_LENGTH 5 + hello + 3 more bytes: body hello, then 3 trailing bytes (one-request mode)",
    "spec §5 C6, C8", cl_packet(b"5", b"helloXYZ"), P(0, 81, 0, vars=cl5, body_len=5, after=b"helloXYZ"))

# =============================================================================================
# §10 differentials
# =============================================================================================

AB = kv(b"A", b"b")
dec("diff_zero_length_key", "kv(A,b) kv(\"\",x): EmptyKey at 10; uWSGI rejects too (uwsgi key cannot be null), gunicorn accepts",
    "spec §4.3 V2, §10", H(0, 11, 0) + AB + kv(b"", b"x"), E("EmptyKey", 10))
dec("diff_one_trailing_byte", "kv(A,b) 00: TruncatedLength (key) at 10; uWSGI rejects too",
    "spec §4.3 V1, §10", H(0, 7, 0) + AB + b"\x00", E("TruncatedLength", 10, field="key"))
dec("diff_trailing_00_00", "kv(A,b) 00 00: EmptyKey at 10; uWSGI rejects too",
    "spec §4.3 V2, §10", H(0, 8, 0) + AB + b"\x00\x00", E("EmptyKey", 10))
dec("diff_key_overrun_resync",
    "block FF 00 01 00 4B 00 00: crate Overrun (key 255, 5 left); the uWSGI worker re-reads the key bytes as a length and yields K=\"\"",
    "uWSGI 2.0 behaviour; spec §4.3 V3, §10", H(0, 7, 0) + bytes.fromhex("ff0001004b0000"),
    E("Overrun", 4, field="key", len=255, available=5))
dec("diff_key_ends_at_block_end",
    "kv(A,b) 01 00 4B: crate TruncatedLength (value) at 13; the uWSGI worker takes its resync path, uwsgi_hooked_parse rejects",
    "uWSGI 2.0 behaviour; spec §4.3 V4, §10", H(0, 9, 0) + AB + b"\x01\x00\x4b",
    E("TruncatedLength", 13, field="value"))
dec("diff_value_overrun", "01 00 41 05 00 78 79: value length 5 with 2 left; every peer rejects",
    "spec §4.3 V5, §10", H(0, 7, 0) + bytes.fromhex("01004105007879"),
    E("Overrun", 7, field="value", len=5, available=2))
ev = [(b"A", b"b"), (b"EMPTY", b"")]
dec("diff_empty_value_last", "kv(A,b) kv(EMPTY,\"\"): accepted by every peer", "spec §4.3 V6, §10",
    H(0, 15, 0) + b"".join(kv(k, v) for k, v in ev), P(0, 15, 0, vars=ev))
dec("diff_datasize_0_then_a_byte",
    "H(0,0,0) + 1 byte: crate 0 vars, body 0, 1 trailing byte; uWSGI's Python plugin answers Empty python request, the fastrouter rejects",
    "uWSGI 2.0 behaviour; spec §4.3 V7, §10", H(0, 0, 0) + b"x", P(0, 0, 0, vars=[], after=b"x"))
x129 = [(b"X", b"")] * 129
dec("diff_129_pairs", "129 kv(X,\"\") pairs: crate accepts (no limit, all kept); uWSGI max vec size reached after 128",
    "uWSGI 2.0 behaviour; spec §4.2 L2, §10", H(0, 645, 0) + kv(b"X", b"") * 129, P(0, 645, 0, vars=x129))
x1001 = [(b"X", b"")] * 1001
dec("diff_1001_pairs", "1001 kv(X,\"\") pairs: crate accepts; gunicorn refuses more than 1000 vars",
    "spec §4.2 L2, §10", H(0, 5005, 0) + kv(b"X", b"") * 1001, P(0, 5005, 0, vars=x1001))
pad4028 = b"x" * 4028
dec("diff_datasize_4097_default_limit",
    "datasize 4097 with the default limit: crate accepts; uWSGI's default --buffer-size 4096 logs invalid request block size and resets",
    "uWSGI 2.0 behaviour; spec §4.2 L1, §10", base_packet(kv(b"PAD", pad4028)),
    P(0, 4097, 0, vars=BV + [(b"PAD", pad4028)]))
ra = [(b"REMOTE_ADDR", b"10.0.0.1"), (b"REMOTE_ADDR", b"127.0.0.1")]
dec("diff_duplicate_remote_addr",
    "two REMOTE_ADDR: crate keeps both in order (get = last); uWSGI uses the first REMOTE_ADDR, last-wins for every other key",
    "uWSGI 2.0 behaviour; spec §4.3 V10, §10", base_packet(b"".join(kv(k, v) for k, v in ra)),
    P(0, 62 + 23 + 24, 0, vars=BV + ra))
dec("diff_cache_set_empty_value_last",
    "cache set array [k1, \"\"]: crate keeps the empty last item; uWSGI uwsgi_parse_array rejects it",
    "uWSGI 2.0 behaviour; spec §4.4 A1, §10", H(111, 6, 1) + item(b"k1") + item(b""),
    P(111, 6, 1, items=[b"k1", b""]))
chunked = b"5\r\nhello\r\n"
tec = [(b"HTTP_TRANSFER_ENCODING", b"chunked"), (b"CONTENT_LENGTH", b"10")]
dec("diff_chunked_bytes_are_body",
    "TE chunked + CONTENT_LENGTH 10: the 10 bytes 5\\r\\nhello\\r\\n are the body as sent, the rest trailing; uWSGI --wsgi-manage-chunked-input would de-chunk",
    "uWSGI 2.0 behaviour; spec §5 C5, §10", base_packet(b"".join(kv(k, v) for k, v in tec)) + chunked + b"0\r\n\r\n",
    frames(fp(0, 62 + 33 + 20, 0, vars=BV + tec, body_len=10), fbody(chunked), END, ftrail(b"0\r\n\r\n")))
inner = base_packet()
cl66 = BV + [(b"CONTENT_LENGTH", b"66")]
dec("diff_packet_inside_a_body_persistent",
    "persistent mode, CONTENT_LENGTH 66 whose body is a whole uwsgi packet: it stays body, never decoded (unbit/uwsgi#2336 shape)",
    "uWSGI 2.0 behaviour; spec §5 C6, C8, §10", cl_packet(b"66", inner),
    frames(fp(0, 82, 0, vars=cl66, body_len=66), fbody(inner), END), mode="persistent")
dec("diff_http_after_the_body",
    "one-request mode, bytes after the body (a pipelined HTTP request): reported as trailing; uWSGI ignores them and closes",
    "uWSGI 2.0 behaviour; spec §5 C8, §10", cl_packet(b"5", b"hello" + b"GET / HTTP/1.1\r\n\r\n"),
    frames(fp(0, 81, 0, vars=cl5, body_len=5), fbody(b"hello"), END, ftrail(b"GET / HTTP/1.1\r\n\r\n")))
dec("diff_persistent_two_bodies",
    "persistent mode, two packets with bodies: each body is framed by its own CONTENT_LENGTH",
    "spec §5 C8, §10", cl_packet(b"5", b"hello") + cl_packet(b"2", b"ok"),
    frames(fp(0, 81, 0, vars=cl5, body_len=5), fbody(b"hello"), END,
           fp(0, 81, 0, vars=BV + [(b"CONTENT_LENGTH", b"2")], body_len=2), fbody(b"ok"), END), mode="persistent")
dec("diff_persistent_eof_in_second_header",
    "persistent mode, a complete request then 2 bytes of a header: UnexpectedEof counted from the second packet",
    "spec §4.1 H7, §5 C8", base_packet() + b"\x00\x3e",
    frames(fp(0, 62, 0, vars=BV, body_len=0), END, ferr("UnexpectedEof", 2, needed=2)), mode="persistent")
dec("diff_persistent_foreign_second_packet",
    "persistent mode, a complete request then an HTTP request line: ForeignProtocol at the second packet start",
    "spec §5 C8, §6 F1", base_packet() + b"GET / HTTP/1.1\r\n\r\n",
    frames(fp(0, 62, 0, vars=BV, body_len=0), END,
           ferr("ForeignProtocol", 0, protocol="HttpRequest", modifier1=71, datasize=21573)), mode="persistent")
dec("diff_unknown_modifier1",
    "modifier1 177 (nobody serves it): decoded as an opaque request family; uWSGI closes without a reply, gunicorn answers 501",
    "uWSGI 2.0 behaviour; spec §3 rule 1, §10", base_packet(m1=177), P(177, 62, 0, vars=BV))
dec("diff_eof_inside_the_header",
    "00 3e then end of input: UnexpectedEof (2 received, 2 missing); uWSGI logs uwsgi_proto_uwsgi_parser(): Success",
    "uWSGI 2.0 behaviour; spec §4.1 H7, §10", b"\x00\x3e", E("UnexpectedEof", 2, needed=2))

# =============================================================================================
# §9 magic variables
# =============================================================================================

mf = [(b"UWSGI_FILE", b"exec://id")]
dec("magic_refused_by_policy", "UWSGI_FILE with magic_policy refuse: MagicVar at the pair (offset 66)",
    "spec §9 M2", base_packet(kv(*mf[0])), E("MagicVar", 66), magic_policy="refuse")
dec("magic_allowed_by_default",
    "UWSGI_FILE=exec://id with the default policy: accepted; uWSGI honours it unconditionally and runs the command",
    "uWSGI 2.0 behaviour; spec §9 M2", base_packet(kv(*mf[0])), P(0, 62 + 23, 0, vars=BV + mf))
dec("magic_refuse_covers_routing_vars", "UWSGI_SCHEME with magic_policy refuse: refused too (any UWSGI_* key)",
    "spec §9 M1, M2", base_packet(kv(b"UWSGI_SCHEME", b"https")), E("MagicVar", 66), magic_policy="refuse")
nm = [(b"HTTP_UWSGI_FILE", b"x"), (b"uwsgi_file", b"x"), (b"UWSGI", b"x")]
dec("magic_refuse_exact_prefix_only",
    "HTTP_UWSGI_FILE, uwsgi_file and UWSGI with magic_policy refuse: none starts with UWSGI_ byte for byte, all accepted",
    "spec §9 M1, §4.3 V9", base_packet(b"".join(kv(k, v) for k, v in nm)),
    P(0, 62 + 20 + 15 + 10, 0, vars=BV + nm), magic_policy="refuse")

# =============================================================================================
# Encoder vectors (§7, §11 cases 48 and 49)
# =============================================================================================

enc("enc_case48_block_65536", "a pair of 2+1+2+65531 bytes makes a 65536-byte block: LengthOverflow (block), nothing written",
    "spec §7 E2, §11 case 48", 0, err("LengthOverflow", None, field="block", len=65536),
    pairs=[(b"K", b"x" * 65531)])
enc("enc_block_65535", "one byte less: the largest packet, 00 ff ff 00 + kv(K, 65530 x)",
    "spec §7 E1, §11 case 48", 0, H(0, 65535, 0) + kv(b"K", x65530), pairs=[(b"K", x65530)])
enc("enc_case49_key_65536", "a 65536-byte key: LengthOverflow (key)", "spec §7 E2, §11 case 49", 0,
    err("LengthOverflow", None, field="key", len=65536), pairs=[(b"k" * 65536, b"v")])
enc("enc_case49_value_65536", "a 65536-byte value: LengthOverflow (value)", "spec §7 E2, §11 case 49", 0,
    err("LengthOverflow", None, field="value", len=65536), pairs=[(b"K", b"k" * 65536)])
enc("enc_key_65535_block_too_big", "a 65535-byte key fits its u16 but the block is 65539: LengthOverflow (block)",
    "spec §7 E1, E2", 0, err("LengthOverflow", None, field="block", len=65539), pairs=[(b"k" * 65535, b"")])
enc("enc_block_80010", "two pairs of 40005 bytes: LengthOverflow (block) carrying the whole computed size 80010",
    "spec §7 E1, E3", 0, err("LengthOverflow", None, field="block", len=80010),
    pairs=[(b"A", b"a" * 40000), (b"B", b"b" * 40000)])
enc("enc_case49_empty_key", "kv(A,b) then a 0-byte key: EmptyKey at the offset it would have had (10)",
    "spec §7 E2, §11 case 49", 0, err("EmptyKey", 10), pairs=[(b"A", b"b"), (b"", b"x")])
enc("enc_empty_key_first", "a 0-byte key as the first pair: EmptyKey at 4", "spec §7 E2", 0,
    err("EmptyKey", 4), pairs=[(b"", b"")])

GOLDEN = [(b"QUERY_STRING", b"x=1"), (b"REQUEST_METHOD", b"GET"), (b"CONTENT_TYPE", b""),
          (b"CONTENT_LENGTH", b""), (b"REQUEST_URI", b"/a/b%20c?x=1"), (b"PATH_INFO", b"/a/b c"),
          (b"DOCUMENT_ROOT", b"/var/www/ngx/html"), (b"SERVER_PROTOCOL", b"HTTP/1.1"),
          (b"REQUEST_SCHEME", b"http"), (b"REMOTE_ADDR", b"127.0.0.1"), (b"REMOTE_PORT", b"51038"),
          (b"SERVER_PORT", b"18080"), (b"SERVER_NAME", b"localhost"), (b"HTTP_HOST", b"127.0.0.1:18080"),
          (b"HTTP_USER_AGENT", b"t"), (b"HTTP_X_FOO", b"1"), (b"HTTP_X_FOO", b"2"), (b"HTTP_ACCEPT", b"*/*")]
golden_wire = bytes.fromhex("00830100") + b"".join(kv(k, v) for k, v in GOLDEN)
assert len(golden_wire) == 391
enc("enc_case49_golden_get", "the §8 golden GET (duplicate HTTP_X_FOO included): nginx's 391 bytes, 00 83 01 00",
    "spec §7 E4, §8, §11 case 49", 0, golden_wire, pairs=GOLDEN)
enc("enc_golden_get_body_0", "the golden GET framing a 0-byte body: the empty CONTENT_LENGTH placeholder stays empty",
    "spec §7 E7", 0, golden_wire, pairs=GOLDEN, body_len=0)
filled = [(k, b"5" if k == b"CONTENT_LENGTH" else v) for k, v in GOLDEN]
filled_wire = bytes.fromhex("00840100") + b"".join(kv(k, v) for k, v in filled)
assert len(filled_wire) == 392
enc("enc_golden_get_body_5", "the golden GET framing a 5-byte body: the placeholder is filled in place, datasize 388",
    "spec §7 E7", 0, filled_wire, pairs=GOLDEN, body_len=5)
post = [(b"REQUEST_METHOD", b"POST"), (b"PATH_INFO", b"/upload")]
post_block = b"".join(kv(k, v) for k, v in post)
appended = post_block + kv(b"CONTENT_LENGTH", b"11")
enc("enc_content_length_appended", "no CONTENT_LENGTH, body 11: kv(CONTENT_LENGTH,11) appended after the caller's pairs",
    "spec §7 E7", 0, H(0, len(appended), 0) + appended, pairs=post, body_len=11)
enc("enc_content_length_not_appended_for_0", "no CONTENT_LENGTH, body 0: nothing appended",
    "spec §7 E7", 0, H(0, len(post_block), 0) + post_block, pairs=post, body_len=0)
cl5p = [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"5")]
cl5b = b"".join(kv(k, v) for k, v in cl5p)
enc("enc_content_length_matching", "CONTENT_LENGTH 5 given, body 5: written unchanged", "spec §7 E7", 0,
    H(0, len(cl5b), 0) + cl5b, pairs=cl5p, body_len=5)
enc("enc_content_length_conflict", "CONTENT_LENGTH 7 given, body 5: ConflictingContentLength at the caller's pair (26)",
    "spec §7 E7", 0, err("ConflictingContentLength", 26, first=7, second=5),
    pairs=[(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"7")], body_len=5)
enc("enc_content_length_leading_zero", "CONTENT_LENGTH 05 given, body 5: not exactly decimal 5, ConflictingContentLength",
    "spec §7 E7", 0, err("ConflictingContentLength", 26, first=5, second=5),
    pairs=[(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"05")], body_len=5)
cl0p = [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_LENGTH", b"0")]
cl0b = b"".join(kv(k, v) for k, v in cl0p)
enc("enc_content_length_zero_matching", "CONTENT_LENGTH 0 given, body 0: exactly decimal 0, written unchanged",
    "spec §7 E7", 0, H(0, len(cl0b), 0) + cl0b, pairs=cl0p, body_len=0)
order = [(b"Z", b"1"), (b"A", b"2"), (b"Z", b"3")]
ob = b"".join(kv(k, v) for k, v in order)
enc("enc_order_and_duplicates", "Z=1 A=2 Z=3: written in the caller's order, duplicates kept, nothing sorted",
    "spec §7 E4", 7, H(7, len(ob), 0) + ob, pairs=order)
ob = b"".join(kv(k, v) for k, v in opaque)
enc("enc_opaque_bytes", "a latin-1 key and a value with NUL and 0xff: written byte for byte", "spec §7 E4, §4.3 V9",
    0, H(0, len(ob), 0) + ob, pairs=opaque)
enc("enc_empty_packet", "modifier1 0, no pairs: 00 00 00 00", "spec §4.3 V7, §7", 0, H(0, 0, 0), pairs=[])
enc("enc_ping", "ping: 64 00 00 00", "spec §2.5", 100, bytes.fromhex("64000000"), pairs=[])
enc("enc_pong", "pong: 64 00 00 01", "spec §2.5", 100, bytes.fromhex("64000001"), modifier2=1, pairs=[])
enc("enc_rpc_request", "RPC [hello, a, b]: case 37's bytes", "spec §2.3, §11 case 37", 173,
    bytes.fromhex("ad0d0000") + item(b"hello") + item(b"a") + item(b"b"), items=[b"hello", b"a", b"b"])
enc("enc_rpc_empty_item_middle", "RPC [hello, \"\", a]: the empty item is written", "spec §4.4 A1, §11 case 38", 173,
    bytes.fromhex("ad0c0000") + item(b"hello") + item(b"") + item(b"a"), items=[b"hello", b"", b"a"])
enc("enc_rpc_empty_item_last", "RPC [hello, \"\"]: an empty last item is written", "spec §4.4 A1, §11 case 39", 173,
    bytes.fromhex("ad090000") + item(b"hello") + item(b""), items=[b"hello", b""])
enc("enc_item_65536", "a 65536-byte item: LengthOverflow (item)", "spec §7 E2", 173,
    err("LengthOverflow", None, field="item", len=65536), items=[b"i" * 65536])
enc("enc_items_block_65536", "one 65534-byte item makes a 65536-byte block: LengthOverflow (block)", "spec §7 E1, E2",
    173, err("LengthOverflow", None, field="block", len=65536), items=[b"i" * 65534])
enc("enc_raw_tail_case26", "kv(A,b) + a raw RAW\\x01 tail (uwsgi_string analogue): counted in datasize, case 26's bytes",
    "spec §7 E6, §11 case 26", 0, H(0, 13, 0) + AB + b"RAW\\x01", pairs=[(b"A", b"b")], raw=b"RAW\\x01")
enc("enc_echo_raw", "echo hello-echo: a raw block", "spec §2.4, §11 case 42", 101,
    bytes.fromhex("650a0000") + b"hello-echo", raw=b"hello-echo")
enc("enc_over_configured_limit", "a 19-byte block with max_datasize 16: TooLarge (len 19, max 16)", "spec §7 E2",
    0, err("TooLarge", 1, len=19, max=16), pairs=[(b"ABCDEFGHIJ", b"12345")], max_datasize=16)
enc("enc_at_configured_limit", "a 19-byte block with max_datasize 19: written", "spec §7 E2", 0,
    H(0, 19, 0) + kv(b"ABCDEFGHIJ", b"12345"), pairs=[(b"ABCDEFGHIJ", b"12345")], max_datasize=19)
enc("enc_magic_refused_by_default", "UWSGI_FILE (code-affecting) without allow_magic: MagicVar at 4",
    "spec §9 M3", 0, err("MagicVar", 4), pairs=[(b"UWSGI_FILE", b"app.py")])
enc("enc_magic_allowed", "UWSGI_FILE with allow_magic: written", "spec §9 M3", 0,
    H(0, 20, 0) + kv(b"UWSGI_FILE", b"app.py"), pairs=[(b"UWSGI_FILE", b"app.py")], allow_magic=True)
enc("enc_magic_routing_allowed", "UWSGI_SCHEME (routing only) without allow_magic: written", "spec §9 M1, M3", 0,
    H(0, 21, 0) + kv(b"UWSGI_SCHEME", b"https"), pairs=[(b"UWSGI_SCHEME", b"https")])
enc("enc_rpc_dict_reply_head", "RPC m2 5, no pairs, body 70000: CONTENT_LENGTH 70000 appended, case 40's header",
    "spec §2.5, §7 E7, §11 case 40", 173, bytes.fromhex("ad170005") + kv(b"CONTENT_LENGTH", b"70000"),
    modifier2=5, pairs=[], body_len=70000)
enc("enc_subscription", "the case 46 subscription packet, from its pairs", "spec §2.4, §11 case 46", 224,
    sub_wire, pairs=sub)
enc("enc_cache_sync_set", "cache sync set m2 10 [k1, hello]: case 47's bytes", "spec §2.4, §11 case 47", 111,
    sync_set, modifier2=10, items=[b"k1", b"hello"])


# --- output -------------------------------------------------------------------------------------


def render(value, indent=0):
    """json.dumps(indent=2), except that small leaf objects and arrays stay on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    flat = json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)) and len(flat) <= 100 and "\n" not in flat:
        leafy = all(not isinstance(v, (dict, list)) or (isinstance(v, dict) and set(v) <= {"repeat", "count"})
                    for v in (value.values() if isinstance(value, dict) else value))
        if leafy or (isinstance(value, dict) and set(value) in ({"key_hex", "value_hex"},)):
            return flat
    if isinstance(value, dict):
        items = ["%s%s: %s" % (inner, json.dumps(k), render(v, indent + 1)) for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + render(v, indent + 1) for v in value) + "\n" + pad + "]"
    return flat


DOCS = {
    "spec.json": {
        "description": "Hand-made decode vectors: every PROTOCOL.md §11 case with a packet or stream outcome, "
                       "foreign preambles P1-P22, a packet per §3 modifier family, the §5 CONTENT_LENGTH table, "
                       "§9 magic vars and the §10 differentials; generated by make_spec_vectors.py, "
                       "outcomes written by hand from PROTOCOL.md",
        "schema": DECODE_SCHEMA,
        "vectors": SPEC,
    },
    "encoder.json": {
        "description": "Hand-made encoder vectors (PROTOCOL.md §7, §11 cases 48 and 49): inputs that must encode "
                       "to exact bytes or be refused; generated by make_spec_vectors.py",
        "schema": ENCODE_SCHEMA,
        "vectors": ENCODER,
    },
}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for filename, doc in DOCS.items():
        path = os.path.join(HERE, filename)
        data = (render(doc) + "\n").encode("utf-8")
        if check:
            try:
                with open(path, "rb") as f:
                    if f.read() != data:
                        stale.append(filename)
            except OSError:
                stale.append(filename)
            continue
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        print("make_spec_vectors: wrote %s (%d vectors, %d bytes)" % (filename, len(doc["vectors"]), len(data)),
              file=sys.stderr)
    if stale:
        sys.exit("make_spec_vectors: out of date: %s (run tests/vectors/make_spec_vectors.py)" % ", ".join(stale))


if __name__ == "__main__":
    main()
