#!/usr/bin/env python3
"""Markdown table putting kernel-lab runs of several backends side by side (`lab --jsonl FILE`).

Usage: python3 lab_table.py BASE.jsonl OTHER.jsonl [MORE.jsonl ...]
One row per (op, case, variant) timed in BASE, with its median milliseconds; for each further file,
its fastest variant on the same (op, case) (its name without the "backend/" prefix the lab gives
backends outside the GPU family, e.g. ilgpu's), that variant's milliseconds, and its time over BASE's
variant of the row (below 1: the other is faster). BASE's fastest variant per (op, case) is in bold.
A case a file did not time shows "-". The GPU bundle runs it with cuda (our NVRTC kernels) as BASE and
ilgpu (ILGPU's CUDA accelerator) beside it.
"""
import json
import sys


def load(path):
    rows, backend = {}, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                j = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"lab_table: {path}:{n}: not a JSON line ({e.msg})")
            if j.get("kind") != "lab" or not j.get("passed") or not j.get("ms"):
                continue
            backend = j["backend"]
            variant = j["variant"]
            if variant.startswith(backend + "/"):
                variant = variant[len(backend) + 1:]
            rows.setdefault((j["op"], j["case"]), {})[variant] = j["ms"]
    if backend is None:
        sys.exit(f"lab_table: {path}: no timed lab rows")
    return backend, rows


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(p) for p in sys.argv[1:]]
    base_name, base = runs[0]
    head = f"| op | case | {base_name} variant | {base_name} ms |"
    rule = "| --- | --- | --- | ---: |"
    for name, _ in runs[1:]:
        head += f" {name} fastest | {name} ms | {name} / {base_name} |"
        rule += " --- | ---: | ---: |"
    print(head)
    print(rule)
    for (op, case), variants in base.items():
        fastest = min(variants, key=variants.get)
        for variant, ms in variants.items():
            name = f"**{variant}**" if variant == fastest and len(variants) > 1 else variant
            line = f"| {op} | {case} | {name} | {ms:.4f} |"
            for _, other in runs[1:]:
                theirs = other.get((op, case))
                if not theirs:
                    line += " - | - | - |"
                    continue
                best = min(theirs, key=theirs.get)
                line += f" {best} | {theirs[best]:.4f} | {theirs[best] / ms:.2f} |"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
