#!/usr/bin/env python3
"""Reference values for `mlprobe ab ttest` (issue 21): random tables of units and what scipy,
statsmodels and numpy say about them.

Each case is a table written to DIR (CSV with every float as its shortest repr, so mlprobe
reads the same doubles; some cases as Parquet through pyarrow), with 2-4 variants of
log-uniform sizes (3 to 30,000 units), metrics drawn from normal, lognormal, 0/1 and
offset-by-1e6 distributions, a covariate correlated with the metric, a guardrail column, and
a few missing cells. One JSON line per case on stdout: the file, the flags, and

- per comparison (treatment - control): scipy.stats.ttest_ind(treatment, control,
  equal_var=False, alternative=...) statistic, pvalue, df and confidence_interval(1 - alpha);
  the relative lift m_t/m_c - 1 and its delta-method interval (numpy, the formula of
  mlprobe_core::means: Var = s_t^2/(n_t m_c^2) + m_t^2 s_c^2/(n_c m_c^4), normal quantiles);
- with a covariate, CUPED (Deng et al. 2013) in numpy: theta = cov(y, x)/var(x) over every
  arm, y - theta (x - mean x), then the same scipy test on the adjusted values, and the
  variance reduction 1 - (s_c'^2/n_c + s_t'^2/n_t)/(s_c^2/n_c + s_t^2/n_t);
- p-values adjusted by statsmodels.stats.multitest.multipletests (holm, bonferroni, fdr_bh);
- with three arms or more, statsmodels.stats.oneway.anova_oneway(use_var="unequal")
  statistic, pvalue, df_num, df_denom;
- per guardrail and treatment, scipy's one-sided Welch test of (treatment - margin) against
  control (alternative "less" for a positive margin, "greater" for a negative one).

Every fourth case is also a ratio case (`ab ratio`): per user, clicks and sessions (Poisson,
sessions at least 1 in most rows, some users with none), and per variant R = sum(clicks) /
sum(sessions) with the delta-method variance of Deng, Knoblich & Lu (KDD 2018, eq. 4) in numpy
from np.cov (ddof 1): Var(R) = (s_y^2 - 2 R s_xy + R^2 s_x^2) / (n mean_x^2); z, its normal
p-value and interval from scipy.stats.norm, the relative lift's interval by the delta method.

Every fourth case also plans a t-test (`ab power --sd`): random effect sizes, sizes, ratios,
levels and sidedness, and statsmodels.stats.power.TTestIndPower().power (the noncentral t).

Every fourth case (another) is a rates case (`ab rates`): 2-5 arms of random counts, each
treatment against the first by statsmodels' proportions_ztest (pooled), adjusted by
multipletests, and scipy.stats.chi2_contingency(correction=False) over every arm.

Usage: means.py --cases N --seed S --dir DIR
"""

import argparse
import json
import math
import os

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.oneway import anova_oneway

ADJUST = {"holm": "holm", "bonferroni": "bonferroni", "bh": "fdr_bh"}
SCIPY_ALT = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}


def draw(rng, kind, n, shift):
    if kind == "normal":
        return rng.normal(10.0 + shift, 3.0, n)
    if kind == "lognormal":
        return rng.lognormal(1.0 + 0.1 * shift, 1.2, n)
    if kind == "binary":
        return (rng.random(n) < 0.3 + 0.05 * shift).astype(float)
    # Large offset, small spread: the streamed moments must keep the digits.
    return 1e6 + rng.normal(shift * 1e-3, 1e-2, n)


def bounds(lo, hi):
    f = lambda v: float(v) if math.isfinite(v) else None
    return [f(lo), f(hi)]


def relative(c, t, alpha, alternative, base):
    mc, mt = c.mean() + base, t.mean() + base
    if mc == 0:
        return None, None
    vc, vt = c.var(ddof=1) / len(c), t.var(ddof=1) / len(t)
    lift = mt / mc - 1
    se = math.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
    if alternative == "two-sided":
        q = stats.norm.ppf(1 - alpha / 2)
        return lift, [lift - q * se, lift + q * se]
    q = stats.norm.ppf(1 - alpha)
    return lift, ([lift - q * se, None] if alternative == "larger" else [None, lift + q * se])


