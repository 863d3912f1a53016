"""torch/losses.json: losses on fixed logits/targets and their gradients (float64).

Classification losses share `_inputs.logits` [6, 4], `_inputs.targets` and
`_inputs.class_weights`; regression losses share `_inputs.pred` [5, 2] and each keep their
own `target` (0/1 labels for BCE-with-logits).
"""

import torch
import torch.nn.functional as F

from common import SEED, torch_meta, write

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)
logits = torch.randn(6, 4) * 1.5
targets = torch.randint(0, 4, (6,))
class_weights = torch.tensor([1.0, 2.0, 0.5, 1.5])
pred = torch.randn(5, 2) * 1.5


def classification(fn):
    x = logits.clone().requires_grad_(True)
    loss = fn(x)
    loss.backward()
    return {"loss": loss.item(), "grad_logits": x.grad}


def regression(fn, target):
    p = pred.clone().requires_grad_(True)
    loss = fn(p, target)
    loss.backward()
    return {"loss": loss.item(), "grad_pred": p.grad, "target": target}


out = {"meta": torch_meta()}
out["cross_entropy_mean"] = classification(lambda x: F.cross_entropy(x, targets))
out["cross_entropy_sum"] = classification(
    lambda x: F.cross_entropy(x, targets, reduction="sum"))
out["cross_entropy_weighted"] = classification(
    lambda x: F.cross_entropy(x, targets, weight=class_weights))
out["cross_entropy_label_smoothing_0.1"] = classification(
    lambda x: F.cross_entropy(x, targets, label_smoothing=0.1))
out["nll_of_log_softmax"] = classification(
    lambda x: F.nll_loss(F.log_softmax(x, dim=1), targets))
out["_inputs"] = {"logits": logits, "targets": targets, "class_weights": class_weights,
                  "pred": pred}
out["mse"] = regression(F.mse_loss, torch.randn(5, 2))
out["l1"] = regression(F.l1_loss, torch.randn(5, 2))
huber_target = torch.randn(5, 2) * 1.5
out["huber_delta1"] = regression(lambda p, t: F.huber_loss(p, t, delta=1.0), huber_target)
out["smooth_l1"] = regression(lambda p, t: F.smooth_l1_loss(p, t, beta=1.0), huber_target)
out["bce_with_logits"] = regression(F.binary_cross_entropy_with_logits,
                                  torch.randint(0, 2, (5, 2)).double())
write("torch/losses.json", out)
