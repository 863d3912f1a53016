"""Checks that two reference folders have the same files and the same JSON layout.

    python compare_layout.py COMMITTED_DIR REGENERATED_DIR

For every JSON file of COMMITTED_DIR present in REGENERATED_DIR: the same keys at every
level (in the same order), the same array shapes and the same value types (number, string,
bool, null). Arrays of objects (lists of cases) are compared element by element. Values
are not compared: the regenerated inputs are new draws. Prints one line per file and exits
1 when a layout differs.
"""

import json
import os
import sys


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def diff(a, b, path, out, loose_shapes):
    if isinstance(a, dict) and isinstance(b, dict):
        if path.endswith(".model.vocab"):
            return  # a trained tokenizer's token -> id map: its keys are data
        if list(a) != list(b):
            out.append(f"{path}: keys {list(a)[:12]} vs {list(b)[:12]}")
        for k in a:
            if k in b:
                diff(a[k], b[k], f"{path}.{k}", out, loose_shapes)
    elif isinstance(a, list) and isinstance(b, list):
        # a ROC curve has as many points as the data has distinct thresholds
        if len(a) != len(b) and not loose_shapes and "roc_curve" not in path:
            out.append(f"{path}: length {len(a)} vs {len(b)}")
        if a and b:
            if all(isinstance(x, dict) for x in a) and len(a) == len(b):
                for i, (x, y) in enumerate(zip(a, b)):
                    diff(x, y, f"{path}[{i}]", out, loose_shapes)
            else:
                diff(a[0], b[0], f"{path}[0]", out, loose_shapes)
    elif kind(a) != kind(b) and not (loose_shapes and "null" in (kind(a), kind(b))):
        out.append(f"{path}: {kind(a)} vs {kind(b)}")


def main():
    committed, regenerated = sys.argv[1], sys.argv[2]
    bad = 0
    for dirpath, _, files in sorted(os.walk(committed)):
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), committed)
            other = os.path.join(regenerated, rel)
            if not os.path.exists(other):
                print(f"not regenerated: {rel}")
                continue
            with open(os.path.join(committed, rel)) as f:
                a = json.load(f)
            with open(other) as f:
                b = json.load(f)
            out = []
            # text-derived files (tokenizers, token ids) may differ in lengths; their keys
            # and value types must not
            diff(a, b, rel, out, loose_shapes=rel.startswith("transformers/")
                 and not rel.endswith("attention.json"))
            if out:
                bad += 1
                print(f"LAYOUT DIFFERS: {rel}")
                for line in out[:20]:
                    print("   ", line)
            else:
                print(f"same layout: {rel}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
