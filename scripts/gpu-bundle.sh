#!/usr/bin/env bash
# Builds .device/ (git-ignored), everything the lent GPU machine runs (shared/docs/DEVICE.md): it has the
# NVIDIA driver, the CUDA toolkit and python3 with torch, but no .NET and no network, and takes at most
# 64 MB. Run from anywhere, here:  scripts/gpu-bundle.sh      (two publishes: minutes)
#   .device/ser              the `ser` CLI, NativeAOT (one native file, no .NET needed)
#   .device/managed.tgz      tests/: the xunit.v3 test executable, and lab/: the kernel lab (SerEngine.Benchmarks,
#                            for the ILGPU-vs-dialect timings), each self-contained and partially trimmed (not
#                            single-file: that breaks xunit's discovery); the files the two share byte for byte
#                            are stored once, as hard links; run.sh unpacks it into a temporary folder
#   .device/fixtures/        a copy of ../shared/fixtures (PyTorch conformance fixtures)
#   .device/peer/            the PyTorch peer (benchmarks/peer/torch_cases.py, its networks from parity/) and the table
#                            scripts (ratio_table.py: ours / PyTorch; lab_table.py: lab runs side by side)
#   .device/run.sh           what to run there: cd .device && SERENGINE_REQUIRE_CUDA=1 ./run.sh
# Build output goes to out/gpu-bundle/ (git-ignored), so bin/ and obj/ are left alone.
# --no-publish reassembles .device/ from the last publish (after editing run.sh or the peer).
set -euo pipefail
publish=1
[ "${1:-}" = "--no-publish" ] && publish=0
cd "$(dirname "$0")/.."
root=$(pwd)
work=$root/out/gpu-bundle
dev=$root/.device
limit_mb=64
mkdir -p "$work"
fixtures=$root/../shared/fixtures
[ -d "$fixtures" ] || { echo "gpu-bundle: $fixtures is missing (the repository must sit beside ../shared)" >&2; exit 1; }

step() { echo "gpu-bundle: $*"; }

if [ "$publish" = 1 ]; then
# 1. ser, NativeAOT, for net10.0.
step "publishing ser (NativeAOT) ..."
dotnet publish models/SerEngine.Cli -c Release -r linux-x64 -p:PublishAot=true \
  --artifacts-path "$work/aot-artifacts" -o "$work/ser" >"$work/ser.log" 2>&1 || { cat "$work/ser.log"; exit 1; }
if grep -E "warning (IL[23][0-9]{3}|NETSDK)" "$work/ser.log"; then
  echo "gpu-bundle: FAILED: trimming/AOT warnings above" >&2; exit 1
fi

# 2. The tests and 3. the kernel lab (ILGPU's kernels and ours timed on the same cases): self-contained, partially
#    trimmed (only assemblies marked trimmable are trimmed), not single-file. xunit's and BenchmarkDotNet's
#    reflection draws IL2xxx trim warnings that say nothing about our code: they are not analysed here (every normal
#    build still runs the trim/AOT analyzers with warnings as errors).
trimmed() {  # NAME PROJECT: publishes PROJECT into $work/NAME
  local name=$1 project=$2
  step "publishing $name (self-contained, partially trimmed) ..."
  rm -rf "${work:?}/$name"
  # The trimmed publish's deps.json is not rebuilt when only the code changes; a stale one leaves out assemblies the
  # new code uses (seen: System.Text.Json), so it is always regenerated.
  find "$work/$name-artifacts/obj" -path '*release_linux-x64/*.deps.json' -delete 2>/dev/null || true
  dotnet publish "$project" -c Release -r linux-x64 --self-contained \
    -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true -p:InvariantGlobalization=true \
    --artifacts-path "$work/$name-artifacts" -o "$work/$name" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
}
trimmed tests tests/SerEngine.Tests
# ONNX Runtime's native libraries (34 MB for Linux, and 20 MB of Windows DLL the package copies into a linux-x64
# publish too) serve the ONNX tests only, which the GPU machine does not run (run.sh runs the namespace
# SerEngine.Tests.Gpu): left out, the bundle stays well under its 64 MB.
rm -f "$work"/tests/libonnxruntime*.so "$work"/tests/onnxruntime*.dll
trimmed lab benchmarks/SerEngine.Benchmarks

fi

# 4. The bundle.
step "assembling $dev ..."
rm -rf "$dev"
mkdir -p "$dev/peer"
cp "$work/ser/ser" "$dev/ser"
# tests/ and lab/ share most of the runtime byte for byte: pack a copy whose shared files are hard links, which
# tar stores once (both apps together would not fit in the 64 MB otherwise).
rm -rf "$work/managed" && mkdir -p "$work/managed"
cp -r "$work/tests" "$work/lab" "$work/managed/"
shared=0
while IFS= read -r -d '' f; do
  rel=${f#"$work/managed/lab/"}
  if [ -f "$work/managed/tests/$rel" ] && cmp -s "$f" "$work/managed/tests/$rel"; then
    ln -f "$work/managed/tests/$rel" "$f"; shared=$((shared + 1))
  fi
done < <(find "$work/managed/lab" -type f -print0)
tar -C "$work/managed" -czf "$dev/managed.tgz" tests lab
cp -r "$fixtures" "$dev/fixtures"
cp benchmarks/peer/torch_cases.py benchmarks/peer/ratio_table.py benchmarks/peer/lab_table.py "$dev/peer/"
mkdir -p "$dev/peer/parity"   # torch_cases.py takes its networks from the parity twins
cp benchmarks/peer/parity/__init__.py benchmarks/peer/parity/fcn.py benchmarks/peer/parity/fca.py "$dev/peer/parity/"
cp scripts/device-run.sh "$dev/run.sh"
chmod +x "$dev/run.sh" "$dev/ser"
"$dev/ser" bench --list | awk '$2 != "probe:" {print $1}' > "$dev/bench-cases.txt"  # the CPU probes stay home
# A trimmed publish can lack an assembly only at run time: run the lab's quickest op, JSON lines included.
(cd "$work/lab" && ./SerEngine.Benchmarks lab --backend cpu --op sumto --quick --jsonl "$work/lab-smoke.jsonl") >"$work/lab-smoke.txt" 2>&1 \
  && [ -s "$work/lab-smoke.jsonl" ] || { cat "$work/lab-smoke.txt"; echo "gpu-bundle: FAILED: the published kernel lab does not run" >&2; exit 1; }
echo "$(git -C "$root" describe --always --dirty) ($(git -C "$root" log -1 --format=%cs))" > "$dev/COMMIT"

printf 'gpu-bundle: %-14s %s\n' "ser" "$(du -h "$dev/ser" | cut -f1) (NativeAOT)"
printf 'gpu-bundle: %-14s %s\n' "managed.tgz" "$(du -h "$dev/managed.tgz" | cut -f1) (tests $(du -sh "$work/tests" | cut -f1), lab $(du -sh "$work/lab" | cut -f1), $shared lab files stored as links to tests)"
printf 'gpu-bundle: %-14s %s\n' "fixtures/" "$(du -sh "$dev/fixtures" | cut -f1)"
du -sh "$dev"
total_mb=$(( $(du -sb "$dev" | cut -f1) / 1048576 ))
if [ "$total_mb" -ge "$limit_mb" ]; then
  echo "gpu-bundle: FAILED: .device is ${total_mb} MB, over the ${limit_mb} MB the GPU machine takes" >&2; exit 1
fi
echo "gpu-bundle: ready; on the GPU machine: cd .device && SERENGINE_REQUIRE_CUDA=1 ./run.sh"
