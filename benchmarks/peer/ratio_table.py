#!/usr/bin/env python3
"""Markdown table of ours / PyTorch medians from `ser bench` and torch_cases.py JSON lines.

Usage: python3 ratio_table.py OURS.jsonl TORCH.jsonl [TORCH_TF32.jsonl]
A ratio below 1 means ours is faster. With a third file, PyTorch with TF32 on is a second column pair
(TF32 rounds float32 matmul/convolution inputs to 10-bit mantissas; ours always computes in full float32).
"""
import json
import sys


def load(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    j = json.loads(line)
                    rows[j["case"]] = j
    except FileNotFoundError:
        pass
    return rows


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    ours, torch = load(sys.argv[1]), load(sys.argv[2])
    tf32 = load(sys.argv[3]) if len(sys.argv) == 4 else None
    head = "| case | ours ms | torch ms | ours / torch |"
    rule = "| --- | ---: | ---: | ---: |"
    if tf32 is not None:
        head += " torch TF32 ms | ours / torch TF32 |"
        rule += " ---: | ---: |"
    print(head)
    print(rule)

    def cells(o, t):
        if t is None:
            return " - | - |"
        if o is None:
            return f" {t['ms']:.3f} | - |"
        return f" {t['ms']:.3f} | {o['ms'] / t['ms']:.2f} |"

    for c in list(ours) + [c for c in torch if c not in ours]:
        o = ours.get(c)
        row = f"| `{c}` | {o['ms']:.3f} |" if o else f"| `{c}` | - |"
        row += cells(o, torch.get(c))
        if tf32 is not None:
            row += cells(o, tf32.get(c))
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
