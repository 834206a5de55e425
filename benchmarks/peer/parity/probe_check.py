"""Checks this package against SerEngine itself, through the small C# probe in probe/.

The probe (built OUTSIDE the repository against a built `ser`, see probe/README) writes, for one
data folder, model, seed and fold: the utterance ids, the train/validation/test indices, the
training examples, the example order of the first epochs, the first 3 and last 2 float32 bit
patterns of every initial parameter, and the features of the first 3 utterances. This script
recomputes all of it in Python and prints what differs.

usage: python3 -m parity.probe_check DIR MODEL SEED FOLDS FOLD PREFIX   (from benchmarks/peer)
"""
import struct
import sys
from types import SimpleNamespace

import numpy as np
import torch

from . import data as datamod
from . import fca, models, rng


def main(root, model, seed, folds, fold, prefix):
    torch.set_num_threads(2)
    seed, folds, fold = int(seed), int(folds), int(fold)
    lines = dict(l.rstrip("\n").split(" ", 1) for l in open(prefix + ".txt") if not l.startswith("param"))
    params = {l.split()[1]: [int(v) for v in l.split()[2].split(",")] for l in open(prefix + ".txt") if l.startswith("param")}
    ints = lambda k: [int(v) for v in lines[k].split(",")] if lines[k] else []  # noqa: E731
    d = datamod.load_ravdess(root)
    bad = 0

    def check(what, ok):
        nonlocal bad
        bad += not ok
        print(f"{what:<40} {'same' if ok else 'DIFFERENT'}")

    check("labels", lines["labels"].split(",") == d.labels)
    check("utterance ids and order", lines["ids"].split("|") == [u.id for u in d.utterances])
    plan = datamod.plan_fold(d, folds, fold, seed, 0.1)
    check(f"train ({len(plan.train)})", ints("train") == plan.train)
    check(f"validation ({len(plan.validation)})", ints("validation") == plan.validation)
    check(f"test ({len(plan.test)})", ints("test") == plan.test)
    feats = datamod.compute_features(d, model)
    if model == "fcn":
        examples = [(u, 0) for u in plan.train]
    else:
        examples = [(u, s) for u in plan.train for s in fca.segment_starts(feats[u].shape[1], fca.TRAIN_HOP)]
    check(f"training examples ({len(examples)})", lines["examples"] == ",".join(f"{u}:{s}" for u, s in examples))
    shuffle = rng.generator(seed, fold, 2)
    for e in range(1, 100):
        if f"order{e}" not in lines:
            break
        order = list(range(len(examples)))
        shuffle.shuffle(order)
        check(f"epoch {e} batch order", ints(f"order{e}") == order)
    net = models.build(SimpleNamespace(model=model, widths=[64, 192, 384, 256, 256], lam=0.3, dropout=0.5, batchnorm=False,
                                       heads=4, head_dim=64, no_focus=False, no_calibration=False), len(d.labels))
    models.init_like_ours(net, rng.generator(seed, fold, 1))
    named = dict(net.named_parameters())
    same = sum(params[k] == [struct.unpack("<i", struct.pack("<f", float(v)))[0]
                             for v in list(named[k].detach().flatten()[:3]) + list(named[k].detach().flatten()[-2:])]
               for k in params)
    check(f"initial weights ({same}/{len(params)} tensors)", same == len(params) == len(named))
    blob = open(prefix + ".feat", "rb").read()
    off = 0
    for i in range(3):
        bins, frames = struct.unpack_from("<ii", blob, off)
        off += 8
        ours = np.frombuffer(blob, dtype="<f4", count=bins * frames, offset=off).reshape(bins, frames)
        off += 4 * bins * frames
        mine = feats[i].numpy()
        if mine.shape != ours.shape:
            check(f"features {i} shape {ours.shape} vs {mine.shape}", False)
            continue
        diff = np.abs(mine.astype(np.float64) - ours).max()
        rel = diff / np.abs(ours).max()
        print(f"features {i} [{bins}x{frames}] max|d| {diff:.2e} rel {rel:.2e}")
        bad += rel > 1e-4
    print("probe-check: all the same" if bad == 0 else f"probe-check: {bad} differences")
    return bad


if __name__ == "__main__":
    sys.exit(1 if main(*sys.argv[1:]) else 0)
