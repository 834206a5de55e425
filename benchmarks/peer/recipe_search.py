#!/usr/bin/python3
"""Search for an AttentionFcn recipe that learns from scratch, in both engines.

usage: recipe_search.py --data DIR [--round 1|2] [--folds 4] [--fold 1] [--seeds 1] [--epochs 30]
    [--engines ours,torch] [--only NAME,...] [--work DIR] [--ser "dotnet .../ser.dll"]

Each candidate is a set of `ser train` options that train_parity.py (the PyTorch twin) takes under the
same names; both run them on top of `--recipe paper`, so every row is Paper A plus what it names. One
line per run goes to stdout as it finishes, then a Markdown table: test UA (mean over the seeds), the
kept epoch and the seconds, ours next to PyTorch. Logs and metrics land in --work/<candidate>-<engine>-s<seed>.

Round 1 (the default) searched on one fold (--fold, 1) for a recipe that learns at all. Round 2 starts
from round 1's winner and runs every fold (a recipe has to carry to new speakers, and fold 1 alone
had chosen one that did not): its table has the test UA of each fold and their mean.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NARROW = ["--widths", "32,64,128,128,128"]

# name -> options (Paper A plus these)
CANDIDATES = {
    "paper": [],
    "lr 1e-4": ["--lr", "1e-4"],
    "warm-up 3 + clip 1": ["--warmup", "3", "--clip", "1"],
    "narrow": NARROW,
    "global norm": ["--norm", "global"],
    "lambda 1": ["--lambda", "1"],
    "spec-augment": ["--spec-augment"],
    "batch norm": ["--batchnorm"],
    "batch norm + narrow": ["--batchnorm", *NARROW],
    "batch norm + narrow + spec-augment": ["--batchnorm", *NARROW, "--spec-augment"],
    "batch norm + narrow + spec-augment + warm-up + clip": ["--batchnorm", *NARROW, "--spec-augment", "--warmup", "3", "--clip", "1"],
    "batch norm + narrow + lr 3e-4": ["--batchnorm", *NARROW, "--lr", "3e-4"],
    "batch norm + narrow + global norm": ["--batchnorm", *NARROW, "--norm", "global"],
    "batch norm + narrow + global norm + spec-augment": ["--batchnorm", *NARROW, "--norm", "global", "--spec-augment"],
    "narrow + lr 1e-4": [*NARROW, "--lr", "1e-4"],
    "narrow + lr 1e-4 + spec-augment": [*NARROW, "--lr", "1e-4", "--spec-augment"],
    "narrow + lr 3e-4 + warm-up + clip": [*NARROW, "--lr", "3e-4", "--warmup", "3", "--clip", "1"],
}

# Round 1's winner (the first scratch recipe), spelled out so a row does not depend on the build's default.
SCRATCH1 = ["--batchnorm", *NARROW, "--norm", "global", "--spec-augment"]
STEP = ["--val-fraction", "0.2", "--lr-step", "15", "--patience", "0"]  # bigger validation, lr ÷10 at epoch 16
ROUND2 = {
    "scratch 1": SCRATCH1,
    "+ validation 0.2": [*SCRATCH1, "--val-fraction", "0.2"],
    "+ validation 0.2 + lr step 15": [*SCRATCH1, *STEP],
    "+ validation 0.2 + lr step 15 + AdamW 0.05": [*SCRATCH1, *STEP, "--optimizer", "adamw", "--weight-decay", "0.05"],
    "+ validation 0.2 + lr step 15 + log-mel": [*SCRATCH1, *STEP, "--features", "logmel"],
    "+ validation 0.2 + lr step 15 + warp 3": [*SCRATCH1, *STEP, "--freq-warp", "3"],
    "+ validation 0.2 + lr step 15 + warp 5": [*SCRATCH1, *STEP, "--freq-warp", "5"],
    "+ validation 0.2 + lr step 15 + warp 7": [*SCRATCH1, *STEP, "--freq-warp", "7"],
    "+ validation 0.2 + lr step 15 + log-mel + warp 3": [*SCRATCH1, *STEP, "--features", "logmel", "--freq-warp", "3"],
    "+ validation 0.2 + lr step 15 + warp 5 + widths 48…192": [*SCRATCH1, *STEP, "--freq-warp", "5", "--widths", "48,96,192,192,192"],
    "+ validation 0.2 + lr step 15 + warp 7 + lambda 1": [*SCRATCH1, *STEP, "--freq-warp", "7", "--lambda", "1"],
    "+ validation 0.2 + lr step 15 + warp 7 + dropout 0.3": [*SCRATCH1, *STEP, "--freq-warp", "7", "--dropout", "0.3"],
    # Round 3: fold 2's angry cue (overdrive) lies above 4 kHz (mfcc_baseline.py --f-max 4000: fold 2 0.590 -> 0.465).
    "+ validation 0.2 + lr step 15 + warp 7 + bins 400 (0-8 kHz)": [*SCRATCH1, *STEP, "--freq-warp", "7", "--bins", "400"],
}

RESULT = re.compile(r"^result: WA=(\d\.\d+) UA=(\d\.\d+)")
KEPT = re.compile(r"kept epoch (\d+)")
FOLD_TEST = re.compile(r"^fold (\d+)/\d+: kept epoch \d+ .*test WA=\d\.\d+ UA=(\d\.\d+)")


def command(engine, args, options, seed, out):
    """The command line of one run."""
    common = ["--model", "fcn", "--data", args.data, "--folds", str(args.folds),
              *(["--fold", str(args.fold)] if args.round == 1 else []),
              "--epochs", str(args.epochs), "--seed", str(seed), "--out", out]
    if engine == "ours":
        return shlex.split(args.ser) + ["train", *common, "--force", "--recipe", "paper", *options]
    return ["/usr/bin/python3", os.path.join(HERE, "train_parity.py"), *common, "--recipe", "paper", *options]


def run(engine, name, options, seed, args):
    """Runs one candidate in one engine; returns (UA, kept epoch, seconds, {fold: UA}) or None when it failed."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    out = os.path.join(args.work, f"{slug}-{engine}-s{seed}")
    os.makedirs(args.work, exist_ok=True)
    start = time.time()
    with open(out + ".log", "w") as log:
        code = subprocess.call(command(engine, args, options, seed, out), stdout=log, stderr=subprocess.STDOUT)
    seconds = time.time() - start
    text = open(out + ".log").read()
    result = [RESULT.match(line) for line in text.splitlines()]
    result = [m for m in result if m]
    kept = KEPT.findall(text)
    if code != 0 or not result:
        print(f"{name} [{engine}, seed {seed}]: FAILED (exit {code}); see {out}.log", flush=True)
        return None
    ua = float(result[-1].group(2))
    folds = {int(m.group(1)): float(m.group(2)) for m in map(FOLD_TEST.match, text.splitlines()) if m}
    print(f"{name} [{engine}, seed {seed}]: UA {ua:.3f}, kept epoch {kept[-1] if kept else '?'}, {seconds:.0f} s"
          + (f", folds {' '.join(f'{folds[k]:.3f}' for k in sorted(folds))}" if args.round == 2 else ""), flush=True)
    return ua, int(kept[-1]) if kept else 0, seconds, folds


