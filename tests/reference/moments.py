#!/usr/bin/env python3
"""Reference values for the `Moments` tests (core/src/moments.rs, tests/tests/expect.rs).

Python's `statistics` module computes means and variances of floats exactly (as `Fraction`s)
and rounds once, so these are the correctly rounded statistics of the very same `f64` inputs.
The inputs come from generators that Rust reproduces bit for bit: SplitMix64 and IEEE
`+ - * /` only (powers of ten are parsed from text, never computed with `pow`).

    python3 tests/reference/moments.py epoch     # the fixed epoch-like columns
    python3 tests/reference/moments.py random    # the 256 differential streams
    python3 tests/reference/moments.py csv       # the end-to-end CSV column
"""
import statistics
import sys

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unit(self):
        return (self.next() >> 11) * 2.0**-53


def epoch(width, seed, n=1000):
    """1.7e9 + U(0, 1) * width."""
    r = SplitMix64(seed)
    return [1.7e9 + r.unit() * width for _ in range(n)]


EPOCH_WIDTHS = ["58.89", "0.5889", "5.889e-3", "5.889e-5"]  # mean / sd ≈ 1e8, 1e10, 1e12, 1e14


def stream(seed):
    """A stream with |mean| = (1..10) * 10^(-4..14), mean/sd = 10^(0..12), sometimes an
    outlying first value; returns the values and the cut used by the merge test."""
    r = SplitMix64(seed)
    n = 2 + r.next() % 300
    e = r.next() % 19 - 4
    base = (1.0 + 9.0 * r.unit()) * float(f"1e{e}")
    if r.next() % 2 == 1:
        base = -base
    sd = abs(base) / float(f"1e{r.next() % 13}")
    outlier = r.next() % 8 == 0
    xs = [base + sd * (r.unit() - 0.5) for _ in range(n)]
    if outlier:
        xs[0] = base + sd * 1000.0
    cut = r.next() % (n + 1)
    return xs, cut


def csv_row(i):
    """Row i of the end-to-end file: `t`, epoch seconds with microseconds within one second
    (mean/sd ≈ 6e9), and `s`, whole epoch seconds within 100 s (mean/sd ≈ 6e7)."""
    return f"1700000000.{(i * 104729) % 1000000:06}", f"17000000{(i * 7919) % 100:02}"


CSV_ROWS = 300_000

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "epoch":
        for w in EPOCH_WIDTHS:
            xs = epoch(float(w), 14)
            print(w, repr(statistics.mean(xs)), repr(statistics.pvariance(xs)),
                  repr(statistics.variance(xs)), f"mean/sd={statistics.mean(xs) / statistics.pstdev(xs):.3g}")
    elif what == "random":
        for s in range(256):
            xs, _ = stream(s)
            print(f"[{statistics.mean(xs)!r}, {statistics.variance(xs)!r}],")
    elif what == "csv":
        for col in range(2):
            xs = [float(csv_row(i)[col]) for i in range(CSV_ROWS)]
            print("ts"[col], repr(statistics.mean(xs)), repr(statistics.stdev(xs)),
                  f"mean/sd={statistics.mean(xs) / statistics.stdev(xs):.3g}")
