//! Text expectations' results: Great Expectations' result fields from the merged state.

use super::state::Distinct;
use super::{
    CellState, ColumnText, HLL_PRECISION, HLL_RELATIVE_ERROR, MAX_DISTINCT, PARTIAL, TextKind,
};
use crate::limits::excerpt;
use indexmap::IndexMap;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The result of a text expectation: `success`, the result fields (Great Expectations' names,
/// alphabetical as serde_json's map keeps them), a one-line summary.
#[derive(Clone, Debug, PartialEq)]
pub struct TextOutcome {
    /// Whether it held.
    pub success: bool,
    /// The result fields.
    pub result: Map<String, Value>,
    /// Why it could not be evaluated (Great Expectations' `exception_info`).
    pub exception: Option<String>,
    /// One line for humans.
    pub summary: String,
}

fn percent(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!(100.0 * part as f64 / whole as f64)
    }
}

fn within<T: PartialOrd + Copy>(x: T, min: Option<T>, max: Option<T>) -> bool {
    min.is_none_or(|m| x >= m) && max.is_none_or(|m| x <= m)
}

fn range_text<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    let show = |x: Option<T>| x.map_or("-".to_string(), |x| x.to_string());
    format!("[{}, {}]", show(min), show(max))
}

/// Evaluates a text expectation on a column of `elements` cells, `missing` of them missing.
pub fn evaluate(
    kind: &TextKind,
    elements: u64,
    missing: u64,
    text: &ColumnText,
    check: &CellState,
) -> TextOutcome {
    // Saturating, here and below: states merged from elsewhere may claim more missing or
    // unexpected values than the column has, or counts that overflow.
    let present = elements.saturating_sub(missing);
    let mut result = Map::new();
    result.insert("element_count".into(), json!(elements));
    result.insert("missing_count".into(), json!(missing));
    let too_many = || {
        format!(
            "more than {MAX_DISTINCT} distinct values (MAX_DISTINCT): `{}` needs every value's \
             count",
            kind.name()
        )
    };
    let unexpected = |result: &mut Map<String, Value>, n: u64, list: &[String], mostly| {
        result.insert("partial_unexpected_list".into(), json!(list));
        result.insert("unexpected_count".into(), json!(n));
        result.insert("unexpected_percent".into(), percent(n, present));
        let ok = present == 0 || present.saturating_sub(n) as f64 / present as f64 >= mostly;
        (ok, format!("{n} of {present} values unexpected"))
    };
    let exact = match &text.distinct {
        Some(Distinct::Exact(map)) => Some(map),
        _ => None,
    };
    let (success, summary, exception) = match kind {
        TextKind::InSet { mostly, .. }
        | TextKind::NotInSet { mostly, .. }
        | TextKind::MatchRegex { mostly, .. }
        | TextKind::LengthsBetween { mostly, .. } => {
            let (ok, s) = unexpected(&mut result, check.unexpected, &check.partial, *mostly);
            (ok, s, None)
        }
        TextKind::Unique { mostly } => match exact {
            None => (false, String::new(), Some(too_many())),
            Some(map) => {
                let mut n = 0u64;
                let mut list = Vec::new();
                for (value, &count) in map.iter().filter(|(_, c)| **c > 1) {
                    n = n.saturating_add(count);
                    let v = String::from_utf8_lossy(value);
                    for _ in 0..count.min((PARTIAL - list.len()) as u64) {
                        list.push(v.to_string());
                    }
                }
                let (ok, s) = unexpected(&mut result, n, &list, *mostly);
                (ok, s, None)
            }
        },
        TextKind::DistinctInSet { set } => {
            let ok = check.unexpected == 0;
            match exact {
                Some(map) => {
                    let mut values: Vec<String> = map
                        .keys()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect();
                    values.sort();
                    let counts: Vec<Value> = {
                        let mut c: Vec<(String, u64)> = map
                            .iter()
                            .map(|(k, &n)| (String::from_utf8_lossy(k).into_owned(), n))
                            .collect();
                        c.sort();
                        c.into_iter()
                            .map(|(value, count)| json!({"count": count, "value": value}))
                            .collect()
                    };
                    result.insert("details".into(), json!({ "value_counts": counts }));
                    result.insert("observed_value".into(), json!(values));
                    let outside = check.partial.first().map_or(String::new(), |v| {
                        format!("; `{}` is not in the set", excerpt(v))
                    });
                    (
                        ok,
                        format!("{} distinct values{outside}", values.len()),
                        None,
                    )
                }
                None => {
                    result.insert("observed_value".into(), Value::Null);
                    let _ = set;
                    (
                        ok,
                        format!("more than {MAX_DISTINCT} distinct values"),
                        None,
                    )
                }
            }
        }
        TextKind::MostCommonInSet { set, ties_okay } => match exact {
            None => (false, String::new(), Some(too_many())),
            Some(map) => {
                let top = map.values().copied().max().unwrap_or(0);
                let mut modes: Vec<&[u8]> = map
                    .iter()
                    .filter(|(_, c)| **c == top)
                    .map(|(k, _)| &**k)
                    .collect();
                modes.sort();
                let hits = modes.iter().filter(|m| set.contains(m)).count();
                let ok = if *ties_okay {
                    hits > 0
                } else {
                    modes.len() == 1 && hits == 1
                };
                let names: Vec<String> = modes
                    .iter()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect();
                let summary = format!(
                    "most common: {} ({top} times)",
                    names
                        .iter()
                        .map(|n| format!("`{}`", excerpt(n)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                result.insert("observed_value".into(), json!(names));
                (ok, summary, None)
            }
        },
        TextKind::UniqueCountBetween { min, max } => {
            let (n, is_exact) = text.distinct.as_ref().map_or((0, true), Distinct::count);
            sketch_details(&mut result, is_exact);
            result.insert("observed_value".into(), json!(n));
            (
                within(n, *min, *max),
                format!("{n} distinct values, expected {}", range_text(*min, *max)),
                None,
            )
        }
        TextKind::ProportionUniqueBetween { min, max } => {
            let (n, is_exact) = text.distinct.as_ref().map_or((0, true), Distinct::count);
            sketch_details(&mut result, is_exact);
            if present == 0 {
                result.insert("observed_value".into(), Value::Null);
                (false, "no values".into(), None)
            } else {
                let p = n as f64 / present as f64;
                result.insert("observed_value".into(), json!(p));
                (
                    within(p, *min, *max),
                    format!(
                        "{n} distinct of {present} values ({p:.4}), expected {}",
                        range_text(*min, *max)
                    ),
                    None,
                )
            }
        }
        TextKind::OfType { dtype, name } => {
            let observed = text.census.unwrap_or_default().dtype(missing);
            result.insert("observed_value".into(), json!(observed.name()));
            (
                observed == *dtype,
                format!("dtype {}, expected {name}", observed.name()),
                None,
            )
        }
        TextKind::KlDivergence {
            values,
            weights,
            threshold,
            tail_weight_holdout,
        } => match exact {
            None => (false, String::new(), Some(too_many())),
            Some(map) => {
                let (kl, observed, expected, names) =
                    kl_divergence(map, values, weights, *tail_weight_holdout);
                let finite = kl.is_finite();
                result.insert(
                    "details".into(),
                    json!({
                        "expected_partition": {"values": names, "weights": expected},
                        "observed_partition": {"values": names, "weights": observed},
                    }),
                );
                result.insert(
                    "observed_value".into(),
                    if finite { json!(kl) } else { Value::Null },
                );
                (
                    kl <= *threshold,
                    format!("KL divergence {kl:.4}, threshold {threshold}"),
                    None,
                )
            }
        },
    };
    if exception.is_some() {
        result.clear();
    }
    TextOutcome {
        success: success && exception.is_none(),
        result,
        summary: exception.clone().unwrap_or(summary),
        exception,
    }
}

fn sketch_details(result: &mut Map<String, Value>, exact: bool) {
    if !exact {
        result.insert(
            "details".into(),
            json!({
                "sketch": "hyperloglog++",
                "precision": HLL_PRECISION,
                "relative_standard_error": HLL_RELATIVE_ERROR,
            }),
        );
    }
}

/// Great Expectations' categorical KL divergence (see the module docs): the divergence and the
/// observed and expected weights over the partition's values, then the values seen outside it
/// (in order of first appearance).
fn kl_divergence(
    counts: &IndexMap<Box<[u8]>, u64, super::Hasher>,
    values: &[String],
    weights: &[f64],
    holdout: f64,
) -> (f64, Vec<f64>, Vec<f64>, Vec<String>) {
    let total = counts.values().fold(0, |a: u64, &n| a.saturating_add(n));
    let known: HashSet<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    let mut names: Vec<String> = values.to_vec();
    names.extend(
        counts
            .keys()
            .filter(|k| !known.contains(&***k))
            .map(|k| String::from_utf8_lossy(k).into_owned()),
    );
    let extra = names.len() - values.len();
    let share = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    let observed: Vec<f64> = names
        .iter()
        .map(|v| share(counts.get(v.as_bytes()).copied().unwrap_or(0)))
        .collect();
    let expected: Vec<f64> = if extra > 0 {
        weights
            .iter()
            .map(|w| w * (1.0 - holdout))
            .chain(std::iter::repeat_n(holdout / extra as f64, extra))
            .collect()
    } else {
        weights.to_vec()
    };
    (entropy(&observed, &expected), observed, expected, names)
}

/// `scipy.stats.entropy(pk, qk)`: both normalised to sum 1, `Σ pk·ln(pk/qk)` with `0·ln 0 = 0`
/// and `pk > 0 = qk` infinite.
fn entropy(pk: &[f64], qk: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (pk.iter().sum(), qk.iter().sum());
    if sp == 0.0 || sq == 0.0 {
        return f64::NAN;
    }
    pk.iter()
        .zip(qk)
        .map(|(&p, &q)| {
            let (p, q) = (p / sp, q / sq);
            if p == 0.0 {
                0.0
            } else if q == 0.0 {
                f64::INFINITY
            } else {
                p * (p / q).ln()
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from `scipy.stats.entropy` 1.17.1: entropy([0.5, 0.3, 0.2], [0.4, 0.4,
    /// 0.2]) = 0.025267153921570557, and with pk unnormalised ([5, 3, 2]) the same.
    #[test]
    fn entropy_is_scipy_s() {
        let e = entropy(&[0.5, 0.3, 0.2], &[0.4, 0.4, 0.2]);
        assert!((e - 0.025267153921570557).abs() < 1e-15, "{e}");
        assert_eq!(entropy(&[5.0, 3.0, 2.0], &[0.4, 0.4, 0.2]), e);
        assert_eq!(entropy(&[0.5, 0.5], &[1.0, 0.0]), f64::INFINITY);
    }
}
