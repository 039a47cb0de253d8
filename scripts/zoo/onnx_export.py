"""ONNX export of zoo models and the checks every exported file must pass."""
import collections
import warnings

import onnx
import torch

OPSET = 13
# The operator set bitnpu's importer supports; an export outside it is a bug here.
SUPPORTED_OPS = frozenset("""
Conv ConvTranspose Gemm MatMul Add Sub Mul Div Max Min Pow Sqrt Relu LeakyRelu
PRelu Clip Sigmoid Tanh HardSigmoid HardSwish Softmax MaxPool AveragePool
GlobalAveragePool BatchNormalization Concat Reshape Flatten Transpose Squeeze
Unsqueeze Pad Resize Slice Split Gather Shape Constant ConstantOfShape Identity
ReduceMean Cast""".split())


def export_onnx(model, path):
    """Exports with a dynamic batch dimension and BatchNormalization kept as its
    own node: TrainingMode.PRESERVE (model in eval mode) skips the exporter's
    eval-mode peephole that folds BN into the preceding Conv."""
    model.eval()
    # The exporter warns about constant folding under PRESERVE because it
    # cannot know the model is in eval mode; scripts/zoo/verify_onnx.py checks
    # the exported logits against torch's.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path, opset_version=OPSET,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)


def onnx_summary(path):
    """Checks op support and BN outputs; returns op counts and graph facts."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    unsupported = sorted(set(ops) - SUPPORTED_OPS)
    if unsupported:
        raise RuntimeError(f"{path}: ops outside bitnpu's set: {unsupported}")
    for n in m.graph.node:
        if n.op_type == "BatchNormalization" and len(n.output) != 1:
            raise RuntimeError(f"{path}: {n.name} exported in training form")
    dims = [d.dim_param or d.dim_value
            for d in m.graph.input[0].type.tensor_type.shape.dim]
    return {"opset": m.opset_import[0].version, "input_shape": dims,
            "op_counts": dict(sorted(ops.items())), "nodes": len(m.graph.node)}
