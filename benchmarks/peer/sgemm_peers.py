#!/usr/bin/python3
"""sgemm.1024 against the FMA peak and against the best GEMMs the peers ship, on the same machine, alternated.

PyTorch's `torch.mm` (what compare.sh times) runs the OpenBLAS core that OpenBLAS picks for this CPU; on a CPU newer
than the OpenBLAS build that can be a 256-bit core on a 512-bit machine. So beside it this times, round by round:
our `ser bench --case sgemm.1024`, the FMA probe of our vector width, oneDNN's own GEMM (PyTorch's MKL-DNN linear on
a dense [1024, 1024] input), and OpenBLAS forced to its best core for this CPU (SkylakeX with AVX-512, else Haswell).
Each peer runs in a fresh process (OpenBLAS reads OPENBLAS_CORETYPE when it loads), 2 threads, like compare.sh.

Usage: /usr/bin/python3 benchmarks/peer/sgemm_peers.py [--rounds 3] [--threads 2] [--ser "dotnet .../ser.dll"]
Prints one markdown row per side: median over rounds of each round's median ms, GFLOP/s, % of the probe of the same
round, and the ratio ours / side.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

N = 1024
FLOP = 2.0 * N ** 3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def time_step(step, min_runs=20, min_seconds=1.0):
    """Median and minimum seconds of step() after three warm-up calls (compare.sh's torch side does the same)."""
    for _ in range(3):
        step()
    times = []
    while len(times) < min_runs or sum(times) < min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def peer_main(name, threads):
    """Runs in the child process: times one peer's 1024³ GEMM and prints a JSON line."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = rng.standard_normal((N, N), dtype=np.float32)
    if name.startswith("openblas"):
        import ctypes
        lib = ctypes.CDLL("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0")
        lib.openblas_set_num_threads(threads)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        label = f"OpenBLAS core {lib.openblas_get_corename().decode()}"
        c = np.empty((N, N), dtype=np.float32)
        pa, pb, pc = (ctypes.c_void_p(x.ctypes.data) for x in (a, b, c))
        one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)

        def step():  # row-major C = A·B, no transposes
            lib.cblas_sgemm(101, 111, 111, N, N, N, one, pa, N, pb, N, zero, pc, N)
        step()
        if not np.allclose(c[:4], a[:4] @ b, rtol=1e-3, atol=1e-3):
            raise SystemExit("openblas: wrong product")
    else:
        import torch
        torch.set_num_threads(threads)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        if name == "onednn":
            x, w = ta.to_mkldnn(), tb.t().contiguous().to_mkldnn()  # linear: x · wᵀ with w [out, in]
            label = "oneDNN (PyTorch mkldnn_linear)"

            def step():
                torch._C._nn.mkldnn_linear(x, w, None)
            if not torch.allclose(step_out(x, w)[:4], ta[:4] @ tb, rtol=1e-3, atol=1e-3):
                raise SystemExit("onednn: wrong product")
        else:
            c = torch.empty(N, N)
            label = "torch.mm as installed (compare.sh's side)"

            def step():
                torch.mm(ta, tb, out=c)
    med, low = time_step(step)
    print(json.dumps({"side": name, "label": label, "ms": med * 1e3, "min_ms": low * 1e3}))


def step_out(x, w):
    import torch
    return torch._C._nn.mkldnn_linear(x, w, None).to_dense()


def run_peer(name, threads, env_extra):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **env_extra)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--peer", name, "--threads", str(threads)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_ser(ser, case, threads):
    env = dict(os.environ, DOTNET_TC_QuickJit="0")
    out = subprocess.run(ser + ["bench", "--case", case, "--threads", str(threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ser", default=f"dotnet {ROOT}/models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        peer_main(args.peer, args.threads)
        return
    ser = shlex.split(args.ser)
    version = subprocess.run(ser + ["--version"], check=True, capture_output=True, text=True).stdout
    simd = 512 if "SIMD 512-bit" in version else 256
    best_core = "SkylakeX" if simd == 512 else "Haswell"
    sides = {"ours": [], "onednn": [], f"openblas-{best_core}": [], "torch.mm": []}
    labels = {"ours": f"ours (ser bench, {simd}-bit kernel)"}
    peaks = []
    for r in range(args.rounds):
        peak = run_ser(ser, f"fma.peak.v{simd}", args.threads)
        peaks.append(peak["gflops"])
        sides["ours"].append(run_ser(ser, "sgemm.1024", args.threads)["ms"])
        for name in list(sides)[1:]:
            extra = {"OPENBLAS_CORETYPE": best_core} if name.startswith("openblas") else {}
            j = run_peer(name if name != "torch.mm" else "torch", args.threads, extra)
            labels[name] = j["label"]
            sides[name].append(j["ms"])
        print(f"round {r + 1}: probe {peak['gflops']:.0f} GFLOP/s, " +
              ", ".join(f"{k} {v[-1]:.2f} ms" for k, v in sides.items()), file=sys.stderr)
    ours = statistics.median(sides["ours"])
    print(f"sgemm 1024³, {args.threads} threads, {args.rounds} rounds; FMA probe fma.peak.v{simd} "
          f"{min(peaks):.0f}–{max(peaks):.0f} GFLOP/s (median {statistics.median(peaks):.0f})\n")
    print("| side | ms per round | median ms | GFLOP/s | % of the round's probe | ours / side |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, ms in sides.items():
        med = statistics.median(ms)
        frac = statistics.median(FLOP / (t * 1e-3) / 1e9 / p for t, p in zip(ms, peaks))
        print(f"| {labels[name]} | {', '.join(f'{t:.2f}' for t in ms)} | {med:.2f} | {FLOP / med / 1e6:.0f} | "
              f"{100 * frac:.0f} % | {ours / med:.2f} |")


if __name__ == "__main__":
    main()