def welch(c, t, alpha, alternative):
    r = stats.ttest_ind(t, c, equal_var=False, alternative=SCIPY_ALT[alternative])
    ci = r.confidence_interval(1 - alpha)
    return {
        "difference": float(t.mean() - c.mean()),
        "t": float(r.statistic),
        "p_value": float(r.pvalue),
        "df": float(r.df),
        "ci": bounds(ci.low, ci.high),
    }


def case(rng, i, directory):
    k = int(rng.choice([2, 2, 3, 4]))
    names = ["control"] + [f"t{j}" for j in range(1, k)]
    rng.shuffle(names)
    sizes = [int(math.exp(rng.uniform(math.log(3), math.log(30000)))) for _ in names]
    kind = str(rng.choice(["normal", "lognormal", "binary", "offset"]))
    alpha = float(rng.choice([0.05, 0.01, 0.1]))
    alternative = str(rng.choice(["two-sided", "two-sided", "larger", "smaller"]))
    adjust = str(rng.choice(list(ADJUST)))
    covariate = kind != "binary" and rng.random() < 0.5
    margin = float(rng.choice([2.0, -2.0, 0.5]))
    arms = {}
    for name, n in zip(names, sizes):
        shift = 0.0 if name == "control" else float(rng.normal(0, 1))
        y = draw(rng, kind, n, shift)
        x = y * 0.7 + rng.normal(0, 1.0, n) if covariate else np.zeros(n)
        g = rng.normal(100.0 + shift, 5.0, n)
        arms[name] = (y, x, g)
    # Rows in a random order, with a few missing cells: a missing variant or metric leaves
    # the row out; a missing guardrail value only that value.
    rows = []
    for name, (y, x, g) in arms.items():
        for j in range(len(y)):
            rows.append([name, repr(float(y[j])), repr(float(x[j])), repr(float(g[j]))])
    order = rng.permutation(len(rows))
    rows = [rows[j] for j in order]
    extra = []
    for _ in range(int(rng.integers(0, 4))):
        extra.append(["", "1.5", "2.5", "3.5"])
        extra.append([names[0], "", "1.0", "100.0"])
    rows += extra
    fmt = "parquet" if rng.random() < 0.25 else "csv"
    path = os.path.join(directory, f"case{i}.{fmt}")
    header = ["variant", "metric", "pre", "latency"]
    if fmt == "csv":
        with open(path, "w") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join(r) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = list(zip(*rows))
        num = lambda col: pa.array([float(v) if v else None for v in col], pa.float64())
        table = pa.table(
            {
                "variant": pa.array([v or None for v in cols[0]], pa.string()),
                "metric": num(cols[1]),
                "pre": num(cols[2]),
                "latency": num(cols[3]),
            }
        )
        pq.write_table(table, path, row_group_size=4096)
    control = arms["control"]
    treatments = [n for n in names if n != "control"]
    # The control's extra rows have no metric: left out, as mlprobe leaves them.
    # Offset metrics are taken less their offset, exactly (Sterbenz): otherwise every
    # adjusted value y - theta (x - mean x) near 1e6 is rounded to 1e-10, 1e-8 of the spread,
    # and the reference, not mlprobe, would be off. Every statistic but the relative lift is
    # unchanged by the shift; the lift gets the offset back in its means.
    base = 1e6 if kind == "offset" else 0.0
    if covariate:
        ys = np.concatenate([a[0] for a in arms.values()]) - base
        xs = np.concatenate([a[1] for a in arms.values()])
        theta = np.cov(ys, xs)[0, 1] / np.var(xs, ddof=1)
        adj = {n: (a[0] - base) - theta * (a[1] - xs.mean()) for n, a in arms.items()}
    else:
        theta = None
        adj = {n: a[0] - base for n, a in arms.items()}
    comparisons = []
    for n in treatments:
        w = welch(adj["control"], adj[n], alpha, alternative)
        lift, rel_ci = relative(adj["control"], adj[n], alpha, alternative, base)
        w.update({"treatment": n, "relative_lift": lift, "relative_ci": rel_ci})
        if covariate:
            before = control[0].var(ddof=1) / len(control[0]) + arms[n][0].var(ddof=1) / len(arms[n][0])
            after = adj["control"].var(ddof=1) / len(control[0]) + adj[n].var(ddof=1) / len(arms[n][0])
            w["variance_reduction"] = 1 - after / before
        comparisons.append(w)
    flags = [
        "--data", path, "--metric", "metric", "--alpha", repr(alpha),
        "--alternative", alternative, "--adjust", adjust,
        "--guardrail", f"latency:{margin:+}",
    ]
    if covariate:
        flags += ["--covariate", "pre"]
    if any(math.isnan(c["t"]) for c in comparisons):
        # Both arms constant (0/1 metrics in small arms): the test is undefined, exit 2.
        return {"flags": flags, "error": True}
    p = [c["p_value"] for c in comparisons]
    for c, a in zip(comparisons, multipletests(p, alpha=alpha, method=ADJUST[adjust])[1]):
        c["p_adjusted"] = float(a)
    omnibus = None
    # Welch's ANOVA weighs arms by n/s²: undefined when an arm has no spread (mlprobe: null).
    if k >= 3 and all(adj[n].var(ddof=1) > 0 for n in names):
        order_names = ["control"] + treatments
        r = anova_oneway([adj[n] for n in order_names], use_var="unequal")
        omnibus = {
            "f": float(r.statistic),
            "p_value": float(r.pvalue),
            "df1": float(r.df[0]),
            "df2": float(r.df[1]),
        }
    guardrails = []
    for n in treatments:
        alt = "less" if margin >= 0 else "greater"
        r = stats.ttest_ind(arms[n][2] - margin, control[2], equal_var=False, alternative=alt)
        guardrails.append(
            {"treatment": n, "t": float(r.statistic), "p_value": float(r.pvalue), "df": float(r.df)}
        )
    return {
        "flags": flags,
        "rows": len(rows),
        "skipped": len(extra),
        "theta": theta,
        "comparisons": comparisons,
        "omnibus": omnibus,
        "guardrails": guardrails,
    }