def main(argv):
    p = argparse.ArgumentParser(prog="recipe_search.py", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--round", type=int, choices=[1, 2], default=1, help="1: one fold from Paper A; 2: every fold from round 1's winner")
    p.add_argument("--fold", type=int, default=1, help="round 1's fold")
    p.add_argument("--seeds", default="1", help="comma-separated seeds")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--engines", default="ours,torch")
    p.add_argument("--only", default=None, help="comma-separated candidate names (default: all)")
    p.add_argument("--work", default="runs/recipe-search")
    p.add_argument("--ser", default="dotnet models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    args = p.parse_args(argv)
    candidates = CANDIDATES if args.round == 1 else ROUND2
    names = args.only.split(",") if args.only else list(candidates)
    unknown = [n for n in names if n not in candidates]
    if unknown:
        p.error(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(candidates)}")
    engines = args.engines.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in names:
        cells = {}
        for engine in engines:
            runs = [r for r in (run(engine, name, candidates[name], s, args) for s in seeds) if r]
            cells[engine] = runs
        rows.append((name, cells))
    if args.round == 2:
        report_folds(rows, engines, args.folds, candidates)
        return
    print(f"\n| candidate (Paper A plus) | options | " + " | ".join(f"{e} test UA | {e} kept epoch | {e} s" for e in engines) + " |")
    print("|---|---|" + "---|---|---|" * len(engines))
    for name, cells in rows:
        parts = engine_cells(cells, engines, lambda r: [f"{sum(x[0] for x in r) / len(r):.3f}", "/".join(str(x[1]) for x in r)])
        print(f"| {name} | `{' '.join(CANDIDATES[name]) or '(none)'}` | " + " | ".join(parts) + " |")


def engine_cells(cells, engines, columns):
    """Each engine's cells of one row: columns(runs) and the mean seconds, or 'failed' when no run finished."""
    parts = []
    for e in engines:
        r = cells[e]
        parts += [*columns(r), f"{sum(x[2] for x in r) / len(r):.0f}"] if r else ["failed", "", ""]
    return parts


def report_folds(rows, engines, folds, candidates):
    """Round 2's table: each fold's test UA (mean over the seeds), their mean and the seconds, per engine."""
    print(f"\n| candidate | " + " | ".join(f"{e}: " + ", ".join(f"fold {k}" for k in range(1, folds + 1)) + f" | {e} mean | {e} s"
                                          for e in engines) + " |")
    print("|---|" + "---|---|---|" * len(engines))

    def columns(r):
        per_fold = [sum(x[3].get(k, 0.0) for x in r) / len(r) for k in range(1, folds + 1)]
        return [", ".join(f"{v:.3f}" for v in per_fold), f"{sum(per_fold) / folds:.3f}"]
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(engine_cells(cells, engines, columns)) + " |")
    print("\noptions, on top of `--recipe paper`:")
    for name, _ in rows:
        print(f"- {name}: `{' '.join(candidates[name])}`")


if __name__ == "__main__":
    main(sys.argv[1:])
