"""Helpers shared by the reference generators in this folder.

Every generator writes one file below an output folder (``tests/reference/`` by default, or
the folder given as the first argument) in the layout documented in
``tests/reference/README.md``: float64 values as nested JSON lists, a ``meta`` block naming
the library versions and the seed. The inputs are drawn from fixed seeds, so a second run
writes the same file.
"""

import json
import os
import sys

SEED = 7


def out_path(relative):
    """``<out>/<relative>``: ``<out>`` is argv[1] or the repository's tests/reference/."""
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference")
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def to_json(value):
    """Tensors and arrays as nested lists of Python floats/ints; dicts and lists recursively."""
    try:
        import torch
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().tolist()
    except ImportError:  # the scikit-learn generators run without torch
        pass
    try:
        import numpy as np
        if isinstance(value, np.ndarray):
            return to_json(value.tolist())
        if isinstance(value, np.generic):
            return value.item()
    except ImportError:
        pass
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float) and value != value:
        return None  # NaN (a missing value) is written as null
    return value


def write(relative, payload, indent=1):
    """Writes ``payload`` (converted by ``to_json``) to ``<out>/<relative>``."""
    path = out_path(relative)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_json(payload), f, indent=indent, allow_nan=False)
        if indent is not None:
            f.write("\n")
    print(f"wrote {path}")


def torch_version():
    import torch
    return f"torch {torch.__version__}"


TORCH_CONVENTION = ("loss = sum_k sum(outputs[k] * upstream[k]); grads are d loss / d input "
                    "and d loss / d params; shapes follow PyTorch (NCHW, batch_first)")


def torch_meta():
    return {"generator": torch_version(), "seed": SEED, "dtype": "float64",
            "convention": TORCH_CONVENTION}


def sklearn_meta():
    import numpy
    import sklearn
    return {"generator": f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}",
            "seed": SEED}


def repo_data(relative):
    """A file of the repository's data/ folder (the same files as ../shared/data)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", relative)


def shared_file(relative):
    """A file of ../shared (next to the repository), or $GLASSBOX_SHARED/<relative>."""
    root = os.environ.get("GLASSBOX_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
    path = os.path.join(root, relative)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing (set GLASSBOX_SHARED to the shared folder)")
    return path
