"""statsmodels' McNemar test on random paired tables, for tests/tests/compare.rs.

    .venv/bin/python tests/reference/paired.py --cases 2000 --seed 7

Prints one JSON object per line: the table `[a, b, c, d]` (a both right, b baseline only,
c candidate only, d both wrong) and what
`statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]])` reports, exact
(`exact=True`: p = min(1, 2 * binom.cdf(min(b, c), b + c, 0.5))) and with the continuity
correction (`exact=False, correction=True`: (|b - c| - 1)^2 / (b + c), chi2.sf(., 1)).
Where scipy's binomial tail underflows (statsmodels' p below 1e-250, printed as 0), the exact
p-value is also summed term by term from lgamma (`exact_p_value_sum`), the value to check.
Discordant counts are drawn log-uniformly from 0 to 10^5 (half the cases below 40, where the
exact and corrected tests differ most), b = c and b + c = 0 included; the concordant counts
do not enter McNemar's test and are drawn small so that tables stay cheap to write as rows.
"""

import argparse
import json
import math
import random
import warnings

import mpmath
import statsmodels
from statsmodels.stats.contingency_tables import mcnemar


def binomial_tail_sum(n, k):
    """2 P(X <= k), X ~ Bin(n, 1/2), k < n/2, summed at 40 significant digits (mpmath): the
    largest term is C(n, k) / 2^n, each next one smaller by i / (n - i + 1). In doubles the
    logarithm of the first term (about -690 near 1e-300, from lgamma of numbers near 1e5) is off
    by 1e-10 absolute, which is 1e-10 relative in the p-value: as coarse as the test's tolerance."""
    with mpmath.workdps(40):
        term = mpmath.binomial(n, k) / mpmath.mpf(2) ** n
        total = mpmath.mpf(0)
        for i in range(k, -1, -1):
            total += term
            if i == 0 or term < mpmath.mpf(10) ** -30 * total:
                break
            term *= mpmath.mpf(i) / (n - i + 1)
        return float(min(mpmath.mpf(1), 2 * total))


def discordant(rng):
    if rng.random() < 0.5:
        return rng.randint(0, 40)
    return int(math.exp(rng.uniform(0.0, math.log(1e5))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    fixed = [(0, 0), (4, 4), (0, 1), (1, 0), (3, 10), (16, 6), (0, 25), (100000, 99000)]
    for k in range(args.cases):
        if k < len(fixed):
            b, c = fixed[k]
        else:
            b = discordant(rng)
            c = b if rng.random() < 0.1 else discordant(rng)
        a, d = rng.randint(0, 60), rng.randint(0, 20)
        table = [[a, b], [c, d]]
        exact = mcnemar(table, exact=True)
        row = {
            "table": [a, b, c, d],
            "exact_p_value": float(exact.pvalue),
            "statsmodels": statsmodels.__version__,
        }
        if row["exact_p_value"] < 1e-250:
            row["exact_p_value_sum"] = binomial_tail_sum(b + c, min(b, c))
        if b + c > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                corrected = mcnemar(table, exact=False, correction=True)
            row["chi2"] = float(corrected.statistic)
            row["chi2_p_value"] = float(corrected.pvalue)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
