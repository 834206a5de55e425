#!/usr/bin/env bash
# Runs every case of shared/docs/BENCH_CASES.md on our cpu backend and on PyTorch, back to back
# (case by case, ours then torch, so both sides see the same machine load), and prints a markdown
# table of both medians and their ratio (ours / torch; lower is better) with the issue's goal.
# Usage: benchmarks/peer/compare.sh [--threads N] [--out DIR] [CASE ...]   (default: every case)
# The raw JSON lines go to DIR/ours.jsonl and DIR/torch.jsonl (default: a temporary directory).
# sgemm.1024 is also judged against the machine's FMA peak: the FMA probe of our vector width runs just before it,
# in the same run, so the fraction reads both at the same host load (a quiet-hour peak flatters no one); the GEMM tile
# probe (the tile kernel alone, operands in L1) runs before them and splits sgemm's shortfall into the kernel's and its memory's.
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
    "${ser[@]}" bench --case "gemm.tile.v$simd" --threads "$threads" | tee -a "$out/ours.jsonl" >&2
    "${ser[@]}" bench --case "fma.peak.v$simd" --threads "$threads" | tee -a "$out/ours.jsonl" >&2
  fi
  "${ser[@]}" bench --case "$c" --threads "$threads" | tee -a "$out/ours.jsonl" >&2
  "$python" "$here/torch_cases.py" --case "$c" --threads "$threads" | tee -a "$out/torch.jsonl" >&2
done
echo "load after: $(uptime)" >> "$out/load.txt"
"$python" "$here/runs_table.py" "$out"
