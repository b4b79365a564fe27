"""Writes the TFLite fixtures of tests/tests/tflite.rs into tests/fixtures/tflite/: models built
outside mlprobe with the TFLite schema's own Python tables (ai_edge_litert.schema_py_generated
and the `flatbuffers` package), an input CSV, and the logits TFLite's interpreter (reference
kernels) computes for the readable one.

Run from the repository root with the reference venv (scripts/venv.sh):
    .venv/bin/python tests/reference/make_tflite.py
The outputs are checked in; the script is deterministic (fixed seed), so running it again
rewrites the same bytes.

Models (F = 5 inputs, 3 classes):
  mlp_relu_op.tflite  no normaliser; FULLY_CONNECTED (no fused activation) -> RELU operator ->
                      FULLY_CONNECTED without a bias (5-7-3), as a converter may write them
Bad models (mlprobe refuses each with exit 2, naming the operator):
  bad_conv.tflite     input [1, 4, 4, 1] -> CONV_2D (operator #0)
  bad_softmax.tflite  FULLY_CONNECTED -> SOFTMAX (operator #1): probabilities, not logits
Expected values: mlp_relu_op.logits.csv, the logits of input.csv by TFLite's interpreter with
its reference kernels (OpResolverType.BUILTIN_REF).
"""

import csv
import os

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s
from ai_edge_litert.interpreter import Interpreter, OpResolverType

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tflite")
F, H, C = 5, 7, 3
rng = np.random.default_rng(17)


class Model:
    """A one-subgraph model under construction (buffer 0 empty, as converters write it)."""

    def __init__(self):
        self.buffers = [s.BufferT()]
        self.tensors = []
        self.codes = []
        self.ops = []

    def tensor(self, name, shape, data=None, ty=s.TensorType.FLOAT32):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), ty, 0
        if data is not None:
            b = s.BufferT()
            b.data = list(np.ascontiguousarray(data).tobytes())
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, options_type=0, options=None):
        if code not in [c.builtinCode for c in self.codes]:
            c = s.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            self.codes.append(c)
        o = s.OperatorT()
        o.opcodeIndex = [c.builtinCode for c in self.codes].index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        o.builtinOptionsType, o.builtinOptions = options_type, options
        self.ops.append(o)

    def bytes(self, inputs, outputs):
        sg = s.SubGraphT()
        sg.tensors, sg.operators, sg.inputs, sg.outputs = self.tensors, self.ops, inputs, outputs
        sg.name = "main"
        m = s.ModelT()
        m.version, m.subgraphs, m.operatorCodes, m.buffers = 3, [sg], self.codes, self.buffers
        m.description = "tests/reference/make_tflite.py"
        b = flatbuffers.Builder(0)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def fc_options(activation):
    o = s.FullyConnectedOptionsT()
    o.fusedActivationFunction = activation
    return s.BuiltinOptions.FullyConnectedOptions, o


def dense(inputs, outputs):
    w = rng.normal(0, 1 / np.sqrt(inputs), size=(outputs, inputs)).astype(np.float32)
    b = rng.normal(0, 0.3, size=outputs).astype(np.float32)
    return w, b


def mlp_relu_op():
    m = Model()
    (w1, b1), (w2, _) = dense(F, H), dense(H, C)
    x = m.tensor("x", [1, F])
    z1 = m.tensor("dense/MatMul", [1, H])
    m.op(s.BuiltinOperator.FULLY_CONNECTED,
         [x, m.tensor("dense/w", [H, F], w1), m.tensor("dense/b", [H], b1)], [z1],
         *fc_options(s.ActivationFunctionType.NONE))
    h1 = m.tensor("dense/Relu", [1, H])
    m.op(s.BuiltinOperator.RELU, [z1], [h1])
    y = m.tensor("Identity", [1, C])
    m.op(s.BuiltinOperator.FULLY_CONNECTED, [h1, m.tensor("dense_1/w", [C, H], w2), -1], [y],
         *fc_options(s.ActivationFunctionType.NONE))
    return m.bytes([x], [y])


def bad_conv():
    m = Model()
    x = m.tensor("image", [1, 4, 4, 1])
    k = m.tensor("kernel", [2, 3, 3, 1], rng.normal(size=(2, 3, 3, 1)).astype(np.float32))
    b = m.tensor("kernel_bias", [2], np.zeros(2, np.float32))
    y = m.tensor("features", [1, 4, 4, 2])
    o = s.Conv2DOptionsT()
    o.padding, o.strideW, o.strideH = s.Padding.SAME, 1, 1
    m.op(s.BuiltinOperator.CONV_2D, [x, k, b], [y], s.BuiltinOptions.Conv2DOptions, o)
    return m.bytes([x], [y])


def bad_softmax():
    m = Model()
    w, b = dense(F, C)
    x = m.tensor("x", [1, F])
    z = m.tensor("logits", [1, C])
    m.op(s.BuiltinOperator.FULLY_CONNECTED, [x, m.tensor("w", [C, F], w), m.tensor("b", [C], b)],
         [z], *fc_options(s.ActivationFunctionType.NONE))
    p = m.tensor("probabilities", [1, C])
    o = s.SoftmaxOptionsT()
    o.beta = 1.0
    m.op(s.BuiltinOperator.SOFTMAX, [z], [p], s.BuiltinOptions.SoftmaxOptions, o)
    return m.bytes([x], [p])


def run(model, x):
    """The logits of every row of x, one invoke per row, with the reference kernels."""
    it = Interpreter(model_content=model,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (i,), (o,) = it.get_input_details(), it.get_output_details()
    rows = []
    for row in x:
        it.set_tensor(i["index"], row[None, :])
        it.invoke()
        rows.append(it.get_tensor(o["index"])[0].copy())
    return np.array(rows)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            # repr of the float32 as a double: parses back to the same f32 bits.
            w.writerow([repr(float(v)) for v in r])


def main():
    os.makedirs(OUT, exist_ok=True)
    x = rng.normal(0, 1.5, size=(24, F)).astype(np.float32)
    x = np.array([[float(f"{v:.6f}") for v in row] for row in x], dtype=np.float32)
    write_csv(os.path.join(OUT, "input.csv"), [f"x{i}" for i in range(F)], x)
    models = {"mlp_relu_op": mlp_relu_op(), "bad_conv": bad_conv(), "bad_softmax": bad_softmax()}
    for name, data in models.items():
        with open(os.path.join(OUT, f"{name}.tflite"), "wb") as f:
            f.write(data)
    write_csv(os.path.join(OUT, "mlp_relu_op.logits.csv"), [f"logit{j}" for j in range(C)],
              run(models["mlp_relu_op"], x))


if __name__ == "__main__":
    main()
