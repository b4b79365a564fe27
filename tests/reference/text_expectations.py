"""A table with text, boolean and numeric columns, the suite of every text expectation on it,
and the result fields Great Expectations computes for each on pandas, for tests/tests/text.rs.

    python text_expectations.py OUT_DIR

Writes OUT_DIR/data.csv (pandas' to_csv), data.parquet (pyarrow, row groups of 30,000 rows,
strings as strings, the flag as booleans, nulls as nulls), suite.toml and expected.json: per
expectation, `success` and the result fields, computed here with pandas 3.1 and scipy 1.17 the
way Great Expectations' pandas engine computes them:

- in_set / not_in_set: `~s.isin(value_set)` / `s.isin(value_set)` on the present values `s`;
- match_regex: `s.astype(str).str.contains(regex)`;
- value_lengths: `s.str.len()` between the bounds;
- unique: `s.duplicated(keep=False)` (the count and percent; the partial list is compared as a
  multiset of the duplicated values, whose order mlprobe documents as first appearance);
- distinct_in_set: `sorted(s.unique())`; most_common: `sorted(s.mode())`;
- unique_value_count / proportion: `s.nunique()`, `s.nunique() / len(s)`;
- of_type: the dtype pandas' `read_csv` infers (`str` reported as `object`, its pandas < 3 name);
- kl_divergence: Great Expectations' categorical branch (value_counts over present values,
  tail_weight_holdout for values outside the partition) and `scipy.stats.entropy(pk, qk)`.

Missing values are what mlprobe reads as missing: empty cells, NA, N/A, NaN, nan.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

N = 150_000
NA = ["", "NA", "N/A", "NaN", "nan"]


def table(rng: np.random.Generator) -> pd.DataFrame:
    ids = np.arange(N)
    dup = rng.choice(N, 20, replace=False)
    ids[dup[:10]] = ids[dup[10:]]  # 20 rows share their id with one other
    cities = np.array(["Paris", "Lyon", "Nice", "Lille", "Saint-Étienne", "Aix, en Provence"])
    city = rng.choice(cities, N, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04]).astype(object)
    city[rng.random(N) < 0.03] = None
    city[rng.choice(N, 10, replace=False)] = "Atlantis"
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    code = np.array(
        [
            f"{a}{b}-{n:04d}"
            for a, b, n in zip(rng.choice(letters, N), rng.choice(letters, N), rng.integers(0, 10_000, N))
        ],
        dtype=object,
    )
    odd = rng.random(N) < 0.01
    code[odd] = [f'x"{k}"' for k in rng.integers(0, 1000, odd.sum())]
    code[rng.random(N) < 0.005] = "NA"
    flag = np.where(rng.random(N) < 0.3, "true", "false")
    amount = np.round(rng.normal(50, 10, N), 2)
    return pd.DataFrame({"id": ids, "city": city, "code": code, "flag": flag, "amount": amount})


SUITE = [
    ("expect_column_values_to_be_in_set", "city",
     {"value_set": ["Paris", "Lyon", "Nice", "Lille", "Saint-Étienne", "Aix, en Provence"], "mostly": 0.99}),
    ("expect_column_values_to_not_be_in_set", "city", {"value_set": ["Atlantis", "Paris"]}),
    ("expect_column_values_to_match_regex", "code", {"regex": r"^[A-Z]{2}-\d{4}$", "mostly": 0.95}),
    ("expect_column_value_lengths_to_be_between", "code", {"min_value": 7, "max_value": 7}),
    ("expect_column_values_to_be_unique", "id", {}),
    ("expect_column_distinct_values_to_be_in_set", "city",
     {"value_set": ["Paris", "Lyon", "Nice", "Lille", "Saint-Étienne", "Aix, en Provence"]}),
    ("expect_column_most_common_value_to_be_in_set", "city", {"value_set": ["Paris", "Lyon"]}),
    ("expect_column_unique_value_count_to_be_between", "city", {"min_value": 5, "max_value": 7}),
    ("expect_column_proportion_of_unique_values_to_be_between", "id", {"min_value": 0.9999}),
    ("expect_column_proportion_of_unique_values_to_be_between", "code", {"max_value": 0.9}),
    ("expect_column_values_to_be_of_type", "flag", {"type_": "bool"}),
    ("expect_column_values_to_be_of_type", "id", {"type_": "int64"}),
    ("expect_column_values_to_be_of_type", "amount", {"type_": "float64"}),
    ("expect_column_values_to_be_of_type", "city", {"type_": "str"}),
    ("expect_column_values_to_be_of_type", "code", {"type_": "int64"}),
    ("expect_column_kl_divergence_to_be_less_than", "city",
     {"partition_object": {"values": ["Paris", "Lyon", "Nice", "Lille", "Saint-Étienne", "Aix, en Provence"],
                           "weights": [0.38, 0.27, 0.15, 0.1, 0.06, 0.04]},
      "threshold": 0.01, "tail_weight_holdout": 0.001}),
    ("expect_column_values_to_not_be_null", "city", {"mostly": 0.95}),
    ("expect_column_mean_to_be_between", "city", {"min_value": 0}),
]


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def unexpected(s: pd.Series, bad: pd.Series, mostly: float) -> dict:
    n, total = int(bad.sum()), len(s)
    return {
        "success": bool(total == 0 or (total - n) / total >= mostly),
        "unexpected_count": n,
        "unexpected_percent": 100.0 * n / total if total else None,
        "partial_unexpected_list": [str(x) for x in s[bad].head(20)],
    }


def dtype_name(col: pd.Series) -> str:
    name = str(col.dtype)
    return "object" if name in ("str", "string", "object") else name


def expected(df: pd.DataFrame, t: str, c: str, p: dict) -> dict:
    col = df[c]
    s = col.dropna().astype(str) if col.dtype != bool else col.dropna()
    out = {"element_count": len(col), "missing_count": int(col.isna().sum())}
    mostly = p.get("mostly", 1.0)
    if t == "expect_column_values_to_be_in_set":
        out |= unexpected(s, ~s.isin(p["value_set"]), mostly)
    elif t == "expect_column_values_to_not_be_in_set":
        out |= unexpected(s, s.isin(p["value_set"]), mostly)
    elif t == "expect_column_values_to_match_regex":
        out |= unexpected(s, ~s.str.contains(p["regex"], regex=True), mostly)
    elif t == "expect_column_value_lengths_to_be_between":
        n = s.str.len()
        out |= unexpected(s, (n < p["min_value"]) | (n > p["max_value"]), mostly)
    elif t == "expect_column_values_to_be_unique":
        out |= unexpected(s, s.duplicated(keep=False), mostly)
    elif t == "expect_column_distinct_values_to_be_in_set":
        distinct = sorted(s.unique())
        out["observed_value"] = distinct
        out["success"] = set(distinct) <= set(p["value_set"])
    elif t == "expect_column_most_common_value_to_be_in_set":
        modes = sorted(s.mode())
        out["observed_value"] = modes
        out["success"] = len(modes) == 1 and modes[0] in p["value_set"]
    elif t == "expect_column_unique_value_count_to_be_between":
        n = int(s.nunique())
        out["observed_value"] = n
        out["success"] = p["min_value"] <= n <= p["max_value"]
    elif t == "expect_column_proportion_of_unique_values_to_be_between":
        v = s.nunique() / len(s)
        out["observed_value"] = v
        out["success"] = bool(p.get("min_value", -np.inf) <= v <= p.get("max_value", np.inf))
    elif t == "expect_column_values_to_be_of_type":
        observed = dtype_name(col)
        want = {"str": "object", "string": "object"}.get(p["type_"], p["type_"])
        out["observed_value"] = observed
        out["success"] = observed == want
    elif t == "expect_column_kl_divergence_to_be_less_than":
        part, hold = p["partition_object"], p["tail_weight_holdout"]
        observed = s.value_counts() / len(s)
        exp = pd.Series(part["weights"], index=part["values"], name="expected")
        test = pd.concat([exp, observed], axis=1)
        na = test.isnull().sum()
        pk = test["count"].fillna(0)
        if na["expected"] > 0:
            test["expected"] *= 1 - hold
            qk = test["expected"].fillna(hold / na["expected"])
        else:
            qk = test["expected"]
        kl = float(stats.entropy(pk, qk))
        out["observed_value"] = kl if np.isfinite(kl) else None
        out["success"] = kl <= p["threshold"]
    elif t == "expect_column_values_to_not_be_null":
        n = int(col.isna().sum())
        out = {"element_count": len(col), "unexpected_count": n,
               "unexpected_percent": 100.0 * n / len(col),
               "success": (len(col) - n) / len(col) >= mostly}
    elif t == "expect_column_mean_to_be_between":
        # Great Expectations raises: the mean of strings.
        out = {"success": False, "raised_exception": True}
    return out


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20)
    table(rng).to_csv(out / "data.csv", index=False, na_rep="")
    df = pd.read_csv(out / "data.csv", keep_default_na=False, na_values=NA)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), out / "data.parquet",
                   row_group_size=30_000)
    lines = ['name = "text"']
    results = []
    for t, c, p in SUITE:
        lines += ["", "[[expectations]]", f'type = "{t}"', f'column = "{c}"']
        lines += [f"{k} = {toml_value(v)}" for k, v in p.items()]
        results.append({"expectation_type": t, "column": c} | expected(df, t, c, p))
    (out / "suite.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "expected.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
