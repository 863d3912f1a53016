"""transformers/bert_tiny/: a random BertForSequenceClassification and its outputs.

The model (hidden 32, 2 layers, 4 heads, intermediate 37, 3 labels, erf GELU, layer norm eps
1e-12, 64 positions) is initialised from a fixed seed and saved as a Hugging Face folder
(config.json, model.safetensors) with the WordPiece tokenizer of
transformers/tokenizers/wordpiece.json (run transformers_tokenizers.py first).
reference.json: a padded batch of 4 texts with logits, pooler output, every hidden state
and the attention probabilities (eager attention, float32), and Captum's
LayerIntegratedGradients on `bert.embeddings` for three texts (unpadded; baseline
[CLS] [PAD]... [SEP]; 50 Gauss-Legendre steps; target = the predicted class).
"""

import shutil

import captum
import torch
import transformers
from captum.attr import LayerIntegratedGradients
from tokenizers import Tokenizer
from transformers import BertConfig, BertForSequenceClassification

from common import SEED, out_path, torch_version, write

torch.manual_seed(SEED)
tok_path = out_path("transformers/tokenizers/wordpiece.json")
tokenizer = Tokenizer.from_file(tok_path)
config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=37, max_position_embeddings=64,
                    type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
                    initializer_range=0.2, num_labels=3, pad_token_id=0,
                    attn_implementation="eager")
model = BertForSequenceClassification(config).eval()
folder = out_path("transformers/bert_tiny/config.json").rsplit("/", 1)[0]
model.save_pretrained(folder)
shutil.copyfile(tok_path, f"{folder}/tokenizer.json")

texts = ["Free money!!! Click here to claim your prize", "Re: the meeting is moved to Tuesday",
         "unsubscribe from this list", "Café prices in 東京 rose 5%"]
pad = tokenizer.token_to_id("[PAD]")
encodings = tokenizer.encode_batch(texts)
width = max(len(e.ids) for e in encodings)
input_ids = torch.tensor([e.ids + [pad] * (width - len(e.ids)) for e in encodings])
attention_mask = torch.tensor([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in encodings])
with torch.no_grad():
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                output_attentions=True)
    pooled = model.bert(input_ids=input_ids, attention_mask=attention_mask).pooler_output


def forward(ids):
    return model(input_ids=ids).logits


lig = LayerIntegratedGradients(forward, model.bert.embeddings)
cases = []
for text in texts[:3]:
    ids = torch.tensor([tokenizer.encode(text).ids])
    baseline = torch.full_like(ids, pad)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    target = int(forward(ids).argmax(dim=-1))
    attr, delta = lig.attribute(ids, baselines=baseline, target=target, n_steps=50,
                                method="gausslegendre", return_convergence_delta=True)
    cases.append({"text": text, "input_ids": ids[0], "baseline_ids": baseline[0],
                  "target": target, "n_steps": 50, "method": "gausslegendre",
                  "layer": "bert.embeddings (output)", "attributions": attr[0],
                  "token_scores": attr[0].sum(dim=-1), "delta": float(delta)})

write("transformers/bert_tiny/reference.json", {
    "generator": f"transformers {transformers.__version__}, captum {captum.__version__}, "
                 f"{torch_version()}",
    "seed": SEED,
    "texts": texts,
    "input_ids": input_ids,
    "attention_mask": attention_mask,
    "note": "padded positions of hidden states are whatever HF computes there; compare real "
            "tokens only",
    "logits": out.logits,
    "pooler_output": pooled,
    "hidden_states": torch.stack(out.hidden_states),
    "attentions": torch.stack(out.attentions),
    "layer_integrated_gradients": cases,
}, indent=None)
