#!/usr/bin/env python3
"""Reference values for mlprobe's exact Bayesian A/B analysis (`mlprobe_core::bayes`).

Draws random Beta-Binomial A/B cases (priors log-uniform in [0.05, 20], counts log-uniform up to
10^6, conversion rates from 0 % to 100 %, arms from identical to far apart) and prints, for each,
the reference values of

- P(X_t > X_c) and P(X_c > X_t), each computed directly (never as a complement);
- the expected losses E[max(X_t - X_c, 0)] (keeping the control) and E[max(X_c - X_t, 0)]
  (shipping the treatment);
- the 95 % equal-tailed credible interval of each posterior;

as JSON lines on stdout. Run by `tests/tests/reference.rs`, which compares mlprobe's numbers.

Where the numbers come from, case by case (the field `method`):

- `miller`: every posterior parameter is an integer (an integer prior). Evan Miller's closed
  form ("Formulas for Bayesian A/B testing", 2014), summed in mpmath at 50 digits from its
  largest term outwards; the losses from Chris Stucchio's closed form ("Bayesian A/B testing at
  VWO", 2015) on those sums, where the cancellation is harmless at 50 digits. Independent of
  the integral that mlprobe computes.
- `scipy`: any other prior. scipy.integrate.quad (QUADPACK) over the log-odds of x, of the
  narrower posterior's density times the other's tail for P(X_t > X_c), and of F_t·S_c for the
  loss,
  with scipy's Boost-based betainc / betaincc / beta.logpdf, around the integrand's maximum
  (a golden-section search), to epsrel 1e-13.
- intervals: scipy.stats.beta.ppf (Boost's ibeta_inv) in every case.

Usage: bayes.py --cases N --seed S
"""

import argparse
import functools
import json
import math
import sys

import mpmath
import numpy as np
from scipy import integrate, special, stats


def logit_point(z):
    """(x, 1 - x, ln x, ln(1 - x)) at log-odds z, without cancellation."""
    t = math.exp(-abs(z))
    ln_big = -math.log1p(t)
    ln_small = ln_big - abs(z)
    big, small = 1.0 / (1.0 + t), t / (1.0 + t)
    return (big, small, ln_big, ln_small) if z >= 0 else (small, big, ln_small, ln_big)


def ln_cdf(a, b, x, y):
    """ln I_x(a, b) from the smaller of x and y = 1 - x as given (the other may have rounded):
    Boost's betainc(a, b, x), or betaincc(b, a, y) = 1 - I_y(b, a) (each computes the smaller
    tail directly)."""
    v = special.betainc(a, b, x) if x <= y else special.betaincc(b, a, y)
    return math.log(v) if v > 0 else -math.inf


def ln_sf(a, b, x, y):
    """ln(1 - I_x(a, b)) = ln I_y(b, a)."""
    return ln_cdf(b, a, y, x)


def ln_logit_density(a, b, z):
    """Log-density of the log-odds of a Beta(a, b) variable: a ln x + b ln y - ln B(a, b)."""
    x, y, lx, ly = logit_point(z)
    return a * lx + b * ly - ln_beta(a, b)


@functools.lru_cache(maxsize=None)
def ln_beta(a, b):
    """ln B(a, b) from mpmath at 30 digits (scipy's betaln, cephes' lbeta, loses about 1e-9
    absolute at a = 10^6: lgamma(a) ≈ 1.3e7 cancels)."""
    with mpmath.workdps(30):
        return float(mpmath.log(mpmath.beta(a, b)))


def argmax_concave(g, start, width, span=()):
    """(argmax, max) of a concave g: the best point of a geometric grid around start and a fine
    grid over span, then golden-section search between its neighbours (-inf, where scipy's
    tails underflow, is simply the lowest value)."""
    grid = {start} | {start + s * width * 2.0 ** k for s in (-1, 1) for k in range(-8, 48)}
    if span:
        grid |= set(np.linspace(span[0], span[1], 4001).tolist())
    grid = sorted(grid)
    vals = [g(z) for z in grid]
    i = max(range(len(grid)), key=lambda j: vals[j])
    if vals[i] == -math.inf:
        return start, -math.inf
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    r = (math.sqrt(5) - 1) / 2
    c, d = hi - r * (hi - lo), lo + r * (hi - lo)
    gc, gd = g(c), g(d)
    for _ in range(200):
        if gc >= gd:
            hi, d, gd = d, c, gc
            c = hi - r * (hi - lo)
            gc = g(c)
        else:
            lo, c, gc = c, d, gd
            d = lo + r * (hi - lo)
            gd = g(d)
        if hi - lo <= 1e-12 * (1 + abs(lo)):
            break
    best = max([(vals[i], grid[i]), (gc, c), (gd, d)])
    return best[1], best[0]


