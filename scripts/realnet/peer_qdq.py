#!/usr/bin/python3
"""The peer of issue 14: static W8A8 QDQ quantization the way ONNX Runtime's
`quantize_static` does it by default, run in ONNX Runtime, judged by SQNR
against the FP32 model's outputs on evaluation data.

    /usr/bin/python3 scripts/realnet/peer_qdq.py MODEL.onnx CALIB.npy EVAL.npy WORKDIR
        [--variants minmax_pt,minmax_pc,pct_pt,pct_pc] [--threads 2] [--eval-samples N]
        [--hist-budget-mb 1024] [--force]

Writes WORKDIR/qdq_<variant>.onnx and WORKDIR/peer.json (per variant and per
output: SQNR in dB, plus timings) and prints one markdown row per output.
Steps (each one's result is kept in WORKDIR and reused unless --force):
  1. pre.onnx: ORT's recommended pre-processing (quant_pre_process): models
     below opset 13 are converted to opset 13 (per-channel Q/DQ needs the axis
     attribute of opset 13; ORT refuses per-channel QDQ below it), then ONNX
     Runtime's basic graph optimisations (constant folding, Conv+BN/Add/Mul
     folding, Identity/Cast-free eliminations) are applied and saved, then
     ONNX shape inference.
  2. calibration (CalibrationMethod.MinMax / Percentile of calibrate.py):
     every float tensor that is an input or output of a node whose op type is
     quantizable (op_types_to_calibrate = op_types_to_quantize = every op of
     QLinearOpsRegistry and QDQRegistry) is calibrated. MinMax: the model is
     augmented with ReduceMin/ReduceMax (keepdims=1, then Reshape [-1]) of
     each tensor, run with ORT_DISABLE_ALL on every calibration sample, and
     the range is (min of mins, max of maxes). Percentile (defaults num_bins
     2048, percentile 99.999, symmetric=True): a histogram of |x| over all
     calibration samples with 2048 bins spanning [min |x|, max |x|]
     (np.histogram's default range, as one collect_data() call sees it); the
     threshold is the bin edge where the CDF reaches 99.999 %; the range
     (-t, t) is clipped to the tensor's (min, max).
  3. quantization (QDQQuantizer, quant_format=QDQ, reduce_range=False,
     ActivationSymmetric=False, WeightSymmetric=True, activation uint8,
     weight int8): scale/zero-point from compute_scale_zp (range widened to
     contain 0; uint8 asymmetric: s = (rmax - rmin) / 255, z = round(-rmin / s);
     int8 symmetric weights: s = max|w| / 127, z = 0, values in [-127, 127]);
     per-channel variants quantize Conv weights along axis 0 (ConvTranspose 1,
     Gemm 0 if transB else 1, MatMul 1); bias int32 with scale s_x * s_w (zero
     point 0). Which tensors get Q/DQ follows the op quantizers: Conv,
     ConvTranspose, Gemm, MatMul (input, output, weight, bias); Relu and Clip
     removed when they follow a quantized tensor with one consumer (their
     range, already given to their input, does the clipping); Reshape,
     Transpose, Squeeze, Unsqueeze, Slice, AveragePool, Resize, MaxPool: output
     shares the input's scale, only if the input is quantized; Pad, Split as
     ORT; every other op of the list (Add, Mul, Sigmoid, LeakyRelu, Concat,
     GlobalAveragePool, Softmax, ...) gets Q/DQ on all its float inputs and
     outputs, constant operands included (an initializer there is quantized
     as the activation type with WeightSymmetric: uint8, zero point 127).
     Softmax outputs get the range [0, 1]. Ops not in the list stay float.
  4. evaluation: ORT (graph optimisation "all", as deployed) runs the FP32
     model and every variant on the evaluation samples;
     SQNR = 10 log10(sum ref^2 / sum (ref - q)^2) per output over all samples.
Variants: minmax_pt / minmax_pc (MinMax activations, per-tensor / per-channel
weights), pct_pt / pct_pc (Percentile 99.999 activations).
Needs /usr/bin/python3 with onnx and numpy (python3-onnx, python3-numpy) and
node with scripts/ort installed (scripts/ort/setup.sh).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_ORT = os.path.join(HERE, "peer_ort.js")

# onnxruntime/python/tools/quantization/registry.py (QLinearOpsRegistry incl.
# CommonOpsRegistry, and QDQRegistry); quantize_static's default
# op_types_to_quantize is the union.
QLINEAR_OPS = ["ArgMax", "Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "Clip", "LeakyRelu", "Sigmoid",
               "MaxPool", "GlobalAveragePool", "Split", "Pad", "Reshape", "Squeeze", "Unsqueeze", "Resize",
               "AveragePool", "Concat", "Softmax", "Where", "Gather", "Transpose", "EmbedLayerNormalization"]
QDQ_OPS = ["Conv", "ConvTranspose", "Gemm", "Clip", "Relu", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
           "Resize", "MaxPool", "AveragePool", "Slice", "Pad", "MatMul", "Split", "Gather", "GatherElements",
           "Where", "InstanceNormalization", "LayerNormalization", "BatchNormalization"]
OP_TYPES = set(QLINEAR_OPS) | set(QDQ_OPS)
FLOATS = (TensorProto.FLOAT, TensorProto.FLOAT16)
VARIANTS = {"minmax_pt": ("minmax", False), "minmax_pc": ("minmax", True),
            "pct_pt": ("percentile", False), "pct_pc": ("percentile", True)}
NUM_BINS = 2048
PERCENTILE = 99.999


def log(msg):
    print(f"peer_qdq: {msg}", file=sys.stderr, flush=True)


def node_js(*args):
    subprocess.run(["node", PEER_ORT, *args], check=True)


def opset_of(model):
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


# ------------------------------------------------------------------ step 1
def preprocess(model_path, work, threads):
    pre = os.path.join(work, "pre.onnx")
    if os.path.exists(pre):
        return pre
    m = onnx.load(model_path)
    src = model_path
    if opset_of(m) < 13:
        from onnx import version_converter
        m13 = version_converter.convert_version(m, 13)
        src = os.path.join(work, "opset13.onnx")
        onnx.save(m13, src)
        log(f"converted opset {opset_of(m)} -> 13")
    opt = os.path.join(work, "ort_basic.onnx")
    node_js("optimize", "--model", src, "--out", opt, "--level", "basic", "--threads", str(threads))
    m = onnx.shape_inference.infer_shapes(onnx.load(opt))
    onnx.save(m, pre)
    return pre


# ------------------------------------------------------------------ step 2
def value_infos(model):
    vis = {vi.name: vi for vi in model.graph.value_info}
    vis.update({o.name: o for o in model.graph.output})
    vis.update({i.name: i for i in model.graph.input})
    return vis


def tensors_to_calibrate(model):
    """calibrate.py CalibraterBase.select_tensors_to_calibrate."""
    vis = value_infos(model)
    inits = {i.name for i in model.graph.initializer}
    out = []
    seen = set()
    for n in model.graph.node:
        if n.op_type not in OP_TYPES:
            continue
        for t in list(n.input) + list(n.output):
            if t in seen or t in inits or t not in vis:
                continue
            vi = vis[t]
            if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type in FLOATS:
                out.append(t)
                seen.add(t)
    return out


def numel_bytes(vi):
    dims = vi.type.tensor_type.shape.dim
    if not dims and not vi.type.tensor_type.HasField("shape"):
        return None
    n = 1
    for d in dims:
        if not d.HasField("dim_value") or d.dim_value <= 0:
            return None
        n *= d.dim_value
    return 4 * n


def plan(pre_path, work):
    mm_path = os.path.join(work, "calib_minmax.onnx")
    full_path = os.path.join(work, "calib_full.onnx")
    plan_path = os.path.join(work, "calib_plan.json")
    if all(os.path.exists(p) for p in (mm_path, full_path, plan_path)):
        return json.load(open(plan_path)), mm_path, full_path
    m = onnx.load(pre_path)
    tensors = tensors_to_calibrate(m)
    vis = value_infos(m)
    # ReduceMin / ReduceMax (+ min |x|) per tensor, keepdims=1 then Reshape [-1], as MinMaxCalibrater does.
    mm = onnx.ModelProto()
    mm.CopyFrom(m)
    shape_name = "peer_reshape_shape"
    mm.graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), shape_name))
    mapping = {}
    for i, t in enumerate(tensors):
        et = vis[t].type.tensor_type.elem_type
        outs = []
        for kind, op, src in (("min", "ReduceMin", t), ("max", "ReduceMax", t), ("absmin", "ReduceMin", None)):
            if src is None:
                src = f"peer_{i}_abs"
                mm.graph.node.append(helper.make_node("Abs", [t], [src], name=f"peer_{i}_Abs"))
            red = f"peer_{i}_{kind}_reduced"
            out = f"peer_{i}_{kind}"
            mm.graph.node.append(helper.make_node(op, [src], [red], name=f"peer_{i}_{kind}_{op}", keepdims=1))
            mm.graph.node.append(helper.make_node("Reshape", [red, shape_name], [out], name=f"peer_{i}_{kind}_Reshape"))
            mm.graph.output.append(helper.make_tensor_value_info(out, et, [None]))
            outs.append(out)
        mapping[t] = outs
    onnx.save(mm, mm_path)
    # Every calibrated tensor as a graph output (for the histograms).
    full = onnx.ModelProto()
    full.CopyFrom(m)
    outputs = {o.name for o in full.graph.output}
    for t in tensors:
        if t not in outputs:
            full.graph.output.append(vis[t])
    onnx.save(full, full_path)
    p = {"tensors": tensors, "minmax_map": mapping, "bytes": {t: numel_bytes(vis[t]) for t in tensors}}
    json.dump(p, open(plan_path, "w"))
    log(f"{len(tensors)} tensors to calibrate")
    return p, mm_path, full_path


def collect(p, mm_path, full_path, calib, work, threads, budget_mb):
    stats_path = os.path.join(work, "calib_minmax.json")
    hist_path = os.path.join(work, "calib_hist.json")
    if not os.path.exists(stats_path):
        map_path = os.path.join(work, "calib_minmax_map.json")
        json.dump(p["minmax_map"], open(map_path, "w"))
        node_js("minmax", "--model", mm_path, "--map", map_path, "--input", calib, "--out", stats_path,
                "--threads", str(threads))
    stats = json.load(open(stats_path))["tensors"]
    if not os.path.exists(hist_path):
        hp = {"bins": NUM_BINS, "tensors": []}
        for t in p["tensors"]:
            s = stats[t]
            hi = max(abs(s["min"]), abs(s["max"]))
            lo = s["absmin"]
            lo, hi = np.float32(lo), np.float32(hi)
            if lo == hi:  # np.histogram widens an empty range by 0.5 each side
                lo, hi = lo - np.float32(0.5), hi + np.float32(0.5)
            hp["tensors"].append({"name": t, "lo": float(lo), "hi": float(hi), "bytes": p["bytes"][t]})
        hplan = os.path.join(work, "calib_hist_plan.json")
        json.dump(hp, open(hplan, "w"))
        node_js("hist", "--model", full_path, "--plan", hplan, "--input", calib, "--out", hist_path,
                "--threads", str(threads), "--budget-mb", str(budget_mb))
    hist = json.load(open(hist_path))
    return stats, hist


def ranges_minmax(stats):
    return {t: (np.float32(s["min"]), np.float32(s["max"])) for t, s in stats.items()}


def ranges_percentile(stats, hist):
    """calibrate.py HistogramCollector.compute_percentile, symmetric (|x| histogram)."""
    out = {}
    for t, s in stats.items():
        counts = np.asarray(hist["tensors"][t], dtype=np.float64)
        lo, hi = hist["_edges"][t]
        edges = np.linspace(np.float32(lo), np.float32(hi), NUM_BINS + 1, dtype=np.float32)
        total = counts.sum()
        cdf = np.cumsum(counts / total)
        idx = np.searchsorted(cdf, PERCENTILE / 100.0)
        thr = edges[min(idx, NUM_BINS)]
        lo_r, hi_r = -thr, thr
        mn, mx = np.float32(s["min"]), np.float32(s["max"])
        if lo_r < mn:
            lo_r = mn
        if hi_r > mx:
            hi_r = mx
        out[t] = (np.float32(lo_r), np.float32(hi_r))
    return out


# ------------------------------------------------------------------ step 3
QMIN_U8, QMAX_U8 = np.uint8(0), np.uint8(255)


def compute_scale_zp(rmin, rmax, qmin, qmax, symmetric):
    """quant_utils.compute_scale_zp (min_real_range None)."""
    rmin = np.minimum(rmin, np.array(0, dtype=rmin.dtype))
    rmax = np.maximum(rmax, np.array(0, dtype=rmax.dtype))
    if symmetric:
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        rmin, rmax = -absmax, +absmax
    dr = np.array(rmax - rmin, dtype=np.float64)
    dq = np.array(qmax, dtype=np.float64) - np.array(qmin, dtype=np.float64)
    scale = np.array(dr / dq)
    if scale < np.finfo(rmax.dtype).tiny:
        return np.array(0, dtype=qmin.dtype), np.array(1.0, dtype=rmax.dtype)
    if symmetric:
        zp = np.array(np.round((qmin + qmax) / np.array(2.0, dtype=np.float64)), dtype=qmin.dtype)
    else:
        zp = np.array(np.round(qmin - rmin / scale), dtype=qmin.dtype)
    return zp, scale.astype(rmax.dtype)


def qrange(qtype, symmetric):
    """quant_utils.get_qmin_qmax_for_qType (reduce_range False)."""
    if qtype == TensorProto.UINT8:
        return (np.array(0, np.uint8), np.array(254 if symmetric else 255, np.uint8))
    return (np.array(-127 if symmetric else -128, np.int8), np.array(127, np.int8))


def quantize_data(data, qtype, symmetric):
    """quant_utils.quantize_data -> (zp, scale, q)."""
    qmin, qmax = qrange(qtype, symmetric)
    rmin = np.array(data.min() if data.size else 0.0, dtype=data.dtype)
    rmax = np.array(data.max() if data.size else 0.0, dtype=data.dtype)
    zp, scale = compute_scale_zp(rmin, rmax, qmin, qmax, symmetric)
    lo, hi = qrange(qtype, False)
    q = np.asarray((data.astype(np.float32) / scale).round() + zp)
    q = np.clip(q, lo, hi).astype(np.uint8 if qtype == TensorProto.UINT8 else np.int8)
    return zp, scale, q


class QDQ:
    """QDQQuantizer.quantize_model, restricted to what these models need."""

    def __init__(self, model, ranges, per_channel):
        self.m = model
        self.g = model.graph
        self.per_channel = per_channel
        self.opset = opset_of(model)
        self.vis = value_infos(model)
        self.inits = {i.name: i for i in self.g.initializer}
        self.graph_inputs = {i.name for i in self.g.input}
        self.graph_outputs = {o.name for o in self.g.output}
        self.tensors_to_quantize = collections.OrderedDict()  # name -> dict(kind, axis, provider)
        self.bias_to_quantize = collections.OrderedDict()     # name -> (node, input, weight, beta)
        self.qvalues = {}                                     # name -> (scale_name, zp_name)
        self.nodes_to_remove = []
        self.adjusted_weights = []
        self.ranges = dict(ranges)
        self.adjust_tensor_ranges()
        self.params = {}
        for t, (lo, hi) in self.ranges.items():
            qmin, qmax = qrange(TensorProto.UINT8, False)
            self.params[t] = compute_scale_zp(np.asarray(lo, np.float32), np.asarray(hi, np.float32), qmin, qmax, False)

    # -- graph helpers (ONNXModel)
    def consumers(self, name):
        return [n for n in self.g.node if name in n.input]

    def replace_input_of_all_nodes(self, old, new):
        for n in self.g.node:
            for k, x in enumerate(n.input):
                if x == old:
                    n.input[k] = new

    def replace_output_of_all_nodes(self, old, new):
        for n in self.g.node:
            for k, x in enumerate(n.output):
                if x == old:
                    n.output[k] = new

    def quantizable(self, name):
        if name in self.inits:
            return self.inits[name].data_type in FLOATS
        vi = self.vis.get(name)
        return vi is not None and vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type in FLOATS

    def adjust_tensor_ranges(self):
        for n in self.g.node:
            if n.op_type in ("Clip", "Relu"):
                if len(self.consumers(n.input[0])) != 1:
                    continue
                if n.input[0] not in self.ranges or n.output[0] not in self.ranges:
                    continue
                self.ranges[n.input[0]] = self.ranges[n.output[0]]
            elif n.op_type == "Softmax":
                self.ranges[n.output[0]] = (np.float32(0.0), np.float32(1.0))

    # -- marking (QDQQuantizer.__quantize_tensor & co)
    def mark(self, name, kind="act", provider=None):
        if not name or not self.quantizable(name):
            return
        if provider is not None:
            self.tensors_to_quantize[name] = {"kind": kind, "axis": None, "provider": provider}
        elif name not in self.tensors_to_quantize:
            self.tensors_to_quantize[name] = {"kind": kind, "axis": None, "provider": None}

    def mark_weight(self, name, default_axis):
        if name in self.inits and self.per_channel:
            rank = len(self.inits[name].dims)
            axis = default_axis + rank if default_axis < 0 else default_axis
            if 0 <= axis < rank and self.inits[name].data_type in FLOATS:
                self.tensors_to_quantize[name] = {"kind": "weight", "axis": axis, "provider": None}
                return
        self.mark(name, "weight")

    def mark_bias(self, node, bias, inp, weight, beta=1.0):
        if bias in self.inits and self.inits[bias].data_type in FLOATS and bias not in self.bias_to_quantize:
            self.bias_to_quantize[bias] = (node.name, inp, weight, beta)

    def is_quantized(self, name):
        return name in self.tensors_to_quantize or name in self.bias_to_quantize

    # -- op quantizers
    def op_default(self, n):  # QDQOperatorBase
        for t in list(n.input) + list(n.output):
            self.mark(t)

    def op_conv(self, n):     # QDQConv
        self.mark(n.input[0])
        self.mark(n.output[0])
        self.mark_weight(n.input[1], 0 if n.op_type == "Conv" else 1)
        if len(n.input) == 3 and n.input[2]:
            self.mark_bias(n, n.input[2], n.input[0], n.input[1])

    def op_gemm(self, n):     # QDQGemm
        self.mark(n.input[0])
        self.mark(n.output[0])
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        self.mark_weight(n.input[1], 0 if attrs.get("transB", 0) else 1)
        if len(n.input) == 3 and n.input[2] and n.input[2] in self.inits:
            beta = attrs.get("beta", 1.0)
            self.mark_bias(n, n.input[2], n.input[0], n.input[1], beta)
            for a in n.attribute:
                if a.name == "beta":
                    a.f = 1.0

    def op_matmul(self, n):   # QDQMatMul
        for t in list(n.input) + list(n.output):
            if t in self.inits:
                self.mark_weight(t, 1)
            else:
                self.mark(t)

    def op_removable(self, n):  # QDQRemovableActivation
        if not self.is_quantized(n.input[0]):
            return
        if self.try_replacing_upstream_output(n.input[0], n.output[0]):
            self.nodes_to_remove.append(n)
        else:
            self.mark(n.input[0])
        self.mark(n.output[0])

    def op_direct8bit(self, n):  # QDQDirect8BitOp (ForceQuantizeNoInputCheck False)
        if self.is_quantized(n.input[0]):
            self.mark(n.output[0], provider=(n.input[0], n.name))

    def op_pad(self, n):      # QDQPad
        for t in n.input:
            if t:
                self.mark(t)
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        mode = attrs.get("mode", b"constant")
        same = mode in (b"reflect", b"edge", b"wrap")
        if mode == b"constant":
            if len(n.input) >= 3 and n.input[2]:
                c = self.inits.get(n.input[2])
                same = c is not None and c.data_type in FLOATS and float(numpy_helper.to_array(c).item()) == 0.0
            else:
                same = True
        if same:
            self.mark(n.output[0], provider=(n.input[0], n.name))
        else:
            self.mark(n.output[0])

    def op_split(self, n):    # QDQSplit
        if not self.is_quantized(n.input[0]):
            self.mark(n.input[0])
        for o in n.output:
            self.mark(o, provider=(n.input[0], n.name))

    def try_replacing_upstream_output(self, upstream, output):
        if (output in self.params and len(self.consumers(upstream)) == 1
                and upstream not in self.graph_outputs and upstream not in self.graph_inputs):
            self.replace_output_of_all_nodes(upstream, output)
            self.tensors_to_quantize.pop(upstream, None)
            return True
        return False

    # -- Q/DQ insertion
    def add_init(self, t):
        self.g.initializer.append(t)
        self.inits[t.name] = t

    def act_params(self, name):
        if name not in self.params:
            raise ValueError(f"Quantization parameters are not specified for param {name}. In static mode "
                             "quantization params for inputs and outputs of nodes to be quantized are required.")
        zp, scale = self.params[name]
        sn, zn = name + "_scale", name + "_zero_point"
        self.add_init(helper.make_tensor(sn, TensorProto.FLOAT, [], [float(scale)]))
        self.add_init(helper.make_tensor(zn, TensorProto.UINT8, [], [int(zp)]))
        return sn, zn

    def add_qdq_activation(self, name, sn, zn):
        q_in = name
        dq_out = name + "_DequantizeLinear_Output"
        if name in self.graph_outputs:
            q_in = name + "_QuantizeLinear_Input"
            dq_out = name
            self.replace_output_of_all_nodes(name, q_in)
        else:
            self.replace_input_of_all_nodes(name, dq_out)
        q_out = name + "_QuantizeLinear_Output"
        self.g.node.append(helper.make_node("QuantizeLinear", [q_in, sn, zn], [q_out], name + "_QuantizeLinear"))
        self.g.node.append(helper.make_node("DequantizeLinear", [q_out, sn, zn], [dq_out], name + "_DequantizeLinear"))
        self.qvalues[name] = (sn, zn)

    def add_qdq_initializer(self, name, kind, axis):
        w = self.inits[name]
        data = numpy_helper.to_array(w)
        qtype = TensorProto.INT8 if (kind == "weight" or axis is not None) else TensorProto.UINT8
        sym = True  # WeightSymmetric (default True for int8 weights), also used for activation-typed initializers
        override = self.tensors_to_quantize.get(name, {}).get("scale_override")
        if override is not None:  # TensorQuantOverrides set by the int32-bias adjustment: zero point 0
            lo_q, hi_q = qrange(qtype, False)
            if axis is None:
                scale = np.float32(override)
                q = np.clip((data.astype(np.float32) / scale).round(), lo_q, hi_q).astype(np.int8)
                scale_t = helper.make_tensor(name + "_scale", w.data_type, [], [float(scale)])
                zp_t = helper.make_tensor(name + "_zero_point", qtype, [], [0])
            else:
                shape = [1] * data.ndim
                shape[axis] = -1
                q = np.clip((data.astype(np.float32) / override.reshape(shape)).round(), lo_q, hi_q).astype(np.int8)
                scale_t = helper.make_tensor(name + "_scale", w.data_type, [data.shape[axis]], override.tolist())
                zp_t = helper.make_tensor(name + "_zero_point", qtype, [data.shape[axis]], [0] * data.shape[axis])
        elif axis is None:
            zp, scale, q = quantize_data(data.flatten(), qtype, sym)
            q = q.reshape(data.shape)
            scale_t = helper.make_tensor(name + "_scale", w.data_type, [], [float(scale)])
            zp_t = helper.make_tensor(name + "_zero_point", qtype, [], [int(zp)])
        else:
            if self.opset < 13:
                raise ValueError("Per-Channel support with QDQ format requires onnx opset version 13 or above.")
            zps, scales, qs = [], [], []
            for c in range(data.shape[axis]):
                zp, scale, qc = quantize_data(data.take(c, axis).flatten(), qtype, True)
                zps.append(int(zp))
                scales.append(float(scale))
                shape = list(data.shape)
                shape[axis] = 1
                qs.append(qc.reshape(shape))
            q = np.concatenate(qs, axis)
            scale_t = helper.make_tensor(name + "_scale", w.data_type, [data.shape[axis]], scales)
            zp_t = helper.make_tensor(name + "_zero_point", qtype, [data.shape[axis]], zps)
        self.add_init(scale_t)
        self.add_init(zp_t)
        self.add_init(numpy_helper.from_array(q, name + "_quantized"))
        dq_out = name + "_DequantizeLinear_Output"
        self.replace_input_of_all_nodes(name, dq_out)
        kw = {"axis": axis} if axis is not None else {}
        self.g.node.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale",
                                                                 name + "_zero_point"], [dq_out],
                                            name + "_DequantizeLinear", **kw))
        self.qvalues[name] = (name + "_scale", name + "_zero_point")

    def adjust_weight_scales_for_int32_bias(self):
        """QDQQuantizer._adjust_weight_quant_params_for_bias_tensors (ORT >= 1.20, on by default;
        QDQDisableWeightAdjustForInt32Bias turns it off): when s_x * s_w is so small that the int32
        bias would overflow, the weight's scale is raised to (1.0001 * 2 |b| / (2^32 - 2)) / s_x."""
        for bias, (_, inp, weight, beta) in self.bias_to_quantize.items():
            info = self.tensors_to_quantize.get(weight)
            if info is None or weight not in self.inits or inp not in self.params:
                continue
            w = numpy_helper.to_array(self.inits[weight])
            if info["axis"] is None:
                _, ws, _ = quantize_data(w.flatten(), TensorProto.INT8, True)
                ws = np.asarray(ws).reshape(())
            else:
                ws = np.array([quantize_data(w.take(c, info["axis"]).flatten(), TensorProto.INT8, True)[1]
                               for c in range(w.shape[info["axis"]])], dtype=np.float32)
            b = numpy_helper.to_array(self.inits[bias])
            xs = np.float64(self.params[inp][1])
            qr = np.float64(np.iinfo(np.int32).max) - np.float64(np.iinfo(np.int32).min + 1)
            changed = False
            new = ws.astype(np.float64).copy()
            if info["axis"] is None:
                absmax = max(abs(min(float(b.min()), 0.0)), abs(max(float(b.max()), 0.0)))
                smallest = 1.0001 * 2.0 * absmax / qr
                cand = xs * new
                if 0.0 < cand < smallest:
                    new = new * (smallest / cand)
                    changed = True
            else:
                for i in range(new.shape[0]):
                    smallest = 1.0001 * 2.0 * abs(float(b[i])) / qr
                    cand = xs * new[i]
                    if 0.0 < cand < smallest:
                        new[i] = new[i] * (smallest / cand)
                        changed = True
            if changed:
                info["scale_override"] = new.astype(np.float32)
                self.adjusted_weights.append(weight)

    def quantize_bias(self, bias, info):
        _, inp, weight, beta = info
        ws = numpy_helper.to_array(self.inits[self.qvalues[weight][0]])
        xs = numpy_helper.to_array(self.inits[self.qvalues[inp][0]])
        b = numpy_helper.to_array(self.inits[bias])
        bscale = xs * ws * beta
        # base_quantizer.quantize_bias_static_impl: float64 division, clipped to the int32 range (ORT >= 1.19)
        q = (np.asarray(b, dtype=np.float64) / np.asarray(bscale, dtype=np.float64)).round()
        q = np.clip(q, np.float64(np.iinfo(np.int32).min), np.float64(np.iinfo(np.int32).max)).astype(np.int32)
        qn = bias + "_quantized"
        self.add_init(numpy_helper.from_array(np.asarray(q, np.int32).reshape(b.shape), qn))
        bsd = np.asarray(bscale, dtype=np.float32).reshape(-1)
        self.add_init(numpy_helper.from_array(bsd, qn + "_scale"))
        if self.per_channel:
            self.add_init(numpy_helper.from_array(np.zeros(np.shape(bscale), np.int32).reshape(-1), qn + "_zero_point"))
        else:
            self.add_init(helper.make_tensor(qn + "_zero_point", TensorProto.INT32, [], [0]))
        kw = {"axis": 0} if bsd.size > 1 else {}
        self.g.node.append(helper.make_node("DequantizeLinear", [qn, qn + "_scale", qn + "_zero_point"], [bias],
                                            bias + "_DequantizeLinear", **kw))
        self.qvalues[bias] = (qn + "_scale", qn + "_zero_point")

    def run(self):
        dispatch = {"Conv": self.op_conv, "ConvTranspose": self.op_conv, "Gemm": self.op_gemm,
                    "MatMul": self.op_matmul, "Relu": self.op_removable, "Clip": self.op_removable,
                    "Pad": self.op_pad, "Split": self.op_split}
        for op in ("Reshape", "Transpose", "Squeeze", "Unsqueeze", "AveragePool", "Slice"):
            dispatch[op] = self.op_direct8bit
        if self.opset >= 11:
            dispatch["Resize"] = self.op_direct8bit
        unsupported = {"Gather", "GatherElements", "Where", "InstanceNormalization", "LayerNormalization",
                       "BatchNormalization", "EmbedLayerNormalization"}
        for n in list(self.g.node):
            if n.op_type not in OP_TYPES:
                continue
            if n.op_type in unsupported:
                raise NotImplementedError(f"peer_qdq: the {n.op_type} quantizer is not reproduced here")
            if n.op_type == "MaxPool":
                if self.opset >= 12:
                    self.op_direct8bit(n)
                continue
            if n.op_type == "Resize" and self.opset < 11:
                continue
            dispatch.get(n.op_type, self.op_default)(n)
        self.adjust_weight_scales_for_int32_bias()
        # _quantize_normal_tensors
        for name, info in list(self.tensors_to_quantize.items()):
            if name in self.qvalues or info["provider"] is not None:
                continue
            if name in self.inits:
                self.add_qdq_initializer(name, info["kind"], info["axis"])
            else:
                self.add_qdq_activation(name, *self.act_params(name))
            del self.tensors_to_quantize[name]
        # _quantize_sharing_param_tensors
        while self.tensors_to_quantize:
            progress = False
            for name, info in list(self.tensors_to_quantize.items()):
                src = info["provider"][0]
                if src in self.qvalues:
                    del self.tensors_to_quantize[name]
                    self.add_qdq_activation(name, *self.qvalues[src])
                    progress = True
            if not progress:
                raise ValueError(f"shared quantization parameters never resolved: {list(self.tensors_to_quantize)}")
        # _quantize_bias_tensors
        for bias, info in self.bias_to_quantize.items():
            if bias in self.qvalues:
                continue
            self.quantize_bias(bias, info)
            self.g.initializer.remove(self.inits.pop(bias))
        for n in self.nodes_to_remove:
            self.g.node.remove(n)
        self.clean_initializers()
        self.m.producer_name = "bitnpu peer_qdq (onnxruntime quantize_static recipe)"
        return self.m

    def clean_initializers(self):
        used = set()

        def walk(graph):
            for n in graph.node:
                used.update(n.input)
                for a in n.attribute:
                    if a.type == onnx.AttributeProto.GRAPH:
                        walk(a.g)
                    elif a.type == onnx.AttributeProto.GRAPHS:
                        for sg in a.graphs:
                            walk(sg)
        walk(self.g)
        used.update(o.name for o in self.g.output)
        keep = [i for i in self.g.initializer if i.name in used]
        del self.g.initializer[:]
        self.g.initializer.extend(keep)
        names = {i.name for i in keep}
        inputs = [i for i in self.g.input if i.name not in self.inits or i.name in names]
        del self.g.input[:]
        self.g.input.extend(inputs)


