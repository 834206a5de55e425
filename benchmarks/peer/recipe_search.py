#!/usr/bin/python3
"""Search for an AttentionFcn recipe that learns from scratch, in both engines.

usage: recipe_search.py --data DIR [--folds 4] [--fold 1] [--seeds 1] [--epochs 30]
    [--engines ours,torch] [--only NAME,...] [--work DIR] [--ser "dotnet .../ser.dll"]

Each candidate is a set of `ser train` options that train_parity.py (the PyTorch twin) takes under the
same names; both run them on top of `--recipe paper`, so every row is Paper A plus what it names. One
line per run goes to stdout as it finishes, then a Markdown table: test UA (mean over the seeds), the
kept epoch and the seconds, ours next to PyTorch. Logs and metrics land in --work/<candidate>-<engine>-s<seed>.
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

RESULT = re.compile(r"^result: WA=(\d\.\d+) UA=(\d\.\d+)")
KEPT = re.compile(r"kept epoch (\d+)")


def command(engine, args, options, seed, out):
    """The command line of one run."""
    common = ["--model", "fcn", "--data", args.data, "--folds", str(args.folds), "--fold", str(args.fold),
              "--epochs", str(args.epochs), "--seed", str(seed), "--out", out]
    if engine == "ours":
        return shlex.split(args.ser) + ["train", *common, "--force", "--recipe", "paper", *options]
    return ["/usr/bin/python3", os.path.join(HERE, "train_parity.py"), *common, "--recipe", "paper", *options]


def run(engine, name, options, seed, args):
    """Runs one candidate in one engine; returns (UA, kept epoch, seconds) or None when it failed."""
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
    print(f"{name} [{engine}, seed {seed}]: UA {ua:.3f}, kept epoch {kept[-1] if kept else '?'}, {seconds:.0f} s", flush=True)
    return ua, int(kept[-1]) if kept else 0, seconds


def main(argv):
    p = argparse.ArgumentParser(prog="recipe_search.py", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--fold", type=int, default=1)
    p.add_argument("--seeds", default="1", help="comma-separated seeds")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--engines", default="ours,torch")
    p.add_argument("--only", default=None, help="comma-separated candidate names (default: all)")
    p.add_argument("--work", default="runs/recipe-search")
    p.add_argument("--ser", default="dotnet models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    args = p.parse_args(argv)
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        p.error(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    engines = args.engines.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in names:
        cells = {}
        for engine in engines:
            runs = [r for r in (run(engine, name, CANDIDATES[name], s, args) for s in seeds) if r]
            cells[engine] = runs
        rows.append((name, cells))
    print(f"\n| candidate (Paper A plus) | options | " + " | ".join(f"{e} test UA | {e} kept epoch | {e} s" for e in engines) + " |")
    print("|---|---|" + "---|---|---|" * len(engines))
    for name, cells in rows:
        parts = []
        for e in engines:
            r = cells[e]
            if not r:
                parts += ["failed", "", ""]
                continue
            parts += [f"{sum(x[0] for x in r) / len(r):.3f}", "/".join(str(x[1]) for x in r), f"{sum(x[2] for x in r) / len(r):.0f}"]
        print(f"| {name} | `{' '.join(CANDIDATES[name]) or '(none)'}` | " + " | ".join(parts) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
