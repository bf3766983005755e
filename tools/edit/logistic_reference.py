#!/usr/bin/env python3
"""Reference fits for fauxto-edit's logistic regression (crates/fauxto-edit/src/logistic.rs).

Draws two overlapping Gaussian classes in 16 dimensions with numpy and fits scikit-learn's
L2-regularised LogisticRegression (lbfgs, intercept unpenalised) at two strengths, writing
the data and the coefficients to crates/fauxto-edit/tests/fixtures/logistic.json.

    pip install numpy scikit-learn
    python3 tools/edit/logistic_reference.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/fauxto-edit/tests/fixtures/logistic.json"


def main():
    rng = np.random.RandomState(20261205)
    n, d = 300, 16
    shift = rng.randn(d) * 0.4
    labels = rng.rand(n) < 0.45
    rows = rng.randn(n, d) * rng.uniform(0.5, 2.0, size=d) + np.where(labels[:, None], shift, -shift)
    # Four decimals: exact enough in float32, small in JSON.
    rows = np.round(rows, 4).astype(np.float32)
    fits = []
    for lam in (1.0, 0.05):
        model = LogisticRegression(C=1.0 / lam, tol=1e-12, max_iter=100000)
        model.fit(rows.astype(np.float64), labels)
        fits.append({
            "lambda": lam,
            "weight": model.coef_[0].tolist(),
            "bias": float(model.intercept_[0]),
            "accuracy": float(model.score(rows.astype(np.float64), labels)),
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "generator": f"tools/edit/logistic_reference.py, scikit-learn {sklearn.__version__}",
        "rows": [[round(float(v), 4) for v in r] for r in rows],
        "labels": labels.tolist(),
        "fits": fits,
    }))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
