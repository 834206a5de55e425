#!/usr/bin/env bash
# .device/run.sh -- built by scripts/gpu-bundle.sh; runs on the lent GPU machine, which has no .NET:
#   cd .device && SERENGINE_REQUIRE_CUDA=1 ./run.sh
# 1. ser devices;  2. ser conformance fixtures --backend B for cpu, opencl, cuda (those available);
# 3. the GPU kernel tests (namespace SerEngine.Tests.Gpu) from managed.tgz, unpacked into a temporary folder:
#    cuda, opencl, ilgpu-cpu and ilgpu rows (ILGPU's kernels on its CUDA accelerator: with
#    SERENGINE_REQUIRE_CUDA=1 an ILGPU that cannot open the GPU fails them);
# 4. with cuda: ser bench --backend cuda for every case, one JSON line each, and the PyTorch peer on
#    CUDA (TF32 off, then on) when python3 can import torch, with the ratio table ours / PyTorch;
# 5. with cuda: the kernel lab (managed.tgz's lab/) on cuda (our NVRTC kernels) and on ilgpu (ILGPU's kernels on
#    its CUDA accelerator) for GEMM, conv2d, softmax and the spectrogram, and the table of the two side by side.
# Everything is written under $OUT (default ./out): run.log (all of it), devices.txt, conformance-B.txt,
# gpu-tests.txt, bench-cuda.jsonl, torch-cuda.jsonl, torch-cuda-tf32.jsonl, ratio.md, lab-B.txt and lab-B.jsonl
# for B in cuda, ilgpu, lab.md, environment.txt, and results.jsonl: one JSON line per result (each conformance
# fixture per backend, the GPU test totals, each bench case, each lab timing).
# SERENGINE_REQUIRE_CUDA=1: a missing or failing CUDA device is a failure (exit 1). Without it, a machine
# without CUDA runs what it can and exits 0 when that passed. The last line is "run: ok" or "run: FAILED (...)".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
out=${OUT:-$here/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee "$out/run.log") 2>&1
require_cuda=${SERENGINE_REQUIRE_CUDA:-0}
[ "$require_cuda" = 1 ] || require_cuda=0
failures=()
fail() { failures+=("$1"); echo "run: FAILED: $1"; }
section() { echo; echo "=== $* ==="; }

