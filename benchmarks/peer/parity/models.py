"""Building the two networks with our initialisation, and moving their state in and out by our names.

`init_like_ours` draws every parameter from rng.generator(seed, fold, 1) in the order and with the
formulas SerEngine uses (Init.DefaultUniform: U(±1/√fan_in) for weights and biases, which is
PyTorch's default distribution; u_p / u_z: N(0, 1/√dh)), so a fold starts from the same weights
as `ser train` with the same seed. BatchNorm starts at weight 1, bias 0, mean 0, var 1.
"""
import numpy as np
import torch

from . import fca, fcn


def build(args, classes):
    """A fresh network for the CLI options `args`."""
    if args.model == "fcn":
        return fcn.AttentionFcn(classes, args.widths, args.lam, args.dropout, args.batchnorm)
    return fca.FocusCalibrationNet(classes, 26, args.heads, args.head_dim, not args.no_focus, not args.no_calibration, args.dropout)


def init_like_ours(model, gen):
    """Overwrites the random parameters with the draws ours makes from `gen`."""
    params = dict(model.named_parameters())
    for name, (kind, arg) in model.init_order():
        p = params[name]
        if kind == "uniform":
            bound = np.float32(1) / np.sqrt(np.float32(arg))
            values = gen.uniform_array(p.numel(), -bound, bound)
        else:
            std = np.float32(1) / np.sqrt(np.float32(arg))
            values = gen.normal_array(p.numel(), 0.0, std)
        with torch.no_grad():
            p.copy_(torch.from_numpy(values).view_as(p))


def state(model):
    """Every parameter and buffer by our names (no num_batches_tracked)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_state(model, tensors, source):
    """Strict load: every parameter/buffer must be present with its shape (extra names are listed, ignored)."""
    own = state(model)
    missing = [k for k in own if k not in tensors]
    wrong = [f"{k} {list(tensors[k].shape)} (expected {list(v.shape)})" for k, v in own.items()
             if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)]
    if missing or wrong:
        raise SystemExit(f"{source}: cannot load: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) + ([f"wrong shape {', '.join(wrong)}"] if wrong else [])))
    extra = [k for k in tensors if k not in own]
    model.load_state_dict({k: tensors[k].to(v.dtype) for k, v in own.items()}, strict=False)
    return extra
