#!/usr/bin/env python3
"""Markdown table putting kernel-lab runs of several backends side by side (`lab --jsonl FILE`).

Usage: python3 lab_table.py BASE.jsonl OTHER.jsonl [MORE.jsonl ...]
One row per (op, variant, case) timed in BASE; one column of median milliseconds per file, and for
each further file its time over BASE's (below 1: faster than BASE). A case a file lacks (an op the
backend has no such variant of, or a failed check) shows "-". The GPU bundle runs it with cuda (our
NVRTC kernels) as BASE and ilgpu (ILGPU's CUDA accelerator) beside it.
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
            if j.get("kind") != "lab":
                continue
            backend = j["backend"]
            rows[(j["op"], j["variant"], j["case"])] = j
    if backend is None:
        sys.exit(f"lab_table: {path}: no lab rows")
    return backend, rows


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(p) for p in sys.argv[1:]]
    base_name, base = runs[0]
    head = f"| op | variant | case | {base_name} ms |"
    rule = "| --- | --- | --- | ---: |"
    for name, _ in runs[1:]:
        head += f" {name} ms | {name} / {base_name} |"
        rule += " ---: | ---: |"
    print(head)
    print(rule)

    def ms(row):
        return row["ms"] if row and row.get("passed") and row.get("ms") else None

    for key, row in base.items():
        b = ms(row)
        line = f"| {key[0]} | {key[1]} | {key[2]} | {b:.4f} |" if b else f"| {key[0]} | {key[1]} | {key[2]} | - |"
        for _, other in runs[1:]:
            o = ms(other.get(key))
            line += f" {o:.4f} |" if o else " - |"
            line += f" {o / b:.2f} |" if o and b else " - |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
