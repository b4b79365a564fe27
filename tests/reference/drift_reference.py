"""Tables and expected values for `mlprobe drift` (tests/tests/drift.rs).

    .venv/bin/python tests/reference/drift_reference.py --out DIR [--seed 20]

Writes into DIR, from numpy's default_rng(seed):
- big_ref.csv / big_cur.csv (3,000 / 2,500 rows) and small_ref.csv / small_cur.csv (60 / 45
  rows, for the small-sample branches of the KS distribution): numeric columns with a shift
  (`shift`), without one (`same`), integer ties (`ties`), categorical columns with changed
  proportions (`colour`), two categories (`answer`: Yates' correction) and booleans (`flag`);
  missing cells (empty for numbers, `NA` for categories) in `shift` and `colour`;
- same_ref.csv / same_cur.csv: the current a fresh sample of the reference's distributions
  (no drift at this seed: the script checks it);
- expected.json: per table pair and column what the reference implementations say:
  * numeric: scipy.stats.ks_2samp(ref, cur, method="asymp") (statistic, pvalue),
    scipy.stats.wasserstein_distance(ref, cur), and PSI computed here in numpy by mlprobe's
    definition: edges numpy.quantile(ref, [0.1, ..., 0.9]) (method "linear"), bins
    (-inf, q1], (q1, q2], ..., (q9, inf) (numpy.searchsorted(edges, x, side="left")), each
    proportion floored at 1e-4, PSI = sum((a - e) * ln(a / e)) with e the reference's;
  * categorical: scipy.stats.chi2_contingency of the 2 x k table of counts over the sorted
    union of categories (statistic, pvalue, dof), PSI over those categories (same floor);
  * statsmodels.stats.multitest.multipletests(p, method="fdr_bh") over the columns' p-values
    (adjusted p-values; drifted = adjusted < alpha 0.05);
  * missing and non-missing counts;
- kstwo.json: scipy.stats.kstwo.sf(d, n) on a grid of (d, n) over every branch of
  scipy's `_kolmogn` (n from 1 to 5e6), for the port in host/src/drift/ks.rs.
"""

import argparse
import json
import os

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

EPS = 1e-4
ALPHA = 0.05


def psi(ref_counts, cur_counts):
    e = np.maximum(ref_counts / ref_counts.sum(), EPS)
    a = np.maximum(cur_counts / cur_counts.sum(), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_expected(ref, cur):
    ref = np.array([x for x in ref if x is not None], dtype=float)
    cur = np.array([x for x in cur if x is not None], dtype=float)
    ks = stats.ks_2samp(ref, cur, method="asymp")
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    rc = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10)
    cc = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=10)
    return {
        "kind": "numeric",
        "values": [len(ref), len(cur)],
        "ks_statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
        "wasserstein": float(stats.wasserstein_distance(ref, cur)),
        "psi": psi(rc, cc),
        "deciles": [float(x) for x in edges],
    }


def categorical_expected(ref, cur):
    ref = [x for x in ref if x is not None]
    cur = [x for x in cur if x is not None]
    cats = sorted(set(ref) | set(cur))
    rc = np.array([ref.count(c) for c in cats])
    cc = np.array([cur.count(c) for c in cats])
    r = stats.chi2_contingency(np.array([rc, cc]))
    return {
        "kind": "categorical",
        "values": [len(ref), len(cur)],
        "chi2": float(r.statistic),
        "p_value": float(r.pvalue),
        "dof": int(r.dof),
        "psi": psi(rc, cc),
        "categories": cats,
    }


def with_missing(rng, values, share, marker=None):
    return [marker if rng.random() < share else v for v in values]


def table(rng, n, shifted):
    """Columns of one table: `shifted` moves every distribution."""
    s = 1 if shifted else 0
    return {
        "shift": with_missing(rng, list(rng.normal(0.3 * s, 1.0, n)), 0.03),
        "same": list(rng.normal(5.0, 2.0, n)),
        "ties": [int(x) for x in rng.choice(10, n, p=np.r_[[0.1] * 10] if not s else
                                            np.r_[[0.16] + [0.09] * 8 + [0.12]])],
        "colour": with_missing(rng, list(rng.choice(["red", "green", "blue", "violet"], n,
                                                    p=[0.4, 0.3, 0.2, 0.1] if not s else
                                                    [0.3, 0.3, 0.25, 0.15])), 0.05),
        "answer": list(rng.choice(["yes", "no"], n, p=[0.5, 0.5] if not s else [0.55, 0.45])),
        "flag": list(rng.choice(["true", "false"], n, p=[0.7, 0.3])),
    }


NUMERIC = {"shift", "same", "ties"}


def write_csv(path, cols):
    names = list(cols)
    n = len(cols[names[0]])
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            cells = []
            for c in names:
                v = cols[c][i]
                if v is None:
                    cells.append("" if c in NUMERIC else "NA")
                elif isinstance(v, float):
                    cells.append(repr(float(v)))  # not numpy's repr, "np.float64(…)"
                else:
                    cells.append(str(v))
            f.write(",".join(cells) + "\n")


def expected(ref, cur):
    columns = {}
    for c in ref:
        e = (numeric_expected if c in NUMERIC else categorical_expected)(ref[c], cur[c])
        e["missing"] = [sum(v is None for v in ref[c]), sum(v is None for v in cur[c])]
        columns[c] = e
    names = list(columns)
    adjusted = multipletests([columns[c]["p_value"] for c in names], method="fdr_bh")[1]
    for c, a in zip(names, adjusted):
        columns[c]["adjusted_p_value"] = float(a)
        columns[c]["drifted"] = bool(a < ALPHA)
    return {"columns": columns, "order": names}


def kstwo_grid(rng):
    out = []
    ns = [1, 2, 3, 7, 20, 55, 100, 140, 141, 500, 5000, 40000, 100000, 100001, 1000000,
          5000000]
    for n in ns:
        # scipy's smirnov sums up to n terms: fewer points where n is large, to stay quick.
        k = 2 if n == 1000000 else 10
        for d in np.concatenate([rng.uniform(0, 1, 6), rng.uniform(0, 4 / np.sqrt(n), k)]):
            d = float(min(d, 0.999999))
            out.append([d, n, float(stats.kstwo.sf(d, n))])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    result = {"seed": args.seed, "scipy": scipy.__version__, "numpy": np.__version__,
              "statsmodels": statsmodels.__version__, "alpha": ALPHA, "pairs": {}}
    for name, (nr, nc, shifted) in {"big": (3000, 2500, True), "small": (60, 45, True),
                                    "same": (3000, 2500, False)}.items():
        ref, cur = table(rng, nr, False), table(rng, nc, shifted)
        write_csv(os.path.join(args.out, f"{name}_ref.csv"), ref)
        write_csv(os.path.join(args.out, f"{name}_cur.csv"), cur)
        result["pairs"][name] = expected(ref, cur)
    drifted = [c for c, e in result["pairs"]["same"]["columns"].items() if e["drifted"]]
    assert not drifted, f"seed {args.seed}: the no-drift pair drifted in {drifted}"
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.out, "kstwo.json"), "w") as f:
        json.dump(kstwo_grid(rng), f)


if __name__ == "__main__":
    main()
