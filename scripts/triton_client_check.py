#!/usr/bin/env python3
"""Checks a running glassbox server with the official Triton HTTP client (tritonclient[http]).

Server and model metadata, model readiness and config, inference on a batch of real MNIST
test images (binary and JSON tensors, classification extension), the explain endpoint, the
repository extension (index, unload, load) and error reporting.

Two references for the predictions:
- `--predict-csv`: the output of `glassbox predict --proba` on the same images (a model
  bundle trained by `glassbox train` and served by `glassbox serve`). Classes must be equal
  and probabilities agree to 1e-5. Explanations: IG, saliency and Grad-CAM shapes and values,
  and IG completeness checked through log-probability ratios from the server's own inference.
- `--bundle`: the toy MLP's JSON bundle, with an independent NumPy forward pass and NumPy
  input x gradient.

`subset` mode writes the first N images (and labels) of an IDX pair as new gzip IDX files.

Usage (scripts/triton_client_check.sh builds, trains, starts and stops the server):
    python triton_client_check.py --url 127.0.0.1:8000 --model mnist_cnn \
        --predict-csv predict.csv --mnist t10k-images-idx3-ubyte.gz
    python triton_client_check.py --url 127.0.0.1:8000 --model mnist_toy \
        --bundle /path/mnist_toy.json --mnist data/mnist/t10k-images-idx3-ubyte.gz
    python triton_client_check.py subset SRC_IMAGES.gz DST_IMAGES.gz N
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


def write_subset(src, dst, n):
    """First n images of the IDX file src (and its labels file, if any) as gzip IDX at dst."""
    def copy(s, d, header):
        with gzip.open(s, "rb") as f:
            raw = f.read()
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
        item = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        assert dims[0] >= n, f"{s} has only {dims[0]} items"
        out = raw[:4] + n.to_bytes(4, "big") + raw[8:header] + raw[header: header + n * item]
        with gzip.open(d, "wb") as f:
            f.write(out)
    copy(src, dst, 16)
    lab = src.replace("images", "labels").replace("idx3", "idx1")
    if lab != src:
        import os
        if os.path.exists(lab):
            copy(lab, dst.replace("images", "labels").replace("idx3", "idx1"), 8)


def read_predict_csv(path, n_classes):
    """`glassbox predict --proba` output: row,prediction,proba_0..proba_{k-1}."""
    rows = [line.strip().split(",") for line in open(path) if line.strip()]
    head, body = rows[0], rows[1:]
    assert head[:2] == ["row", "prediction"] and len(head) == 2 + n_classes, head
    labels = [r[1] for r in body]
    probs = np.array([[float(v) for v in r[2:]] for r in body])
    return labels, probs


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
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def explain_rows(args, name, auth, x, params):
    """POST explain; returns (status, attributions, targets) or (status, body, None)."""
    status, body = post_json(args.url, f"/v2/models/{name}/explain", {
        "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                    "data": x.reshape(-1).tolist()}],
        "parameters": params,
    }, auth)
    if status != 200:
        return status, body, None
    outs = {o["name"]: o for o in body["outputs"]}
    attr = np.asarray(outs["attributions"]["data"], dtype=np.float64).reshape(outs["attributions"]["shape"])
    return status, attr, list(outs["target"]["data"])


def explain_toy(args, name, auth, x, layers, pre, want_c):
    """Explain on the toy MLP: input x gradient for the predicted class against NumPy."""
    status, attr, targets = explain_rows(args, name, auth, x[:4],
                                         {"method": "input_x_gradient", "target": "predicted"})
    ok = status == 200
    if ok:
        want_a = (logit_gradient(layers, [z[:4] for z in pre], want_c[:4]) * x[:4].reshape(4, -1)).reshape(attr.shape)
        ok = targets == list(want_c[:4]) and np.allclose(attr, want_a, atol=1e-5)
    check("explain input_x_gradient matches NumPy", ok, (status, str(attr)[:300]))


def explain_bundle(args, name, auth, client, x, want_c, mm):
    """Explain on a glassbox bundle (CNN): IG, saliency and Grad-CAM.

    IG attributes the target's logit from a zero baseline, so for two classes t and s its
    completeness gives sum(attr_t) - sum(attr_s) = [log p_t(x) - log p_s(x)] - [log p_t(0) -
    log p_s(0)]: logit differences equal log-probability ratios, which the server's own
    inference provides. The residual is the trapezoid rule's error (64 steps).
    """
    methods = mm.get("explain_methods", [])
    check("explain methods listed", {"ig", "saliency", "gradcam"} <= set(methods), methods)
    xs = x[:4]
    shape = list(xs.shape)

    status, ig, targets = explain_rows(args, name, auth, xs, {"method": "ig", "target": "predicted"})
    ok = status == 200 and list(ig.shape) == shape and np.isfinite(ig).all() and targets == list(want_c[:4])
    check("explain ig (predicted): shape, finite values, targets", ok, (status, str(ig)[:300], targets))

    # Probabilities at x and at the zero baseline, from the server.
    def probs(batch):
        inp = httpclient.InferInput("input", list(batch.shape), "FP32")
        inp.set_data_from_numpy(batch.astype(np.float32))
        r = client.infer(name, [inp], outputs=[httpclient.InferRequestedOutput("probabilities")],
                         headers=dict(auth))
        return r.as_numpy("probabilities").astype(np.float64)
    px = probs(xs)
    p0 = probs(np.zeros((1,) + xs.shape[1:], dtype=np.float32))[0]
    t = list(want_c[:4])
    # The other class: well represented at both x and the baseline (keeps f32 logs accurate).
    s = []
    for r in range(len(xs)):
        m = np.minimum(px[r], p0)
        m[t[r]] = -1.0
        s.append(int(m.argmax()))
    status, ig_s, targets_s = explain_rows(args, name, auth, xs, {"method": "ig", "target": s})
    ok = status == 200 and targets_s == s and ok
    if ok:
        lhs = ig.reshape(len(xs), -1).sum(axis=1) - ig_s.reshape(len(xs), -1).sum(axis=1)
        rhs = np.array([(np.log(px[r, t[r]]) - np.log(px[r, s[r]])) - (np.log(p0[t[r]]) - np.log(p0[s[r]]))
                        for r in range(len(xs))])
        err = np.abs(lhs - rhs)
        ok = np.isfinite(rhs).all() and (err <= 0.05 * np.abs(rhs) + 0.05).all()
        print(f"     ig completeness: attribution sums {np.round(lhs, 4)} vs log-probability ratios "
              f"{np.round(rhs, 4)}")
    check("explain ig completeness (via log-probability ratios)", ok,
          (status, locals().get("lhs"), locals().get("rhs")))

    status, sal, targets = explain_rows(args, name, auth, xs, {"method": "saliency", "target": 3})
    ok = (status == 200 and list(sal.shape) == shape and np.isfinite(sal).all() and (sal >= 0).all()
          and (sal > 0).any() and targets == [3] * len(xs))
    check("explain saliency (target 3): shape, finite, non-negative, not all zero", ok, (status, str(sal)[:300]))

    status, cam, targets = explain_rows(args, name, auth, xs, {"method": "gradcam"})
    ok = (status == 200 and list(cam.shape) == shape and np.isfinite(cam).all() and (cam >= 0).all()
          and targets == list(want_c[:4]))
    check("explain gradcam: shape, finite, non-negative", ok, (status, str(cam)[:300]))

    status, body, _ = explain_rows(args, name, auth, xs, {"method": "no_such_method"})
    check("explain unknown method rejected with 400", status == 400 and "no_such_method" in body.get("error", ""),
          (status, body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="host:port of the server")
    ap.add_argument("--model", default="mnist_toy")
    ref = ap.add_mutually_exclusive_group(required=True)
    ref.add_argument("--bundle", help="toy model JSON (for the NumPy reference)")
    ref.add_argument("--predict-csv", help="`glassbox predict --proba` output on the same images")
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

    x = load_mnist(args.mnist, args.batch)
    if args.bundle:
        bundle = json.load(open(args.bundle))
        want_p, layers, pre = reference(bundle, x)
        want_c = want_p.argmax(axis=1)
        want_labels = [bundle["class_names"][c] for c in want_c]
        ref_name = "NumPy"
    else:
        n_classes = mm["outputs"][0]["shape"][-1]
        want_labels, want_p = read_predict_csv(args.predict_csv, n_classes)
        check("glassbox predict covers the batch", len(want_labels) >= len(x), len(want_labels))
        want_labels, want_p = want_labels[:len(x)], want_p[:len(x)]
        # MNIST bundles name their classes "0".."9".
        want_c = np.array([int(v) for v in want_labels])
        ref_name = "glassbox predict"

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
    check(f"infer probabilities (binary) match {ref_name}", p.shape == want_p.shape and np.allclose(p, want_p, atol=1e-5),
          np.abs(p - want_p).max() if p.shape == want_p.shape else p.shape)
    check(f"infer classes match {ref_name}", np.array_equal(res.as_numpy("class"), want_c),
          (res.as_numpy("class"), want_c))
    labels = [v.decode() if isinstance(v, bytes) else v for v in res.as_numpy("label")]
    check("infer labels (BYTES)", labels == list(want_labels), labels[:4])
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

    if args.bundle:
        explain_toy(args, name, auth, x, layers, pre, want_c)
    else:
        explain_bundle(args, name, auth, client, x, want_c, mm)

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
    if len(sys.argv) == 5 and sys.argv[1] == "subset":
        write_subset(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
