"""captum/attributions.json: attributions of two small models by Captum (and SHAP).

`tabular_mlp`: Sequential(Linear(4,3), ReLU, Linear(3,2)) on 3 inputs, target 1: saliency
(abs and signed), input x gradient, Integrated Gradients with each of Captum's five rules
(50 steps, zero baseline) and with a 0.5 baseline, DeepLIFT (rescale), feature ablation and
exact interventional Shapley values against a 5-row background (checked here against
shap.KernelExplainer to 1e-6).

`image_cnn`: Sequential(Conv2d(1,2,3), ReLU, Conv2d(2,2,3), ReLU, Flatten, Linear(8,3)) on
two 1x6x6 images, target 2: saliency, IG (trapezoid, 32 steps), Grad-CAM on the second conv
(before its ReLU; with and without the final ReLU), occlusion with two windows, guided
backprop. Parameters are stored under PyTorch's names.
"""

import itertools
import math

import captum
import numpy as np
import shap
import torch
import torch.nn as nn
from captum.attr import (DeepLift, FeatureAblation, GuidedBackprop, InputXGradient,
                         IntegratedGradients, LayerGradCam, Occlusion, Saliency)

from common import SEED, torch_version, write

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)


def params(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def ig(model, x, target, method, steps, baseline=None):
    attr, delta = IntegratedGradients(model).attribute(
        x, baselines=baseline, target=target, n_steps=steps, method=method,
        return_convergence_delta=True)
    return {"attributions": attr, "convergence_delta": delta}


def exact_shapley(f, x, background, output):
    """Interventional Shapley values: v(S) = mean over background rows of f with S from x."""
    n = x.shape[1]
    values = np.zeros_like(x)
    for r, row in enumerate(x):
        def v(subset):
            z = background.copy()
            z[:, list(subset)] = row[list(subset)]
            return f(z)[:, output].mean()
        for i in range(n):
            others = [j for j in range(n) if j != i]
            for k in range(n):
                for s in itertools.combinations(others, k):
                    w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                    values[r, i] += w * (v(s + (i,)) - v(s))
    return values


# --- tabular MLP -------------------------------------------------------------------------
mlp = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
x = torch.randn(3, 4) * 1.2
target = 1
tab = {"model": "Sequential(Linear(4,3), ReLU, Linear(3,2)); params named as PyTorch: "
                "0.weight, 0.bias, 2.weight, 2.bias",
       "params": params(mlp), "inputs": x, "target": target, "outputs": mlp(x).detach(),
       "saliency_abs": Saliency(mlp).attribute(x, target=target, abs=True),
       "saliency_signed": Saliency(mlp).attribute(x, target=target, abs=False),
       "input_x_gradient": InputXGradient(mlp).attribute(x, target=target)}
for method in ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
               "riemann_trapezoid"]:
    tab[f"ig_zero_baseline_{method}_50"] = ig(mlp, x, target, method, 50)
half = torch.full_like(x, 0.5)
tab["ig_baseline_0.5_riemann_trapezoid_50"] = {
    "baseline": half, **ig(mlp, x, target, "riemann_trapezoid", 50, baseline=half)}
dl, dl_delta = DeepLift(mlp).attribute(x, target=target, return_convergence_delta=True)
tab["deeplift_rescale_zero_baseline"] = {"attributions": dl, "convergence_delta": dl_delta}
tab["feature_ablation_baseline0"] = FeatureAblation(mlp).attribute(x, target=target)

background = torch.randn(5, 4)


def f_np(z):
    with torch.no_grad():
        return mlp(torch.as_tensor(z)).numpy()


values = exact_shapley(f_np, x.numpy(), background.numpy(), target)
kernel = shap.KernelExplainer(f_np, background.numpy())
kernel_values = np.asarray(kernel.shap_values(x.numpy(), silent=True))
kernel_values = kernel_values[..., target] if kernel_values.shape[-1] == 2 else kernel_values[target]
assert np.abs(kernel_values - values).max() < 1e-6, "KernelExplainer disagrees with exact"
tab["shapley_exact"] = {
    "background": background, "output_index": target, "values": values,
    "base_value": float(f_np(background.numpy())[:, target].mean()),
    "note": "interventional Shapley values (value of a coalition S = mean over background "
            "rows of f with features S taken from x); shap.KernelExplainer agrees to 1e-6"}

# --- image CNN ---------------------------------------------------------------------------
cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(), nn.Flatten(),
                    nn.Linear(8, 3)).eval()
images = torch.randn(2, 1, 6, 6)
target = 2
gradcam = LayerGradCam(cnn, cnn[2])
img = {"model": "Sequential(Conv2d(1,2,3), ReLU, Conv2d(2,2,3), ReLU, Flatten, Linear(8,3)); "
                "params named as PyTorch",
       "params": params(cnn), "inputs": images, "target": target,
       "outputs": cnn(images).detach(),
       "saliency_abs": Saliency(cnn).attribute(images, target=target, abs=True),
       "ig_zero_baseline_riemann_trapezoid_32": ig(cnn, images, target, "riemann_trapezoid", 32),
       "gradcam_layer2_conv": {
           "layer": "module index 2 (second Conv2d, before its ReLU)",
           "attributions": gradcam.attribute(images, target=target, relu_attributions=False),
           "attributions_relu": gradcam.attribute(images, target=target,
                                                  relu_attributions=True)},
       "occlusion_window_1x2x2_stride_1x2x2_baseline0": Occlusion(cnn).attribute(
           images, sliding_window_shapes=(1, 2, 2), strides=(1, 2, 2), baselines=0,
           target=target),
       "occlusion_window_1x3x3_stride_1x1x1_baseline0": Occlusion(cnn).attribute(
           images, sliding_window_shapes=(1, 3, 3), strides=(1, 1, 1), baselines=0,
           target=target),
       "guided_backprop": GuidedBackprop(cnn).attribute(images, target=target)}

write("captum/attributions.json", {
    "meta": {"generator": f"captum {captum.__version__}, {torch_version()}, "
                          f"shap {shap.__version__}",
             "seed": SEED, "dtype": "float64",
             "conventions": "Captum defaults unless named: Saliency abs=True; IG "
                            "convergence_delta = sum(attr) - (f(x) - f(baseline)); Occlusion "
                            "gives each feature the mean of the output drops of the windows "
                            "covering it"},
    "tabular_mlp": tab,
    "image_cnn": img})
