"""Text models over the Open Inference Protocol, checked with the official tritonclient[http]
against a glassbox server serving tests/reference/transformers/bert_tiny as `bert` and
gpt2_tiny as `gpt` (crates/glassbox/examples/text_server.rs):

- BYTES infer, binary (tritonclient's default) and JSON, shapes [n, 1] and [n]: the
  probabilities equal the softmax of transformers' logits in bert_tiny/reference.json
  (atol 1e-4), classes their arg-max;
- over-length text is refused with the input's name and the limit;
- the generate extension (plain HTTP, as tritonclient has no generate call): greedy
  text_output equals transformers' greedy text, and the server-sent events of
  generate_stream concatenate to it.

    python triton_text_check.py --url HOST:PORT --reference tests/reference/transformers
"""

import argparse
import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

RESULTS = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print(f"  ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"  FAIL {name}: {detail}")


def post(url, path, body):
    req = urllib.request.Request(f"http://{url}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--reference", required=True, help="tests/reference/transformers")
    args = ap.parse_args()
    ref = json.load(open(f"{args.reference}/bert_tiny/reference.json"))
    texts = ref["texts"]
    z = np.array(ref["logits"], dtype=np.float64)
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)

    client = httpclient.InferenceServerClient(url=args.url)
    mm = client.get_model_metadata("bert")
    check("text model metadata", mm["inputs"][0]["datatype"] == "BYTES", mm)
    for binary, shape in [(True, [len(texts), 1]), (False, [len(texts)])]:
        data = np.array([t.encode() for t in texts], dtype=np.object_).reshape(shape)
        inp = httpclient.InferInput("text", shape, "BYTES")
        inp.set_data_from_numpy(data, binary_data=binary)
        res = client.infer("bert", [inp])
        p = res.as_numpy("probabilities")
        kind = "binary" if binary else "JSON"
        check(f"BYTES infer ({kind}, shape {shape}) matches transformers",
              p.shape == want.shape and np.allclose(p, want, atol=1e-4),
              np.abs(p - want).max() if p.shape == want.shape else p.shape)
        check(f"classes ({kind})", np.array_equal(res.as_numpy("class"), want.argmax(axis=1)))

    long = np.array([("word " * 200).encode()], dtype=np.object_)
    inp = httpclient.InferInput("text", [1], "BYTES")
    inp.set_data_from_numpy(long)
    try:
        client.infer("bert", [inp])
        check("over-length text refused", False, "no exception")
    except InferenceServerException as e:
        check("over-length text refused", "'text'" in str(e) and "limit of 64" in str(e), str(e))

    gref = json.load(open(f"{args.reference}/gpt2_tiny/reference.json"))
    for case in gref["cases"]:
        body = {"text_input": case["prompt"], "parameters": {"max_new_tokens": 20}}
        _, out = post(args.url, "/v2/models/gpt/generate", body)
        text = json.loads(out)["text_output"]
        check(f"generate {case['prompt']!r} equals transformers' greedy text",
              text == case["greedy_text"], (text, case["greedy_text"]))
        ctype, out = post(args.url, "/v2/models/gpt/generate_stream", body)
        events = [json.loads(line[6:]) for line in out.split("\n") if line.startswith("data: ")]
        streamed = "".join(e["text_output"] for e in events)
        check("generate_stream is text/event-stream and concatenates to the same text",
              ctype == "text/event-stream" and streamed == text and len(events) == 21,
              (ctype, len(events), streamed))

    print(f"tritonclient text check: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
