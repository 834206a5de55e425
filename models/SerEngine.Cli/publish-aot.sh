#!/usr/bin/env bash
# NativeAOT build of `ser` for linux-x64, checked: fails on any trimming/AOT warning (IL2xxx/IL3xxx),
# then runs the native binary against the managed one: a short training run of each gives the same
# best.safetensors bytes, and `ser predict --json` the same output on a few WAV files of the built-in corpus.
#   models/SerEngine.Cli/publish-aot.sh [--native] [OUT_DIR] [-- PUBLISH OPTIONS]   (default out/aot; 2-4 minutes on 2 cores)
# The binary targets x86-64-v3 (AVX2/FMA; runs on any such CPU, with the cpu backend's 256-bit paths). --native compiles
# it for the building machine (-p:IlcInstructionSet=native: AVX-512 where the CPU has it): the fastest ser for training
# on that machine, which may refuse to start on an older CPU.
# net10.0, with the NativeAOT runtime pack (Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64) the package
# source serves since 2026-12. Build output goes to OUT_DIR/artifacts, so the normal bin/ and obj/ folders are left alone (the managed `ser` is built there).
set -euo pipefail
cd "$(dirname "$0")/../.."
isa=()
if [ "${1:-}" = "--native" ]; then isa=(-p:IlcInstructionSet=native); shift; fi
dir=${1:-out/aot}; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
out=$(mkdir -p "$dir" && cd "$dir" && pwd)
log="$out/publish.log"
publish() {
  dotnet publish models/SerEngine.Cli -c Release -r linux-x64 -p:PublishAot=true \
    --artifacts-path "$out/artifacts" -o "$out/bin" "${isa[@]}" "$@" >"$log" 2>&1
}
start=$(date +%s)
publish || { cat "$log"; exit 1; }
if grep -E "warning (IL[23][0-9]{3}|NETSDK)" "$log"; then
  echo "publish-aot: FAILED: trimming/AOT warnings above" >&2; exit 1
fi
echo "publish-aot: $out/bin/ser, $(stat -c %s "$out/bin/ser") bytes, $(( $(date +%s) - start )) s, no IL2xxx/IL3xxx warnings"

# The native binary against the managed one.
native="$out/bin/ser"
dotnet build models/SerEngine.Cli -c Release >"$out/managed.log" 2>&1 || { cat "$out/managed.log"; exit 1; }
managed=(dotnet models/SerEngine.Cli/bin/Release/net10.0/ser.dll)
work="$out/smoke"
rm -rf "$work"
"$native" corpus --out "$work/wav" --corpus-speakers 2 --corpus-utterances 1 >/dev/null
# both models, each trained by both binaries: the same bytes (the cpu backend's sums do not depend on the vector width,
# so an x86-64-v3 native binary on an AVX-512 machine still matches the managed one's 512-bit run)
for model in fcn fca; do
  "$native" train --model $model --fold 1 --epochs 2 --corpus-speakers 4 --corpus-utterances 2 --out "$work/$model" >/dev/null
  "${managed[@]}" train --model $model --fold 1 --epochs 2 --corpus-speakers 4 --corpus-utterances 2 --out "$work/$model-managed" >/dev/null
  cmp "$work/$model/fold1/best.safetensors" "$work/$model-managed/fold1/best.safetensors"
done
mapfile -t wavs < <(find "$work/wav" -name '*.wav' | sort)
"$native" predict --json --checkpoint "$work/fcn/fold1/best.safetensors" "${wavs[@]}" >"$work/native.json"
"${managed[@]}" predict --json --checkpoint "$work/fcn/fold1/best.safetensors" "${wavs[@]}" >"$work/managed.json"
cmp "$work/native.json" "$work/managed.json"
"$native" --version
echo "publish-aot: native and managed 'ser train' wrote the same best.safetensors for fcn and fca, and 'ser predict' agrees on ${#wavs[@]} files"
