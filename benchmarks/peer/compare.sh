#!/usr/bin/env bash
# Runs every case of shared/docs/BENCH_CASES.md on our cpu backend and on PyTorch, back to back
# (case by case, ours then torch, so both sides see the same machine load), and prints a markdown
# table of both medians and their ratio (ours / torch; lower is better) with the issue's goal.
# Usage: benchmarks/peer/compare.sh [--threads N] [--out DIR] [CASE ...]   (default: every case)
# The raw JSON lines go to DIR/ours.jsonl and DIR/torch.jsonl (default: a temporary directory).
# sgemm.1024 is also judged against the machine's FMA peak: the FMA probe of our vector width runs just before it,
# in the same run, so the fraction reads both at the same host load (a quiet-hour peak flatters no one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
threads=2
out=""
cases=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) cases+=("$1"); shift ;;
  esac
done
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"
python=/usr/bin/python3
# methods are compiled fully optimised on first use (no quick tier-0 code), so a case timed over a
# handful of runs measures steady-state code; see benchmarks/results/README.md
export DOTNET_TC_QuickJit=0
dotnet build -c Release "$root/models/SerEngine.Cli" -v q -nologo >/dev/null
ser=(dotnet "$root/models/SerEngine.Cli/bin/Release/net10.0/ser.dll")
# every case of BENCH_CASES.md; the machine probes (fma.peak, stream.triad) have no PyTorch twin
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <("${ser[@]}" bench --list | awk '$2 != "probe:" {print $1}')
: > "$out/ours.jsonl"
: > "$out/torch.jsonl"
echo "load before: $(uptime)" > "$out/load.txt"
# the probe of the width our kernels run at (ser --version's "cpu SIMD N-bit")
simd=$("${ser[@]}" --version | sed -n 's/.*cpu SIMD \([0-9]*\)-bit.*/\1/p')
for c in "${cases[@]}"; do
  if [ "$c" = sgemm.1024 ] && [ -n "$simd" ]; then
    "${ser[@]}" bench --case "fma.peak.v$simd" --threads "$threads" | tee -a "$out/ours.jsonl" >&2
  fi
  "${ser[@]}" bench --case "$c" --threads "$threads" | tee -a "$out/ours.jsonl" >&2
  "$python" "$here/torch_cases.py" --case "$c" --threads "$threads" | tee -a "$out/torch.jsonl" >&2
done
echo "load after: $(uptime)" >> "$out/load.txt"
"$python" - "$out" <<'PY'
import json, sys
d = sys.argv[1]
goal = {  # issue 22's raised goals (ours / torch, medians)
    "attention_fcn.train_step.b16.200x300": 0.6, "attention_fcn.infer.b1.200x300": 0.6,
    "focus_calibration_net.train_step.b32.26x63": 0.2, "focus_calibration_net.infer.b1.26x63": 0.1,
    "conv2d.fwd_bwd.16x64x24x36.k5x192": 0.7, "conv2d.fwd.16x64x24x36.k5x192": 0.5,
    "softmax.biased_masked.fwd_bwd.32x4x128x128": 0.25, "mfcc.60s": 0.3, "melspec.60s.400_160_40": 0.3,
    "spectrogram.60s.800_640_160": 0.3, "sgemm.1024": 1.0,
}
def load(name):
    return {j["case"]: j for j in map(json.loads, open(f"{d}/{name}.jsonl"))}
ours, torch = load("ours"), load("torch")
print("| case | ours ms | torch ms | ratio | goal | met |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for c, o in ours.items():
    t = torch.get(c)
    if t is None:
        print(f"| `{c}` | {o['ms']:.3f} | - | - | {goal.get(c, '-')} | - |")
        continue
    r = o["ms"] / t["ms"]
    g = goal.get(c)
    met = "-" if g is None else ("yes" if r <= g else "no")
    print(f"| `{c}` | {o['ms']:.3f} | {t['ms']:.3f} | {r:.2f} | {g if g is not None else '-'} | {met} |")
probe = next((j for c, j in ours.items() if c.startswith("fma.peak.")), None)
if probe is not None and "sgemm.1024" in ours:
    g = ours["sgemm.1024"]["gflops"]
    print(f"\nsgemm.1024: {g:.0f} GFLOP/s = {100 * g / probe['gflops']:.0f} % of the FMA peak measured just before it "
          f"({probe['case']}: {probe['gflops']:.0f} GFLOP/s on {probe['threads']} threads)")
print()
print(open(f"{d}/load.txt").read().strip())
PY
