#!/usr/bin/python3
"""Ours against PyTorch over every fold and several seeds, for PARITY.md.

usage: parity_runs.py run --model fcn|fca --data DIR [--folds 4] [--seeds 1,2,3] [--epochs 50]
                          [--engines ours,torch] [--work DIR] [--ser CMD] [-- EXTRA OPTIONS]
       parity_runs.py report --data DIR [--folds 4] [--seeds 1,2,3] [--work DIR] [--models fcn,fca]

`run` trains each (engine, seed) over all folds with the engines' defaults (plus EXTRA options, given
to both), skipping runs whose folder already has every fold's metrics.json; logs and metrics land in
--work/<model>-<engine>-s<seed>. `report` prints the Markdown tables: per fold, the test UA of each
engine as mean ± sample standard deviation over the seeds, the MFCC-statistics baseline
(mfcc_baseline.py, deterministic) and ours − PyTorch; then the mean over folds.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_dir(work, model, engine, seed):
    return os.path.join(work, f"{model}-{engine}-s{seed}")


def fold_uas(path, folds):
    """{fold: test UA} of a finished run folder (None when a fold is missing)."""
    out = {}
    for k in range(1, folds + 1):
        f = os.path.join(path, f"fold{k}", "metrics.json")
        if not os.path.exists(f):
            return None
        out[k] = json.load(open(f))["test"]["ua"]
    return out


def run(args, extra):
    for seed in args.seeds:
        for engine in args.engines:
            out = run_dir(args.work, args.model, engine, seed)
            if fold_uas(out, args.folds) is not None:
                print(f"{args.model} {engine} seed {seed}: done before, kept ({out})", flush=True)
                continue
            common = ["--model", args.model, "--data", args.data, "--folds", str(args.folds), "--epochs", str(args.epochs),
                      "--seed", str(seed), "--out", out, *extra]
            cmd = (shlex.split(args.ser) + ["train", *common, "--force"] if engine == "ours"
                   else ["/usr/bin/python3", os.path.join(HERE, "train_parity.py"), *common])
            os.makedirs(args.work, exist_ok=True)
            start = time.time()
            with open(out + ".log", "w") as log:
                code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
            last = open(out + ".log").read().strip().splitlines()[-1:] or [""]
            print(f"{args.model} {engine} seed {seed}: exit {code}, {time.time() - start:.0f} s: {last[0]}", flush=True)


def baseline(args):
    """{fold: UA} of the MFCC-statistics baseline."""
    text = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "mfcc_baseline.py"), "--data", args.data, "--folds", str(args.folds)],
                          capture_output=True, text=True, check=True).stdout
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^fold (\d+)/\d+:.* UA=(\d\.\d+)", text, re.M)}


def spread(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, sd


def report(args):
    base = baseline(args)
    for model in args.models:
        per = {}
        for engine in ("ours", "torch"):
            runs = [fold_uas(run_dir(args.work, model, engine, s), args.folds) for s in args.seeds]
            per[engine] = [r for r in runs if r is not None]
        n_ours, n_torch = len(per["ours"]), len(per["torch"])
        print(f"\n### {model}: test UA over {n_ours} (ours) and {n_torch} (PyTorch) seeds of {', '.join(map(str, args.seeds))}\n")
        print("| fold | ours mean ± sd | PyTorch mean ± sd | ours − PyTorch | MFCC baseline | ours − baseline |")
        print("|---|---|---|---|---|---|")
        rows = list(range(1, args.folds + 1)) + ["mean"]
        for fold in rows:
            cells = {}
            for engine in ("ours", "torch"):
                vals = [statistics.fmean(r.values()) if fold == "mean" else r[fold] for r in per[engine]]
                cells[engine] = spread(vals) if vals else None
            b = statistics.fmean(base.values()) if fold == "mean" else base.get(fold)
            o, t = cells["ours"], cells["torch"]
            fmt = lambda c: f"{c[0]:.3f} ± {c[1]:.3f}" if c else "—"
            diff = f"{o[0] - t[0]:+.3f}" if o and t else "—"
            over = f"{o[0] - b:+.3f}" if o and b is not None else "—"
            label = "**mean**" if fold == "mean" else str(fold)
            print(f"| {label} | {fmt(o)} | {fmt(t)} | {diff} | {b:.3f} | {over} |")


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    p = argparse.ArgumentParser(prog="parity_runs.py", description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["run", "report"])
    p.add_argument("--model", choices=["fcn", "fca"], default="fcn")
    p.add_argument("--models", default="fcn,fca")
    p.add_argument("--data", required=True)
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--engines", default="ours,torch")
    p.add_argument("--work", default="runs/parity")
    p.add_argument("--ser", default="dotnet models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.engines = args.engines.split(",")
    args.models = args.models.split(",")
    run(args, extra) if args.action == "run" else report(args)


if __name__ == "__main__":
    main(sys.argv[1:])
