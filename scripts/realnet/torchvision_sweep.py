#!/usr/bin/python3
"""Coverage sweep: common CNN families (torchvision, randomly initialised, eval
mode) plus a small U-Net and a YOLO-style block, exported to ONNX and run
through calib + npusim run on several arch configs.

    /usr/bin/python3 scripts/realnet/torchvision_sweep.py [--cache DIR]
        [--only m1,m2] [--configs int8_npu,npu,...] [--deadline HH:MM]
        [--export-only] [--table-only]

Needs Debian's python3-torchvision (torch 1.13 / torchvision 0.14), python3-onnx,
python3-pil, python3-numpy. No weights are downloaded (weights=None).

Writes into ${BITNPU_CACHE:-~/.cache/bitnpu}/sweep/:
  models/<name>.onnx          the exports
  data/calib.npy eval.npy     16 calibration / 4 evaluation samples, NCHW
                              float32 1x3x128x128 each, ImageNet mean/std
                              (photos/{calib,eval} if present, else N(0,1))
  runs/<name>/fp32/           FP32 reference outputs (npusim fp32)
  runs/<name>/<config>/       ctable, report JSON, npusim outputs, logs
  results.jsonl               one record per (model, config) run
  results.md                  the markdown table
Each tool runs with --threads 1 and a 600 s timeout, one at a time. Tools come from
${BITNPU_BUILD:-/work/bl}/tools/{calib,npusim}; their sha256 prefixes go into every record.
"""
import argparse
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BITNPU_BUILD", "/work/bl")
CALIB = os.path.join(BUILD, "tools", "calib")
NPUSIM = os.path.join(BUILD, "tools", "npusim")
CONFIGS = ["int8_npu", "npu", "w4a8", "hetero"]
TIMEOUT = 600
SIZE = 128
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------
def small_unet():
    import torch
    import torch.nn as nn

    def block(ci, co):
        return nn.Sequential(nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True),
                             nn.Conv2d(co, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True))

    class Up(nn.Module):
        def __init__(self, ci, co):
            super().__init__()
            self.up = nn.Sequential(nn.ConvTranspose2d(ci, co, 2, stride=2, bias=False), nn.BatchNorm2d(co),
                                    nn.ReLU(inplace=True))
            self.conv = block(2 * co, co)

        def forward(self, x, skip):
            return self.conv(torch.cat([self.up(x), skip], dim=1))

    class UNet(nn.Module):
        def __init__(self, c=16, ncls=3):
            super().__init__()
            self.e1, self.e2, self.e3 = block(3, c), block(c, 2 * c), block(2 * c, 4 * c)
            self.mid = block(4 * c, 8 * c)
            self.pool = nn.MaxPool2d(2)
            self.u3, self.u2, self.u1 = Up(8 * c, 4 * c), Up(4 * c, 2 * c), Up(2 * c, c)
            self.head = nn.Conv2d(c, ncls, 1)

        def forward(self, x):
            s1 = self.e1(x)
            s2 = self.e2(self.pool(s1))
            s3 = self.e3(self.pool(s2))
            m = self.mid(self.pool(s3))
            return self.head(self.u1(self.u2(self.u3(m, s3), s2), s1))

    return UNet()