def ratio_case(rng, i, directory):
    k = int(rng.choice([2, 2, 3]))
    names = ["control"] + [f"t{j}" for j in range(1, k)]
    alpha = float(rng.choice([0.05, 0.01]))
    alternative = str(rng.choice(["two-sided", "larger", "smaller"]))
    adjust = str(rng.choice(list(ADJUST)))
    arms = {}
    rows = []
    for name in names:
        n = int(math.exp(rng.uniform(math.log(20), math.log(20000))))
        sessions = rng.poisson(rng.uniform(0.5, 6.0), n).astype(float)
        rate = 0.3 * (1 + (0 if name == "control" else rng.normal(0, 0.1)))
        clicks = rng.poisson(np.maximum(sessions * rate * rng.gamma(2.0, 0.5, n), 0)).astype(float)
        arms[name] = (clicks, sessions)
        rows += [[name, repr(c), repr(x)] for c, x in zip(clicks.tolist(), sessions.tolist())]
    rows = [rows[j] for j in rng.permutation(len(rows))]
    path = os.path.join(directory, f"ratio{i}.csv")
    with open(path, "w") as f:
        f.write("variant,clicks,sessions\n")
        for r in rows:
            f.write(",".join(r) + "\n")

    def moments(y, x):
        r = y.mean() / x.mean()
        c = np.cov(y, x)
        var = (c[0, 0] - 2 * r * c[0, 1] + r * r * c[1, 1]) / (len(y) * x.mean() ** 2)
        return r, var

    rc, vc = moments(*arms["control"])
    comparisons = []
    for name in names[1:]:
        rt, vt = moments(*arms[name])
        se = math.sqrt(vc + vt)
        d = rt - rc
        z = d / se
        # No clicks in the control: no relative lift (mlprobe: null).
        lift = rt / rc - 1 if rc != 0 else None
        se_rel = math.sqrt(vt / rc**2 + rt**2 * vc / rc**4) if rc != 0 else None
        if alternative == "two-sided":
            p = 2 * stats.norm.sf(abs(z))
            q = stats.norm.ppf(1 - alpha / 2)
            ci = [d - q * se, d + q * se]
            rel_ci = [lift - q * se_rel, lift + q * se_rel] if rc != 0 else None
        elif alternative == "larger":
            p = stats.norm.sf(z)
            q = stats.norm.ppf(1 - alpha)
            ci, rel_ci = [d - q * se, None], ([lift - q * se_rel, None] if rc != 0 else None)
        else:
            p = stats.norm.cdf(z)
            q = stats.norm.ppf(1 - alpha)
            ci, rel_ci = [None, d + q * se], ([None, lift + q * se_rel] if rc != 0 else None)
        comparisons.append(
            {"treatment": name, "difference": d, "se": se, "z": z, "p_value": float(p),
             "ci": ci, "relative_lift": lift, "relative_ci": rel_ci}
        )
    adj = multipletests([c["p_value"] for c in comparisons], alpha=alpha, method=ADJUST[adjust])[1]
    for c, a in zip(comparisons, adj):
        c["p_adjusted"] = float(a)
    return {
        "ratio": True,
        "flags": [
            "--data", path, "--numerator", "clicks", "--denominator", "sessions",
            "--alpha", repr(alpha), "--alternative", alternative, "--adjust", adjust,
        ],
        "rows": len(rows),
        "arms": {n: {"ratio": moments(*a)[0], "se": math.sqrt(moments(*a)[1])} for n, a in arms.items()},
        "comparisons": comparisons,
    }


