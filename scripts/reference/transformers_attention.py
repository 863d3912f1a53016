"""transformers/attention.json: torch.nn.MultiheadAttention and Transformer layers (float64).

`multihead_attention`: six cases (batch_first both ways, cross-attention with a boolean
key_padding_mask, a float causal mask, a boolean mask with per-head weights, no bias).
Self-attention cases store only `query` (key = value = query, so `grad_query` sums the three
paths). `layers`: TransformerEncoderLayer and TransformerDecoderLayer cases (norm_first,
relu/gelu, layer_norm_eps 1e-5/1e-12, padding masks, a causal target mask). Every module
runs in train mode with dropout 0, so PyTorch takes its reference (not fast) path; the loss
is sum(output * upstream) and parameters keep PyTorch's names (packed in_proj_weight
[3E, E]). A float mask holds -inf, which JSON cannot, so it is given as a flag.
"""

import torch
import torch.nn as nn

from common import SEED, torch_version, write

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)


def params(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def leaf(*shape):
    return torch.randn(*shape).requires_grad_(True)


def causal(n):
    return nn.Transformer.generate_square_subsequent_mask(n, dtype=torch.float64)


def mha_case(name, embed_dim, num_heads, batch_first, bias, q_shape, kv_shape=None,
             key_padding_mask=None, float_causal=False, bool_mask=None, average=True):
    mha = nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=bias,
                                batch_first=batch_first).train()
    with torch.no_grad():  # PyTorch initialises the biases to zero; random ones test more
        if bias:
            mha.in_proj_bias.normal_(0.0, 0.2)
            mha.out_proj.bias.normal_(0.0, 0.2)
    case = {"name": name, "embed_dim": embed_dim, "num_heads": num_heads,
            "batch_first": batch_first, "bias": bias, "self_attention": kv_shape is None}
    query = leaf(*q_shape)
    case["query"] = query.detach()
    if kv_shape is None:
        key = value = query
    else:
        key, value = leaf(*kv_shape), leaf(*kv_shape)
        case["key"], case["value"] = key.detach(), value.detach()
    attn_mask = None
    if key_padding_mask is not None:
        case["key_padding_mask"] = key_padding_mask
    if float_causal:
        case["attn_mask_float_causal"] = True
        attn_mask = causal(q_shape[1] if batch_first else q_shape[0])
    if bool_mask is not None:
        case["attn_mask_bool"] = bool_mask
        attn_mask = bool_mask
    case["params"] = params(mha)
    case["average_attn_weights"] = average
    output, weights = mha(query, key, value, key_padding_mask=key_padding_mask,
                          attn_mask=attn_mask, need_weights=True, average_attn_weights=average)
    upstream = torch.randn_like(output)
    (output * upstream).sum().backward()
    case["output"], case["attn_weights"], case["upstream"] = output.detach(), weights, upstream
    case["grad_query"] = query.grad
    if kv_shape is not None:
        case["grad_key"], case["grad_value"] = key.grad, value.grad
    case["grad_params"] = {n: p.grad for n, p in mha.named_parameters()}
    return case


def layer_case(index, kind, activation, norm_first, eps):
    d_model, nhead, ff = 16, 4, 24
    cls = nn.TransformerEncoderLayer if kind == "encoder" else nn.TransformerDecoderLayer
    layer = cls(d_model, nhead, dim_feedforward=ff, dropout=0.0, activation=activation,
                layer_norm_eps=eps, batch_first=True, norm_first=norm_first).train()
    with torch.no_grad():  # non-trivial LayerNorm affine parameters and attention biases
        for name, p in layer.named_parameters():
            if name.startswith("norm") and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.normal_(0.0, 0.2)
    case = {"name": f"{kind}_{index}", "kind": kind, "d_model": d_model, "nhead": nhead,
            "dim_feedforward": ff, "activation": activation, "norm_first": norm_first,
            "layer_norm_eps": eps, "batch_first": True}
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    if kind == "encoder":
        x = leaf(2, 6, 16)
        case["input"] = x.detach()
        case["src_key_padding_mask"] = padding
        case["params"] = params(layer)
        output = layer(x, src_key_padding_mask=padding)
    else:
        x, memory = leaf(2, 5, 16), leaf(2, 6, 16)
        case["input"], case["memory"] = x.detach(), memory.detach()
        case["tgt_causal"] = True
        case["memory_key_padding_mask"] = padding
        case["params"] = params(layer)
        output = layer(x, memory, tgt_mask=causal(5), tgt_is_causal=True,
                       memory_key_padding_mask=padding)
    upstream = torch.randn_like(output)
    (output * upstream).sum().backward()
    case["output"], case["upstream"], case["grad_input"] = output.detach(), upstream, x.grad
    if kind == "decoder":
        case["grad_memory"] = memory.grad
    case["grad_params"] = {n: p.grad for n, p in layer.named_parameters()}
    return case


kpm = torch.tensor([[False] * 7, [False] * 5 + [True] * 2, [False] * 4 + [True] * 3])
bool_mask = torch.zeros(5, 5, dtype=torch.bool)
bool_mask[3, 1:3] = True
bool_mask[4, 4] = True
mha = [
    mha_case("self_batch_first", 16, 4, True, True, (3, 5, 16)),
    mha_case("self_seq_first", 16, 4, False, True, (6, 2, 16)),
    mha_case("cross_kpm", 16, 2, True, True, (3, 4, 16), (3, 7, 16), key_padding_mask=kpm),
    mha_case("self_causal_float_mask", 12, 3, True, True, (2, 6, 12), float_causal=True),
    mha_case("self_bool_mask_per_head", 16, 4, True, True, (2, 5, 16), bool_mask=bool_mask,
             average=False),
    mha_case("no_bias", 8, 2, True, False, (2, 3, 8), (2, 4, 8)),
]
layers = [
    layer_case(0, "encoder", "relu", False, 1e-5),
    layer_case(1, "encoder", "gelu", True, 1e-5),
    layer_case(2, "encoder", "gelu", False, 1e-12),
    layer_case(3, "decoder", "relu", False, 1e-5),
    layer_case(4, "decoder", "gelu", True, 1e-5),
]
write("transformers/attention.json", {"generator": torch_version(), "seed": SEED,
                                      "loss": "sum(output * upstream)",
                                      "multihead_attention": mha, "layers": layers}, indent=None)