def yolo_block():
    import torch
    import torch.nn as nn

    def cbs(ci, co, k=3, s=1):
        return nn.Sequential(nn.Conv2d(ci, co, k, s, k // 2, bias=False), nn.BatchNorm2d(co), nn.SiLU())

    class Yolo(nn.Module):
        def __init__(self, nc=3, na=1):
            super().__init__()
            self.nc = nc
            self.stem = nn.Sequential(cbs(3, 16, 3, 2), cbs(16, 32, 3, 2), cbs(32, 32))   # /4
            self.p4 = nn.Sequential(cbs(32, 64, 3, 2), cbs(64, 64))                      # /8
            self.p5 = nn.Sequential(cbs(64, 128, 3, 2), cbs(128, 128))                   # /16
            self.lat = cbs(128, 64, 1)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.fuse = cbs(128, 64)
            self.head = nn.Conv2d(64, na * (5 + nc), 1)

        def forward(self, x):
            p4 = self.p4(self.stem(x))
            p5 = self.p5(p4)
            f = self.fuse(torch.cat([self.up(self.lat(p5)), p4], dim=1))
            out = self.head(f)
            box, obj, cls = torch.split(out, [4, 1, self.nc], dim=1)
            return torch.sigmoid(box), torch.sigmoid(obj), torch.sigmoid(cls)

    return Yolo()


class FirstOut:
    """Wraps a model returning a dict (segmentation) so that only 'out' is exported."""

    @staticmethod
    def wrap(m):
        import torch.nn as nn

        class W(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return self.inner(x)["out"]

        return W(m)


def tv(name, **kw):
    def build():
        import torchvision.models as M
        return getattr(M, name)(weights=None, **kw)
    return build


def seg(name, **kw):
    def build():
        import torchvision.models.segmentation as S
        return FirstOut.wrap(getattr(S, name)(weights=None, weights_backbone=None, **kw))
    return build


def det_backbone(kind):
    """Detection backbones (optional in the brief): the feature pyramids only, as a tuple of maps."""
    def build():
        import torch.nn as nn

        class T(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return tuple(self.inner(x).values())

        if kind == "fpn_resnet18":
            # torchvision's default norm_layer here is FrozenBatchNorm2d: exported as Mul/Add by constants
            from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
            return T(resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5))
        if kind == "ssdlite_mobilenet_v3_backbone":
            from torchvision.models.detection import ssdlite320_mobilenet_v3_large
            return T(ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None).backbone)
        raise ValueError(kind)
    return build


# (name, builder, opset, dynamic batch); ordered roughly by cost so that an
# interrupted sweep covers as many families as possible.
MODELS = [
    ("yolo_block", yolo_block, 13, False),
    ("unet_small", small_unet, 13, True),
    ("squeezenet1_1", tv("squeezenet1_1"), 13, False),
    ("shufflenet_v2_x0_5", tv("shufflenet_v2_x0_5"), 13, True),
    ("mnasnet0_5", tv("mnasnet0_5"), 13, False),
    ("mobilenet_v3_small", tv("mobilenet_v3_small"), 13, True),
    ("mobilenet_v2", tv("mobilenet_v2"), 13, False),
    ("mobilenet_v3_large", tv("mobilenet_v3_large"), 13, True),
    ("lraspp_mobilenet_v3_large", seg("lraspp_mobilenet_v3_large"), 13, False),
    ("efficientnet_b0", tv("efficientnet_b0"), 13, True),
    ("regnet_y_400mf", tv("regnet_y_400mf"), 13, False),
    ("resnet18", tv("resnet18"), 13, True),
    ("googlenet", tv("googlenet", aux_logits=False, init_weights=True), 13, False),
    ("densenet121", tv("densenet121"), 13, True),
    ("mobilenet_v3_small_op17", tv("mobilenet_v3_small"), 17, False),
    ("yolo_block_op17", yolo_block, 17, True),
    ("convnext_tiny", tv("convnext_tiny"), 13, False),
    # same net, dynamic batch: isolates the fixed-batch-only failure of convnext_tiny
    ("convnext_tiny_dynbatch", tv("convnext_tiny"), 13, True),
    ("inception_v3", tv("inception_v3", aux_logits=False, init_weights=True), 13, True),
    ("fcn_resnet50", seg("fcn_resnet50", aux_loss=False), 13, False),
    ("fpn_resnet18", det_backbone("fpn_resnet18"), 13, True),
    ("ssdlite_mobilenet_v3_backbone", det_backbone("ssdlite_mobilenet_v3_backbone"), 13, False),
]


def export(name, build, opset, dynamic, path):
    import torch
    torch.manual_seed(0)
    m = build().eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        y = m(x)
    nout = len(y) if isinstance(y, (tuple, list)) else 1
    outs = ["output"] if nout == 1 else ["output%d" % i for i in range(nout)]
    dyn = None
    if dynamic:
        dyn = {"input": {0: "batch"}}
        dyn.update({o: {0: "batch"} for o in outs})
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(m, x, tmp, opset_version=opset, input_names=["input"], output_names=outs,
                          dynamic_axes=dyn, do_constant_folding=True)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def load_photo(path):
    from PIL import Image
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = SIZE * 256 / 224 / min(w, h)  # resize short side to 146, centre crop 128
    im = im.resize((max(SIZE, round(w * s)), max(SIZE, round(h * s))), Image.BILINEAR)
    w, h = im.size
    l, t = (w - SIZE) // 2, (h - SIZE) // 2
    a = np.asarray(im.crop((l, t, l + SIZE, t + SIZE)), np.float32) / 255.0
    return ((a - MEAN) / STD).transpose(2, 0, 1)


def make_data(cache, ddir):
    os.makedirs(ddir, exist_ok=True)
    cpath, epath = os.path.join(ddir, "calib.npy"), os.path.join(ddir, "eval.npy")
    if os.path.exists(cpath) and os.path.exists(epath):
        return cpath, epath, open(os.path.join(ddir, "source.txt")).read().strip()
    ext = (".jpg", ".jpeg", ".png")
    pc = sorted(p for p in glob.glob(os.path.join(cache, "photos", "calib", "*")) if p.lower().endswith(ext))
    pe = sorted(p for p in glob.glob(os.path.join(cache, "photos", "eval", "*")) if p.lower().endswith(ext))
    if len(pc) >= 16 and len(pe) >= 4:
        c = np.stack([load_photo(p) for p in pc[:16]])
        e = np.stack([load_photo(p) for p in pe[:4]])
        src = "photos: calib=%s ; eval=%s" % (",".join(os.path.basename(p) for p in pc[:16]),
                                              ",".join(os.path.basename(p) for p in pe[:4]))
    else:
        rng = np.random.default_rng(0)
        c = rng.standard_normal((16, 3, SIZE, SIZE)).astype(np.float32)
        e = rng.standard_normal((4, 3, SIZE, SIZE)).astype(np.float32)
        src = "random normal (seed 0)"
    np.save(cpath, c.astype(np.float32))
    np.save(epath, e.astype(np.float32))
    with open(os.path.join(ddir, "source.txt"), "w") as f:
        f.write(src + "\n")
    return cpath, epath, src


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------
def run(cmd, log):
    t0 = time.time()
    with open(log + ".out", "w") as fo, open(log + ".err", "w") as fe:
        fo.write("$ " + " ".join(cmd) + "\n")
        fo.flush()
        try:
            p = subprocess.run(cmd, stdout=fo, stderr=fe, timeout=TIMEOUT)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    dt = time.time() - t0
    err = open(log + ".err", errors="replace").read()
    return rc, dt, err


def first_error(err):
    lines = [l.strip() for l in err.splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower() or "terminate" in l.lower() or "abort" in l.lower() or "what()" in l:
            return l
    return lines[0] if lines else ""


def sqnr(ref, q):
    ref = ref.astype(np.float64)
    q = q.astype(np.float64)
    if ref.shape != q.shape:
        return None
    noise = np.sum((ref - q) ** 2)
    sig = np.sum(ref ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(sig / noise)) if sig > 0 else float("-inf")


def output_names(model):
    import onnx
    m = onnx.load(model, load_external_data=False)
    return [o.name for o in m.graph.output]


def host_summary(report):
    """The calib JSON report's "host" field plus per-engine/precision layer counts and warnings."""
    try:
        r = json.load(open(report))
    except Exception:
        return None, None, None
    eng = {}
    for l in r.get("layers", []):
        k = "%s:%s" % (l.get("engine"), l.get("precision"))
        eng[k] = eng.get(k, 0) + 1
    return r.get("host"), eng, r.get("warnings")


TOOL_IDS = {}


def tool_ids():
    import hashlib
    ids = {}
    for t in (CALIB, NPUSIM):
        with open(t, "rb") as f:
            ids[t] = hashlib.sha256(f.read()).hexdigest()[:16]
    return ids


def past(deadline):
    if not deadline:
        return False
    now = datetime.datetime.utcnow()
    hh, mm = map(int, deadline.split(":"))
    return (now.hour, now.minute) >= (hh, mm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=os.environ.get("BITNPU_CACHE", os.path.expanduser("~/.cache/bitnpu")))
    ap.add_argument("--only", default="")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--deadline", default="", help="HH:MM UTC: start nothing new after this")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--redo", action="store_true", help="rerun (model, config) pairs already in results.jsonl")
    a = ap.parse_args()
    global TOOL_IDS
    TOOL_IDS = tool_ids()
    print("tools:", TOOL_IDS, flush=True)

    sweep = os.path.join(a.cache, "sweep")
    mdir, rdir = os.path.join(sweep, "models"), os.path.join(sweep, "runs")
    os.makedirs(mdir, exist_ok=True)
    os.makedirs(rdir, exist_ok=True)
    jl = os.path.join(sweep, "results.jsonl")
    only = set(filter(None, a.only.split(",")))
    configs = list(filter(None, a.configs.split(",")))
    models = [m for m in MODELS if not only or m[0] in only]

    if not a.table_only:
        cpath, epath, src = make_data(a.cache, os.path.join(sweep, "data"))
        print("data:", src[:120], flush=True)
        done = set()
        if os.path.exists(jl) and not a.redo:
            for l in open(jl):
                r = json.loads(l)
                done.add((r["model"], r["config"]))
        for name, build, opset, dynamic in models:
            if past(a.deadline):
                print("deadline reached; stopping", flush=True)
                break
            path = os.path.join(mdir, name + ".onnx")
            if not os.path.exists(path):
                t0 = time.time()
                try:
                    export(name, build, opset, dynamic, path)
                    print("exported %s (opset %d, %s batch) in %.1fs" % (name, opset, "dynamic" if dynamic else
                                                                         "fixed", time.time() - t0), flush=True)
                except Exception as ex:
                    msg = "%s: %s" % (type(ex).__name__, str(ex).splitlines()[0] if str(ex) else "")
                    print("export of %s failed: %s" % (name, msg), flush=True)
                    with open(jl, "a") as f:
                        f.write(json.dumps({"model": name, "config": "-", "stage": "export", "error": msg}) + "\n")
                    continue
            if a.export_only:
                continue
            mrun = os.path.join(rdir, name)
            fdir = os.path.join(mrun, "fp32")
            os.makedirs(fdir, exist_ok=True)
            outs = output_names(path)
            if not all(os.path.exists(os.path.join(fdir, o + ".npy")) for o in outs):
                rc, dt, err = run([NPUSIM, "fp32", path, "--input", epath, "--output-dir", fdir, "--threads", "1"],
                                  os.path.join(fdir, "log"))
                print("  fp32 %s rc=%s %.1fs %s" % (name, rc, dt, first_error(err) if rc != 0 else ""), flush=True)
            for cfg in configs:
                if (name, cfg) in done:
                    continue
                if past(a.deadline):
                    break
                arch = os.path.join(REPO, "configs", cfg + ".yaml")
                d = os.path.join(mrun, cfg)
                os.makedirs(d, exist_ok=True)
                ct, rep, od = os.path.join(d, "ctable.yaml"), os.path.join(d, "report.json"), os.path.join(d, "out")
                rec = {"model": name, "config": cfg, "opset": opset, "dynamic": dynamic}
                rc, dt, err = run([CALIB, "--arch", arch, path, "--data", cpath, "-o", ct, "--report", rep, "-q",
                                   "--threads", "1"], os.path.join(d, "calib"))
                rec.update(calib_rc=rc, calib_s=round(dt, 1), calib_err=first_error(err) if rc != 0 else "",
                           calib_stderr=err.strip()[:2000])
                rec["host"], rec["engines"], rec["warnings"] = host_summary(rep) if rc == 0 else (None, None, None)
                rec["tools"] = TOOL_IDS
                if rc == 0:
                    os.makedirs(od, exist_ok=True)
                    rc2, dt2, err2 = run([NPUSIM, "run", "--arch", arch, "--ctable", ct, path, "--input", epath,
                                          "--output-dir", od, "--threads", "1"], os.path.join(d, "run"))
                    rec.update(run_rc=rc2, run_s=round(dt2, 1), run_err=first_error(err2) if rc2 != 0 else "",
                               run_stderr=err2.strip()[:2000])
                    if rc2 == 0:
                        s = {}
                        for o in outs:
                            fr, qr = os.path.join(fdir, o + ".npy"), os.path.join(od, o + ".npy")
                            if os.path.exists(fr) and os.path.exists(qr):
                                s[o] = sqnr(np.load(fr), np.load(qr))
                            else:
                                s[o] = None
                        rec["sqnr"] = s
                print("  %s / %s: calib rc=%s %.1fs%s" % (name, cfg, rc, dt, (" run rc=%s %.1fs sqnr=%s" % (
                    rec.get("run_rc"), rec.get("run_s", 0), rec.get("sqnr"))) if rc == 0 else " " + rec["calib_err"]),
                      flush=True)
                with open(jl, "a") as f:
                    f.write(json.dumps(rec) + "\n")
    table = write_table(jl, os.path.join(sweep, "results.md"), [m[0] for m in MODELS], configs)
    print(table)


def fmt_host(h):
    """Like calib's own summary line: host node count, op types, share of the model's MACs."""
    if not h:
        return "host ?"
    nodes = h.get("nodes", [])
    if not nodes:
        return "host 0"
    ops = {}
    macs = 0
    for n in nodes:
        ops[n.get("op")] = ops.get(n.get("op"), 0) + 1
        macs += n.get("macs", 0) or 0
    tot = h.get("total_macs") or 0
    share = 100.0 * macs / tot if tot else 0.0
    return "host %d (%s) %.2f%% MAC" % (len(nodes), ", ".join("%s x%d" % kv for kv in sorted(ops.items())), share)


def write_table(jl, md, order, configs):
    recs = {}
    if os.path.exists(jl):
        for l in open(jl):
            r = json.loads(l)
            recs[(r["model"], r["config"])] = r
    rows = ["| model | " + " | ".join(configs) + " |", "|---" * (len(configs) + 1) + "|"]
    details = []
    warns = []
    for name in order:
        if (name, "-") in recs:
            rows.append("| %s | " % name + " | ".join(["export failed"] * len(configs)) + " |")
            details.append("- **%s** export: `%s`" % (name, recs[(name, "-")]["error"]))
            continue
        if not any((name, c) in recs for c in configs):
            continue
        cells = []
        for c in configs:
            r = recs.get((name, c))
            if r is None:
                cells.append("not run")
                continue
            if r["calib_rc"] != 0:
                cells.append("calib rc=%s (%.0fs)" % (r["calib_rc"], r["calib_s"]))
                details.append("- **%s / %s** calib rc=%s: `%s`" % (name, c, r["calib_rc"], r["calib_err"]))
                continue
            if r.get("run_rc") != 0:
                cells.append("run rc=%s; %s" % (r.get("run_rc"), fmt_host(r.get("host"))))
                details.append("- **%s / %s** npusim run rc=%s: `%s`" % (name, c, r.get("run_rc"), r.get("run_err")))
                continue
            s = r.get("sqnr") or {}
            first = next(iter(s.values()), None) if s else None
            sq = ("%.1f dB" % first) if isinstance(first, float) else "sqnr n/a"
            nw = len(r.get("warnings") or [])
            cells.append("ok %s; %s%s; %.0f+%.0fs" % (sq, fmt_host(r.get("host")), "; %d warn" % nw if nw else "",
                                                     r["calib_s"], r.get("run_s", 0)))
            groups = {}  # warnings that differ only in node name and numbers, counted together
            for w in r.get("warnings") or []:
                key = re.sub(r"[-+0-9.e]+", "#", re.sub(r"node '[^']*'", "node", w))
                groups.setdefault(key, []).append(w)
            for ws in groups.values():
                w = ws[0] if len(ws[0]) <= 240 else ws[0][:240] + "..."
                warns.append("- %s / %s: %s%s" % (name, c, w, " (and %d more like it)" % (len(ws) - 1)
                                                    if len(ws) > 1 else ""))
        rows.append("| %s | " % name + " | ".join(cells) + " |")
    text = "\n".join(rows) + "\n"
    text += ("\nCell: ok SQNR (dB, first output, bit-accurate npusim run vs npusim fp32 on 4 eval photos); host "
             "nodes (op types) and their share of the model's MACs from calib's JSON report; calib warnings; "
             "calib+run seconds (--threads 1).\n")
    if details:
        text += "\nFailures:\n" + "\n".join(details) + "\n"
    if warns:
        text += "\nCalib warnings:\n" + "\n".join(warns) + "\n"
    notes = os.path.join(os.path.dirname(md), "notes.md")  # hand-written findings, appended if present
    if os.path.exists(notes):
        text += "\n" + open(notes).read()
    with open(md, "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    main()
