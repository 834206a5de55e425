#!/usr/bin/env python3
"""PyTorch peer of `ser bench`: times the cases of shared/docs/BENCH_CASES.md the same way.

Each case builds its inputs once, runs twice untimed, then times at least 7 runs (more while the
timed runs total under --min-seconds, up to 200) and prints the median as one JSON line:
{"case": NAME, "ms": MEDIAN, "backend": "torch", "threads": N, "min_ms": ..., "runs": ...} plus
"gflops"/"gbs" where the case has them -- the same fields and rule as models/SerEngine.Cli/Bench.

Usage: /usr/bin/python3 benchmarks/peer/torch_cases.py --case NAME [--case NAME ...] [--threads 2]
       (--case all runs every case; --list names them)
       ... --device cuda [--tf32 off|on]: the same cases on the GPU (inputs and models on the device,
       torch.cuda.synchronize() before and after every timed run); TF32 (tensor-core float32 matmul and
       convolution) off by default, so "backend" is "torch-cuda" or "torch-cuda-tf32". A case whose
       package is missing (torchaudio) is skipped with a note on stderr.
The models are written here from shared/docs/MODELS.md (the same layers, names and shapes as the
engine's AttentionFcn and FocusCalibrationNet).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import fca as parity_fca  # noqa: E402
from parity import fcn as parity_fcn  # noqa: E402

DEVICE = torch.device("cpu")


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def set_tf32(on):
    """TF32 for float32 matmul and cuDNN convolution (torch >= 2.9 names it fp32_precision)."""
    mm, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(mm, "fp32_precision") and hasattr(cudnn, "conv"):
        mm.fp32_precision = "tf32" if on else "ieee"
        cudnn.conv.fp32_precision = "tf32" if on else "ieee"
    else:
        mm.allow_tf32 = on
        cudnn.allow_tf32 = on


# ---- models (shared/docs/MODELS.md): the parity twins', returning logits only ----------------------

class AttentionFcn(parity_fcn.AttentionFcn):
    """AttentionFcn of parity/fcn.py (unpadded batches), logits only."""

    def __init__(self, num_classes=4):
        super().__init__(num_classes)

    def forward(self, x):
        return super().forward(x)[0]


def FocusCalibrationNet(num_classes=4):  # noqa: N802 (a class in the cases' eyes)
    return parity_fca.FocusCalibrationNet(num_classes)


# ---- cases ---------------------------------------------------------------------------------------

def batch(n, f, t, classes=4):
    return torch.randn(n, 1, f, t, device=DEVICE), torch.randint(0, classes, (n,), device=DEVICE)


def train_step_case(model, opt, x, labels):
    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        loss.item()
    return step


def infer_case(model, x):
    model.eval()

    def step():
        with torch.no_grad():
            model(x)
    return step


def case_attention_fcn_train():
    model = AttentionFcn().to(DEVICE)
    x, labels = batch(16, 200, 300)
    return train_step_case(model, torch.optim.Adam(model.parameters(), lr=1e-4), x, labels), {}


def case_attention_fcn_infer():
    x, _ = batch(1, 200, 300)
    return infer_case(AttentionFcn().to(DEVICE), x), {}


def case_fcn_train():
    model = FocusCalibrationNet().to(DEVICE)
    x, labels = batch(32, 26, 63)
    return train_step_case(model, torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6), x, labels), {}


def case_fcn_infer():
    x, _ = batch(1, 26, 63)
    return infer_case(FocusCalibrationNet().to(DEVICE), x), {}


def conv_case(backward):
    n, c, h, w, k, r = 16, 64, 24, 36, 192, 5
    x = torch.randn(n, c, h, w, device=DEVICE, requires_grad=backward)
    wt = (torch.randn(k, c, r, r, device=DEVICE) * 0.05).requires_grad_(backward)
    flops = 2.0 * n * k * h * w * c * r * r * (3 if backward else 1)

    def step():
        if backward:
            x.grad = None
            wt.grad = None
            F.conv2d(x, wt, padding=2).sum().backward()
        else:
            with torch.no_grad():
                F.conv2d(x, wt, padding=2)
    return step, {"flops": flops}


def case_softmax():
    n, h, l, valid = 32, 4, 128, 100
    s = torch.randn(n, h, l, l, device=DEVICE, requires_grad=True)
    bias = torch.randn(n, h, l, l, device=DEVICE)
    masked = (torch.arange(l, device=DEVICE) >= valid).view(1, 1, 1, l).expand(n, h, l, l)
    ones = torch.ones(n, h, l, l, device=DEVICE)

    def step():
        s.grad = None
        y = torch.softmax((0.125 * s + bias).masked_fill(masked, float("-inf")), dim=-1)
        y.backward(ones)
    return step, {"bytes": 6.0 * s.numel() * 4}


def audio_case(kind):
    import torchaudio
    wave = torch.randn(60 * 16000, device=DEVICE)
    if kind == "mfcc":
        t = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=26, dct_type=2, norm="ortho", log_mels=False,
                                       melkwargs=dict(n_fft=2048, hop_length=512, n_mels=128, mel_scale="slaney",
                                                      norm="slaney", center=True, pad_mode="constant", power=2.0))
    elif kind == "melspec":
        t = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=40,
                                                 mel_scale="htk", norm=None, center=True, pad_mode="reflect", power=2.0)
    else:
        t = torchaudio.transforms.Spectrogram(n_fft=800, win_length=640, hop_length=160,
                                              window_fn=torch.hamming_window, center=False, power=1.0)
    t = t.to(DEVICE)

    def step():
        with torch.no_grad():
            t(wave)
    return step, {}


def case_sgemm():
    n = 1024
    a, b, c = torch.randn(n, n, device=DEVICE), torch.randn(n, n, device=DEVICE), torch.empty(n, n, device=DEVICE)

    def step():
        torch.mm(a, b, out=c)
    return step, {"flops": 2.0 * n ** 3}


CASES = {
    "attention_fcn.train_step.b16.200x300": case_attention_fcn_train,
    "attention_fcn.infer.b1.200x300": case_attention_fcn_infer,
    "focus_calibration_net.train_step.b32.26x63": case_fcn_train,
    "focus_calibration_net.infer.b1.26x63": case_fcn_infer,
    "conv2d.fwd_bwd.16x64x24x36.k5x192": lambda: conv_case(True),
    "conv2d.fwd.16x64x24x36.k5x192": lambda: conv_case(False),
    "softmax.biased_masked.fwd_bwd.32x4x128x128": case_softmax,
    "mfcc.60s": lambda: audio_case("mfcc"),
    "melspec.60s.400_160_40": lambda: audio_case("melspec"),
    "spectrogram.60s.800_640_160": lambda: audio_case("spectrogram"),
    "sgemm.1024": case_sgemm,
}


def measure(name, threads, min_runs, min_seconds, backend="torch", max_runs=200):
    torch.manual_seed(0)
    step, rates = CASES[name]()
    for _ in range(2):
        step()
    times = []
    while len(times) < min_runs or (sum(times) < min_seconds and len(times) < max_runs):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    out = {"case": name, "ms": round(median * 1e3, 4), "backend": backend, "threads": threads,
           "min_ms": round(min(times) * 1e3, 4), "runs": len(times)}
    if "flops" in rates:
        out["gflops"] = round(rates["flops"] / median / 1e9, 2)
    if "bytes" in rates:
        out["gbs"] = round(rates["bytes"] / median / 1e9, 2)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--case", action="append", default=[], help="a case name, or 'all' (repeatable)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=7, help="fewest timed runs (at least 7)")
    p.add_argument("--min-seconds", type=float, default=1.0)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--tf32", choices=["off", "on"], default="off", help="TF32 matmul/convolution on cuda (default off)")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    if a.runs < 7:
        p.error("--runs must be at least 7")
    names = []
    for c in a.case:
        if c == "all":
            names.extend(CASES)
        elif c in CASES:
            names.append(c)
        else:
            p.error(f"unknown case '{c}' (known: {', '.join(CASES)})")
    if not names:
        p.error("give --case NAME (or --case all)")
    torch.set_num_threads(a.threads)
    global DEVICE
    backend = "torch"
    if a.device == "cuda":
        if not torch.cuda.is_available():
            print("torch_cases: torch.cuda.is_available() is False: no CUDA device for --device cuda", file=sys.stderr)
            return 1
        DEVICE = torch.device("cuda")
        set_tf32(a.tf32 == "on")
        backend = "torch-cuda-tf32" if a.tf32 == "on" else "torch-cuda"
    failed = 0
    for name in names:
        try:
            result = measure(name, a.threads, a.runs, a.min_seconds, backend)
        except ModuleNotFoundError as e:
            print(f"torch_cases: {name} skipped: {e}", file=sys.stderr)
            continue
        except Exception as e:  # one case failing does not hide the others
            print(f"torch_cases: {name} failed: {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
            continue
        if a.device == "cuda":
            result["device"] = torch.cuda.get_device_name(0)
            result["tf32"] = a.tf32 == "on"
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
