"""Writes the ONNX fixtures of tests/tests/onnx.rs and host/src/interop/onnx.rs into
tests/fixtures/onnx/: MLP graphs built with the `onnx` package (outside mlprobe), an input CSV,
and the logits ONNX Runtime computes for each graph.

Run from the repository root with the reference venv (scripts/venv.sh):
    .venv/bin/python tests/reference/make_onnx.py
The outputs are checked in; the script is deterministic (fixed seed, fixed graph order), so
running it again rewrites the same bytes.

Graphs (F = 5 inputs x0..x4, 3 classes):
  mlp3.onnx            Sub/Div normaliser, Gemm(transB=1) -> Relu -> Gemm -> Relu -> Gemm (5-8-6-3)
  mlp2.onnx            Sub/Div normaliser, Gemm(transB=1) -> Relu -> Gemm (5-7-3)
  mlp2_transb0.onnx    the same network with Gemm(transB=0): weights stored [inputs, outputs]
  mlp2_matmul.onnx     MatMul + Add (bias first in the second Add), Identity, Flatten and a
                       Reshape to [-1, 5] as no-ops, the second weight in a Constant node
  mlp2_softmax.onnx    the same network with a final Softmax (its output is probabilities)
  mlp2_plain.onnx      no normaliser, DOUBLE weights and input (identity normaliser)
Bad graphs (mlprobe refuses each with exit 2):
  bad_sigmoid.onnx     a Sigmoid node named `act1` instead of the Relu
  bad_conv.onnx        an unnamed Conv node (index 0)
  bad_gemm_shape.onnx  Gemm `fc2` whose weight [3, 6] does not take fc1's 7 outputs
Expected values: NAME.logits.csv, the logits ONNX Runtime computes for input.csv with NAME.onnx
(for mlp2_softmax, the tensor before the Softmax, added as a graph output for the run).
"""

import csv
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx")
F, C = 5, 3
FEATURES = [f"x{i}" for i in range(F)]
rng = np.random.default_rng(16)


def dense(inputs, outputs):
    w = rng.normal(0, 1 / np.sqrt(inputs), size=(outputs, inputs)).astype(np.float32)
    b = rng.normal(0, 0.3, size=outputs).astype(np.float32)
    return w, b


MEAN = rng.normal(2.0, 3.0, size=F).astype(np.float32)
STD = rng.uniform(0.5, 4.0, size=F).astype(np.float32)
L3 = [dense(5, 8), dense(8, 6), dense(6, 3)]
L2 = [dense(5, 7), dense(7, 3)]
X = (MEAN + STD * rng.normal(0, 1.5, size=(24, F))).astype(np.float32)
# Printed with 6 decimals, so the CSV's values are exactly the ones run here.
X = np.array([[float(f"{v:.6f}") for v in row] for row in X], dtype=np.float32)


def init(name, array):
    return numpy_helper.from_array(array, name)


def model(nodes, inits, out="logits", dtype=TensorProto.FLOAT, features=True):
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", dtype, ["N", F])],
        [helper.make_tensor_value_info(out, dtype, ["N", C])],
        initializer=inits,
    )
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_onnx.py"
    )
    m.ir_version = 8
    if features:
        helper.set_model_props(m, {"mlprobe.features": ",".join(FEATURES)})
    return m


def normaliser(nodes, inits):
    inits += [init("mean", MEAN), init("std", STD)]
    nodes += [
        helper.make_node("Sub", ["x", "mean"], ["centered"], name="sub"),
        helper.make_node("Div", ["centered", "std"], ["z"], name="div"),
    ]
    return "z"


def gemm_chain(layers, nodes, inits, current, trans_b=1, last="logits"):
    for k, (w, b) in enumerate(layers, start=1):
        wname, bname = f"fc{k}.weight", f"fc{k}.bias"
        inits += [init(wname, w if trans_b else np.ascontiguousarray(w.T)), init(bname, b)]
        out = last if k == len(layers) else f"h{k}"
        nodes.append(
            helper.make_node("Gemm", [current, wname, bname], [out], name=f"fc{k}", transB=trans_b)
        )
        current = out
        if k < len(layers):
            nodes.append(helper.make_node("Relu", [current], [f"r{k}"], name=f"relu{k}"))
            current = f"r{k}"
    return current


def mlp3():
    nodes, inits = [], []
    gemm_chain(L3, nodes, inits, normaliser(nodes, inits))
    return model(nodes, inits)


def mlp2(trans_b=1):
    nodes, inits = [], []
    gemm_chain(L2, nodes, inits, normaliser(nodes, inits), trans_b=trans_b)
    return model(nodes, inits)


