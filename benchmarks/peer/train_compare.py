#!/usr/bin/python3
"""The whole training job, ours against PyTorch: wall time, test UA and peak resident memory.

usage: train_compare.py --data DIR [--models fca,fcn] [--fold 1] [--folds 4] [--epochs 10] [--runs 1]
                        [--work DIR] [--ser CMD] [-- EXTRA OPTIONS]

For each model and run, `ser train` and `train_parity.py` (the PyTorch twin of the same protocol) train
one fold for --epochs epochs without early stopping (--patience 0), back to back, each under
`/usr/bin/time -v`: the wall time counts everything (start-up, features, training, validation,
checkpoints, test). Prints a Markdown table: seconds, ours / PyTorch, test UA of each and their
difference, peak RSS of each (MB) and their ratio; then ours' own `time:` line (where its time went).
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
    p.add_argument("--work", default="/tmp/train_compare")
    p.add_argument("--ser", default=f"dotnet {ROOT}/models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    a = p.parse_args(argv)
    os.makedirs(a.work, exist_ok=True)
    common = ["--data", a.data, "--folds", str(a.folds), "--fold", str(a.fold), "--epochs", str(a.epochs), "--patience", "0"]
    rows, lines = [], []
    for run in range(1, a.runs + 1):
        for model in a.models.split(","):
            base = os.path.join(a.work, f"{model}-r{run}")
            ours_cmd = shlex.split(a.ser) + ["train", "--model", model, "--out", base + "-ours", "--force"] + common + extra
            torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "train_parity.py"), "--model", model,
                         "--out", base + "-torch"] + common + extra
            o_s, o_rss, o_text = timed(ours_cmd, base + "-ours.log")
            t_s, t_rss, t_text = timed(torch_cmd, base + "-torch.log")
            o_ua, t_ua = ua(o_text, base + "-ours.log"), ua(t_text, base + "-torch.log")
            rows.append(f"| {model} | {run} | {o_s:.1f} | {t_s:.1f} | {o_s / t_s:.2f} | {o_ua:.3f} | {t_ua:.3f} | {o_ua - t_ua:+.3f} "
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
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
