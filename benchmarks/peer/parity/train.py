"""The fold loop of `ser train` (Training/FoldTrainer.cs) in PyTorch.

Per fold: the split (data.plan_fold), a network initialised like ours from generator(seed, fold, 1)
(or --init), torch.optim.Adam (L2 decay in the gradient, as ours), per epoch the example order
shuffled by generator(seed, fold, 2) (FoldTrainer.EpochOrder), batches in that order, loss = mean
cross-entropy, the lr of TrainOptions.LearningRateAt (÷10 every --lr-step epochs) with optional
linear warm-up per step and gradient-norm clipping; validation UA after every epoch, the best
(strictly greater UA) weights kept, early stop after --patience epochs without improvement; test
with the kept weights.
"""
import copy
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as datamod
from . import fca, fcn, models, rng
from . import safetensors_io as st


def lr_text(lr):
    """C#'s "0.#e+0" format: 1e-3, 5e-4, 2.5e-4."""
    mant, exp = f"{lr:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{'-' if int(exp) < 0 else '+'}{abs(int(exp))}"


def lr_at(args, epoch):
    """TrainOptions.LearningRateAt: float32(lr · 0.1^⌊(epoch−1)/step⌋)."""
    base = float(np.float32(args.lr))
    return base if args.lr_step <= 0 else float(np.float32(base * math.pow(0.1, (epoch - 1) // args.lr_step)))


def metrics(truth, predicted, labels):
    """ClassificationMetrics: WA, UA = mean recall over the classes present in truth, confusion."""
    c = len(labels)
    conf = [[0] * c for _ in range(c)]
    for t, p in zip(truth, predicted):
        conf[t][p] += 1
    support = [sum(r) for r in conf]
    recall = [conf[i][i] / support[i] if support[i] else float("nan") for i in range(c)]
    total = sum(support)
    present = [r for r in recall if not math.isnan(r)]
    return {"utterances": total, "wa": sum(conf[i][i] for i in range(c)) / total if total else float("nan"),
            "ua": sum(present) / len(present) if present else float("nan"),
            "recall": {labels[i]: (None if math.isnan(recall[i]) else recall[i]) for i in range(c)},
            "labels": list(labels), "confusion": conf}


def argmax(row):
    """SerModel.ArgMax: the first largest."""
    best = 0
    for i in range(1, len(row)):
        if row[i] > row[best]:
            best = i
    return best


def predict_logits(model, kind, indices, features):
    """Utterance logits in eval mode: fcn batches of 16 by length; fca mean over eval-hop segments."""
    was = model.training
    model.eval()
    out = {}
    with torch.no_grad():
        if kind == "fcn":
            order = sorted(indices, key=lambda i: (features[i].shape[1], i))
            for b in range(0, len(order), 16):
                idx = order[b:b + 16]
                x, valid = fcn.pad_batch([features[i] for i in idx])
                logits, _ = model(x, valid)
                for j, i in enumerate(idx):
                    out[i] = logits[j]
        else:
            segs = [(i, s) for i in indices for s in fca.segment_starts(features[i].shape[1], fca.EVAL_HOP)]
            sums, counts = {}, {}
            for b in range(0, len(segs), 64):
                batch = segs[b:b + 64]
                logits = model(fca.cut(batch, features)).double()
                for j, (i, _) in enumerate(batch):
                    sums[i] = sums.get(i, 0) + logits[j]
                    counts[i] = counts.get(i, 0) + 1
            out = {i: (sums[i] / counts[i]).float() for i in sums}
    model.train(was)
    return [out[i] for i in indices]


def evaluate(model, kind, data, indices, features):
    logits = predict_logits(model, kind, indices, features)
    truth = [data.label_index(data.utterances[i].label) for i in indices]
    return metrics(truth, [argmax(r.tolist()) for r in logits], data.labels)


def freq_warp(m, max_semitones):
    """Bin b takes the value at b / α (linear interpolation), α = 2^(U(-1, 1)·max/12); 0 above the top bin."""
    alpha = 2.0 ** ((2.0 * torch.rand((), dtype=torch.float32) - 1.0) * max_semitones / 12.0)
    f = m.shape[0]
    at = torch.arange(f, dtype=torch.float32) / alpha
    lo = at.floor().long()
    w = (at - lo.float())[:, None]
    below = m[lo.clamp(max=f - 1)]
    above = m[(lo + 1).clamp(max=f - 1)]
    out = below + w * (above - below)
    out[(lo > f - 1) | ((lo == f - 1) & (w[:, 0] > 0))] = 0
    return out


def spec_augment(m):
    """2 frequency masks of U{0..20} bins and 2 time masks of U{0..min(20, T//10)} frames, set to 0."""
    m = m.clone()
    f, t = m.shape
    for _ in range(2):
        w = int(torch.randint(0, 21, ()).item())
        s = int(torch.randint(0, max(f - w, 0) + 1, ()).item())
        m[s:s + w, :] = 0
    for _ in range(2):
        w = int(torch.randint(0, min(20, t // 10) + 1, ()).item())
        s = int(torch.randint(0, t - w + 1, ()).item())
        m[:, s:s + w] = 0
    return m


def make_batch(args, batch, features, training):
    """(x, valid or None) of a batch of (utterance, start) examples."""
    if args.model == "fcn":
        items = [features[u] for u, _ in batch]
        if training and args.freq_warp > 0:
            items = [freq_warp(m, args.freq_warp) for m in items]
        if training and args.spec_augment:
            items = [spec_augment(m) for m in items]
        return fcn.pad_batch(items)
    return fca.cut(batch, features), None


def new_model(args, data, fold):
    model = models.build(args, len(data.labels))
    if args.init:
        tensors, _ = st.read(args.init)
        extra = models.load_state(model, tensors, args.init)
        if extra:
            print(f"init: {args.init}: ignored {len(extra)} tensors not in the model ({', '.join(extra[:4])}{', ...' if len(extra) > 4 else ''})")
    else:
        models.init_like_ours(model, rng.generator(args.seed, fold, 1))
    return model


def write_step(path, args, data, model, batch, x, valid, y, w0, logits, loss, grads, lr):
    """The --dump-step format: metadata, x, valid, y, w0.*, logits, loss, grad.*, w1.*."""
    ids = [data.utterances[u].id for u, _ in batch]
    meta = {"model": args.model, "engine": "pytorch",
            "batch": json.dumps(ids if args.model == "fcn" else [[data.utterances[u].id, s] for u, s in batch]),
            "lr": repr(lr), "weight_decay": repr(args.weight_decay), "lambda": repr(args.lam), "dropout": repr(args.dropout),
            "clip": repr(args.clip), "norm": args.norm, "batchnorm": str(args.batchnorm).lower(),
            "widths": json.dumps(list(args.widths)), "heads": str(args.heads), "head_dim": str(args.head_dim),
            "focus": str(not args.no_focus).lower(), "calibration": str(not args.no_calibration).lower(),
            "labels": json.dumps(data.labels), "seed": str(args.seed)}
    t = {"x": x, "y": y.float(), "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    if valid is not None:
        t["valid"] = valid.float()
    t.update({f"w0.{k}": v for k, v in w0.items()})
    t.update({f"grad.{k}": v for k, v in grads.items()})
    t.update({f"w1.{k}": v for k, v in models.state(model).items()})
    st.write(path, t, meta)


def run_fold(args, data, features, fold):
    clock = time.time()
    plan = datamod.plan_fold(data, args.folds, fold, args.seed, args.val_fraction)
    tag = f"fold {fold}/{args.folds}"
    print(f"{tag}: {plan.description}; {len(plan.train)} train / {len(plan.validation)} validation / {len(plan.test)} test utterances", flush=True)
    if args.model == "fcn":
        need = fcn.AttentionFcn.min_frames()
        for i in plan.train + plan.validation + plan.test:
            if features[i].shape[1] < need:
                raise SystemExit(f"{data.utterances[i].path}: {features[i].shape[1]} frames is too short for fcn (needs {need})")
    torch.manual_seed(rng.derive(args.seed, fold, 5) & 0x7FFFFFFFFFFFFFFF)  # dropout, SpecAugment (not ours)
    model = new_model(args, data, fold)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr_at(args, 1), weight_decay=args.weight_decay)
    if args.model == "fcn":
        examples = [(u, 0) for u in plan.train]
    else:
        examples = [(u, s) for u in plan.train for s in fca.segment_starts(features[u].shape[1], fca.TRAIN_HOP)]
    labels = [data.label_index(data.utterances[u].label) for u, _ in examples]
    shuffle = rng.generator(args.seed, fold, 2)
    bs = args.batch
    steps = (len(examples) + bs - 1) // bs
    best_ua, best_epoch, since, stopped, history, best_state, g = -1.0, 0, 0, False, [], None, 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        lr_epoch = lr_at(args, epoch)
        order = list(range(len(examples)))
        shuffle.shuffle(order)
        model.train()
        loss_sum = 0.0
        for s in range(steps):
            idx = order[s * bs:(s + 1) * bs]
            batch = [examples[i] for i in idx]
            y = torch.tensor([labels[i] for i in idx], dtype=torch.long)
            x, valid = make_batch(args, batch, features, True)
            g += 1
            lr = lr_epoch * min(1.0, g / (args.warmup * steps)) if args.warmup > 0 else lr_epoch
            for group in opt.param_groups:
                group["lr"] = lr
            w0 = models.state(model) if args.write_step else None
            logits = model(x, valid)[0] if args.model == "fcn" else model(x)
            loss = F.cross_entropy(logits, y)
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f"{tag}: the loss became {value} in epoch {epoch} at step {s + 1}; training stopped (try a lower --lr)")
            opt.zero_grad()
            loss.backward()
            grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()} if args.write_step else None
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(params, args.clip)
            opt.step()
            if args.write_step:
                write_step(args.write_step, args, data, model, batch, x, valid, y, w0, logits, loss, grads, lr)
                print(f"write-step: wrote {args.write_step} (fold {fold}, epoch 1, step 1, {len(batch)} examples, loss {value:.6f})")
                raise SystemExit(0)
            loss_sum += value * len(batch)
        if plan.validation:
            m = evaluate(model, args.model, data, plan.validation, features)
            val_wa, val_ua = m["wa"], m["ua"]
            best = val_ua > best_ua
        else:
            val_wa = val_ua = float("nan")
            best = True
        if best:
            best_epoch, best_ua, since = epoch, (0.0 if math.isnan(val_ua) else val_ua), 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since += 1
        stopped = args.patience > 0 and since >= args.patience and epoch < args.epochs
        secs = time.time() - t0
        history.append({"epoch": epoch, "loss": loss_sum / len(examples), "lr": lr_epoch,
                        "val_wa": None if math.isnan(val_wa) else val_wa, "val_ua": None if math.isnan(val_ua) else val_ua,
                        "best": best, "seconds": round(secs, 3)})
        val = f"val WA={val_wa:.3f} UA={val_ua:.3f}" if plan.validation else "no validation"
        print(f"{tag} epoch {epoch:3d}/{args.epochs}  loss {loss_sum / len(examples):.4f}  lr {lr_text(lr_epoch)}  {val}{' *' if best else '  '}  ({secs:.1f} s)", flush=True)
        if stopped:
            print(f"{tag}: no better validation UA for {args.patience} epochs; stopping early")
            break
    if best_state is not None:  # --epochs 0: test the initial (e.g. --init) weights
        model.load_state_dict(best_state)
    test = evaluate(model, args.model, data, plan.test, features)
    kept = f" (val UA {best_ua:.3f})" if plan.validation and best_epoch > 0 else ""
    print(f"{tag}: kept epoch {best_epoch}{kept}; test WA={test['wa']:.3f} UA={test['ua']:.3f} on {test['utterances']} utterances", flush=True)
    result = {"fold": fold, "folds": args.folds, "split": plan.description, "train_utterances": len(plan.train),
              "validation_utterances": len(plan.validation), "test_utterances": len(plan.test),
              "epochs_run": len(history), "best_epoch": best_epoch, "best_validation_ua": best_ua if best_ua >= 0 else None,
              "stopped_early": stopped, "test": test, "history": history, "seconds": round(time.time() - clock, 3)}
    if args.out:
        d = os.path.join(args.out, f"fold{fold}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "metrics.json"), "w") as f:
            json.dump(result, f, indent=2)
        st.write(os.path.join(d, "best.safetensors"), models.state(model),
                 {"model": args.model, "engine": "pytorch", "labels": json.dumps(data.labels)})
    return result


def run(args):
    start = time.time()
    data = datamod.load_ravdess(args.data)
    counts = {l: sum(u.label == l for u in data.utterances) for l in data.labels}
    print(f"data: RAVDESS at {args.data}: {len(data.utterances)} utterances, {len(data.labels)} classes "
          f"({', '.join(f'{l} {c}' for l, c in counts.items())}), {len(data.groups)} speakers", flush=True)
    t0 = time.time()
    features = datamod.compute_features(data, args.model, args.norm, args.bins)
    print(f"features: {args.model} front end, {len(features)} computed ({time.time() - t0:.1f} s)", flush=True)
    folds = [args.fold] if args.fold else list(range(1, args.folds + 1))
    results = [run_fold(args, data, features, k) for k in folds]
    wa = sum(r["test"]["wa"] for r in results) / len(results)
    ua = sum(r["test"]["ua"] for r in results) / len(results)
    seconds = time.time() - start
    if args.out:
        summary = {"engine": "pytorch", "model": args.model, "options": {k: v for k, v in vars(args).items() if k != "func"},
                   "folds": results, "wa": wa, "ua": ua, "seconds": round(seconds, 3)}
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump(summary, f, indent=2, default=str)
    print(f"result: WA={wa:.3f} UA={ua:.3f} seconds={seconds:.1f}")
