"""Markdown tables of an accumulator-width sweep (docs/sweeps.md): for each
network, accuracy (top-1 %, or output SQNR dB) per accumulator width (rows)
and overflow rule x precision (columns), then the overflow statistics and the
cost figures of the first network.

    python3 scripts/sweep/study_table.py OUT_DIR
"""
import csv
import sys
from collections import OrderedDict


def main():
    rows = list(csv.DictReader(open(sys.argv[1] + "/results.csv")))
    bits_axis = next(k for k in rows[0] if "accumulator.bits" in k)
    over_axis = next(k for k in rows[0] if "accumulator.overflow" in k)
    prec_axis = next(k for k in rows[0] if k.endswith("precisions"))
    prec_name = lambda v: "W4A8" if "int4" in v else "W8A8"
    nets = list(OrderedDict.fromkeys(r["network"] for r in rows))
    bits = sorted({int(r[bits_axis]) for r in rows}, reverse=True)
    cols = list(OrderedDict.fromkeys((prec_name(r[prec_axis]), r[over_axis]) for r in rows))
    cell = {(r["network"], int(r[bits_axis]), prec_name(r[prec_axis]), r[over_axis]): r for r in rows}
    for net in nets:
        first = next(r for r in rows if r["network"] == net and r["status"] == "ok")
        metric = "top1" if first["top1"] else "sqnr_db"
        unit = "top-1 %" if metric == "top1" else "output SQNR dB (lowest output)"
        ref = f", FP32 {float(first['fp32_top1']):.0f} %" if metric == "top1" else ""
        print(f"\n**{net}** ({unit}{ref}; `-`: the arch validator refuses the point; overflowed outputs on one sample in brackets)\n")
        print("| acc bits | " + " | ".join(f"{p} {o}" for p, o in cols) + " |")
        print("|---|" + "---|" * len(cols))
        for b in bits:
            out = []
            for p, o in cols:
                r = cell.get((net, b, p, o))
                if not r or r["status"] != "ok":
                    out.append("-" if r and r["status"] == "invalid_arch" else "failed")
                    continue
                v = float(r[metric])
                ov = int(r["overflow_outputs"])
                out.append(f"{v:.2f}" + (f" ({ov})" if ov else ""))
            print(f"| {b} | " + " | ".join(out) + " |")
    net = nets[0]
    print(f"\n**Cost ({net}, per inference, W8A8 and W4A8, wrap)**\n")
    print("| acc bits | precision | cycles | energy uJ | pJ/MAC | TOPS/W | MAC+vector area mm^2 |")
    print("|---|---|---|---|---|---|---|")
    for b in bits:
        for p in ("W8A8", "W4A8"):
            r = cell.get((net, b, p, "wrap"))
            if r and r["status"] == "ok":
                print(f"| {b} | {p} | {r['cycles']} | {float(r['energy_pj'])*1e-6:.2f} | {float(r['pj_per_mac']):.2f} | "
                      f"{float(r['tops_per_watt']):.3f} | {float(r['area_mm2']):.4f} |")


if __name__ == "__main__":
    main()
