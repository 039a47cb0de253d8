"""The three zoo architectures, written so that the same module tree serves
(a) FP32 training, (b) ONNX export and (c) PyTorch eager-mode PTQ.

For (c) every model carries QuantStub/DeQuantStub (identity in float mode, no
ONNX nodes) and routes tensor-tensor adds/muls through FloatFunctional
(exported as plain Add/Mul). `fuse_groups()` lists the [conv, bn(, relu)]
module paths that torch.ao.quantization.fuse_modules may fuse.
"""
import torch
import torch.nn as nn
from torch.ao.nn.quantized import FloatFunctional
from torch.ao.quantization import DeQuantStub, QuantStub


class PlainCNN(nn.Module):
    """conv-relu-pool x2, then two fully connected layers (no BN)."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.fc2(self.relu3(self.fc1(x)))
        return self.dequant(x)

    def fuse_groups(self):
        return [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]]


class BasicBlock(nn.Module):
    """ResNet basic block; a 1x1 strided projection when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))
        self.add = FloatFunctional()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.add.add(y, shortcut))

    def fuse_groups(self, prefix):
        groups = [[f"{prefix}.conv1", f"{prefix}.bn1", f"{prefix}.relu1"],
                  [f"{prefix}.conv2", f"{prefix}.bn2"]]
        if self.proj is not None:
            groups.append([f"{prefix}.proj.0", f"{prefix}.proj.1"])
        return groups


class SmallResNet(nn.Module):
    """Stem conv-BN-ReLU, three basic blocks (one strided with projection),
    global average pool, FC. BatchNorm stays a separate op in the ONNX file."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        w0, w1, w2 = widths
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.stem_conv = nn.Conv2d(1, w0, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(w0)
        self.stem_relu = nn.ReLU()
        self.stem_pool = nn.MaxPool2d(2)                 # 28 -> 14
        self.blocks = nn.Sequential(BasicBlock(w0, w0, 1),
                                    BasicBlock(w0, w1, 2),  # 14 -> 7, projection
                                    BasicBlock(w1, w2, 1))  # channel projection
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w2, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.stem_pool(self.stem_relu(self.stem_bn(self.stem_conv(x))))
        x = self.gap(self.blocks(x))
        x = self.fc(torch.flatten(x, 1))
        return self.dequant(x)

    def fuse_groups(self):
        groups = [["stem_conv", "stem_bn", "stem_relu"]]
        for i, block in enumerate(self.blocks):
            groups += block.fuse_groups(f"blocks.{i}")
        return groups


class SqueezeExcite(nn.Module):
    """GlobalAveragePool -> 1x1 conv -> ReLU -> 1x1 conv -> HardSigmoid -> Mul."""

    def __init__(self, channels, squeezed):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.gate = nn.Hardsigmoid()
        self.mul = FloatFunctional()

    def forward(self, x):
        s = self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))
        return self.mul.mul(x, s)


class InvertedResidual(nn.Module):
    """MobileNetV2/V3 block: 1x1 expand -> 3x3 depthwise -> [SE] -> 1x1 project,
    residual Add when stride 1 and cin == cout."""

    def __init__(self, cin, cout, expand, stride, use_se, act):
        super().__init__()
        hidden = cin * expand
        self.expand_conv = nn.Conv2d(cin, hidden, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(hidden)
        self.expand_act = act()
        self.dw_conv = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
        self.dw_bn = nn.BatchNorm2d(hidden)
        self.dw_act = act()
        self.se = SqueezeExcite(hidden, max(8, hidden // 4)) if use_se else None
        self.project_conv = nn.Conv2d(hidden, cout, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(cout)
        self.residual = stride == 1 and cin == cout
        self.add = FloatFunctional()

    def forward(self, x):
        y = self.expand_act(self.expand_bn(self.expand_conv(x)))
        y = self.dw_act(self.dw_bn(self.dw_conv(y)))
        if self.se is not None:
            y = self.se(y)
        y = self.project_bn(self.project_conv(y))
        return self.add.add(y, x) if self.residual else y

    def fuse_groups(self, prefix):
        # ReLU6 and Hardswish do not fuse into conv in eager mode: fuse conv+bn.
        return [[f"{prefix}.expand_conv", f"{prefix}.expand_bn"],
                [f"{prefix}.dw_conv", f"{prefix}.dw_bn"],
                [f"{prefix}.project_conv", f"{prefix}.project_bn"]]


class SmallMobileNet(nn.Module):
    """MobileNetV2-style net with V3 touches: ReLU6 (Clip) in early blocks,
    hard-swish and squeeze-excite in later ones. The stem keeps 28x28 but is
    narrow (8 channels) so the net trains in about a minute per epoch on 2 cores."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.stem_conv = nn.Conv2d(1, 8, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8)
        self.stem_act = nn.ReLU6()
        self.blocks = nn.Sequential(
            InvertedResidual(8, 16, 2, 2, False, nn.ReLU6),       # 28 -> 14
            InvertedResidual(16, 16, 3, 1, False, nn.ReLU6),      # residual
            InvertedResidual(16, 24, 4, 2, False, nn.ReLU6),      # 14 -> 7
            InvertedResidual(24, 24, 4, 1, True, nn.Hardswish),   # residual, SE
            InvertedResidual(24, 32, 4, 1, True, nn.Hardswish))   # SE
        self.head_conv = nn.Conv2d(32, 128, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(128)
        self.head_act = nn.Hardswish()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.stem_act(self.stem_bn(self.stem_conv(x)))
        x = self.head_act(self.head_bn(self.head_conv(self.blocks(x))))
        x = self.fc(torch.flatten(self.gap(x), 1))
        return self.dequant(x)

    def fuse_groups(self):
        groups = [["stem_conv", "stem_bn"], ["head_conv", "head_bn"]]
        for i, block in enumerate(self.blocks):
            groups += block.fuse_groups(f"blocks.{i}")
        return groups


ZOO = {"cnn": PlainCNN, "resnet": SmallResNet, "mobilenet": SmallMobileNet}
