"""torch/layers.json: one case per layer or activation, in float64.

Each case holds `input` (and `input_shape`), the module's `params` under PyTorch's names and
layouts, `outputs` (a list: [output] or [output, h_n(, c_n)] for recurrent layers) with
`output_shapes`, a random `upstream` per output, and the gradients of
`sum_k sum(outputs[k] * upstream[k])` w.r.t. the input (`grad_input`) and every parameter
(`grad_params`). BatchNorm cases add `buffers_after` (running statistics after the step);
the eval-mode case also gives the running statistics it was loaded with.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import SEED, torch_meta, write

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)

RECURRENT_NOTE = ("outputs = [output, h_n] (+ c_n for LSTM); PyTorch gate order: "
                  "LSTM i,f,g,o; GRU r,z,n")


def case(module, x, description, run=None, extra=None):
    """Runs `module` on `x`, backpropagates sum(outputs * upstream) and records everything."""
    x = x.clone().requires_grad_(True)
    params = {name: p.detach().clone() for name, p in module.named_parameters()}
    before = {name: b.detach().clone() for name, b in module.named_buffers()
              if name != "num_batches_tracked"}
    outputs = run(module, x) if run else [module(x)]
    upstream = [torch.randn_like(o) for o in outputs]
    loss = sum((o * u).sum() for o, u in zip(outputs, upstream))
    loss.backward()
    out = {
        "input": x.detach(),
        "input_shape": list(x.shape),
        "params": params,
        "outputs": [o.detach() for o in outputs],
        "output_shapes": [list(o.shape) for o in outputs],
        "upstream": upstream,
        "grad_input": x.grad,
        "grad_params": {name: p.grad for name, p in module.named_parameters()},
    }
    if before:
        out["buffers_after"] = {name: b.detach().clone() for name, b in module.named_buffers()
                                if name != "num_batches_tracked"}
    out["torch"] = description
    if extra:
        out.update(extra)
    return out


def randomize_affine(module):
    """BatchNorm/LayerNorm start at weight 1, bias 0; random values test the affine part."""
    with torch.no_grad():
        module.weight.copy_(1.0 + 0.5 * torch.randn_like(module.weight))
        module.bias.copy_(0.5 * torch.randn_like(module.bias))
    return module


def recurrent(module, x):
    output, state = module(x)
    if isinstance(state, tuple):
        return [output, state[0], state[1]]
    return [output, state]


out = {"meta": torch_meta()}
out["linear"] = case(nn.Linear(5, 3), torch.randn(4, 5), "nn.Linear(5, 3)")
out["conv2d_s2_p1"] = case(nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.randn(2, 3, 6, 7),
                           "nn.Conv2d(3, 4, 3, stride=2, padding=1)")
out["conv2d_s1_p0_k5"] = case(nn.Conv2d(2, 3, 5), torch.randn(2, 2, 9, 8), "nn.Conv2d(2, 3, 5)")
out["conv2d_dilation2"] = case(nn.Conv2d(2, 2, 3, dilation=2, padding=2),
                               torch.randn(1, 2, 7, 7),
                               "nn.Conv2d(2, 2, 3, dilation=2, padding=2)")
out["conv1d_s1_p1"] = case(nn.Conv1d(3, 2, 3, padding=1), torch.randn(2, 3, 10),
                           "nn.Conv1d(3, 2, 3, padding=1)")
out["maxpool2d_k2_s2"] = case(nn.MaxPool2d(2, 2), torch.randn(2, 3, 6, 7), "nn.MaxPool2d(2, 2)")
out["maxpool2d_k3_s2_p1"] = case(nn.MaxPool2d(3, 2, padding=1), torch.randn(1, 2, 7, 7),
                                 "nn.MaxPool2d(3, 2, padding=1)")
out["avgpool2d_k2_s2"] = case(nn.AvgPool2d(2, 2), torch.randn(2, 3, 6, 6), "nn.AvgPool2d(2, 2)")
out["adaptive_avgpool2d_1"] = case(nn.AdaptiveAvgPool2d(1), torch.randn(2, 3, 5, 4),
                                   "nn.AdaptiveAvgPool2d(1)")
out["batchnorm2d_train"] = case(
    randomize_affine(nn.BatchNorm2d(3)).train(), torch.randn(4, 3, 3, 3) * 1.5 + 0.5,
    "nn.BatchNorm2d(3) train mode, momentum 0.1, eps 1e-5; "
    "buffers_after = running stats after this one step")
out["batchnorm1d_train"] = case(randomize_affine(nn.BatchNorm1d(5)).train(),
                                torch.randn(6, 5) * 1.5 - 0.3, "nn.BatchNorm1d(5) train mode")
bn_eval = randomize_affine(nn.BatchNorm1d(4))
with torch.no_grad():
    bn_eval.running_mean.copy_(torch.randn(4))
    bn_eval.running_var.copy_(0.5 + torch.rand(4) * 1.5)
bn_eval.eval()
out["batchnorm1d_eval"] = case(
    bn_eval, torch.randn(3, 4), "nn.BatchNorm1d(4) eval mode",
    extra={"running_mean": bn_eval.running_mean.clone(),
           "running_var": bn_eval.running_var.clone()})
out["layernorm"] = case(randomize_affine(nn.LayerNorm(6)), torch.randn(3, 6), "nn.LayerNorm(6)")
out["lstm"] = case(nn.LSTM(3, 4, batch_first=True), torch.randn(2, 5, 3),
                   "nn.LSTM(3, 4, batch_first=True); " + RECURRENT_NOTE, run=recurrent)
out["gru"] = case(nn.GRU(3, 4, batch_first=True), torch.randn(2, 5, 3),
                  "nn.GRU(3, 4, batch_first=True); " + RECURRENT_NOTE, run=recurrent)
out["rnn_tanh"] = case(nn.RNN(3, 4, batch_first=True), torch.randn(2, 5, 3),
                       "nn.RNN(3, 4, batch_first=True); " + RECURRENT_NOTE, run=recurrent)
out["lstm_2layer"] = case(nn.LSTM(3, 4, num_layers=2, batch_first=True), torch.randn(2, 4, 3),
                          "nn.LSTM(3, 4, num_layers=2, batch_first=True)", run=recurrent)

embedding = nn.Embedding(7, 3)
indices = torch.randint(0, 7, (2, 3))
weight = embedding.weight.detach().clone()
emb_out = embedding(indices)
emb_up = torch.randn_like(emb_out)
(emb_out * emb_up).sum().backward()
out["embedding"] = {"torch": "nn.Embedding(7, 3)", "indices": indices, "params": {"weight": weight},
                    "outputs": [emb_out.detach()], "upstream": [emb_up],
                    "grad_params": {"weight": embedding.weight.grad}}

ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu_0.01": lambda x: F.leaky_relu(x, 0.01),
    "gelu_erf": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax_dim1": lambda x: F.softmax(x, dim=1),
    "log_softmax_dim1": lambda x: F.log_softmax(x, dim=1),
    "elu": F.elu,
    "silu": F.silu,
    "softplus": F.softplus,
}


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


for name, fn in ACTIVATIONS.items():
    out[name] = case(Fn(fn), torch.randn(3, 5) * 2.0, name)
write("torch/layers.json", out)
