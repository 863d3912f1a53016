"""sklearn/preprocessing.json: scalers, imputers, encoders and folds by scikit-learn.

`X` is 25 rows of the wine data (data/tabular/wine.csv, features only) drawn with a fixed
seed; `X_missing` is a copy with about 12% of its entries missing (written as null). Each
scaler and imputer is fitted and applied to the whole matrix (`fit_transform`). The
categorical case one-hot and label encodes 15 colour names; the folds are KFold(5) over 23
samples and StratifiedKFold(5) over 23 labels, without shuffling (test indices per fold).
"""

import numpy as np
from sklearn import impute, model_selection, preprocessing

from common import SEED, repo_data, sklearn_meta, write

rng = np.random.default_rng(SEED)
wine = np.genfromtxt(repo_data("tabular/wine.csv"), delimiter=",", skip_header=1)[:, :-1]
X = wine[np.sort(rng.choice(len(wine), 25, replace=False))]
X_missing = X.copy()
X_missing[rng.random(X.shape) < 0.12] = np.nan

scalers = {
    "standard": preprocessing.StandardScaler(),
    "minmax": preprocessing.MinMaxScaler(),
    "robust": preprocessing.RobustScaler(),
    "maxabs": preprocessing.MaxAbsScaler(),
    "normalizer_l2": preprocessing.Normalizer(norm="l2"),
}
imputers = {s: impute.SimpleImputer(strategy=s) for s in ["mean", "median", "most_frequent"]}

colours = np.array(["red", "green", "blue"])[rng.integers(0, 3, 15)].reshape(-1, 1)
onehot = preprocessing.OneHotEncoder(sparse_output=False).fit(colours)
labels = preprocessing.LabelEncoder().fit_transform(colours.ravel())

y_strat = rng.integers(0, 3, 23)
kfold = [test for _, test in model_selection.KFold(5).split(np.zeros(23))]
strat = [test for _, test in model_selection.StratifiedKFold(5).split(np.zeros(23), y_strat)]

write("sklearn/preprocessing.json", {
    "meta": sklearn_meta(),
    "X": X,
    "scalers": {name: s.fit_transform(X) for name, s in scalers.items()},
    "X_missing": X_missing,
    "imputers": {name: imp.fit_transform(X_missing) for name, imp in imputers.items()},
    "categorical": {
        "values": colours.ravel().tolist(),
        "onehot_categories_sorted": onehot.categories_[0].tolist(),
        "onehot": onehot.transform(colours),
        "label_encoded": labels,
    },
    "kfold_5_noshuffle_n23": kfold,
    "stratified_kfold_5_noshuffle": {"y": y_strat, "test_folds": strat},
})
