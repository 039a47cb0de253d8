"""Fashion-MNIST loading and the one preprocessing rule every zoo model expects.

Reads Debian's `dataset-fashion-mnist` IDX files directly (gzip + numpy), so no
torchvision download path is ever touched.

Preprocessing (the contract for models/*.onnx and data/*.npy):
    x = (pixel / 255 - MEAN) / STD,   float32, layout [N, 1, 28, 28]
with MEAN/STD the training-set pixel statistics rounded to 4 digits.
"""
import gzip
import os

import numpy as np

DATA_DIR = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
MEAN = 0.2860  # training-set mean of pixel/255 (0.28604)
STD = 0.3530   # training-set std of pixel/255 (0.35302)
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_IDX_UBYTE = 0x08


def read_idx(path):
    """Parses one gzip'd IDX file (big-endian header: magic, dims) into uint8."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != _IDX_UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes, header says {tuple(dims)}")
    return data.reshape(tuple(dims))


def load_split(split):
    """Returns (images uint8 [N,28,28], labels int64 [N]) for 'train' or 't10k'."""
    images = read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def preprocess(images_u8):
    """uint8 [N,28,28] -> normalized float32 [N,1,28,28] (the models' input)."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32)


def load_preprocessed(split):
    images, labels = load_split(split)
    return preprocess(images), labels