def log_concave_integral(g, start, width, span=()):
    """ln ∫ e^g(z) dz for a concave g, by QUADPACK around the maximum."""
    z0, top = argmax_concave(g, start, width, span)
    if top == -math.inf:
        return -math.inf
    # Distances where g has dropped by 60 (e^-60 ≈ 1e-26 of the peak), by bisection.
    def reach(direction):
        t = width
        while g(z0 + direction * t) > top - 60 and t < 1e7:
            t *= 2
        lo, hi = 0.0, t
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if g(z0 + direction * mid) > top - 60:
                lo = mid
            else:
                hi = mid
        return hi
    left, right = reach(-1), reach(1)
    f = lambda z: math.exp(g(z) - top)
    total = 0.0
    # Panels at the drop points of 0.5, 2, 8, 20 nats on each side, for QUADPACK to adapt within.
    edges = [z0 - left]
    for frac in (0.5, 0.2, 0.08, 0.02, 0.005):
        edges.append(z0 - left * frac)
    edges.append(z0)
    for frac in (0.005, 0.02, 0.08, 0.2, 0.5):
        edges.append(z0 + right * frac)
    edges.append(z0 + right)
    for lo, hi in zip(edges, edges[1:]):
        v, _ = integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=500)
        total += v
    return top + math.log(total)


def centre_width(a, b):
    t = lambda s: 1 / s + 1 / (s * s)
    return math.log(a) - math.log(b), math.sqrt(t(a) + t(b))


# Below this, scipy's values are not references (see `scipy_case`); tests/tests/reference.rs
# then requires mlprobe's value to be below it too.
BELOW = 1e-270


def scipy_case(ac, bc, at, bt):
    # P(X_2 > X_1) = ∫ f_2(x) F_1(x) dx = ∫ f_1(x) S_2(x) dx over the log-odds of x, over the
    # narrower posterior's density (the other's tail is then smooth on its scale).
    def ln_p_greater(a1, b1, a2, b2):
        c1, w1 = centre_width(a1, b1)
        c2, w2 = centre_width(a2, b2)
        if w2 <= w1:
            def g(z):
                x, y, _, _ = logit_point(z)
                return ln_logit_density(a2, b2, z) + ln_cdf(a1, b1, x, y)
            return log_concave_integral(g, c2, w2)
        def g(z):
            x, y, _, _ = logit_point(z)
            return ln_logit_density(a1, b1, z) + ln_sf(a2, b2, x, y)
        return log_concave_integral(g, c1, w1)

    def ln_shortfall(a1, b1, a2, b2):  # E[max(X_1 - X_2, 0)] = ∫ F_2 S_1 dt
        c1, w1 = centre_width(a1, b1)
        c2, w2 = centre_width(a2, b2)
        def g(z):
            x, y, lx, ly = logit_point(z)
            return ln_cdf(a2, b2, x, y) + ln_sf(a1, b1, x, y) + lx + ly
        # The maximum lies between the two posteriors, where it can be narrow.
        span = (min(c1, c2) - 3 * (w1 + w2), max(c1, c2) + 3 * (w1 + w2))
        return log_concave_integral(g, 0.5 * (c1 + c2), max(w1, w2), span)

    values = {
        "ln_p_treatment": ln_p_greater(ac, bc, at, bt),
        "ln_p_control": ln_p_greater(at, bt, ac, bc),
        "ln_loss_control": ln_shortfall(at, bt, ac, bc),
        "ln_loss_treatment": ln_shortfall(ac, bc, at, bt),
    }
    # Boost's tails underflow below 1e-308, so an integrand whose peak is that small loses part
    # of itself: below BELOW the value is only known to be tiny (-inf, written as null).
    return {k: (v if v >= math.log(BELOW) else -math.inf) for k, v in values.items()}


def miller_ln(aa, ba, ab, bb):
    """ln P(X_b > X_a), X_a ~ Beta(aa, ba), X_b ~ Beta(ab, bb), ab an integer (mpmath)."""
    aa, ba, ab, bb = map(mpmath.mpf, (aa, ba, ab, bb))
    lb = mpmath.log(mpmath.beta(aa, ba))

    def ln_term(i):
        return (mpmath.log(mpmath.beta(aa + i, ba + bb)) - mpmath.log(bb + i)
                - mpmath.log(mpmath.beta(1 + i, bb)) - lb)

    m = int(ab)
    turn = (aa * bb - (aa + ba + bb)) / (ba + 1)
    mode = min(max(int(mpmath.ceil(turn)), 0), m - 1)
    scale = ln_term(mode)
    total = mpmath.mpf(1)
    ratio = lambda i: (aa + i) * (bb + i) / ((aa + ba + bb + i) * (i + 1))
    t, i = mpmath.mpf(1), mode
    while i + 1 < m:
        t *= ratio(i)
        i += 1
        total += t
        if t * (m - 1 - i) < mpmath.mpf(10) ** -45 * total:
            break
    t, i = mpmath.mpf(1), mode
    while i > 0:
        t /= ratio(i - 1)
        i -= 1
        total += t
        if t * i < mpmath.mpf(10) ** -45 * total:
            break
    return scale + mpmath.log(total)