def topo_sort(model):
    """Q/DQ nodes are appended at the end (as ORT does); ORT sorts on load, onnx.checker would not."""
    g = model.graph
    produced = {o: i for i, n in enumerate(g.node) for o in n.output}

    def sub_inputs(n):
        s = set()
        for a in n.attribute:
            gs = [a.g] if a.type == onnx.AttributeProto.GRAPH else (list(a.graphs) if a.type == onnx.AttributeProto.GRAPHS else [])
            for sg in gs:
                inner = {o for x in sg.node for o in x.output} | {i.name for i in sg.initializer} | {i.name for i in sg.input}
                for x in sg.node:
                    s.update(t for t in x.input if t not in inner)
        return s
    deps = []
    for n in g.node:
        deps.append({t for t in list(n.input) + list(sub_inputs(n)) if t in produced})
    order, done = [], set()
    ready = collections.deque(i for i, d in enumerate(deps) if not d)
    waiting = {i: set(d) for i, d in enumerate(deps) if d}
    users = collections.defaultdict(list)
    for i, d in waiting.items():
        for t in d:
            users[t].append(i)
    while ready:
        i = ready.popleft()
        order.append(i)
        for t in g.node[i].output:
            for u in users.get(t, []):
                waiting[u].discard(t)
                if not waiting[u]:
                    del waiting[u]
                    ready.append(u)
    if len(order) != len(g.node):
        raise ValueError("graph has a cycle after quantization")
    nodes = [g.node[i] for i in order]
    del g.node[:]
    g.node.extend(nodes)
    return model


