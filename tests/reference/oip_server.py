"""A minimal Open Inference Protocol v2 server in Python's standard library alone.

    python3 tests/reference/oip_server.py MODEL.safetensors [--name wine] [--port 0]

It serves a model exported by `mlprobe export --format safetensors` (PyTorch state_dict names:
`fc1.weight` [out, in], `fc1.bias`, … any depth, ReLU between layers; `normalizer.mean`,
`normalizer.std`) at POST /v2/models/NAME/infer, and GET /v2/health/live, /v2/health/ready.
The arithmetic is Python's (float64), not mlprobe's: it is an independent server of the same
protocol and the same model, used by tests/tests/serve.rs (`mlprobe load --target http://…`
against a server that is not ours) and by `cargo bench -p mlprobe --bench serve` (the
baseline `mlprobe serve` is measured against). Prints `listening on http://HOST:PORT` once
ready.
"""

import argparse
import json
import math
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        start, end = t["data_offsets"]
        fmt = {"F32": "f", "F64": "d"}[t["dtype"]]
        size = struct.calcsize(fmt)
        values = list(struct.unpack_from("<%d%s" % ((end - start) // size, fmt), raw, 8 + n + start))
        tensors[name] = (t["shape"], values)
    return tensors, meta


class Model:
    def __init__(self, path):
        tensors, meta = read_safetensors(path)
        self.layers = []
        k = 1
        while "fc%d.weight" % k in tensors:
            (out_dim, in_dim), w = tensors["fc%d.weight" % k]
            _, b = tensors["fc%d.bias" % k]
            rows = [w[o * in_dim : (o + 1) * in_dim] for o in range(out_dim)]
            self.layers.append((rows, b))
            k += 1
        self.features = len(self.layers[0][0][0])
        self.classes = len(self.layers[-1][1])
        self.mean = tensors.get("normalizer.mean", (None, [0.0] * self.features))[1]
        self.std = tensors.get("normalizer.std", (None, [1.0] * self.features))[1]

    def logits(self, row):
        x = [((0.0 if math.isnan(v) else (v - m)) / s) for v, m, s in zip(row, self.mean, self.std)]
        for i, (rows, bias) in enumerate(self.layers):
            x = [sum(wi * xi for wi, xi in zip(w, x)) + b for w, b in zip(rows, bias)]
            if i + 1 < len(self.layers):
                x = [v if v > 0.0 else 0.0 for v in x]
        return x


def handler(model, name):
    infer_path = "/v2/models/%s/infer" % name

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds
        # the body until the client's delayed ACK (about 40 ms per request on Linux), which
        # would make this baseline slow for a reason that is not Python's.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/v2/health/live":
                self.answer(200, {"live": True})
            elif self.path == "/v2/health/ready":
                self.answer(200, {"ready": True})
            else:
                self.answer(404, {"error": "no route " + self.path})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != infer_path:
                return self.answer(404, {"error": "no route " + self.path})
            try:
                req = json.loads(body)
                (t,) = req["inputs"]
                n, f = t["shape"]
                data = t["data"]
                if t["datatype"] != "FP32" or f != model.features or len(data) != n * f:
                    raise ValueError("expected FP32 [n, %d]" % model.features)
            except (ValueError, KeyError, TypeError) as e:
                return self.answer(400, {"error": str(e)})
            logits, classes = [], []
            for r in range(n):
                z = model.logits(data[r * f : (r + 1) * f])
                logits.extend(z)
                classes.append(max(range(len(z)), key=lambda k: z[k]))
            out = {
                "model_name": name,
                "outputs": [
                    {"name": "logits", "shape": [n, model.classes], "datatype": "FP32", "data": logits},
                    {"name": "class", "shape": [n], "datatype": "INT64", "data": classes},
                ],
            }
            if "id" in req:
                out["id"] = req["id"]
            self.answer(200, out)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--name", default="wine")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    model = Model(args.model)
    server = ThreadingHTTPServer((args.host, args.port), handler(model, args.name))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print("listening on http://%s:%d" % (host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
