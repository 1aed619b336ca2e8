#!/usr/bin/env python3
"""Writes the seed corpus fuzz/seeds/<target>/ from the test vectors (Python stdlib only).

Sources: every "wire_hex" field anywhere in tests/vectors/*.json (hex data in any of the three
forms of tests/vectors/README.md §1; a vector's "options" become the targets' settings bytes),
every tests/captures/*.bin, and a few hand-made shapes from PROTOCOL.md §11. Streams over
MAX_SEED bytes are left out (the 64 KiB edge cases would make libFuzzer grow every input).
Each seed is named after its source; rerunning replaces the seeds dirs exactly.

    python3 fuzz/make_seeds.py
"""

import hashlib
import json
import pathlib
import shutil
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
SEEDS = FUZZ / "seeds"
# Streams longer than this are left out: libFuzzer sizes its inputs after the largest seed.
MAX_SEED = 8192
TARGETS = ["parse", "vars_array", "content_length", "codec", "roundtrip", "differential"]


def kv(key: bytes, value: bytes) -> bytes:
    return struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value


def header(m1: int, datasize: int, m2: int) -> bytes:
    return bytes([m1, datasize & 0xFF, datasize >> 8, m2])


def packet(m1: int, block: bytes, m2: int = 0) -> bytes:
    return header(m1, len(block), m2) + block


BASE = kv(b"REQUEST_METHOD", b"GET") + kv(b"PATH_INFO", b"/") + kv(b"SERVER_PROTOCOL", b"HTTP/1.1")


def hex_data(node) -> bytes:
    """tests/vectors/README.md §1 hex data: a hex string, {"repeat": H, "count": N}, or a list."""
    if isinstance(node, str):
        return bytes.fromhex(node)
    if isinstance(node, dict):
        return bytes.fromhex(node["repeat"]) * node["count"]
    return b"".join(hex_data(part) for part in node)


def wire_hex_fields(node):
    """Every value of a "wire_hex" key, at any depth, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "wire_hex":
                yield hex_data(value)
            else:
                yield from wire_hex_fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from wire_hex_fields(item)


def settings_byte(options) -> int:
    """A vector's decoder options as the `parse` / `differential` settings byte (src/lib.rs)."""
    limit = options.get("max_datasize", 65535)
    byte = {4096: 1, 62: 2, 0: 3}.get(limit, 0)
    if options.get("direction") == "reply":
        byte |= 4
    if options.get("foreign_check") is False:
        byte |= 8
    byte |= {0: 1, 1: 2, 3: 3}.get(options.get("max_vars"), 0) << 4
    if options.get("magic_policy") == "refuse":
        byte |= 1 << 6
    return byte


def codec_byte(options) -> int:
    """A vector's decoder options as the `codec` settings byte (fuzz_targets/codec.rs)."""
    limit = options.get("max_datasize", 65535)
    byte = {4096: 1, 62: 2, 0: 3}.get(limit, 0) << 1
    if options.get("mode") == "persistent":
        byte |= 1
    if options.get("foreign_check") is False:
        byte |= 16
    if options.get("magic_policy") == "refuse":
        byte |= 128
    return byte


def named_streams():
    """(name, options, bytes) of every stream in the vectors and captures, then hand-made ones."""
    for path in sorted((ROOT / "tests" / "vectors").glob("*.json")):
        doc = json.loads(path.read_text())
        vectors = doc.get("vectors", []) if isinstance(doc, dict) else doc
        for i, vector in enumerate(vectors if isinstance(vectors, list) else []):
            if not isinstance(vector, dict):
                continue
            name = vector.get("name", str(i))
            options = vector.get("options", {}) if isinstance(vector.get("options"), dict) else {}
            for j, wire in enumerate(wire_hex_fields(vector)):
                yield f"{path.stem}-{name}-{j}", options, wire
    for path in sorted((ROOT / "tests" / "captures").glob("*.bin")):
        yield f"capture-{path.stem}", {}, path.read_bytes()
    for name, wire in hand_made():
        yield name, {}, wire


