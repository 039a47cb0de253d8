#!/usr/bin/python3
"""Prints compare.sh's tables from its output folder.

    summarize.py OUT MODEL...

Table 1, per model and output: SQNR (dB, against the FP32 model in ONNX
Runtime, on the evaluation rows) of the four peer variants, the best of them,
bitnpu's (or its status), bitnpu minus the best peer, and for the shipped
IS-Net files the SQNR of the file itself against isnet_medium_fp32.
Table 2, per model: calibration rows, bitnpu calib wall time, ONNX Runtime FP32
inference over the same rows, their ratio, the peer's own calibration
(statistics collection) time, and the peak resident memory of bitnpu's calib
and of the ONNX Runtime timing process (node included).
Then every bitnpu failure with its exact message. Also writes OUT/summary.json.
"""
import json
import math
import os
import sys

VARIANTS = ["minmax_pt", "minmax_pc", "pct_pt", "pct_pc"]


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def num(x):
    if x is None:
        return None
    if isinstance(x, str):
        return math.inf if x == "inf" else None
    return float(x)


def fmt(x, nd=2):
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.{nd}f}"


def main(out, models):
    rows, timing, failures, summary = [], [], [], {}
    for m in models:
        d = os.path.join(out, m)
        peer = load(os.path.join(d, "peer", "peer.json"))
        bit = load(os.path.join(d, "bitnpu.json")) or {}
        bsq = load(os.path.join(d, "bitnpu_sqnr.json"))
        shipped = load(os.path.join(d, "shipped.json"))
        ortt = load(os.path.join(d, "ort_time.json")) or {}
        outputs = (peer or bsq or shipped or {}).get("outputs", [])
        if not outputs:
            outputs = ["(all)"]
        summary[m] = {"peer": peer and peer.get("sqnr_db"), "bitnpu": bit, "bitnpu_sqnr": bsq and bsq.get("sqnr_db"),
                      "shipped": shipped and shipped.get("sqnr_db"), "ort_time": ortt}
        for o in outputs:
            cells = [num(peer["sqnr_db"][v].get(o)) if peer and v in peer["sqnr_db"] else None for v in VARIANTS]
            best = max([c for c in cells if c is not None], default=None)
            if bsq:
                b = num(bsq["sqnr_db"]["bitnpu"].get(o))
                bcell = fmt(b)
                diff = fmt(b - best) if (b is not None and best is not None and not math.isinf(b)) else "-"
            else:
                bcell = bit.get("status", "not run").replace("_", " ")
                diff = "-"
            sh = fmt(num(shipped["sqnr_db"]["shipped"].get(o))) if shipped else ""
            rows.append(f"| {m} | {o} | " + " | ".join(fmt(c) for c in cells) + f" | {fmt(best)} | {bcell} | {diff} | {sh} |")
        if bit.get("status") not in (None, "ok"):
            failures.append((m, bit["status"], bit.get("message", "")))
        peer_cal = peer["calibration"]["seconds_collect"] if peer else None
        cs = bit.get("calib_wall_s")
        os_ = ortt.get("seconds")
        ratio = (cs / os_) if (cs and os_ and bit.get("status") not in ("calib_failed",)) else None
        timing.append(f"| {m} | {bit.get('calib_rows', ortt.get('samples', '-'))} | {fmt(cs)}"
                      f"{' (failed)' if bit.get('status') == 'calib_failed' else ''}"
                      f"{' (timeout)' if bit.get('status') == 'calib_timeout' else ''} | {fmt(os_, 3)} | "
                      f"{fmt(ratio, 1) + 'x' if ratio else '-'} | {fmt(peer_cal)} | "
                      f"{fmt(bit.get('calib_max_rss_mb'), 0)} | {fmt(ortt.get('max_rss_mb'), 0)} |")
    print("| model | output | peer minmax/pt | peer minmax/pc | peer pct/pt | peer pct/pc | best peer | "
          "bitnpu | bitnpu - best | shipped file (ORT) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("| model | calib rows | bitnpu calib wall s | ORT FP32 s, same rows | ratio | peer statistics s | "
          "bitnpu calib peak MB | ORT peak MB (node process) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(timing))
    if failures:
        print()
        print("bitnpu failures:")
        for m, st, msg in failures:
            print(f"- {m} ({st}): `{msg.strip()}`")
    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1, default=str)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
