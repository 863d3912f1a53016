"""transformers/gpt2_tiny/: a random GPT2LMHeadModel, its logits, greedy decoding and IG.

The model (byte-level BPE vocabulary of 600 from transformers/tokenizers/bytelevel_bpe.json,
n_embd 32, 2 layers, 4 heads, 64 positions, gelu_new, lm_head tied to wte) is initialised
from a fixed seed and saved as a Hugging Face folder (config.json, generation_config.json,
model.safetensors, tokenizer.json). reference.json: per prompt, the input ids, the logits of
every position, 20 greedy-decoded ids (argmax of a full forward pass per step; no stop at
end-of-text) with their text, and Captum's LayerIntegratedGradients on `transformer.wte`
for the log-probability of the greedy next token (baseline: all <|endoftext|>; 50
Gauss-Legendre steps).
"""

import shutil

import torch
import transformers
from captum.attr import LayerIntegratedGradients
from tokenizers import Tokenizer
from transformers import GPT2Config, GPT2LMHeadModel

from common import SEED, out_path, torch_version, write

torch.manual_seed(SEED)
tok_path = out_path("transformers/tokenizers/bytelevel_bpe.json")
tokenizer = Tokenizer.from_file(tok_path)
eot = tokenizer.token_to_id("<|endoftext|>")
config = GPT2Config(vocab_size=tokenizer.get_vocab_size(), n_embd=32, n_layer=2, n_head=4,
                    n_positions=64, bos_token_id=eot, eos_token_id=eot, initializer_range=0.2,
                    activation_function="gelu_new")
model = GPT2LMHeadModel(config).eval()
folder = out_path("transformers/gpt2_tiny/config.json").rsplit("/", 1)[0]
model.save_pretrained(folder)
shutil.copyfile(tok_path, f"{folder}/tokenizer.json")


def next_log_probs(ids):
    return torch.log_softmax(model(input_ids=ids).logits[:, -1, :], dim=-1)


lig = LayerIntegratedGradients(next_log_probs, model.transformer.wte)
cases = []
for prompt in ["The meeting is moved to", "Click here to claim", "Re: unsubscribe"]:
    ids = torch.tensor([tokenizer.encode(prompt).ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
        seq = ids
        for _ in range(20):
            nxt = model(input_ids=seq).logits[0, -1].argmax()
            seq = torch.cat([seq, nxt.view(1, 1)], dim=1)
    greedy = seq[0, ids.shape[1]:].tolist()
    target = int(logits[-1].argmax())
    attr, delta = lig.attribute(ids, baselines=torch.full_like(ids, eot), target=target,
                                n_steps=50, method="gausslegendre",
                                return_convergence_delta=True)
    cases.append({"prompt": prompt, "input_ids": ids[0], "logits": logits, "greedy_ids": greedy,
                  "greedy_text": tokenizer.decode(greedy),
                  "next_token_layer_ig": {
                      "layer": "transformer.wte (output)", "target": target,
                      "output": "log_softmax(logits[-1])[target]", "baseline_id": eot,
                      "n_steps": 50, "method": "gausslegendre", "attributions": attr[0],
                      "token_scores": attr[0].sum(dim=-1), "delta": float(delta)}})

write("transformers/gpt2_tiny/reference.json", {
    "generator": f"transformers {transformers.__version__}, captum, {torch_version()}",
    "seed": SEED,
    "generation": "greedy, max_new_tokens=20, no eos stop",
    "cases": cases,
}, indent=None)
