"""--check-step: engine parity of one training step against a `ser train --dump-step FILE` dump.

The dump (safetensors) holds metadata model, batch (JSON ids, or [id, start] pairs for fca), lr,
weight_decay, lambda, dropout, clip, norm ...; tensors x, valid (fcn), y, w0.*, logits, loss,
grad.*, w1.*. We rebuild x from the data folder with our own front end and compare it (front-end
parity); then feed the dump's x to the PyTorch network loaded with w0 (so the rest isolates the
network) and compare logits, loss and the gradients (in backward order); then apply one
torch.optim.Adam step (after clip_grad_norm_ when clip > 0) to w0 with the DUMP's gradients and
compare w1 (so the optimizer is checked on its own, not through gradient rounding; BatchNorm
running statistics come from our forward). One line per tensor; the last line names the first
tensor that differs beyond rounding.
"""
import json
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from . import data as datamod
from . import fca, fcn, models
from . import safetensors_io as st

TOL = {"x": (0.0, 1e-4), "logits": (0.0, 1e-4), "loss": (0.0, 1e-4), "grad": (0.0, 1e-3), "w1": (1e-6, 1e-4)}


def _meta(meta, key, default, cast=float):
    return cast(meta[key]) if key in meta and meta[key] != "" else default


def _config(meta, w0, args):
    """Network options from the dump's metadata and w0's shapes."""
    kind = meta.get("model", args.model)
    classes = w0["fc.weight"].shape[0]
    config = json.loads(meta["config"]) if meta.get("config") else {}  # the model's settings as ser wrote them
    c = SimpleNamespace(model=kind, dropout=float(config.get("dropout", _meta(meta, "dropout", 0.0))),
                        lam=float(config.get("lambda", _meta(meta, "lambda", args.lam))))
    if kind == "fcn":
        c.widths = [w0[f"features.{i}.weight"].shape[0] for i in fcn.CONVS]
        c.batchnorm = any(k.startswith("norm.") for k in w0)
    else:
        c.no_focus = "attn.u_p" not in w0
        c.no_calibration = "attn.calibration.weight" not in w0
        if not c.no_focus:
            c.heads, c.head_dim = w0["attn.u_p"].shape
        else:
            c.heads, c.head_dim = _meta(meta, "heads", args.heads, int), _meta(meta, "head_dim", args.head_dim, int)
    return c, classes


class _Report:
    def __init__(self):
        self.first = None
        self.floor = 0.0  # gradients: the rounding floor, 1e-5 of the largest gradient of the step

    def compare(self, name, ours, torch_value, group):
        if ours is None:
            print(f"{name:<44} missing in the dump")
            return
        ours, ref = ours.double(), torch_value.detach().double()
        shape = "x".join(map(str, ref.shape)) or "scalar"
        if ours.shape != ref.shape:
            print(f"{name:<44} {shape:<20} shape differs: dump {list(ours.shape)}  FAIL")
            self.first = self.first or name
            return
        diff = (ours - ref).abs().max().item() if ref.numel() else 0.0
        scale = ref.abs().max().item() if ref.numel() else 0.0
        rel = diff / (scale + 1e-12)
        atol, rtol = TOL[group]
        floor = self.floor if group == "grad" else 0.0
        ok = diff <= atol + rtol * scale + floor
        # a gradient that is zero in exact arithmetic (a conv bias before BatchNorm, the key bias) is
        # rounding noise in both engines: judged against the floor and marked ~0
        verdict = ("PASS" if ok else "FAIL") + (" ~0" if group == "grad" and scale < floor else "")
        print(f"{name:<44} {shape:<20} max|d| {diff:.3e}  rel {rel:.3e}  {verdict}")
        if not ok and self.first is None:
            self.first = name


def run(args):
    tensors, meta = st.read(args.check_step)
    w0 = {k[3:]: v for k, v in tensors.items() if k.startswith("w0.")}
    cfg, classes = _config(meta, w0, args)
    if cfg.dropout != 0:
        print(f"check-step: warning: the dump was made with dropout {cfg.dropout}; the step is not deterministic")
    data = datamod.load_ravdess(args.data)
    by_id = {u.id: i for i, u in enumerate(data.utterances)}
    raw = json.loads(meta["batch"])
    batch = [(by_id[b], 0) if cfg.model == "fcn" else (by_id[b[0]], int(b[1])) for b in raw]
    norm = meta.get("norm", args.norm).replace("perbin", "per-bin")
    bins = tensors["x"].shape[-2]  # fcn: the dump's input rows are its front end's kept bins
    feats = {}
    for u, _ in batch:
        if u not in feats:
            s = datamod.load_samples(data.utterances[u].path)
            feats[u] = datamod.fcn_features(s, norm, bins) if cfg.model == "fcn" else datamod.fca_features(s)
    r = _Report()
    print(f"check-step: {args.check_step}: {cfg.model}, {len(batch)} examples, lr {meta.get('lr')}, "
          f"weight decay {meta.get('weight_decay')}, clip {meta.get('clip', '0')}")
    if cfg.model == "fcn":
        x_ours, valid_ours = fcn.pad_batch([feats[u] for u, _ in batch])
        if "valid" in tensors and not torch.equal(tensors["valid"].long(), valid_ours):
            print(f"{'valid':<44} dump {tensors['valid'].long().tolist()} vs ours {valid_ours.tolist()}  FAIL")
            r.first = r.first or "valid"
    else:
        x_ours = fca.cut(batch, feats)
    r.compare("x (front end)", tensors.get("x"), x_ours, "x")

    model = models.build(cfg, classes)
    models.load_state(model, w0, args.check_step + " (w0)")
    model.train()
    x = tensors["x"].float()
    valid = tensors["valid"].long() if "valid" in tensors else None
    logits = model(x, valid)[0] if cfg.model == "fcn" else model(x)
    loss = F.cross_entropy(logits, tensors["y"].long())
    loss.backward()
    r.compare("logits", tensors.get("logits"), logits, "logits")
    r.compare("loss", tensors.get("loss"), loss.reshape(1), "loss")
    named = list(model.named_parameters())
    r.floor = 1e-5 * max(p.grad.abs().max().item() for _, p in named)
    for name, p in reversed(named):
        r.compare(f"grad.{name}", tensors.get(f"grad.{name}"), p.grad, "grad")

    # the optimizer on its own: torch's Adam step from w0 with the dump's gradients
    lr = _meta(meta, "lr", args.lr)
    clip = _meta(meta, "clip", 0.0)
    with torch.no_grad():
        for name, p in named:
            p.copy_(w0[name])
            g = tensors.get(f"grad.{name}")
            p.grad = (g if g is not None else p.grad).clone().float()
    params = [p for _, p in named]
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(params, clip)
    torch.optim.Adam(params, lr=lr, weight_decay=_meta(meta, "weight_decay", 0.0)).step()
    for name, value in models.state(model).items():
        r.compare(f"w1.{name}", tensors.get(f"w1.{name}"), value, "w1")
    print(f"check-step: first differing tensor: {r.first}" if r.first else "check-step: none differs beyond rounding")
    return 1 if r.first else 0
