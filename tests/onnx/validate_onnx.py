#!/usr/bin/env python3
"""Validates ONNX files written by `ser export` and compares their logits with SerEngine's.

For each MODEL.onnx given:
  1. onnx.checker.check_model(model, full_check=True)
  2. onnx.shape_inference.infer_shapes(model, strict_mode=True), and the inferred output shape
  3. runs the graph on the inputs of MODEL.sample.json beside it (`ser export ... --sample
     MODEL.sample.json`; a missing sample is a failure) and prints the max abs difference from the
     engine's logits.
     The graph is run by onnx.reference.ReferenceEvaluator when the onnx package has it
     (onnx >= 1.13); otherwise by the small interpreter below, which implements exactly the ops
     the exporter emits from their ONNX (opset 17) definitions, in float32 numpy, with
     torch.nn.functional for Conv and MaxPool.
Exit code 1 when a check fails or a difference exceeds --tolerance.

    ser export --checkpoint fold1/best.safetensors --onnx /tmp/fcn.onnx --sample /tmp/fcn.sample.json
    /usr/bin/python3 tests/onnx/validate_onnx.py /tmp/fcn.onnx /tmp/fca.onnx
"""
import argparse
import collections
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

try:
    from onnx.reference import ReferenceEvaluator  # onnx >= 1.13
except ImportError:
    ReferenceEvaluator = None


# --- a minimal interpreter for the exported op set (used when ReferenceEvaluator is missing) ---

def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b=None, kernel_shape=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1, **_):
    import torch
    import torch.nn.functional as F
    t = F.pad(torch.from_numpy(x), (pads[1], pads[3], pads[0], pads[2]))
    y = F.conv2d(t, torch.from_numpy(np.array(w)), None if b is None else torch.from_numpy(np.array(b)),
                 stride=tuple(strides), dilation=tuple(dilations), groups=group)
    return y.numpy()


def _maxpool(x, kernel_shape, strides=(1, 1), pads=(0, 0, 0, 0), ceil_mode=0, **_):
    import torch
    import torch.nn.functional as F
    t = F.pad(torch.from_numpy(x), (pads[1], pads[3], pads[0], pads[2]), value=float("-inf"))
    return F.max_pool2d(t, tuple(kernel_shape), tuple(strides), ceil_mode=bool(ceil_mode)).numpy()


def _batchnorm(x, scale, bias, mean, var, epsilon=1e-5, **_):
    s = (1, -1, 1, 1)
    return ((x - mean.reshape(s)) / np.sqrt(var.reshape(s) + np.float32(epsilon)) * scale.reshape(s) + bias.reshape(s)).astype(np.float32)


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0, **_):
    y = np.float32(alpha) * ((a.T if transA else a) @ (b.T if transB else b))
    return (y if c is None else y + np.float32(beta) * c).astype(np.float32)


def _reshape(x, shape, allowzero=0, **_):
    shape = [int(d) for d in shape]
    if not allowzero:
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(shape)


def _softmax(x, axis=-1, **_):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def _reduce_sum(x, axes=None, keepdims=1, noop_with_empty_axes=0, **_):
    if axes is None or len(axes) == 0:
        return x if noop_with_empty_axes else x.sum(keepdims=bool(keepdims))
    return x.sum(axis=tuple(int(a) for a in axes), keepdims=bool(keepdims))


_CAST = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32}

