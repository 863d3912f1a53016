"""torch/optim.json: parameter trajectories of torch.optim on mean((A p - b)^2).

Each optimizer starts from the same p0 and takes 6 steps; the file holds the parameters
after every step (float64). The Rust test recomputes the gradient itself from A, b and its
own parameters, so only A, b, p0 and the trajectories are needed.
"""

import torch

from common import SEED, torch_meta, write

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)
A = torch.randn(8, 6)
b = torch.randn(8)
p0 = torch.randn(6)

OPTIMIZERS = {
    "sgd_lr0.1": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum0.9_lr0.05": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "sgd_nesterov_wd0.01": lambda p: torch.optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam_lr0.1": lambda p: torch.optim.Adam(p, lr=0.1),
    "adam_lr0.1_wd0.01": lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.01),
    "adamw_lr0.1_wd0.1": lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1),
    "rmsprop_lr0.01": lambda p: torch.optim.RMSprop(p, lr=0.01),
    "adagrad_lr0.1": lambda p: torch.optim.Adagrad(p, lr=0.1),
}


def trajectory(make):
    p = p0.clone().requires_grad_(True)
    opt = make([p])
    steps = []
    for _ in range(6):
        opt.zero_grad()
        loss = ((A @ p - b) ** 2).mean()
        loss.backward()
        opt.step()
        steps.append(p.detach().clone())
    return steps


out = {
    "meta": torch_meta(),
    "problem": "loss(p) = mean((A p - b)^2); 6 steps from p0; params after each step",
    "A": A,
    "b": b,
    "p0": p0,
}
for name, make in OPTIMIZERS.items():
    out[name] = trajectory(make)
write("torch/optim.json", out)
