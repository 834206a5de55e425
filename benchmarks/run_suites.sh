#!/usr/bin/env bash
# Runs the BenchmarkDotNet suites (short job: 1 launch, 3 warm-ups, 3 measured iterations, in
# process) and copies their GitHub-markdown reports into benchmarks/results/DIR/.
# Usage: benchmarks/run_suites.sh DIR [FILTER ...]   (default filters: every CPU suite)
# The machine should be otherwise idle; uptime is written next to the reports.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: run_suites.sh DIR [FILTER ...]}
shift
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=('*.GemmBenchmarks*' '*.Conv2dBenchmarks*' '*.ElementwiseBenchmarks*' '*.SoftmaxBenchmarks*' '*.NormPoolAdamBenchmarks*' '*.AudioBenchmarks*')
out="$here/results/$dir"
mkdir -p "$out"
work=$(mktemp -d)
export DOTNET_TC_QuickJit=0
dotnet build -c Release "$here/SerEngine.Benchmarks" -v q -nologo >/dev/null
echo "load before: $(uptime)" > "$out/bdn-load.txt"
(cd "$work" && dotnet "$here/SerEngine.Benchmarks/bin/Release/net10.0/SerEngine.Benchmarks.dll" \
    --filter "${filters[@]}" --job short --inProcess --exporters github >/dev/null)
echo "load after: $(uptime)" >> "$out/bdn-load.txt"
for f in "$work"/BenchmarkDotNet.Artifacts/results/*-report-github.md; do
    name=$(basename "$f" -report-github.md)
    cp "$f" "$out/bdn-${name##*.}.md"
done
rm -rf "$work"
ls "$out"
