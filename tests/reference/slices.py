#!/usr/bin/env python3
"""Reference values for `mlprobe slices` (issue 23, part 5), computed without mlprobe.

`slices.py fisher --cases N --seed S` prints one JSON line per random 2x2 table [[a, b], [c, d]]
(sizes from a handful to about 10^6 rows, balanced and skewed) with
scipy.stats.fisher_exact(table, alternative="less").pvalue and alternative="greater".

`slices.py search --data FILE.csv --label COL --right FILE --min-size M --alpha A` repeats the
whole search of `mlprobe slices` in numpy/pandas, from its definition in the README:
  - `right`: one 0/1 per line, whether the model is right on the data's row;
  - bins: B = clamp(floor(n / (2 M)), 2, 10); a column with at most 10 distinct values gives
    one segment per value (`== v`); any other is cut at numpy.quantile(column, k / B) (linear,
    in float64, then rounded to float32 as mlprobe compares float32 cells), equal edges
    collapsed: (-inf, e1], (e1, e2], ..., (e_last, inf);
  - segments: every bin, and every pair of bins of two different columns, with at least M
    rows and fewer than n;
  - p: scipy.stats.fisher_exact([[right, wrong] in the segment, [right, wrong] in the rest],
    alternative="less"); adjusted with statsmodels' multipletests(method="fdr_bh");
  - hidden: a pair whose one-column parent (a bin) has adjusted p < A.
It prints one JSON document: bins, segments_searched, hidden_redundant, significant, and the
listed (not hidden) segments as {rows, errors, p_value, p_adjusted}.
"""

import argparse
import json
import sys

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests


def fisher(args):
    rng = np.random.default_rng(args.seed)
    for _ in range(args.cases):
        scale = int(10 ** rng.uniform(0.5, 6))
        n1 = int(rng.integers(1, scale + 1))
        n2 = int(rng.integers(1, scale + 1))
        p1, p2 = rng.uniform(0, 1, size=2)
        if rng.uniform() < 0.7:  # near-equal shares: p-values across (0, 1)
            p2 = min(1.0, max(0.0, p1 + rng.uniform(-0.05, 0.05)))
        a = int(rng.binomial(n1, p1))
        c = int(rng.binomial(n2, p2))
        table = [[a, n1 - a], [c, n2 - c]]
        less = fisher_exact(table, alternative="less").pvalue
        greater = fisher_exact(table, alternative="greater").pvalue
        print(json.dumps({"table": table, "less": float(less), "greater": float(greater)}))


def search(args):
    df = pd.read_csv(args.data)
    right = np.array([int(x) for x in open(args.right).read().split()], dtype=bool)
    features = [c for c in df.columns if c != args.label]
    x = df[features].to_numpy(dtype=np.float32)
    n = len(right)
    assert x.shape[0] == n
    m_size = args.min_size
    bins = min(max(n // (2 * m_size), 2), 10)
    singles = []  # (column index, mask)
    for j in range(len(features)):
        col = x[:, j]
        ok = ~np.isnan(col)
        distinct = np.unique(col[ok])
        if len(distinct) <= 10:
            for v in distinct:
                singles.append((j, ok & (col == v)))
            continue
        q = np.quantile(col[ok].astype(np.float64), [k / bins for k in range(1, bins)])
        edges = []
        for e in q.astype(np.float32):
            if not edges or edges[-1] != e:
                edges.append(e)
        lo = None
        for e in edges:
            mask = ok & (col <= e)
            if lo is not None:
                mask &= col > lo
            singles.append((j, mask))
            lo = e
        singles.append((j, ok & (col > lo)))
    wrong = ~right
    total_wrong = int(wrong.sum())
    segs = []  # (parents or None, mask)
    single_index = {}
    for k, (j, mask) in enumerate(singles):
        size = int(mask.sum())
        if m_size <= size < n:
            single_index[k] = len(segs)
            segs.append((None, mask))
    for a in range(len(singles)):
        for b in range(a + 1, len(singles)):
            if singles[a][0] == singles[b][0]:
                continue
            mask = singles[a][1] & singles[b][1]
            size = int(mask.sum())
            if m_size <= size < n:
                segs.append(((a, b), mask))
    p = []
    counts = []
    for _, mask in segs:
        rows = int(mask.sum())
        errors = int((mask & wrong).sum())
        rest_wrong = total_wrong - errors
        table = [[rows - errors, errors], [n - rows - rest_wrong, rest_wrong]]
        p.append(float(fisher_exact(table, alternative="less").pvalue))
        counts.append((rows, errors))
    adjusted = multipletests(p, method="fdr_bh")[1] if p else []
    sig = lambda k: adjusted[k] < args.alpha
    listed, hidden = [], 0
    for k, (parents, _) in enumerate(segs):
        if parents is not None and any(
            q in single_index and sig(single_index[q]) for q in parents
        ):
            hidden += 1
            continue
        listed.append(
            {"rows": counts[k][0], "errors": counts[k][1], "p_value": p[k],
             "p_adjusted": float(adjusted[k])}
        )
    json.dump(
        {
            "bins": bins,
            "segments_searched": len(segs),
            "hidden_redundant": hidden,
            "significant": sum(1 for s in listed if s["p_adjusted"] < args.alpha),
            "segments": listed,
        },
        sys.stdout,
    )


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    f = sub.add_parser("fisher")
    f.add_argument("--cases", type=int, default=300)
    f.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("search")
    s.add_argument("--data", required=True)
    s.add_argument("--label", default="label")
    s.add_argument("--right", required=True)
    s.add_argument("--min-size", type=int, default=20)
    s.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args()
    fisher(args) if args.what == "fisher" else search(args)


if __name__ == "__main__":
    main()
