#!/usr/bin/env python3
"""Checks a running glassbox server with the official Triton HTTP client (tritonclient[http]).

Server and model metadata, model readiness and config, inference on a batch of real MNIST
test images (binary and JSON tensors, classification extension), the explain endpoint, the
repository extension (index, unload, load) and error reporting. Predictions are compared with
an independent NumPy forward pass of the same bundle.

Usage (scripts/triton_client_check.sh starts and stops the server):
    python triton_client_check.py --url 127.0.0.1:8000 --model mnist_toy \
        --bundle /path/mnist_toy.json --mnist data/mnist/t10k-images-idx3-ubyte.gz
"""

import argparse
import gzip
import json
import sys
import urllib.error
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

RESULTS = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def load_mnist(path, n):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert int.from_bytes(raw[:4], "big") == 0x803, "not an IDX image file"
    count, rows, cols = (int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
    imgs = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, rows, cols)
    return (imgs[:n].astype(np.float32) / 255.0).copy()


def nd(a):
    """ndarray's serde layout: {"v": 1, "dim": [...], "data": [...]}."""
    return np.asarray(a["data"], dtype=np.float64).reshape(a["dim"])


def reference(bundle, x):
    """Independent NumPy forward pass: probabilities and logit gradients per layer."""
    layers = [(nd(l["weight"]), nd(l["bias"])) for l in bundle["layers"]]
    h = x.reshape(len(x), -1).astype(np.float64)
    pre = []
    for i, (w, b) in enumerate(layers):
        z = h @ w.T + b
        if i + 1 < len(layers):
            pre.append(z)
            h = np.maximum(z, 0.0)
        else:
            h = z
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), layers, pre


def logit_gradient(layers, pre, targets):
    grads = []
    for r, t in enumerate(targets):
        g = layers[-1][0][t].copy()
        for li in range(len(layers) - 2, -1, -1):
            g = (g * (pre[li][r] > 0)) @ layers[li][0]
        grads.append(g)
    return np.stack(grads)