def power_case(rng):
    from statsmodels.stats.power import TTestIndPower

    # Up to 50,000 control units (below 4e5 degrees of freedom, where mlprobe, as R's pnt,
    # switches to a normal approximation); scipy's nct returns NaN for some large df and
    # noncentralities: such draws are drawn again.
    while True:
        sd = float(math.exp(rng.uniform(-3, 5)))
        d = float(rng.uniform(0.02, 1.5)) * float(rng.choice([1, -1]))
        n = int(math.exp(rng.uniform(math.log(3), math.log(50000))))
        ratio = float(rng.choice([1.0, 0.5, 2.0, 3.0]))
        alpha = float(rng.choice([0.05, 0.01, 0.1]))
        alternative = str(rng.choice(["two-sided", "larger", "smaller"]))
        power = TTestIndPower().power(d, n, alpha, ratio=ratio, alternative=alternative)
        if math.isfinite(power):
            break
    return {
        "power_case": True,
        "flags": [
            "--sd", repr(sd), "--mde", repr(d * sd), "--n", str(n), "--ratio", repr(ratio),
            "--alpha", repr(alpha), "--alternative", alternative,
        ],
        "power": float(power),
    }


def rates_case(rng):
    from statsmodels.stats.proportion import proportions_ztest

    k = int(rng.integers(2, 6))
    alpha = float(rng.choice([0.05, 0.01]))
    alternative = str(rng.choice(["two-sided", "larger", "smaller"]))
    adjust = str(rng.choice(list(ADJUST)))
    base = float(rng.uniform(0.02, 0.6))
    arms = []
    for j in range(k):
        n = int(math.exp(rng.uniform(math.log(50), math.log(1e6))))
        p = min(max(base * (1 + (0 if j == 0 else rng.normal(0, 0.1))), 0.001), 0.999)
        arms.append((f"arm{j}", int(rng.binomial(n, p)), n))
    c = arms[0]
    comparisons = []
    for name, x, n in arms[1:]:
        z, p = proportions_ztest([x, c[1]], [n, c[2]], alternative=alternative)
        comparisons.append({"treatment": name, "z": float(z), "p_value": float(p)})
    adj = multipletests([c["p_value"] for c in comparisons], alpha=alpha, method=ADJUST[adjust])[1]
    for cmp, a in zip(comparisons, adj):
        cmp["p_adjusted"] = float(a)
    r = stats.chi2_contingency([[x, n - x] for _, x, n in arms], correction=False)
    flags = []
    for name, x, n in arms:
        flags += ["--arm", f"{name}={x}/{n}"]
    flags += ["--alpha", repr(alpha), "--alternative", alternative, "--adjust", adjust]
    return {
        "rates": True,
        "flags": flags,
        "comparisons": comparisons,
        "omnibus": {"chi2": float(r.statistic), "p_value": float(r.pvalue), "df": float(r.dof)},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    for i in range(a.cases):
        print(json.dumps(case(rng, i, a.dir)))
        if i % 4 == 0:
            print(json.dumps(ratio_case(rng, i, a.dir)))
            print(json.dumps(power_case(rng)))
        if i % 4 == 1:
            print(json.dumps(rates_case(rng)))


if __name__ == "__main__":
    main()
