"""sklearn/metrics.json: classification and regression metrics computed by scikit-learn.

Three cases drawn from a fixed seed: `binary` (57 samples), `multiclass` (83 samples,
4 classes) and `regression` (41 samples). Labels, predictions and class probabilities are
stored with every metric the Rust tests compare; `roc_curve` keeps scikit-learn's default
`drop_intermediate=True`, and its first threshold (+inf) is written as 1e308 because JSON
has no infinity. `top_2_accuracy` is null for two classes (scikit-learn rejects k >= n).
"""

import numpy as np
from sklearn import metrics

from common import SEED, sklearn_meta, write

rng = np.random.default_rng(SEED)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def label_metrics(y, p):
    out = {
        "accuracy": metrics.accuracy_score(y, p),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, p),
        "confusion_matrix": metrics.confusion_matrix(y, p),
    }
    return out


def averaged(y, p, out):
    for avg in ["micro", "macro", "weighted"]:
        out[f"precision_{avg}"] = metrics.precision_score(y, p, average=avg)
        out[f"recall_{avg}"] = metrics.recall_score(y, p, average=avg)
        out[f"f1_{avg}"] = metrics.f1_score(y, p, average=avg)


# binary: scores separate the classes imperfectly
y = rng.integers(0, 2, 57)
p1 = 1.0 / (1.0 + np.exp(-(1.6 * (2 * y - 1) + rng.normal(0.0, 1.6, y.size))))
proba = np.stack([1.0 - p1, p1], axis=1)
pred = (p1 >= 0.5).astype(int)
binary = {"y_true": y, "y_pred": pred, "proba": proba, "n_classes": 2}
binary.update(label_metrics(y, pred))
binary["log_loss"] = metrics.log_loss(y, proba)
binary["matthews_corrcoef"] = metrics.matthews_corrcoef(y, pred)
binary["top_2_accuracy"] = None
averaged(y, pred, binary)
binary["roc_auc"] = metrics.roc_auc_score(y, p1)
binary["average_precision"] = metrics.average_precision_score(y, p1)
binary["precision_binary"] = metrics.precision_score(y, pred)
binary["recall_binary"] = metrics.recall_score(y, pred)
binary["f1_binary"] = metrics.f1_score(y, pred)
fpr, tpr, thresholds = metrics.roc_curve(y, p1)
thresholds = np.where(np.isinf(thresholds), 1e308, thresholds)
binary["roc_curve"] = {"fpr": fpr, "tpr": tpr, "thresholds": thresholds}

# multiclass: 4 classes, the true class's logit raised
y = rng.integers(0, 4, 83)
logits = rng.normal(0.0, 1.0, (83, 4))
logits[np.arange(83), y] += 1.6
proba = softmax(logits)
pred = proba.argmax(axis=1)
multiclass = {"y_true": y, "y_pred": pred, "proba": proba, "n_classes": 4}
multiclass.update(label_metrics(y, pred))
multiclass["log_loss"] = metrics.log_loss(y, proba)
multiclass["matthews_corrcoef"] = metrics.matthews_corrcoef(y, pred)
multiclass["top_2_accuracy"] = metrics.top_k_accuracy_score(y, proba, k=2)
averaged(y, pred, multiclass)
multiclass["roc_auc_ovr_macro"] = metrics.roc_auc_score(y, proba, multi_class="ovr",
                                                        average="macro")
multiclass["roc_auc_ovr_weighted"] = metrics.roc_auc_score(y, proba, multi_class="ovr",
                                                           average="weighted")

# regression
y = rng.normal(4.0, 1.5, 41)
pred = y + rng.normal(0.0, 1.0, 41)
regression = {
    "y_true": y,
    "y_pred": pred,
    "mse": metrics.mean_squared_error(y, pred),
    "rmse": metrics.root_mean_squared_error(y, pred),
    "mae": metrics.mean_absolute_error(y, pred),
    "r2": metrics.r2_score(y, pred),
    "explained_variance": metrics.explained_variance_score(y, pred),
    "median_absolute_error": metrics.median_absolute_error(y, pred),
}

write("sklearn/metrics.json", {"meta": sklearn_meta(), "binary": binary,
                               "multiclass": multiclass, "regression": regression})