def build(pre_path, ranges, per_channel, out_path):
    m = onnx.load(pre_path)
    q = QDQ(m, ranges, per_channel).run()
    topo_sort(q)
    onnx.save(q, out_path)


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("calib")
    ap.add_argument("eval")
    ap.add_argument("work")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-samples", type=int, default=0, help="0: all rows of EVAL")
    ap.add_argument("--hist-budget-mb", type=int, default=1024)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--name", default=None, help="model name for the table (default: file stem)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.force:
        for f in os.listdir(a.work):
            os.remove(os.path.join(a.work, f))
    name = a.name or os.path.splitext(os.path.basename(a.model))[0]
    t0 = time.time()
    pre = preprocess(a.model, a.work, a.threads)
    p, mm_path, full_path = plan(pre, a.work)
    t1 = time.time()
    stats, hist = collect(p, mm_path, full_path, a.calib, a.work, a.threads, a.hist_budget_mb)
    hplan = json.load(open(os.path.join(a.work, "calib_hist_plan.json")))
    hist["_edges"] = {t["name"]: (t["lo"], t["hi"]) for t in hplan["tensors"]}
    t2 = time.time()
    ranges = {"minmax": ranges_minmax(stats), "percentile": ranges_percentile(stats, hist)}
    variants = [v for v in a.variants.split(",") if v]
    specs = []
    for v in variants:
        method, pc = VARIANTS[v]
        out = os.path.join(a.work, f"qdq_{v}.onnx")
        if not os.path.exists(out):
            build(pre, ranges[method], pc, out)
            log(f"wrote {out}")
        specs += ["--variant", f"{v}={out}"]
    t3 = time.time()
    res_path = os.path.join(a.work, "eval.json")
    args = ["eval", "--ref", a.model, "--input", a.eval, "--out", res_path, "--threads", str(a.threads)] + specs
    if a.eval_samples:
        args += ["--samples", str(a.eval_samples)]
    node_js(*args)
    res = json.load(open(res_path))
    res["model"] = name
    res["calibration"] = {"samples": json.load(open(os.path.join(a.work, "calib_minmax.json")))["samples"],
                          "tensors": len(p["tensors"]), "seconds_preprocess": round(t1 - t0, 2),
                          "seconds_collect": round(t2 - t1, 2), "seconds_build": round(t3 - t2, 2)}
    json.dump(res, open(os.path.join(a.work, "peer.json"), "w"), indent=1)
    print(f"| model | output | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    for o in res["outputs"]:
        cells = []
        for v in variants:
            x = res["sqnr_db"][v][o]
            cells.append("-" if x is None else (x if isinstance(x, str) else f"{x:.2f}"))
        print(f"| {name} | {o} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
