#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (small valid inputs; run from anywhere).

Model files and safetensors are built here from data/wine.previous.mlpb and two tiny models;
protocol frames are postcard bodies written by hand (the layouts are in core/src/protocol.rs)."""
import json, struct, zlib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"


def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def model_file(inputs, hidden, outputs, mean, std, params, fill=None):
    flags = 1 if fill is None else 0
    body = struct.pack("<4sHHHHHHf", b"MLPB", 1, flags, inputs, hidden, outputs, 0,
                       0.0 if fill is None else fill)
    body += struct.pack(f"<{len(mean)}f", *mean) + struct.pack(f"<{len(std)}f", *std)
    body += struct.pack(f"<{len(params)}f", *params)
    return body + struct.pack("<I", zlib.crc32(body))


def parse_model(b):
    _, _, flags, i, h, o, _, fill = struct.unpack("<4sHHHHHHf", b[:20])
    f = struct.unpack(f"<{(len(b) - 24) // 4}f", b[20:-4])
    return i, h, o, f[:i], f[i:2 * i], f[2 * i:], (None if flags & 1 else fill)


def safetensors(i, h, o, mean, std, params, fill, norm=True, dtype="F32"):
    w1, rest = params[:h * i], params[h * i:]
    b1, rest = rest[:h], rest[h:]
    w2, b2 = rest[:o * h], rest[o * h:]
    tensors = [("fc1.weight", [h, i], w1), ("fc1.bias", [h], b1),
               ("fc2.weight", [o, h], w2), ("fc2.bias", [o], b2)]
    if norm:
        tensors += [("normalizer.mean", [i], mean), ("normalizer.std", [i], std)]
    code, size = ("f", 4) if dtype == "F32" else ("d", 8)
    header, data = {}, b""
    for name, shape, values in tensors:
        raw = struct.pack(f"<{len(values)}{code}", *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt",
                              "mlprobe.fill": "mean" if fill is None else repr(fill)}
    h_bytes = json.dumps(header, separators=(",", ":")).encode()
    h_bytes += b" " * (-len(h_bytes) % 8)
    return struct.pack("<Q", len(h_bytes)) + h_bytes + data


wine = (root / "data" / "wine.previous.mlpb").read_bytes()
tiny = model_file(2, 3, 2, [0.5, -1.0], [1.0, 2.0],
                  [0.1 * k - 0.7 for k in range(2 * 3 + 3 + 3 * 2 + 2)], fill=0.0)
one = model_file(1, 1, 2, [0.0], [1.0], [1.0, 0.0, 1.0, -1.0, 0.0, 0.0])
for name, m in [("wine.mlpb", wine), ("tiny.mlpb", tiny), ("one.mlpb", one)]:
    put("model", name, m)
    put("import", name.replace(".mlpb", ".safetensors"), safetensors(*parse_model(m)))
put("import", "tiny-nonorm.safetensors", safetensors(*parse_model(tiny), norm=False))
put("import", "tiny-f64.safetensors", safetensors(*parse_model(tiny), dtype="F64"))


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def request(id, variant, features=None):
    body = varint(id) + varint(variant)
    if features is not None:
        body += varint(len(features)) + struct.pack(f"<{len(features)}f", *features)
    return body


def cobs(data):
    out, block = b"", b""
    for byte in data:
        if byte == 0:
            out += bytes([len(block) + 1]) + block
            block = b""
        else:
            block += bytes([byte])
            if len(block) == 254:
                out += b"\xff" + block
                block = b""
    return out + bytes([len(block) + 1]) + block


def frame(body):
    return cobs(body + struct.pack("<I", zlib.crc32(body))) + b"\0"


# Ping, Info, Infer (3 features: the server target's model), Infer (wrong count), Stats, Reset.
bodies = [request(1, 0), request(2, 1), request(3, 2, [1.0, -2.0, 0.5]),
          request(4, 2, [1.0]), request(5, 3), request(6, 4)]
sep = 0xAA  # not in any body above
framed = bytes([1, sep]) + bytes([sep]).join(bodies)
raw = bytes([0]) + b"".join(frame(b) for b in bodies)
for target in ["frame", "server"]:
    put(target, "framed-bodies", framed)
    put(target, "wire", raw)
    put(target, "garbage-then-ping", bytes([0]) + b"\x05\x01\x02\0" + frame(request(7, 0)))

csv = (root / "data" / "wine.csv").read_text().splitlines()
put("csv", "wine-head.csv", "\n".join(csv[:30]) + "\n")
put("csv", "quirks.csv", '\ufeff\n a , "b" ,class\r\n1,,0\n\n"2.5",-inf,1\r\nNaN, 3e-2 ,2\n')
put("csv", "missing-label.csv", "x,y\n1,2\n3,4")

# One small suite per expectation type of data/wine.suite.toml (the whole file is 18 KB: slow).
blocks = (root / "data" / "wine.suite.toml").read_text().split("[[expectations]]")[1:]
seen = set()
for block in blocks:
    kind = block.split('type = "', 1)[1].split('"', 1)[0]
    if kind not in seen:
        seen.add(kind)
        put("suite", kind + ".toml", 'name = "wine"\n\n[[expectations]]' + block)
put("config", "mlprobe.toml", (root / "mlprobe.toml").read_text())
put("config", "wine.policy.toml", (root / "data" / "wine.policy.toml").read_text())