def hand_made():
    """PROTOCOL.md §11 shapes, in case the vector files lack them."""
    yield "case1-base", packet(0, BASE)
    yield "case3-empty", header(0, 0, 0)
    yield "case12-empty-value", packet(0, BASE + kv(b"X_EMPTY", b""))
    yield "case13-trailing-byte", packet(0, BASE + b"\x00")
    yield "case17-value-overrun", packet(0, BASE + b"\x01\x00K\x10\x00ab")
    yield "case18-key-overrun", header(0, 3, 0) + b"\xff\xff\x00"
    yield "case20-duplicates", packet(0, BASE + kv(b"HTTP_X", b"first") + kv(b"HTTP_X", b"second"))
    yield "case21-conflicting-cl", packet(0, BASE + kv(b"CONTENT_LENGTH", b"2") + kv(b"CONTENT_LENGTH", b"5")) + b"hello"
    yield "case26-raw-tail", packet(0, kv(b"A", b"b") + b"RAW\\x01")
    yield "case27-rpc-array", packet(173, kv(b"hellolua", b"foo") + kv(b"bar", b""), 1)
    yield "case31-cl-overflow", packet(0, BASE + kv(b"CONTENT_LENGTH", b"18446744073709551621"))
    post = packet(0, BASE + kv(b"CONTENT_LENGTH", b"5")) + b"hello"
    yield "case33-post", post
    yield "case34-pipelined", post + packet(0, BASE)
    yield "case35-chunked-te", packet(0, BASE + kv(b"HTTP_TRANSFER_ENCODING", b"chunked") + kv(b"CONTENT_LENGTH", b"6")) + b"abcdef"
    yield "case38-array-empty-item", b"\xad\x0c\x00\x00\x05\x00hello\x00\x00\x01\x00a"
    yield "case40-rpc-dict-reply", packet(173, kv(b"CONTENT_LENGTH", b"7"), 5) + b"1234567"
    yield "case41-ping", b"\x64\x00\x00\x00"
    yield "case43-signal", b"\x6e\x00\x00\x11"
    yield "case44-cache-magic", packet(111, kv(b"status", b"ok") + kv(b"size", b"9"), 17) + b"value-one"
    yield "case46-subscription", packet(224, kv(b"key", b"example.com") + kv(b"address", b"127.0.0.1:18099") + kv(b"modifier1", b"0"))
    yield "magic-uwsgi-file", packet(0, BASE + kv(b"UWSGI_FILE", b"exec://id") + kv(b"UWSGI_SCHEME", b"https"))
    yield "p1-http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    yield "p13-tls", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    yield "p17-scgi", b"70:CONTENT_LENGTH\x0027\x00"
    yield "p22-raw-http-modifier", b"\x48\x00\x00\x00"


def content_length_values(stream: bytes):
    """The CONTENT_LENGTH / size values of the first packet of a stream, if it parses."""
    if len(stream) < 4:
        return
    end = min(4 + (stream[1] | stream[2] << 8), len(stream))
    pos = 4
    while pos + 2 <= end:
        klen = stream[pos] | stream[pos + 1] << 8
        key = stream[pos + 2 : pos + 2 + klen]
        vpos = pos + 2 + klen
        if vpos + 2 > end:
            return
        vlen = stream[vpos] | stream[vpos + 1] << 8
        value = stream[vpos + 2 : vpos + 2 + vlen]
        if key in (b"CONTENT_LENGTH", b"size", b"HTTP_CONTENT_LENGTH"):
            yield value
        pos = vpos + 2 + vlen


def main():
    seeds = {target: {} for target in TARGETS}

    def add(target, name, data):
        """One seed per distinct content: the first name that brings it."""
        digest = hashlib.sha1(data).hexdigest()[:8]
        if digest not in seeds[target]:
            seeds[target][digest] = (f"{name}-{digest}", data)

    lengths = {b"", b"0", b"007", b"5", b"5abc", b"-1", b"+5", b" 5", b"5 ", b"1_0", b"0x10",
               b"18446744073709551615", b"18446744073709551616", b"18446744073709551621",
               b"99999999999999999999x", b"000000000000000000000000000018446744073709551615"}
    for name, options, stream in named_streams():
        if len(stream) > MAX_SEED:
            continue
        first_len = 4 + (stream[1] | stream[2] << 8) if len(stream) >= 4 else len(stream)
        block = stream[4:first_len]
        settings = bytes([settings_byte(options)])
        # parse: the stream as is (default parser), behind its settings byte, and as a reply.
        add("parse", name, stream)
        add("parse", name + "-s", settings + stream)
        add("parse", name + "-reply", bytes([settings[0] | 4]) + stream)
        # differential: its settings, and a pair limit (3) / magic refusal variant.
        add("differential", name, settings + stream)
        add("differential", name + "-limits", b"\x70" + stream)
        # vars_array: the first packet's block.
        add("vars_array", name, block)
        # codec: fed whole, in odd cuts (persistent), twice over (persistent).
        codec = codec_byte(options)
        add("codec", name + "-whole", bytes([codec, 0]) + stream)
        add("codec", name + "-cuts", bytes([codec | 1, 3, 5, 1, 64]) + stream)
        add("codec", name + "-twice", bytes([codec | 1, 1, 7]) + stream + stream)
        # roundtrip: unstructured material for `arbitrary`.
        add("roundtrip", name, stream)
        lengths.update(content_length_values(stream))
    for value in sorted(lengths):
        add("content_length", "value", b"\x00" + value)

    for target in TARGETS:
        directory = SEEDS / target
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for name, data in sorted(seeds[target].values()):
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
            (directory / safe).write_bytes(data)
        print(f"{target}: {len(seeds[target])} seeds")


if __name__ == "__main__":
    main()
