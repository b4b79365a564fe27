"""`mlprobe.ab` returns `mlprobe ab … --json`'s fields (the expected values are the CLI's own
output for the same arguments), and raises the CLI's messages."""

from __future__ import annotations

import pytest

import mlprobe
from mlprobe import ab


def test_results_equal_the_cli(cli):
    cases = [
        (ab.ztest((120, 1000), "150/1000", alternative="larger"),
         ["ab", "ztest", "--control", "120/1000", "--treatment", "150/1000", "--alternative", "larger"]),
        (ab.bayes((120, 1000), (150, 1000), prior=(2, 3), samples=5000, seed=7),
         ["ab", "bayes", "--control", "120/1000", "--treatment", "150/1000", "--prior", "2,3",
          "--samples", "5000", "--seed", "7"]),
        (ab.adjust([0.01, 0.04, 0.03, 0.2], method="bh"),
         ["ab", "adjust", "0.01", "0.04", "0.03", "0.2", "--method", "bh"]),
        (ab.size(0.01, baseline=0.1, power=0.9),
         ["ab", "size", "--baseline", "0.1", "--mde", "0.01", "--power", "0.9"]),
        (ab.size(0.5, sd=2.0), ["ab", "size", "--sd", "2", "--mde", "0.5"]),
        (ab.srm([50500, 49500]), ["ab", "srm", "--observed", "50500,49500"]),
        (ab.rates({"a": (100, 1000), "b": (130, 1000), "c": (90, 1000)}, adjust="holm"),
         ["ab", "rates", "--arm", "a=100/1000", "--arm", "b=130/1000", "--arm", "c=90/1000",
          "--adjust", "holm"]),
    ]
    for got, argv in cases:
        code, doc, err = cli(*argv)
        assert code == 0, err
        assert got == doc, argv


def test_drift_equals_the_cli(cli, mixed):
    ref, cur = mixed["csv"]["reference"], mixed["csv"]["current"]
    code, doc, err = cli("drift", "--reference", str(ref), "--current", str(cur))
    assert code == 1, err
    got = mlprobe.drift(ref, cur)
    for k in ("seconds", "peak_rss_bytes"):
        got.pop(k, None)
        doc.pop(k, None)
    assert got == doc and not got["passed"]


def test_errors_are_the_cli_messages():
    with pytest.raises(mlprobe.InputError, match="--control"):
        ab.ztest((1200, 1000), (1, 10))
    with pytest.raises(mlprobe.InputError, match="--alpha"):
        ab.ztest((1, 10), (2, 10), alpha=2)
    with pytest.raises(mlprobe.InputError, match="unexpected argument"):
        ab.run("ztest", control="1/10", treatment="2/10", bogus=1)
