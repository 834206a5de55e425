#!/usr/bin/python3
"""The whole training job, ours against PyTorch: wall time, test UA and peak resident memory.

usage: train_compare.py --data DIR [--models fca,fcn] [--fold 1] [--folds 4] [--epochs 10] [--runs 1 | --seeds 1,2,..]
                        [--work DIR] [--ser CMD] [-- EXTRA OPTIONS]

For each model and run, `ser train` and `train_parity.py` (the PyTorch twin of the same protocol) train
one fold for --epochs epochs without early stopping (--patience 0), back to back, each under
`/usr/bin/time -v`: the wall time counts everything (start-up, features, training, validation,
checkpoints, test). Prints a Markdown table: seconds, ours / PyTorch, test UA of each and their
difference, peak RSS of each (MB) and their ratio; then ours' own `time:` line (where its time went).
--seeds S1,S2,.. makes one run per seed, passing `--seed S` to both sides, and adds each model's mean test UA over
the seeds with the standard error of the mean difference: the two sides draw their initial weights and batches
from different generators, so one seed's UAs differ by chance (tens of points of UA on a small test fold); the
seed mean is what "the same UA" can be judged on.
Run with /usr/bin/python3 (Debian python3-torch 1.13). --ser defaults to the Release build's ser.dll (managed, JIT);
`--ser out/aot/bin/ser` times a NativeAOT ser (models/SerEngine.Cli/publish-aot.sh [--native]). The table's
heading names the build (`ser --version`).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed(cmd, log):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, output text)."""
    stats = log + ".time"
    with open(log, "w") as out:
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", stats] + cmd, stdout=out, stderr=subprocess.STDOUT)
    text = open(log).read()
    if rc != 0:
        sys.exit(f"train_compare: {' '.join(map(shlex.quote, cmd))} failed (exit {rc}); see {log}")
    t = open(stats).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return secs, rss, text


def ua(text, log):
    m = re.findall(r"^result: WA=\S+ UA=(\d\.\d+)", text, re.M)
    if not m:
        sys.exit(f"train_compare: no result line in {log}")
    return float(m[-1])


def main(argv):
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="train_compare.py", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--models", default="fca,fcn")
    p.add_argument("--fold", type=int, default=1)
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--seeds", default="", help="comma-separated seeds: one run each (replaces --runs)")
    p.add_argument("--work", default="/tmp/train_compare")
    p.add_argument("--ser", default=f"dotnet {ROOT}/models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    a = p.parse_args(argv)
    os.makedirs(a.work, exist_ok=True)
    common = ["--data", a.data, "--folds", str(a.folds), "--fold", str(a.fold), "--epochs", str(a.epochs), "--patience", "0"]
    seeds = [int(x) for x in a.seeds.split(",") if x.strip()]
    runs = [(r, None) for r in range(1, a.runs + 1)] if not seeds else [(i + 1, sd) for i, sd in enumerate(seeds)]
    rows, lines, uas = [], [], {}
    for run, seed in runs:
        for model in a.models.split(","):
            base = os.path.join(a.work, f"{model}-r{run}")
            seeded = extra + (["--seed", str(seed)] if seed is not None else [])
            ours_cmd = shlex.split(a.ser) + ["train", "--model", model, "--out", base + "-ours", "--force"] + common + seeded
            torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "train_parity.py"), "--model", model,
                         "--out", base + "-torch"] + common + seeded
            o_s, o_rss, o_text = timed(ours_cmd, base + "-ours.log")
            t_s, t_rss, t_text = timed(torch_cmd, base + "-torch.log")
            o_ua, t_ua = ua(o_text, base + "-ours.log"), ua(t_text, base + "-torch.log")
            uas.setdefault(model, []).append((o_ua, t_ua))
            rows.append(f"| {model} | {run if seed is None else f'seed {seed}'} | {o_s:.1f} | {t_s:.1f} | {o_s / t_s:.2f} | {o_ua:.3f} | {t_ua:.3f} | {o_ua - t_ua:+.3f} "
                        f"| {o_rss:.0f} | {t_rss:.0f} | {o_rss / t_rss:.2f} |")
            lines += [f"{model} run {run}: {l}" for l in o_text.splitlines() if l.startswith("time: ")]
            print(rows[-1], file=sys.stderr, flush=True)
    build = subprocess.run(shlex.split(a.ser) + ["--version"], capture_output=True, text=True).stdout.strip().replace("\n", "; ")
    print(f"ours: `{a.ser}` ({build})")
    print(f"`ser train` and `train_parity.py`, one fold ({a.fold} of {a.folds}), {a.epochs} epochs, patience 0{' ' + ' '.join(extra) if extra else ''}:")
    print()
    print("| model | run | ours s | PyTorch s | ours / PyTorch | ours test UA | PyTorch test UA | difference | ours peak MB | PyTorch peak MB | ours / PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print()
    if seeds:
        for model, pairs in uas.items():
            n = len(pairs)
            diffs = [o - t for o, t in pairs]
            mean = sum(diffs) / n
            se = (sum((d - mean) ** 2 for d in diffs) / (n - 1)) ** 0.5 / n ** 0.5 if n > 1 else float("nan")
            print(f"{model}: mean test UA over {n} seeds: ours {sum(o for o, _ in pairs) / n:.3f}, "
                  f"PyTorch {sum(t for _, t in pairs) / n:.3f}, difference {mean:+.3f} (standard error {se:.3f})")
        print()
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
