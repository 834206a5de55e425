#!/usr/bin/env bash
# NativeAOT build of `ser` for linux-x64, checked: fails on any trimming/AOT warning (IL2xxx/IL3xxx),
# then runs the native binary against the managed one (same `ser predict --json` output on a quick
# checkpoint and a few WAV files of the built-in corpus).
#   models/SerEngine.Cli/publish-aot.sh [OUT_DIR]        (default out/aot; takes 2-4 minutes on 2 cores)
# net10.0, with the NativeAOT runtime pack (Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64) the package
# source serves since 2026-12. Build output goes to OUT_DIR/artifacts, so the normal bin/ and obj/ folders are left alone (the managed `ser` is built there).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mkdir -p "${1:-out/aot}" && cd "${1:-out/aot}" && pwd)
log="$out/publish.log"
publish() {
  dotnet publish models/SerEngine.Cli -c Release -r linux-x64 -p:PublishAot=true \
    --artifacts-path "$out/artifacts" -o "$out/bin" "$@" >"$log" 2>&1
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
"$native" train --fold 1 --epochs 2 --corpus-speakers 4 --corpus-utterances 2 --out "$work/fcn" >/dev/null
mapfile -t wavs < <(find "$work/wav" -name '*.wav' | sort)
"$native" predict --json --checkpoint "$work/fcn/fold1/best.safetensors" "${wavs[@]}" >"$work/native.json"
"${managed[@]}" predict --json --checkpoint "$work/fcn/fold1/best.safetensors" "${wavs[@]}" >"$work/managed.json"
cmp "$work/native.json" "$work/managed.json"
"$native" --version
echo "publish-aot: native and managed 'ser predict' agree on ${#wavs[@]} files"
