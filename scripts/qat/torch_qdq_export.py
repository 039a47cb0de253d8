"""A QDQ model made by PyTorch's own quantization flow, for bitnpu's QDQ
import (docs/export.md "Importing QDQ models"): a zoo model (models/*.pt),
its conv/bn/relu groups fused, prepared for quantization-aware training with
fake-quantize modules (torch.ao.quantization, backend onednn: per-channel
symmetric int8 weights, uint8 activations), the observers run on the
calibration data and optionally a few QAT steps, then exported by
torch.onnx.export as QuantizeLinear/DequantizeLinear pairs (opset 13).

    /usr/bin/python3 scripts/qat/torch_qdq_export.py --model cnn --out OUT.onnx [--qat-steps 50]

Needs Debian's python3-torch and python3-onnx (scripts/setup.sh --python).
The output goes where --out says (a cache or temp folder), never into the
repository.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.ao.quantization as tq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "zoo"))
from zoo_models import ZOO  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn", choices=["cnn", "mobilenet", "resnet"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--calib", default=os.path.join(ROOT, "data", "calib_500.npy"))
    ap.add_argument("--labels", default=os.path.join(ROOT, "data", "calib_500_labels.npy"))
    ap.add_argument("--qat-steps", type=int, default=0, help="fine-tuning steps with fake quantization (0: PTQ)")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.backends.quantized.engine = "onednn"

    model = ZOO[args.model]()
    model.load_state_dict(torch.load(os.path.join(ROOT, "models", args.model + ".pt")))
    model.eval()
    model = tq.fuse_modules(model, model.fuse_groups(), inplace=False)
    model.train()
    # torch's default QAT qconfig uses fused observer + fake-quantize ops the
    # ONNX exporter cannot write; the same scheme with plain FakeQuantize
    # modules exports as QuantizeLinear/DequantizeLinear.
    model.qconfig = tq.QConfig(
        activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                             dtype=torch.quint8, qscheme=torch.per_tensor_affine),
        weight=tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                         quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                         ch_axis=0))
    tq.prepare_qat(model, inplace=True)

    x = torch.from_numpy(np.load(args.calib)).float()
    y = torch.from_numpy(np.load(args.labels)).long()
    with torch.no_grad():   # observers see the calibration data
        for i in range(0, len(x), 50):
            model(x[i:i + 50])
    if args.qat_steps > 0:
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
        for step in range(args.qat_steps):
            idx = torch.randint(0, len(x), (32,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.apply(tq.disable_observer)
    model.eval()
    warnings.filterwarnings("ignore")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(args.out)
    onnx.checker.check_model(m, full_check=True)
    ops = sorted({n.op_type for n in m.graph.node})
    q = sum(n.op_type == "QuantizeLinear" for n in m.graph.node)
    print(f"{args.out}: {len(m.graph.node)} nodes, {q} QuantizeLinear; ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