def mlp2_matmul():
    (w1, b1), (w2, b2) = L2
    nodes, inits = [], []
    cur = normaliser(nodes, inits)
    inits += [
        init("w1t", np.ascontiguousarray(w1.T)),
        init("b1", b1),
        init("shape", np.array([-1, F], dtype=np.int64)),
        init("b2", b2),
    ]
    nodes += [
        helper.make_node("Identity", [cur], ["id"]),
        helper.make_node("Flatten", ["id"], ["flat"], axis=1),
        helper.make_node("Reshape", ["flat", "shape"], ["reshaped"], name="reshape"),
        helper.make_node("MatMul", ["reshaped", "w1t"], ["mm1"], name="mm1"),
        helper.make_node("Add", ["mm1", "b1"], ["h1"], name="add1"),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node(
            "Constant", [], ["w2t"], name="w2", value=init("w2t", np.ascontiguousarray(w2.T))
        ),
        helper.make_node("MatMul", ["r1", "w2t"], ["mm2"], name="mm2"),
        helper.make_node("Add", ["b2", "mm2"], ["logits"], name="add2"),
    ]
    return model(nodes, inits)


def mlp2_softmax():
    nodes, inits = [], []
    gemm_chain(L2, nodes, inits, normaliser(nodes, inits), last="scores")
    nodes.append(helper.make_node("Softmax", ["scores"], ["probabilities"], name="softmax", axis=1))
    return model(nodes, inits, out="probabilities")


def mlp2_plain():
    nodes, inits = [], []
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in L2]
    gemm_chain(layers, nodes, inits, "x")
    return model(nodes, inits, dtype=TensorProto.DOUBLE, features=False)


def bad_sigmoid():
    m = mlp2()
    for n in m.graph.node:
        if n.op_type == "Relu":
            n.op_type, n.name = "Sigmoid", "act1"
    return m


def bad_conv():
    m = mlp2()
    w = np.ones((1, 1, 1), dtype=np.float32)
    m.graph.initializer.append(init("k", w))
    conv = helper.make_node("Conv", ["x", "k"], ["c"])
    m.graph.node.insert(0, conv)
    return m


def bad_gemm_shape():
    (w1, b1), _ = L2
    w2, b2 = dense(6, 3)
    nodes, inits = [], []
    gemm_chain([(w1, b1), (w2, b2)], nodes, inits, normaliser(nodes, inits))
    return model(nodes, inits)


def run_logits(m, name, dtype):
    """The logits ONNX Runtime computes: the graph's output, or for a Softmax graph the
    Softmax's input, added as an extra output for this run only."""
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    target = probe.graph.output[0].name
    if probe.graph.node[-1].op_type == "Softmax":
        target = probe.graph.node[-1].input[0]
        probe.graph.output.append(helper.make_tensor_value_info(target, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = sess.run([target], {"x": X.astype(dtype)})
    return out.astype(np.float64)


def forward(layers, mean, std):
    """numpy f64 forward, a cross-check of ONNX Runtime's numbers."""
    h = (X.astype(np.float64) - mean) / std
    for k, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64).T + b
        if k + 1 < len(layers):
            h = np.maximum(h, 0)
    return h


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "input.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES)
        for row in X:
            w.writerow([f"{v:.6f}" for v in row])
    good = {
        "mlp3": (mlp3(), np.float32, L3, True),
        "mlp2": (mlp2(), np.float32, L2, True),
        "mlp2_transb0": (mlp2(trans_b=0), np.float32, L2, True),
        "mlp2_matmul": (mlp2_matmul(), np.float32, L2, True),
        "mlp2_softmax": (mlp2_softmax(), np.float32, L2, True),
        "mlp2_plain": (mlp2_plain(), np.float64, L2, False),
    }
    for name, (m, dtype, layers, norm) in good.items():
        onnx.checker.check_model(m, full_check=True)
        logits = run_logits(m, name, dtype)
        mean, std = (MEAN, STD) if norm else (np.zeros(F), np.ones(F))
        ref = forward(layers, mean.astype(np.float64), std.astype(np.float64))
        err = np.max(np.abs(logits - ref) / np.max(np.abs(ref), axis=1, keepdims=True))
        assert err < 1e-5, (name, err)
        onnx.save_model(m, os.path.join(OUT, f"{name}.onnx"))
        with open(os.path.join(OUT, f"{name}.logits.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([f"logit_{c}" for c in range(C)])
            for row in logits:
                w.writerow([repr(float(v)) for v in row])
        print(f"{name}: ONNX Runtime vs numpy f64, max row-relative error {err:.2e}")
    for name, m in {
        "bad_sigmoid": bad_sigmoid(),
        "bad_conv": bad_conv(),
        "bad_gemm_shape": bad_gemm_shape(),
    }.items():
        onnx.save_model(m, os.path.join(OUT, f"{name}.onnx"))


if __name__ == "__main__":
    main()
