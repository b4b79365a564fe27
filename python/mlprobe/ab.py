"""A/B analyses: each function runs ``mlprobe ab <command> … --json`` in this process and
returns its JSON as a dict, so the fields, numbers and errors are the command line's (see
``mlprobe ab <command> --help`` for what each parameter means).

Counts are ``(conversions, visitors)`` pairs or ``"C/N"`` strings; parameters are the command
line's flags with ``_`` for ``-`` (``loss_threshold=`` is ``--loss-threshold``); ``True`` turns a
flag on; a list gives a flag that takes several values once per value.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from . import _mlprobe

Counts = Union[str, Tuple[int, int]]

__all__ = [
    "adjust",
    "bayes",
    "power",
    "rates",
    "ratio",
    "run",
    "sequential",
    "size",
    "srm",
    "ttest",
    "ztest",
]


def _text(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return f"{value[0]}/{value[1]}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def run(command: str, *positional: Any, **options: Any) -> dict[str, Any]:
    """``mlprobe ab <command> <positional…> --<option> <value>… --json``, as a dict."""
    args = [command]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, list):
            for v in value:
                args += [flag, _text(v)]
        else:
            args += [flag, _text(value)]
    args += [_text(p) for p in positional]
    args.append("--json")
    return json.loads(_mlprobe.ab_json(args))


def ztest(
    control: Counts,
    treatment: Counts,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> dict[str, Any]:
    """Two-proportion z-test (statsmodels' ``proportions_ztest``), with the lift's interval."""
    return run("ztest", control=control, treatment=treatment, alpha=alpha, alternative=alternative)


def bayes(
    control: Counts,
    treatment: Counts,
    *,
    prior: Optional[Tuple[float, float]] = None,
    samples: Optional[int] = None,
    seed: int = 0,
    level: float = 0.95,
    threshold: Optional[float] = None,
    loss_threshold: Optional[float] = None,
) -> dict[str, Any]:
    """Beta-binomial analysis: exact P(treatment > control), expected losses, the decision."""
    return run(
        "bayes",
        control=control,
        treatment=treatment,
        prior=None if prior is None else f"{prior[0]},{prior[1]}",
        samples=samples,
        seed=seed,
        level=level,
        threshold=threshold,
        loss_threshold=loss_threshold,
    )


def adjust(
    p_values: Sequence[float], *, method: str = "holm", alpha: float = 0.05
) -> dict[str, Any]:
    """Multiple-testing correction (``bonferroni``, ``holm``, ``bh``), as statsmodels'
    ``multipletests``."""
    return run("adjust", *[repr(float(p)) for p in p_values], method=method, alpha=alpha)


def size(
    mde: float,
    *,
    baseline: Optional[float] = None,
    sd: Optional[float] = None,
    ratio: Optional[float] = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
) -> dict[str, Any]:
    """Visitors per arm to detect ``mde``: of a rate (``baseline``) or of a mean (``sd``)."""
    return run(
        "size",
        baseline=baseline,
        mde=mde,
        sd=sd,
        ratio=ratio,
        relative=relative,
        alpha=alpha,
        power=power,
        alternative=alternative,
    )


def srm(
    observed: Sequence[int],
    *,
    expected: Optional[Sequence[float]] = None,
    threshold: float = 0.001,
) -> dict[str, Any]:
    """Sample-ratio mismatch: chi-square of the observed split against the planned one."""
    return run(
        "srm",
        observed=",".join(str(int(n)) for n in observed),
        expected=None if expected is None else ",".join(str(w) for w in expected),
        threshold=threshold,
    )


def power(**options: Any) -> dict[str, Any]:
    """``mlprobe ab power`` (``n=``, ``mde=``, ``baseline=`` or ``sd=``, …)."""
    return run("power", **options)


def ttest(**options: Any) -> dict[str, Any]:
    """``mlprobe ab ttest``: Welch's t-test of a metric per unit (``data=``, ``metric=``,
    ``covariate=`` for CUPED, ``guardrail=[…]``), or of two summaries."""
    return run("ttest", **options)


def rates(arms: Mapping[str, Counts], **options: Any) -> dict[str, Any]:
    """``mlprobe ab rates``: several arms' rates (``{"name": (conversions, visitors)}``),
    each against the first (or ``control=``)."""
    return run("rates", arm=[f"{name}={_text(c)}" for name, c in arms.items()], **options)


def ratio(**options: Any) -> dict[str, Any]:
    """``mlprobe ab ratio``: a ratio metric per unit by the delta method (``data=``,
    ``numerator=``, ``denominator=``)."""
    return run("ratio", **options)


def sequential(events: str, **options: Any) -> dict[str, Any]:
    """``mlprobe ab sequential``: mSPRT or O'Brien–Fleming over an events file."""
    return run("sequential", events=events, **options)
