#!/usr/bin/env python3
"""Goal tables over compare.sh runs (ours / PyTorch medians against issue 22's raised goals).

Usage: python3 runs_table.py DIR [DIR ...]   (each DIR holds a compare.sh run's ours.jsonl and torch.jsonl)
One DIR: each case's medians, their ratio, the goal and whether it is met, then sgemm.1024's fraction of the FMA probe
timed just before it, and where compare.sh timed it, the GEMM tile probe's (the tile kernel alone, operands in L1). Several DIRs: the ratio of each run, whether the goal is met in all of them, both sides' medians
per run, the worst case for us (our slowest median over PyTorch's fastest), and sgemm's fraction of the probe per run.
"""
import json
import os
import sys

GOALS = {  # issue 22's raised goals (ours / torch, medians)
    "attention_fcn.train_step.b16.200x300": 0.6, "attention_fcn.infer.b1.200x300": 0.6,
    "focus_calibration_net.train_step.b32.26x63": 0.2, "focus_calibration_net.infer.b1.26x63": 0.1,
    "conv2d.fwd_bwd.16x64x24x36.k5x192": 0.7, "conv2d.fwd.16x64x24x36.k5x192": 0.5,
    "softmax.biased_masked.fwd_bwd.32x4x128x128": 0.25, "mfcc.60s": 0.3, "melspec.60s.400_160_40": 0.3,
    "spectrogram.60s.800_640_160": 0.3, "sgemm.1024": 1.0,
}


def load(path):
    rows = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                j = json.loads(line)
                rows[j["case"]] = j
    return rows


def probe_fraction(ours):
    """sgemm.1024's GFLOP/s over the FMA probe's of the same run, or None when either is missing."""
    probe = next((j for c, j in ours.items() if c.startswith("fma.peak.")), None)
    if probe is None or "sgemm.1024" not in ours:
        return None
    return ours["sgemm.1024"]["gflops"] / probe["gflops"], ours["sgemm.1024"]["gflops"], probe


def tile_probe(ours):
    """The GEMM tile probe's result of the run (gemm.tile.v512 or v256), or None."""
    return next((j for c, j in ours.items() if c.startswith("gemm.tile.")), None)


def one_run(d):
    ours, torch = load(f"{d}/ours.jsonl"), load(f"{d}/torch.jsonl")
    print("| case | ours ms | torch ms | ratio | goal | met |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for c, o in ours.items():
        t, g = torch.get(c), GOALS.get(c)
        if t is None:
            print(f"| `{c}` | {o['ms']:.3f} | - | - | {g if g is not None else '-'} | - |")
            continue
        r = o["ms"] / t["ms"]
        met = "-" if g is None else ("yes" if r <= g else "no")
        print(f"| `{c}` | {o['ms']:.3f} | {t['ms']:.3f} | {r:.2f} | {g if g is not None else '-'} | {met} |")
    pf = probe_fraction(ours)
    if pf is not None:
        frac, gflops, probe = pf
        print(f"\nsgemm.1024: {gflops:.0f} GFLOP/s = {100 * frac:.0f} % of the FMA peak measured just before it "
              f"({probe['case']}: {probe['gflops']:.0f} GFLOP/s on {probe['threads']} threads)")
        tile = tile_probe(ours)
        if tile is not None:
            print(f"the tile kernel alone ({tile['case']}, operands in L1): {tile['gflops']:.0f} GFLOP/s = "
                  f"{100 * tile['gflops'] / probe['gflops']:.0f} % of that peak; sgemm.1024 = "
                  f"{100 * gflops / tile['gflops']:.0f} % of the tile kernel's rate")
    if os.path.exists(f"{d}/load.txt"):
        print()
        print(open(f"{d}/load.txt").read().strip())


def many_runs(dirs):
    runs = [(load(f"{d}/ours.jsonl"), load(f"{d}/torch.jsonl")) for d in dirs]
    print("| case | " + " | ".join(f"run {i + 1}" for i in range(len(dirs))) +
          " | goal | met in all | ours ms | torch ms | ours worst / torch best |")
    print("| --- |" + " ---: |" * len(dirs) + " ---: | --- | --- | --- | ---: |")
    for c, g in GOALS.items():
        os_ = [o[c]["ms"] if c in o else None for o, _ in runs]
        ts = [t[c]["ms"] if c in t else None for _, t in runs]
        rs = [x / y if x and y else None for x, y in zip(os_, ts)]
        ok = [r is not None and r <= g for r in rs]
        met = "yes" if all(ok) else f"no ({sum(ok)} of {len(ok)})"
        have = all(os_) and all(ts)
        worst = f"{max(os_) / min(ts):.2f}" if have else "-"
        print(f"| `{c}` | " + " | ".join(f"{r:.2f}" if r is not None else "-" for r in rs) + f" | {g} | {met} | " +
              ", ".join(f"{x:.3g}" for x in os_ if x) + " | " + ", ".join(f"{x:.3g}" for x in ts if x) +
              f" | {worst} |")
    fracs = [probe_fraction(o) for o, _ in runs]
    if any(f is not None for f in fracs):
        print("\nsgemm.1024 against the FMA probe timed just before it: " + ", ".join(
            "-" if f is None else f"{100 * f[0]:.0f} % ({f[1]:.0f} of {f[2]['gflops']:.0f} GFLOP/s)" for f in fracs))
        tiles = [tile_probe(o) for o, _ in runs]
        if any(t is not None for t in tiles):
            print("the tile kernel alone against the same probe: " + ", ".join(
                "-" if t is None or f is None else f"{100 * t['gflops'] / f[2]['gflops']:.0f} %" for t, f in zip(tiles, fracs)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[2])
    if len(sys.argv) == 2:
        one_run(sys.argv[1])
    else:
        many_runs(sys.argv[1:])
