"""Writes the fixture of `mlprobe eval --predictions` and scikit-learn's metrics for it.

    .venv/bin/python tests/reference/make_predictions.py

data/wine.predictions.csv: another model's predictions on data/wine.csv, the way a
scikit-learn user would hand them to mlprobe: a deliberately weak LogisticRegression (two
standardised features, alcohol and malic_acid, so that the confusion matrix is not diagonal),
5-fold cross-validated predictions of every row (`cross_val_predict`, stratified folds), with
columns `alcohol` (to slice on), `label`, `prediction` and `p_0`, `p_1`, `p_2`.

data/wine.predictions.sklearn.json: what scikit-learn reports for those columns, for all rows
and for the slice `alcohol > 13`: accuracy_score, precision_recall_fscore_support (per class,
over the labels present in truth or prediction, zero_division=0), their macro averages, and
confusion_matrix(labels=range(3)). tests/tests/predictions.rs compares `mlprobe eval
--predictions` with it.
"""

import csv
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[2]
SLICE = "alcohol > 13"


def metrics(y, p, classes):
    present = sorted(set(y.tolist()) | set(p.tolist()))
    prec, rec, f1, support = precision_recall_fscore_support(
        y, p, labels=present, average=None, zero_division=0
    )
    mp, mr, mf, _ = precision_recall_fscore_support(
        y, p, labels=present, average="macro", zero_division=0
    )
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, p)),
        "precision_macro": float(mp),
        "recall_macro": float(mr),
        "f1_macro": float(mf),
        "per_class": [
            {
                "label": int(k),
                "precision": float(prec[i]),
                "recall": float(rec[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, k in enumerate(present)
        ],
        "confusion": confusion_matrix(y, p, labels=list(range(classes))).tolist(),
    }


def main():
    with open(ROOT / "data/wine.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    features = ["alcohol", "malic_acid"]
    x = np.array([[float(r[c]) for c in features] for r in rows])
    y = np.array([int(r["label"]) for r in rows])
    model = make_pipeline(StandardScaler(), LogisticRegression())
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")
    pred = proba.argmax(axis=1)
    classes = proba.shape[1]

    out = ROOT / "data/wine.predictions.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["alcohol", "label", "prediction"] + [f"p_{k}" for k in range(classes)])
        for r, t, p, pr in zip(rows, y, pred, proba):
            w.writerow([r["alcohol"], int(t), int(p)] + [repr(float(v)) for v in pr])

    alcohol = x[:, 0]
    in_slice = alcohol > 13
    expected = {
        "source": "tests/reference/make_predictions.py",
        "sklearn": sklearn.__version__,
        "all": metrics(y, pred, classes),
        "slices": {SLICE: metrics(y[in_slice], pred[in_slice], classes)},
    }
    (ROOT / "data/wine.predictions.sklearn.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {out} ({len(y)} rows, accuracy {expected['all']['accuracy']:.4f})")


if __name__ == "__main__":
    main()