def post_json(url, path, body, headers):
    req = urllib.request.Request(
        f"http://{url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="host:port of the server")
    ap.add_argument("--model", default="mnist_toy")
    ap.add_argument("--bundle", required=True, help="toy model JSON (for the NumPy reference)")
    ap.add_argument("--mnist", required=True, help="t10k-images-idx3-ubyte.gz")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--token", default=None)
    args = ap.parse_args()
    auth = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    # tritonclient adds Inference-Header-Content-Length to the dict it is given, so each
    # call gets a fresh copy (a reused dict would carry a stale header into the next call).
    name = args.model

    client = httpclient.InferenceServerClient(url=args.url)
    check("server live", client.is_server_live(headers=dict(auth)))
    check("server ready", client.is_server_ready(headers=dict(auth)))
    meta = client.get_server_metadata(headers=dict(auth))
    check("server metadata", meta.get("name") == "glassbox" and "binary_tensor_data" in meta.get("extensions", []), meta)
    mm = client.get_model_metadata(name, headers=dict(auth))
    check("model metadata", mm["name"] == name and mm["inputs"][0]["shape"] == [-1, 1, 28, 28]
          and mm["inputs"][0]["datatype"] == "FP32"
          and [o["name"] for o in mm["outputs"]] == ["probabilities", "class", "label"], mm)
    version = mm["versions"][-1]
    mv = client.get_model_metadata(name, model_version=version, headers=dict(auth))
    check("versioned model metadata", mv["versions"] == [version], mv)
    check("model ready", client.is_model_ready(name, headers=dict(auth)))
    check("versioned model ready", client.is_model_ready(name, model_version=version, headers=dict(auth)))
    cfg = client.get_model_config(name, headers=dict(auth))
    check("model config", cfg["input"][0]["dims"] == [1, 28, 28], cfg)

    bundle = json.load(open(args.bundle))
    x = load_mnist(args.mnist, args.batch)
    want_p, layers, pre = reference(bundle, x)
    want_c = want_p.argmax(axis=1)

    # Binary tensors (tritonclient's default) for input and probabilities, JSON for class.
    inp = httpclient.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    outs = [
        httpclient.InferRequestedOutput("probabilities", binary_data=True),
        httpclient.InferRequestedOutput("class", binary_data=False),
        httpclient.InferRequestedOutput("label", binary_data=True),
    ]
    res = client.infer(name, [inp], outputs=outs, request_id="batch-1", headers=dict(auth))
    p = res.as_numpy("probabilities")
    check("infer probabilities (binary) match NumPy", p.shape == want_p.shape and np.allclose(p, want_p, atol=1e-5),
          np.abs(p - want_p).max() if p.shape == want_p.shape else p.shape)
    check("infer classes match NumPy argmax", np.array_equal(res.as_numpy("class"), want_c))
    labels = [v.decode() if isinstance(v, bytes) else v for v in res.as_numpy("label")]
    check("infer labels (BYTES)", labels == [bundle["class_names"][c] for c in want_c], labels[:4])
    check("request id echoed", res.get_response()["id"] == "batch-1")

    # JSON tensors, all outputs, explicit version.
    inp = httpclient.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=False)
    res = client.infer(name, [inp], model_version=version, headers=dict(auth))
    check("infer (JSON, all outputs, versioned)", np.allclose(res.as_numpy("probabilities"), want_p, atol=1e-5)
          and np.array_equal(res.as_numpy("class"), want_c))

    # Classification extension: top-3 "score:index".
    inp = httpclient.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    res = client.infer(name, [inp], outputs=[httpclient.InferRequestedOutput("probabilities", class_count=3)],
                       headers=dict(auth))
    top = res.as_numpy("probabilities")
    first = [int(v.decode().split(":")[1]) for v in top[:, 0]]
    check("classification extension top-1", top.shape == (len(x), 3) and first == list(want_c), top[:2])

    # Explain: input x gradient for the predicted class.
    status, body = post_json(args.url, f"/v2/models/{name}/explain", {
        "inputs": [{"name": "input", "shape": list(x[:4].shape), "datatype": "FP32",
                    "data": x[:4].reshape(-1).tolist()}],
        "parameters": {"method": "input_x_gradient", "target": "predicted"},
    }, auth)
    ok = status == 200
    if ok:
        outs = {o["name"]: o for o in body["outputs"]}
        attr = np.asarray(outs["attributions"]["data"]).reshape(outs["attributions"]["shape"])
        targets = outs["target"]["data"]
        want_a = (logit_gradient(layers, [z[:4] for z in pre], want_c[:4]) * x[:4].reshape(4, -1)).reshape(attr.shape)
        ok = targets == list(want_c[:4]) and np.allclose(attr, want_a, atol=1e-5)
    check("explain input_x_gradient matches NumPy", ok, (status, str(body)[:300]))

    # Errors are reported as exceptions carrying the server's message.
    bad = httpclient.InferInput("input", [1, 28, 28], "FP32")
    bad.set_data_from_numpy(x[0])
    try:
        client.infer(name, [bad], headers=dict(auth))
        check("wrong shape rejected", False, "no exception")
    except InferenceServerException as e:
        check("wrong shape rejected", "shape" in str(e), str(e))
    try:
        client.get_model_metadata("no_such_model", headers=dict(auth))
        check("unknown model rejected", False, "no exception")
    except InferenceServerException as e:
        check("unknown model rejected", "no_such_model" in str(e), str(e))

    # Repository extension.
    index = client.get_model_repository_index(headers=dict(auth))
    check("repository index", any(m["name"] == name and m.get("state") == "READY" for m in index), index)
    client.unload_model(name, headers=dict(auth))
    check("unload", not client.is_model_ready(name, headers=dict(auth)))
    client.load_model(name, headers=dict(auth))
    check("load", client.is_model_ready(name, headers=dict(auth)))
    res = client.infer(name, [inp], headers=dict(auth))
    check("infer after reload", np.array_equal(res.as_numpy("class"), want_c))

    print(f"tritonclient check: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