work=$(mktemp -d "${TMPDIR:-/tmp}/serengine-device.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SERENGINE_KERNEL_CACHE="$work/kernel-cache"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
ser=$here/ser

section "bundle $(cat COMMIT 2>/dev/null) on $(uname -n), $(date -u '+%Y-%m-%d %H:%M UTC')"
{
  echo "uname: $(uname -srm)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
  command -v nvcc >/dev/null && echo "nvcc: $(nvcc --version | tail -1)"
  for pat in '/usr/local/cuda*/lib64/libnvrtc.so*' '/usr/local/cuda*/targets/x86_64-linux/lib/libnvrtc.so*' \
             '/usr/lib/x86_64-linux-gnu/libnvrtc.so*' '/usr/lib/x86_64-linux-gnu/libOpenCL.so*' '/etc/OpenCL/vendors/*.icd'; do
    for f in $pat; do [ -e "$f" ] && echo "found: $f"; done
  done
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so\.1|libnvrtc|libOpenCL' | sed 's/^\s*/ldconfig: /'
} > "$out/environment.txt" 2>&1
cat "$out/environment.txt"

# 1. devices -----------------------------------------------------------------------------------------
section "ser devices"
if ! "$ser" devices > "$out/devices.txt" 2>&1; then
  cat "$out/devices.txt"; fail "ser devices exited non-zero (the ser binary does not run here?)"
fi
cat "$out/devices.txt"
available() { grep -E "^$1 " "$out/devices.txt" | grep -vq ' unavailable'; }
backends=()
for b in cpu opencl cuda; do
  if available "$b"; then backends+=("$b"); else echo "run: backend $b $(grep -E "^$b " "$out/devices.txt" | sed -E "s/^$b +//")"; fi
done
cuda=0
if available cuda; then cuda=1
elif [ "$require_cuda" = 1 ]; then fail "SERENGINE_REQUIRE_CUDA=1 but cuda is unavailable: $(grep -E '^cuda ' "$out/devices.txt" | sed -E 's/^cuda +unavailable: //')"
fi

# 2. conformance ---------------------------------------------------------------------------------------
: > "$out/results.jsonl"
# PASS/FAIL lines of `ser conformance` as {"kind":"conformance",...} lines (detail: worst=... or the reason)
conformance_json() {
  awk -v b="$1" '/^(PASS|FAIL) / {
    st = $1; name = $2; detail = $0; sub(/^[A-Z]+ [^ ]+ ?/, "", detail)
    gsub(/\\/, "&&", detail); gsub(/"/, "\\\"", detail)
    printf "{\"kind\":\"conformance\",\"backend\":\"%s\",\"fixture\":\"%s\",\"passed\":%s,\"detail\":\"%s\"}\n", b, name, (st == "PASS" ? "true" : "false"), detail
  }'
}
for b in "${backends[@]}"; do
  section "ser conformance fixtures --backend $b"
  timeout 600 "$ser" conformance fixtures --backend "$b" > "$out/conformance-$b.txt" 2>&1
  rc=$?
  conformance_json "$b" < "$out/conformance-$b.txt" >> "$out/results.jsonl"
  grep -vE '^(PASS |conformance: )' "$out/conformance-$b.txt" | tail -n 25
  line=$(grep -E '^conformance: [0-9]+ passed, [0-9]+ failed' "$out/conformance-$b.txt" | tail -1)
  [ -n "$line" ] || line="conformance: no summary line (exit $rc)"
  echo "$b $line"
  if [ $rc -ne 0 ] || ! [[ "$line" =~ " 0 failed" ]]; then fail "conformance on $b: $line (exit $rc)"; fi
done

# 3. GPU kernel tests ----------------------------------------------------------------------------------
section "GPU kernel tests (SerEngine.Tests.Gpu)"
tar -C "$work" -xzf managed.tgz   # tests/ and lab/
mkdir -p "$work/shared" && ln -s "$here/fixtures" "$work/shared/fixtures"   # SharedFixtures walks up to shared/fixtures
# The CUDA tests return early without a CUDA driver; SERENGINE_REQUIRE_CUDA=1 makes that a failure in them too.
(cd "$work/tests" && timeout 900 ./SerEngine.Tests -noColor -noLogo -namespace SerEngine.Tests.Gpu) > "$out/gpu-tests.txt" 2>&1
rc=$?
grep -E '\[FAIL\]' "$out/gpu-tests.txt" | sed -E 's/^ +/FAIL /; s/ \[FAIL\]$//' | head -n 20
grep -E 'Total: [0-9]+' "$out/gpu-tests.txt" | sed -E 's/^ +//' 
summary=$(grep -E 'Total: [0-9]+' "$out/gpu-tests.txt" | tail -1)
if [[ "$summary" =~ Total:\ ([0-9]+),\ Errors:\ ([0-9]+),\ Failed:\ ([0-9]+),\ Skipped:\ ([0-9]+),\ Not\ Run:\ ([0-9]+) ]]; then
  t=${BASH_REMATCH[1]} e=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} s=${BASH_REMATCH[4]} n=${BASH_REMATCH[5]}
  echo "gpu tests: $((t - f - s - n)) passed, $((f + e)) failed ($s skipped)"
  printf '{"kind":"gpu_tests","passed":%d,"failed":%d,"skipped":%d,"not_run":%d}\n' $((t - f - s - n)) $((f + e)) "$s" "$n" >> "$out/results.jsonl"
  [ $rc -eq 0 ] && [ $((f + e)) -eq 0 ] || fail "GPU kernel tests: $f failed, $e errors (exit $rc; see gpu-tests.txt)"