def miller_p(a1, b1, a2, b2):
    """ln P(X_2 > X_1) by the direct form with the fewest terms (never 1 - sum)."""
    # Direct forms: sum over α_2 (as is), or over β_1 (mirror: 1 - X_1 > 1 - X_2).
    if a2 <= b1:
        return miller_ln(a1, b1, a2, b2)
    return miller_ln(b2, a2, b1, a1)


def miller_case(ac, bc, at, bt):
    with mpmath.workdps(50):
        lp = miller_p(ac, bc, at, bt)
        lq = miller_p(at, bt, ac, bc)
        # Stucchio: E[max(X_t - X_c, 0)] = E[X_t] P(X_t+ > X_c) - E[X_c] P(X_t > X_c+).
        mt, mc = mpmath.mpf(at) / (at + bt), mpmath.mpf(ac) / (ac + bc)
        keep = mt * mpmath.exp(miller_p(ac, bc, at + 1, bt)) - mc * mpmath.exp(
            miller_p(ac + 1, bc, at, bt))
        ship = mc * mpmath.exp(miller_p(at, bt, ac + 1, bc)) - mt * mpmath.exp(
            miller_p(at + 1, bt, ac, bc))
        return {
            "ln_p_treatment": float(lp),
            "ln_p_control": float(lq),
            "ln_loss_control": float(mpmath.log(keep)) if keep > 0 else -math.inf,
            "ln_loss_treatment": float(mpmath.log(ship)) if ship > 0 else -math.inf,
        }


def draw_case(rng, integer_prior):
    if integer_prior:
        pa, pb = int(rng.integers(1, 21)), int(rng.integers(1, 21))
    else:
        pa = float(np.exp(rng.uniform(math.log(0.05), math.log(20))))
        pb = pa if rng.random() < 0.3 else float(np.exp(rng.uniform(math.log(0.05), math.log(20))))
    nmax = 10 ** 4 if integer_prior else 10 ** 6
    def arm(rate=None):
        n = int(np.exp(rng.uniform(0, math.log(nmax))))
        if rng.random() < 0.05:
            n = 0
        kind = rng.random()
        if rate is not None and kind < 0.5:
            c = int(rng.binomial(n, rate))
        elif kind < 0.6:
            c = 0
        elif kind < 0.7:
            c = n
        else:
            c = int(rng.integers(0, n + 1))
        return c, n
    cc, nc = arm()
    rate = cc / nc if nc else 0.5
    ct, nt = arm(rate if rng.random() < 0.7 else None)
    return pa, pb, (cc, nc), (ct, nt)


# The reproducers (issue 14), always included.
FIXED = [
    (0.05, 0.05, (0, 100), (0, 100)),
    (0.05, 0.05, (0, 100), (1, 100)),
    (0.1, 0.1, (100, 100), (100, 100)),
    (1, 1, (925034, 1000000), (146, 249)),
    (1, 1, (10, 20), (100, 100000)),
    (1, 1, (507716, 802951), (507716, 802951)),
    (0.5, 0.5, (0, 100), (0, 100)),
    (0.3, 0.3, (0, 100), (0, 100)),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = list(FIXED)
    while len(cases) < args.cases:
        cases.append(draw_case(rng, integer_prior=rng.random() < 0.25))
    for pa, pb, (cc, nc), (ct, nt) in cases:
        # As mlprobe forms the posterior: prior + (n - c), the counts subtracted exactly first.
        ac, bc = pa + cc, pb + (nc - cc)
        at, bt = pa + ct, pb + (nt - ct)
        integer = all(float(v).is_integer() for v in (ac, bc, at, bt))
        small = min(at, bc) <= 3e4 and min(ac, bt) <= 3e4 if integer else False
        if integer and small:
            ref, method = miller_case(ac, bc, at, bt), "miller"
        else:
            ref, method = scipy_case(ac, bc, at, bt), "scipy"
        row = {
            "prior": [pa, pb],
            "control": [cc, nc],
            "treatment": [ct, nt],
            "method": method,
            **ref,
            "control_ci": [float(stats.beta.ppf(0.025, ac, bc)), float(stats.beta.ppf(0.975, ac, bc))],
            "treatment_ci": [float(stats.beta.ppf(0.025, at, bt)), float(stats.beta.ppf(0.975, at, bt))],
        }
        # -inf (a value below the smallest float) is written as null.
        row = {k: (None if isinstance(v, float) and v == -math.inf else v) for k, v in row.items()}
        print(json.dumps(row, allow_nan=False), flush=True)


if __name__ == "__main__":
    main()
