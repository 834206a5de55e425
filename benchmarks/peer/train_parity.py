#!/usr/bin/python3
"""PyTorch twin of `ser train`: the same networks, split, batch order and protocol, for engine parity.

usage: train_parity.py --model fcn|fca --data DIR [--folds 4] [--fold K] [--epochs 50] [--patience 10]
    [--seed 1] [--val-fraction 0.1] [--batch N] [--recipe scratch|paper] [--lr X] [--weight-decay X] [--lr-step N] [--dropout X]
    [--widths a,b,c,d,e] [--bins N] [--norm per-bin|global|none] [--lambda X] [--[no-]batchnorm] [--warmup E] [--clip C]
    [--[no-]spec-augment] [--init FILE] [--out DIR] [--write-step FILE] [--check-step FILE]

Last line: `result: WA=… UA=… seconds=S` (means over the folds run). --check-step FILE compares one
training step dumped by `ser train --dump-step FILE` with PyTorch (needs --data); --write-step FILE
writes such a dump from PyTorch (first step of the first fold run) and stops.
Run with /usr/bin/python3 (Debian python3-torch 1.13, torchaudio 0.13).
"""
import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from parity import checkstep, train  # noqa: E402

# ser train's fcn recipes (models/SerEngine.Models/Training/FcnRecipe.cs): what fills unset options
RECIPES = {
    "paper": dict(lr=1e-3, warmup=0, clip=0.0, batchnorm=False, widths="64,192,384,256,256", dropout=0.5,
                  norm="per-bin", spec_augment=False, lam=0.3, freq_warp=0.0, bins=200,
                  epochs=50, lr_step=0, patience=10, val_fraction=0.1),
    "scratch": dict(lr=1e-3, warmup=0, clip=0.0, batchnorm=True, widths="32,64,128,128,128", dropout=0.5,
                    norm="global", spec_augment=True, lam=0.3, freq_warp=7.0, bins=300,
                    epochs=30, lr_step=15, patience=0, val_fraction=0.2),
}
# ser train's fca protocol defaults (TrainOptions' Effective* members for fca; the fcn-only keys are unused).
FCA = RECIPES["paper"] | dict(lr=1e-3, dropout=0.1, epochs=50, lr_step=10, patience=10, val_fraction=0.1)


def parse(argv):
    p = argparse.ArgumentParser(prog="train_parity.py", description="PyTorch twin of `ser train`")
    p.add_argument("--model", choices=["fcn", "fca"], default="fcn")
    p.add_argument("--data", required=True, help="RAVDESS-named folder (recursive)")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--fold", type=int, default=None, help="run only this fold (1-based); default all, mean reported")
    p.add_argument("--epochs", type=int, default=None, help="default: fcn the recipe's, fca 50")
    p.add_argument("--patience", type=int, default=None, help="default: fcn the recipe's, fca 10")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--val-fraction", type=float, default=None, help="default: fcn the recipe's, fca 0.1")
    p.add_argument("--batch", type=int, default=None, help="default fcn 16, fca 32")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="scratch",
                   help="fcn: the settings behind the fcn defaults, as ser train --recipe (default scratch)")
    p.add_argument("--lr", type=float, default=None, help="default: fcn the recipe's, fca 1e-3")
    p.add_argument("--weight-decay", type=float, default=None, help="default fcn 0, fca 1e-6")
    p.add_argument("--lr-step", type=int, default=None, help="÷10 every N epochs; default: fcn the recipe's, fca 10")
    p.add_argument("--dropout", type=float, default=None, help="default: fcn the recipe's, fca 0.1")
    p.add_argument("--widths", default=None, help="fcn: five widths (default: the recipe's)")
    p.add_argument("--bins", type=int, default=None, help="fcn: log-spectrogram rows kept from 0 Hz (default: the recipe's)")
    p.add_argument("--norm", choices=["per-bin", "perbin", "global", "none"], default=None)
    p.add_argument("--lambda", dest="lam", type=float, default=None)
    p.add_argument("--batchnorm", action="store_true", default=None, help="fcn: masked BatchNorm2d after each conv")
    p.add_argument("--no-batchnorm", dest="batchnorm", action="store_false")
    p.add_argument("--warmup", type=int, default=None, help="linear lr warm-up over E epochs, per step")
    p.add_argument("--clip", type=float, default=None, help="clip the global gradient norm to C (0 = off)")
    p.add_argument("--spec-augment", action="store_true", default=None, help="fcn: 2 frequency + 2 time masks per training utterance")
    p.add_argument("--no-spec-augment", dest="spec_augment", action="store_false")
    p.add_argument("--freq-warp", type=float, default=None,
                   help="fcn: warp each training input's frequency axis by a random factor within ±ST semitones")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--no-focus", action="store_true")
    p.add_argument("--no-calibration", action="store_true")
    p.add_argument("--init", default=None, help="safetensors with the full model state to start from")
    p.add_argument("--out", default=None)
    p.add_argument("--write-step", default=None, help="write a one-step dump (use --dropout 0) and stop")
    p.add_argument("--check-step", default=None, help="compare a `ser train --dump-step` file with PyTorch")
    a = p.parse_args(argv)
    fcn = a.model == "fcn"
    if not fcn and any(getattr(a, k) is not None for k in ("batchnorm", "spec_augment", "widths", "norm", "lam", "freq_warp", "bins")):
        p.error("--batchnorm, --spec-augment, --freq-warp, --bins, --widths, --norm and --lambda are fcn options")
    recipe = RECIPES[a.recipe] if fcn else FCA
    for key, value in recipe.items():  # the recipe fills what the command line left unset
        if getattr(a, key) is None:
            setattr(a, key, value)
    a.norm = "per-bin" if a.norm == "perbin" else a.norm
    a.batch = a.batch or (16 if fcn else 32)
    a.weight_decay = a.weight_decay if a.weight_decay is not None else (0.0 if fcn else 1e-6)
    a.widths = [int(w) for w in a.widths.split(",")]
    if not 1 <= a.bins <= 401:
        p.error("--bins must be in 1..401")
    if len(a.widths) != 5:
        p.error("--widths takes five numbers")
    if a.fold is not None and not 1 <= a.fold <= a.folds:
        p.error(f"--fold must be in 1..{a.folds}")
    return a


def main(argv=None):
    torch.set_num_threads(2)
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.check_step:
        sys.exit(checkstep.run(args))
    train.run(args)


if __name__ == "__main__":
    main()
