"""sklearn/feature_selection.json: univariate feature scores on the wine data.

f_classif (ANOVA F and p-values), chi2 (statistics and p-values), the population variance of
every feature, and the indices SelectKBest(f_classif, k=5) keeps, on all 178 rows of
data/tabular/wine.csv (the last column, `target`, is the class).
"""

import numpy as np
from sklearn import feature_selection

from common import repo_data, sklearn_meta, write

data = np.genfromtxt(repo_data("tabular/wine.csv"), delimiter=",", skip_header=1)
X, y = data[:, :-1], data[:, -1].astype(int)
F, p_f = feature_selection.f_classif(X, y)
chi, p_chi = feature_selection.chi2(X, y)
best = feature_selection.SelectKBest(feature_selection.f_classif, k=5).fit(X, y)

write("sklearn/feature_selection.json", {
    "meta": sklearn_meta(),
    "dataset": "wine (shared/data/tabular/wine.csv)",
    "f_classif": {"F": F, "pvalues": p_f},
    "chi2": {"chi2": chi, "pvalues": p_chi},
    # a threshold above 0: at 0, scikit-learn reports min(variance, peak-to-peak)
    "variance": feature_selection.VarianceThreshold(0.1).fit(X).variances_,
    "select_k_best_f_classif_k5": np.sort(best.get_support(indices=True)),
})
