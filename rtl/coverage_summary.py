#!/usr/bin/env python3
"""Line / toggle / branch coverage per kind from a Verilator coverage.dat.

usage: rtl/coverage_summary.py coverage.dat
Each point of the file is `C '<key/value pairs>' <count>`; the `page` field
(v_line/..., v_toggle/..., v_branch/...) names the kind.
"""
import re
import sys


def main(path):
    total, covered = {}, {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if not line.startswith("C '"):
                continue
            kind = re.search("\x01page\x02v_([a-z]+)/", line)
            kind = kind.group(1) if kind else "other"
            count = int(line.rsplit(" ", 1)[1])
            total[kind] = total.get(kind, 0) + 1
            covered[kind] = covered.get(kind, 0) + (count > 0)
    for kind in sorted(total):
        print(f"{kind:8s} {covered[kind]:7d} / {total[kind]:7d}  {100.0 * covered[kind] / total[kind]:6.2f} %")


if __name__ == "__main__":
    main(sys.argv[1])