OPS = {
    "Conv": _conv,
    "MaxPool": _maxpool,
    "BatchNormalization": _batchnorm,
    "Gemm": _gemm,
    "Reshape": _reshape,
    "Softmax": _softmax,
    "ReduceSum": _reduce_sum,
    "ReduceMean": lambda x, axes=None, keepdims=1, **_: x.mean(axis=None if axes is None else tuple(axes), keepdims=bool(keepdims)),
    "Relu": lambda x, **_: np.maximum(x, np.float32(0)),
    "Tanh": lambda x, **_: np.tanh(x),
    "Sigmoid": lambda x, **_: (1 / (1 + np.exp(-x))).astype(x.dtype),
    "Add": lambda a, b, **_: a + b,
    "Sub": lambda a, b, **_: a - b,
    "Mul": lambda a, b, **_: a * b,
    "Div": lambda a, b, **_: a / b,
    "MatMul": lambda a, b, **_: np.matmul(a, b),
    "Transpose": lambda x, perm=None, **_: np.transpose(x, perm),
    "Concat": lambda *xs, axis, **_: np.concatenate(xs, axis=axis),
    "Shape": lambda x, **_: np.array(x.shape, dtype=np.int64),
    "Gather": lambda x, i, axis=0, **_: np.take(x, i, axis=axis),
    "Cast": lambda x, to, **_: x.astype(_CAST[to]),
    "Range": lambda s, l, d, **_: np.arange(s, l, d, dtype=np.result_type(s, l, d)),
    "Unsqueeze": lambda x, axes, **_: np.expand_dims(x, tuple(int(a) for a in axes)),
    "Identity": lambda x, **_: x,
}


def run_graph(model, feeds):
    """Runs the graph's nodes in order (the file's order must be topological)."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        if node.op_type == "Constant":
            env[node.output[0]] = numpy_helper.to_array(a["value"])
            continue
        if node.op_type not in OPS:
            raise NotImplementedError(f"interpreter has no {node.op_type}")
        ins = [env[i] if i else None for i in node.input]
        out = OPS[node.op_type](*ins, **a)
        env[node.output[0]] = np.asarray(out)
    return [env[o.name] for o in model.graph.output]


def evaluate(model, path, feeds):
    if ReferenceEvaluator is not None:
        return ReferenceEvaluator(path).run(None, feeds)
    return run_graph(model, feeds)


# --- the checks ---

def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def validate(path, tolerance):
    ok = True
    model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    ops = collections.Counter(n.op_type for n in model.graph.node)
    print(f"== {path}")
    print(f"   producer {model.producer_name} {model.producer_version}, ir_version {model.ir_version}, opset {opset}, "
          f"model '{meta.get('model')}', labels {meta.get('labels')}")
    print(f"   inputs {[(i.name, dims(i)) for i in model.graph.input]}, outputs {[(o.name, dims(o)) for o in model.graph.output]}")
    print(f"   {len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers "
          f"({sum(int(np.prod(t.dims)) for t in model.graph.initializer):,} weights); ops: "
          + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    onnx.checker.check_model(model, full_check=True)
    print("   onnx.checker.check_model(full_check=True): ok")
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    print(f"   onnx.shape_inference.infer_shapes(strict_mode=True): ok, {len(inferred.graph.value_info)} values typed, "
          f"output {dims(inferred.graph.output[0])}")
    sample_path = os.path.splitext(path)[0] + ".sample.json"
    if not os.path.exists(sample_path):
        # a structural check alone is not a validation: without the engine's logits there is nothing to compare
        print(f"   FAIL: no {sample_path} beside the model (write it with 'ser export ... --sample {sample_path}')")
        return False
    with open(sample_path) as f:
        sample = json.load(f)
    runner = "onnx.reference.ReferenceEvaluator" if ReferenceEvaluator is not None else "validate_onnx.py interpreter (onnx has no ReferenceEvaluator)"
    for case in sample["cases"]:
        x = np.asarray(case["input"], dtype=np.float32).reshape(case["shape"])
        expected = np.asarray(case["logits"], dtype=np.float32).reshape(case["logits_shape"])
        (got,) = evaluate(model, path, {sample["input_name"]: x})
        diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
        good = diff <= tolerance
        ok &= good
        print(f"   input {list(x.shape)}: logits {list(got.shape)}, max |onnx - engine| = {diff:.2e} "
              f"(|logits| up to {float(np.max(np.abs(expected))):.2f}) {'ok' if good else 'FAIL'}  [{runner}]")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="ONNX files written by 'ser export'")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit difference (default 1e-4)")
    args = ap.parse_args()
    print(f"onnx {onnx.__version__}, numpy {np.__version__}")
    ok = True
    for path in args.models:
        try:
            ok &= validate(path, args.tolerance)
        except Exception as e:  # a failed check is reported per model, then the exit code says it
            print(f"   FAIL: {type(e).__name__}: {e}")
            ok = False
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
