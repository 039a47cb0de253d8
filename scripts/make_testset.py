#!/usr/bin/python3
"""Writes the Fashion-MNIST 10k test set, preprocessed exactly as the zoo
models expect (see scripts/zoo/fmnist.py), as .npy files:

    /usr/bin/python3 scripts/make_testset.py OUT_DIR
      -> OUT_DIR/fmnist_test_x.npy  float32 [10000, 1, 28, 28]
         OUT_DIR/fmnist_test_y.npy  int64   [10000]

Source: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo"))
import fmnist  # noqa: E402


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = argv[1]
    try:
        x, y = fmnist.load_preprocessed("t10k")
    except OSError as err:
        print(f"error: {err} (install Debian's dataset-fashion-mnist)", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "fmnist_test_x.npy"), x)
    np.save(os.path.join(out_dir, "fmnist_test_y.npy"), y)
    print(f"wrote {out_dir}/fmnist_test_x.npy {x.dtype} {list(x.shape)}, "
          f"fmnist_test_y.npy {y.dtype} {list(y.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
