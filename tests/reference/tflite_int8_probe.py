"""Probes the int8 arithmetic of TFLite's reference kernels (ai-edge-litert, as pinned in
tests/reference/requirements.txt): which requantization rounding FULLY_CONNECTED uses, and
whether it honours per-output-channel weight scales. Used by tests/tests/tflite.rs; run by hand
with
    .venv/bin/python tests/reference/tflite_int8_probe.py
It prints one JSON object: for per-tensor and per-channel weights, with and without a fused
RELU, the number of output values (of `rows` x 5) where the interpreter differs from each
emulation:
  single: MultiplyByQuantizedMultiplier with one rounding, (x * M + 2^(30 - shift)) >> (31 - shift)
          (TFLite's TFLITE_SINGLE_ROUNDING build)
  double: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (gemmlowp's two roundings)
  per_tensor_scale: single rounding, but every channel with the first channel's scale (what a
          kernel ignoring per-channel scales would compute)
Both emulations quantize the input as AffineQuantize does (float32 x / scale, rounded half away
from zero, plus the zero point, clamped) and derive the multiplier as QuantizeMultiplier does
(frexp of the double input_scale * weight_scale / output_scale, rounded to Q31).
"""

import json
import math

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s
from ai_edge_litert.interpreter import Interpreter, OpResolverType

I, O, ROWS = 6, 5, 1000


def tensor(name, shape, ty, buf=0, scale=None, zp=None):
    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name, list(shape), ty, buf
    if scale is not None:
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = list(map(float, scale)), list(map(int, zp)), 0
        t.quantization = q
    return t


def model(p, relu):
    bufs = [s.BufferT()]

    def buf(a):
        b = s.BufferT()
        b.data = list(a.tobytes())
        bufs.append(b)
        return len(bufs) - 1

    n = len(p["w_scale"])
    tensors = [
        tensor("x", [1, I], s.TensorType.FLOAT32),
        tensor("xq", [1, I], s.TensorType.INT8, 0, [p["in_scale"]], [p["in_zp"]]),
        tensor("w", [O, I], s.TensorType.INT8, buf(p["w"]), p["w_scale"], [0] * n),
        tensor("b", [O], s.TensorType.INT32, buf(p["b"]),
               np.float32(p["in_scale"]) * p["w_scale"], [0] * n),
        tensor("yq", [1, O], s.TensorType.INT8, 0, [p["out_scale"]], [p["out_zp"]]),
        tensor("y", [1, O], s.TensorType.FLOAT32),
    ]
    codes = []
    for code, version in [(s.BuiltinOperator.QUANTIZE, 2), (s.BuiltinOperator.FULLY_CONNECTED, 4),
                          (s.BuiltinOperator.DEQUANTIZE, 2)]:
        c = s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, code, version
        codes.append(c)
    ops = []
    for k, (ins, outs) in enumerate([([0], [1]), ([1, 2, 3], [4]), ([4], [5])]):
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = k, ins, outs
        if k == 1:
            o.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
            o.builtinOptions = s.FullyConnectedOptionsT()
            o.builtinOptions.fusedActivationFunction = (
                s.ActivationFunctionType.RELU if relu else s.ActivationFunctionType.NONE)
        ops.append(o)
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = tensors, [0], [5], ops
    m = s.ModelT()
    m.version, m.subgraphs, m.operatorCodes, m.buffers = 3, [sg], codes, bufs
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def round_half_away(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def quantize_multiplier(real):
    q, shift = math.frexp(real)
    fixed = round_half_away(q * (1 << 31))
    if fixed == 1 << 31:
        fixed, shift = fixed // 2, shift + 1
    return fixed, shift


def single(x, m, shift):
    total = 31 - shift
    return (x * m + (1 << (total - 1))) >> total


def double(x, m, shift):
    x = x * (1 << max(shift, 0))
    ab = x * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    t = ab + nudge
    high = abs(t) >> 31 if t >= 0 else -(abs(t) >> 31)  # C++'s division truncates toward zero
    e = max(-shift, 0)
    mask = (1 << e) - 1
    rem, thr = high & mask, (mask >> 1) + (1 if high < 0 else 0)
    return (high >> e) + (1 if rem > thr else 0)


def emulate(x, p, relu, requant, scales):
    xq = [min(127, max(-128, round_half_away(float(np.float32(v) / np.float32(p["in_scale"])))
                       + p["in_zp"])) for v in x]
    lo = max(-128, p["out_zp"]) if relu else -128
    out = []
    for o in range(O):
        acc = int(p["b"][o]) + sum(int(p["w"][o, i]) * (xq[i] - p["in_zp"]) for i in range(I))
        real = float(np.float32(p["in_scale"])) * float(scales[o]) / float(np.float32(p["out_scale"]))
        v = requant(acc, *quantize_multiplier(real)) + p["out_zp"]
        v = min(127, max(lo, v))
        out.append(np.float32(p["out_scale"]) * np.float32(v - p["out_zp"]))
    return np.array(out, np.float32)


def main():
    rng = np.random.default_rng(17)
    result = {"rows": ROWS}
    for per_channel in [False, True]:
        for relu in [False, True]:
            p = {
                "in_scale": np.float32(0.0213), "in_zp": -3,
                "w": rng.integers(-127, 128, size=(O, I)).astype(np.int8),
                "w_scale": rng.uniform(0.001, 0.01, size=O if per_channel else 1)
                .astype(np.float32),
                "b": rng.integers(-3000, 3000, size=O).astype(np.int32),
                "out_scale": np.float32(0.047), "out_zp": 5,
            }
            scales = p["w_scale"] if per_channel else np.repeat(p["w_scale"], O)
            it = Interpreter(model_content=model(p, relu),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
            diff = {"single": 0, "double": 0, "per_tensor_scale": 0}
            for _ in range(ROWS):
                x = rng.normal(0, 1.5, size=I).astype(np.float32)
                it.set_tensor(0, x[None, :])
                it.invoke()
                got = it.get_tensor(5)[0]
                for name, requant, sc in [("single", single, scales), ("double", double, scales),
                                          ("per_tensor_scale", single, np.repeat(scales[0], O))]:
                    diff[name] += int(np.sum(got != emulate(x, p, relu, requant, sc)))
            key = ("per_channel" if per_channel else "per_tensor") + ("_relu" if relu else "")
            result[key] = diff
    print(json.dumps(result))


if __name__ == "__main__":
    main()