else
  tail -n 20 "$out/gpu-tests.txt"; fail "GPU kernel tests: no summary (exit $rc)"
fi

# 4. benchmarks on cuda, and the PyTorch peer ------------------------------------------------------------
section "ser bench --backend cuda"
: > "$out/bench-cuda.jsonl"
if [ "$cuda" = 1 ]; then
  while read -r c; do
    [ -n "$c" ] || continue
    if timeout 300 "$ser" bench --case "$c" --backend cuda > "$work/bench.txt" 2>&1; then
      grep -E '^\{' "$work/bench.txt" | tee -a "$out/bench-cuda.jsonl" "$out/results.jsonl"
    else
      cat "$work/bench.txt"; fail "ser bench --case $c --backend cuda"
    fi
  done < bench-cases.txt
  if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    section "PyTorch peer on cuda ($(python3 -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))'))"
    mapfile -t cases < bench-cases.txt
    args=(); for c in "${cases[@]}"; do args+=(--case "$c"); done
    timeout 900 python3 peer/torch_cases.py --device cuda --tf32 off "${args[@]}" | tee "$out/torch-cuda.jsonl" || fail "PyTorch peer on cuda (TF32 off)"
    timeout 900 python3 peer/torch_cases.py --device cuda --tf32 on "${args[@]}" | tee "$out/torch-cuda-tf32.jsonl" || fail "PyTorch peer on cuda (TF32 on)"
    section "ours (cuda) / PyTorch (cuda); lower is better"
    python3 peer/ratio_table.py "$out/bench-cuda.jsonl" "$out/torch-cuda.jsonl" "$out/torch-cuda-tf32.jsonl" | tee "$out/ratio.md"
  else
    echo "run: no PyTorch with CUDA here (python3 -c 'import torch' failed or torch.cuda.is_available() is False): no ratio table"
    [ "$require_cuda" = 1 ] && fail "SERENGINE_REQUIRE_CUDA=1 but python3's torch has no CUDA: no PyTorch peer"
  fi
else
  echo "run: skipped (cuda unavailable)"
fi

# 5. the kernel lab: our NVRTC kernels and ILGPU's, the same cases side by side --------------------------
section "kernel lab: cuda and ilgpu"
if [ "$cuda" = 1 ]; then
  lab_ops=gemm,conv2d,softmax,spectrogram
  for b in cuda ilgpu; do
    (cd "$work/lab" && timeout 400 ./SerEngine.Benchmarks lab --backend "$b" --op "$lab_ops" --jsonl "$out/lab-$b.jsonl") > "$out/lab-$b.txt" 2>&1
    rc=$?
    head -n 2 "$out/lab-$b.txt"; grep -E '^[0-9]+ variants: |FAIL' "$out/lab-$b.txt" | head -n 20
    [ -f "$out/lab-$b.jsonl" ] && cat "$out/lab-$b.jsonl" >> "$out/results.jsonl"
    [ $rc -eq 0 ] || fail "kernel lab on $b (exit $rc; see lab-$b.txt)"
  done
  # ILGPU without a GPU falls back to its CPU accelerator: a table of that would not compare GPU languages.
  if grep -q '^kernel lab: ilgpu on .*CPUAccelerator' "$out/lab-ilgpu.txt"; then
    fail "ilgpu ran on ILGPU's CPU accelerator, not the GPU (see devices.txt)"
  elif [ -s "$out/lab-cuda.jsonl" ] && [ -s "$out/lab-ilgpu.jsonl" ]; then
    section "ilgpu (ILGPU on CUDA) / cuda (our NVRTC kernels); lower is better for ilgpu"
    python3 peer/lab_table.py "$out/lab-cuda.jsonl" "$out/lab-ilgpu.jsonl" | tee "$out/lab.md"
  fi
else
  echo "run: skipped (cuda unavailable)"
fi

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "run: ok (results in $out)"; exit 0
fi
joined=$(printf '%s; ' "${failures[@]}")
echo "run: FAILED (${#failures[@]}): ${joined%; }"
exit 1
