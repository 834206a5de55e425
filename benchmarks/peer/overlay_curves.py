#!/usr/bin/python3
"""Training curves of the two engines overlaid: loss and validation UA per epoch, ours next to PyTorch.

usage: overlay_curves.py --out FIG.png [--title T] LABEL=RUN_DIR [LABEL=RUN_DIR ...]

RUN_DIR is an output folder of `ser train --out` or `train_parity.py --out`: every foldK/metrics.json
in it is read (same field names in both). Draws one line per run and fold (solid: loss, left; dashed:
validation UA, right) and prints a Markdown table of the per-epoch values side by side.
"""
import argparse
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def histories(run_dir):
    """{fold: history list} of one run folder."""
    found = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "fold*", "metrics.json"))):
        m = json.load(open(path))
        found[m["fold"]] = m["history"]
    if not found:
        sys.exit(f"overlay_curves.py: {run_dir} holds no fold*/metrics.json")
    return found


def main(argv):
    p = argparse.ArgumentParser(prog="overlay_curves.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="")
    p.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    args = p.parse_args(argv)
    runs = []
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep:
            p.error(f"expected LABEL=RUN_DIR, got '{item}'")
        runs.append((label, histories(path)))
    fig, (loss_ax, ua_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for label, folds in runs:
        for fold, h in folds.items():
            epochs = [e["epoch"] for e in h]
            name = f"{label} fold {fold}" if len(folds) > 1 else label
            loss_ax.plot(epochs, [e["loss"] for e in h], label=name)
            ua_ax.plot(epochs, [e["val_ua"] for e in h], "--", label=name)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="loss")
    ua_ax.set(xlabel="epoch", ylabel="validation UA", title="validation UA", ylim=(0, 1))
    for ax in (loss_ax, ua_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    # the same numbers as a table: epoch, then loss / val UA of each run (first fold of each)
    heads = [label for label, _ in runs]
    print("| epoch | " + " | ".join(f"{h} loss | {h} val UA" for h in heads) + " |")
    print("|---|" + "---|---|" * len(heads))
    first = [next(iter(f.values())) for _, f in runs]
    for i in range(max(len(h) for h in first)):
        cells = []
        for h in first:
            cells += [f"{h[i]['loss']:.4f}", f"{h[i]['val_ua']:.3f}"] if i < len(h) else ["", ""]
        print(f"| {i + 1} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
