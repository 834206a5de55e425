#!/usr/bin/python3
"""Ours against PyTorch over every fold and several seeds, for PARITY.md.

usage: parity_runs.py run --model fcn|fca --data DIR [--folds 4] [--seeds 1,2,3] [--epochs N]
                          [--engines ours,torch] [--work DIR] [--ser CMD] [-- EXTRA OPTIONS]
       parity_runs.py report --data DIR [--folds 4] [--seeds 1,2,3] [--work DIR] [--models fcn,fca]

`run` trains each (engine, seed) over all folds with the engines' defaults (plus EXTRA options, given
to both), skipping runs whose folder already has every fold's metrics.json; logs and metrics land in
--work/<model>-<engine>-s<seed>. `report` prints the Markdown tables: per fold, the test UA of each
engine as mean ± sample standard deviation over the seeds, ours − PyTorch (over all seeds, and over
the seeds both ran: the same initial weights and batch order), the MFCC-statistics baseline
(mfcc_baseline.py, deterministic) and ours − baseline; then the mean over folds.
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
            common = ["--model", args.model, "--data", args.data, "--folds", str(args.folds),
                      *(["--epochs", str(args.epochs)] if args.epochs else []),
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
        runs = {e: {s: fold_uas(run_dir(args.work, model, e, s), args.folds) for s in args.seeds} for e in ("ours", "torch")}
        runs = {e: {s: r for s, r in by_seed.items() if r is not None} for e, by_seed in runs.items()}
        shared = sorted(set(runs["ours"]) & set(runs["torch"]))
        print(f"\n### {model}: test UA, ours over seeds {', '.join(map(str, runs['ours'])) or '-'}, "
              f"PyTorch over seeds {', '.join(map(str, runs['torch'])) or '-'}\n")
        print("| fold | ours mean ± sd | PyTorch mean ± sd | ours − PyTorch | ours − PyTorch, same seeds | MFCC baseline | ours − baseline |")
        print("|---|---|---|---|---|---|---|")
        for fold in [*range(1, args.folds + 1), "mean"]:
            def ua(r):
                return statistics.fmean(r.values()) if fold == "mean" else r[fold]

            cell = {e: spread([ua(r) for r in runs[e].values()]) if runs[e] else None for e in runs}
            same = (statistics.fmean(ua(runs["ours"][s]) - ua(runs["torch"][s]) for s in shared)) if shared else None
            b = statistics.fmean(base.values()) if fold == "mean" else base.get(fold)
            o, t = cell["ours"], cell["torch"]

            def fmt(c, n):
                return "—" if not c else f"{c[0]:.3f}" + (f" ± {c[1]:.3f}" if n > 1 else " (1 seed)")
            print(f"| {'**mean**' if fold == 'mean' else fold} | {fmt(o, len(runs['ours']))} | {fmt(t, len(runs['torch']))} | "
                  f"{f'{o[0] - t[0]:+.3f}' if o and t else '—'} | {f'{same:+.3f}' if same is not None else '—'} | "
                  f"{b:.3f} | {f'{o[0] - b:+.3f}' if o else '—'} |")


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
    p.add_argument("--epochs", type=int, default=None, help="default: the engines' (fcn: the recipe's)")
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
