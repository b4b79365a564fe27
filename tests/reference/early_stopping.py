#!/usr/bin/env python3
"""Reference values for mlprobe's early-stopping rule (`mlprobe::train::stopping::EarlyStopping`,
issue 23): what scikit-learn's own `MLPClassifier._update_no_improvement_count` does with
`early_stopping=True` on random sequences of validation scores.

Each case draws `tol`, `n_iter_no_change` and a sequence of up to 80 validation accuracies
`k / n` (a random walk over a validation part of n rows, with plateaus, drops and a few NaN
scores, which scikit-learn's comment says the score can be). The classifier is set up as
`_initialize` leaves it for early stopping (`best_validation_score_ = -inf`,
`_no_improvement_count = 0`, `validation_scores_ = []`), its `_score` is replaced by one that
returns the scripted scores, and `coefs_` / `intercepts_` hold the epoch number before each
call, so the `_best_coefs` scikit-learn keeps name the epoch whose weights it would restore.
After each call the stopping test of `_fit_stochastic` is applied (`_no_improvement_count >
n_iter_no_change`; the Adam optimiser's `trigger_stopping` always stops).

One JSON line per case: `tol` (its repr, a string, so Rust parses the same double), `n_iter_no_change`,
`scores` as `[k, n]` pairs (`null` for NaN; the score is the double k / n), `stop_epoch` (1-based,
null when every score ran), `best_epoch` (the epoch of `_best_coefs`, null when it is still the
initial weights) and `best` (`best_validation_score_`, null when still -inf).

Usage: early_stopping.py --cases N --seed S
"""

import argparse
import json
import math
import random
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier


def case(rng):
    n = rng.choice([2, 3, 5, 7, 10, 18, 50, 1000])
    tol = rng.choice([0.0, 1e-4, 1e-3, 0.01, 0.05, 0.1, 1 / n, 2 / n, rng.uniform(0, 0.2)])
    patience = rng.choice([0, 1, 2, 3, 5, 10, rng.randrange(0, 20)])
    k = rng.randrange(0, n + 1)
    scores = []
    for _ in range(rng.randrange(1, 81)):
        r = rng.random()
        if r < 0.03:
            scores.append(None)
            continue
        if r < 0.45:
            pass  # a plateau
        elif r < 0.8:
            k = min(n, k + rng.randrange(1, 3))
        else:
            k = max(0, k - rng.randrange(1, 3))
        scores.append([k, n])
    return tol, patience, scores


def sklearn_says(tol, patience, scores):
    m = MLPClassifier(early_stopping=True, tol=tol, n_iter_no_change=patience)
    # As `_initialize` leaves a stochastic solver with early stopping.
    m.best_validation_score_ = -np.inf
    m._no_improvement_count = 0
    m.validation_scores_ = []
    m.coefs_ = [np.zeros((1, 1))]
    m.intercepts_ = [np.zeros(1)]
    m._best_coefs = [c.copy() for c in m.coefs_]
    m._best_intercepts = [i.copy() for i in m.intercepts_]
    values = iter(float("nan") if s is None else s[0] / s[1] for s in scores)
    m._score = lambda X, y, sample_weight=None: next(values)
    stop = None
    for epoch in range(1, len(scores) + 1):
        m.coefs_ = [np.full((1, 1), float(epoch))]
        m.intercepts_ = [np.full(1, float(epoch))]
        m._update_no_improvement_count(True, None, None, None)
        if m._no_improvement_count > m.n_iter_no_change:
            stop = epoch
            break
    best_epoch = int(m._best_coefs[0][0, 0])
    best = m.best_validation_score_
    return {
        "tol": repr(tol),
        "n_iter_no_change": patience,
        "scores": scores,
        "stop_epoch": stop,
        "best_epoch": best_epoch or None,
        "best": None if math.isinf(best) else best,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    rng = random.Random(a.seed)
    for _ in range(a.cases):
        print(json.dumps(sklearn_says(*case(rng))))


if __name__ == "__main__":
    main()
