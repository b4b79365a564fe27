//! Slices: subgroups of the rows, `COLUMN OP NUMBER` with `<, <=, >, >=, ==, !=`
//! (`alcohol > 13`, `"fixed acidity" <= 7.5`), or several such conditions joined by `and`
//! (`alcohol > 13 and hue <= 0.8`), bound to a CSV header and evaluated on rows of `f32`. Each
//! slice is evaluated and gated on its own.

use crate::error::{Error, Result};
use std::fmt;
/// A comparison operator of a slice predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// `lhs OP rhs`. A NaN (missing) `lhs` is in no slice, whatever the operator.
    pub fn apply(self, lhs: f32, rhs: f32) -> bool {
        if lhs.is_nan() {
            return false;
        }
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// One comparison of a slice: `COLUMN OP NUMBER`, e.g. `alcohol > 13`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The column name.
    pub column: String,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl Condition {
    /// `column OP value`.
    pub fn new(column: impl Into<String>, op: CmpOp, value: f32) -> Self {
        Self {
            column: column.into(),
            op,
            value,
        }
    }

    /// The column name as a slice expression writes it: bare when it parses back as one
    /// name, else between double quotes (backquotes when it holds a double quote).
    pub fn quoted_column(&self) -> String {
        let c = &self.column;
        let bare = !c.is_empty()
            && !c.starts_with(['"', '`'])
            && !c.contains(|ch: char| ch.is_whitespace() || "<>=!".contains(ch));
        if bare {
            c.clone()
        } else if c.contains('"') {
            format!("`{c}`")
        } else {
            format!("\"{c}\"")
        }
    }
}

/// The canonical text: `column OP value`, the value as the shortest decimal that reads back
/// as the same `f32` (so the text selects exactly the rows the condition does).
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.quoted_column(),
            self.op.symbol(),
            self.value
        )
    }
}

/// A slice: one condition `COLUMN OP NUMBER` or several joined by `and` (a row is in the slice
/// when every condition holds), e.g. `alcohol > 13`, `"fixed acidity" <= 7.5 and hue > 1`.
///
/// ```
/// use mlprobe::eval::Predicate;
/// let p: Predicate = "alcohol > 13".parse().unwrap();
/// let bound = p.bind(&["alcohol", "label"]).unwrap();
/// assert!(bound.matches(&[13.5, 0.0]));
/// assert!(!bound.matches(&[13.0, 0.0]));
/// assert!("alcohol >> 13".parse::<Predicate>().is_err());
/// let both: Predicate = "alcohol > 13 AND label == 0".parse().unwrap();
/// let bound = both.bind(&["alcohol", "label"]).unwrap();
/// assert!(bound.matches(&[13.5, 0.0]) && !bound.matches(&[13.5, 1.0]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The expression as the user wrote it (trimmed), or the canonical text of
    /// [`from_conditions`](Self::from_conditions): the slice's name in reports.
    pub expr: String,
    /// The conditions, all of which must hold (at least one).
    pub conditions: Vec<Condition>,
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// The operators, longest first (`<=` before `<`).
const OPS: [(&str, CmpOp); 6] = [
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

/// Parses one condition of `expr` starting at byte `at` (no leading whitespace); returns it and
/// the byte just past its number. `err` makes a located error from a byte offset.
fn parse_condition(
    expr: &str,
    at: usize,
    err: &impl Fn(usize, String) -> Error,
) -> Result<(Condition, usize)> {
    let text = &expr[at..];
    // Column: a quoted name ("…" or `…`) or a run up to whitespace or an operator.
    let (column, rest_at) = match text.chars().next() {
        None => {
            return Err(err(
                at,
                "empty expression: expected `COLUMN OP NUMBER`, e.g. `alcohol > 13`".into(),
            ));
        }
        Some(q @ ('"' | '`')) => match text[1..].find(q) {
            Some(end) => (&text[1..1 + end], at + end + 2),
            None => return Err(err(at, format!("unterminated quote {q}"))),
        },
        Some(_) => {
            let end = text
                .find(|c: char| c.is_whitespace() || "<>=!".contains(c))
                .unwrap_or(text.len());
            (&text[..end], at + end)
        }
    };
    if column.is_empty() {
        return Err(err(at, "expected a column name before the operator".into()));
    }
    let after_col = &expr[rest_at..];
    let op_at = rest_at + (after_col.len() - after_col.trim_start().len());
    let rest = &expr[op_at..];
    let Some((sym, op)) = OPS.iter().find(|(sym, _)| rest.starts_with(sym)) else {
        let hint = if rest.starts_with('=') {
            " (write `==` for equality)"
        } else {
            ""
        };
        return Err(err(
            op_at,
            format!("expected an operator <, <=, >, >=, == or != after the column{hint}"),
        ));
    };
    let num_raw = &rest[sym.len()..];
    let num_at = op_at + sym.len() + (num_raw.len() - num_raw.trim_start().len());
    let after_op = &expr[num_at..];
    if after_op.starts_with(['<', '>', '=', '!']) {
        return Err(err(
            num_at,
            format!("unexpected `{}` after `{sym}`", &after_op[..1]),
        ));
    }
    // The number: a run up to whitespace.
    let num_len = after_op.find(char::is_whitespace).unwrap_or(after_op.len());
    let num = &after_op[..num_len];
    let value = match num.parse::<f32>() {
        Ok(v) if v.is_finite() => v,
        Ok(_) => return Err(err(num_at, format!("`{num}` is not a finite number"))),
        Err(_) if num.is_empty() => {
            return Err(err(num_at, format!("expected a number after `{sym}`")));
        }
        Err(_) => {
            return Err(err(
                num_at,
                format!("expected a number after `{sym}`, found `{num}`"),
            ));
        }
    };
    Ok((Condition::new(column, *op, value), num_at + num_len))
}

impl std::str::FromStr for Predicate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let expr = s.trim();
        let err = |byte: usize, message: String| {
            let position = expr.get(..byte).map_or(0, |p| p.chars().count()) + 1;
            Error::Usage(format!(
                "slice `{expr}`: {message} (at character {position})"
            ))
        };
        let mut conditions = Vec::new();
        let mut at = 0;
        loop {
            let (c, end) = parse_condition(expr, at, &err)?;
            conditions.push(c);
            let rest = &expr[end..];
            let next = end + (rest.len() - rest.trim_start().len());
            if next == expr.len() {
                break;
            }
            // `and`, any case, then whitespace and the next condition.
            let word = expr[next..]
                .find(char::is_whitespace)
                .map_or(&expr[next..], |w| &expr[next..next + w]);
            if !word.eq_ignore_ascii_case("and") {
                return Err(err(
                    next,
                    format!(
                        "expected `and` or the end of the slice after `{}`, found `{word}`",
                        &expr[..end].rsplit(char::is_whitespace).next().unwrap_or("")
                    ),
                ));
            }
            let after = &expr[next + 3..];
            at = next + 3 + (after.len() - after.trim_start().len());
            if at == expr.len() {
                return Err(err(
                    at,
                    "expected a condition `COLUMN OP NUMBER` after `and`".into(),
                ));
            }
        }
        Ok(Predicate {
            expr: expr.to_string(),
            conditions,
        })
    }
}

impl Predicate {
    /// The conjunction of `conditions` (at least one), named by their canonical text joined
    /// with ` and `: it parses back to the same conditions.
    pub fn from_conditions(conditions: Vec<Condition>) -> Self {
        let expr = conditions
            .iter()
            .map(Condition::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        Self { expr, conditions }
    }

    /// Resolves each condition's column in a header (exact name, else a unique
    /// case-insensitive match).
    pub fn bind<S: AsRef<str>>(&self, header: &[S]) -> Result<BoundPredicate> {
        let conditions = self
            .conditions
            .iter()
            .map(|c| {
                let index = column_index(header, &c.column).ok_or_else(|| {
                    let available: Vec<&str> = header.iter().map(|h| h.as_ref()).collect();
                    Error::Usage(format!(
                        "slice `{}`: no column `{}` in the data (columns: {})",
                        self.expr,
                        c.column,
                        available.join(", ")
                    ))
                })?;
                Ok(BoundCondition {
                    index,
                    op: c.op,
                    value: c.value,
                })
            })
            .collect::<Result<_>>()?;
        Ok(BoundPredicate { conditions })
    }
}

/// `column`'s index in `header`: the exact name, else a unique case-insensitive match.
fn column_index<S: AsRef<str>>(header: &[S], column: &str) -> Option<usize> {
    let exact = header.iter().position(|h| h.as_ref() == column);
    exact.or_else(|| {
        let mut it = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.as_ref().eq_ignore_ascii_case(column));
        match (it.next(), it.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

/// A [`Condition`] whose column is an index into rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundCondition {
    /// The column's index in the header.
    pub index: usize,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl BoundCondition {
    /// True when the row's cell satisfies the condition (a row too short for the column does
    /// not).
    pub fn matches(&self, row: &[f32]) -> bool {
        row.get(self.index)
            .is_some_and(|&x| self.op.apply(x, self.value))
    }
}

/// A [`Predicate`] whose columns are indices into rows.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundPredicate {
    /// The conditions, all of which must hold.
    pub conditions: Vec<BoundCondition>,
}

impl BoundPredicate {
    /// True when the row is in the slice: every condition holds.
    pub fn matches(&self, row: &[f32]) -> bool {
        self.conditions.iter().all(|c| c.matches(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Predicate> {
        s.parse()
    }

    #[test]
    fn predicates_parse_every_operator() {
        for (s, op, v) in [
            ("alcohol > 13", CmpOp::Gt, 13.0),
            ("alcohol>=13.5", CmpOp::Ge, 13.5),
            ("  x < -1e3 ", CmpOp::Lt, -1000.0),
            ("x <= 0", CmpOp::Le, 0.0),
            ("label == 2", CmpOp::Eq, 2.0),
            ("label != 2", CmpOp::Ne, 2.0),
        ] {
            let pr = p(s).unwrap();
            assert_eq!(pr.conditions.len(), 1, "{s}");
            assert_eq!(
                (pr.conditions[0].op, pr.conditions[0].value),
                (op, v),
                "{s}"
            );
            assert_eq!(pr.expr, s.trim());
        }
        let q = p("\"fixed acidity\" <= 7.5").unwrap();
        assert_eq!(q.conditions[0].column, "fixed acidity");
        assert_eq!(
            p("`od280/od315` > 2").unwrap().conditions[0].column,
            "od280/od315"
        );
    }

    #[test]
    fn bad_predicates_say_what_and_where() {
        let msg = |s: &str| p(s).unwrap_err().to_string();
        assert_eq!(
            msg("alcohol >> 13"),
            "slice `alcohol >> 13`: unexpected `>` after `>` (at character 10)"
        );
        assert!(msg("alcohol = 13").contains("write `==` for equality"));
        assert!(msg("alcohol > abc").contains("found `abc` (at character 11)"));
        assert!(msg("alcohol >").contains("expected a number after `>`"));
        assert!(msg("> 13").contains("expected a column name"));
        assert!(msg("").contains("empty expression"));
        assert!(msg("alcohol 13").contains("expected an operator"));
        assert!(msg("x > inf").contains("not a finite number"));
        assert!(msg("\"x > 1").contains("unterminated quote"));
    }

    #[test]
    fn predicates_bind_and_evaluate() {
        let header = ["alcohol", "Magnesium", "label"];
        let b = p("label == 2").unwrap().bind(&header).unwrap();
        assert_eq!(b.conditions[0].index, 2);
        assert!(b.matches(&[0.0, 0.0, 2.0]) && !b.matches(&[0.0, 0.0, 1.0]));
        assert!(!b.matches(&[0.0]), "short row");
        // NaN (a missing cell) is in no slice, even for `!=`.
        let ne = p("alcohol != 1").unwrap().bind(&header).unwrap();
        assert!(!ne.matches(&[f32::NAN, 0.0, 0.0]));
        let m = p("magnesium > 1").unwrap().bind(&header).unwrap();
        assert_eq!(m.conditions[0].index, 1);
        let e = p("proline > 1")
            .unwrap()
            .bind(&header)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "slice `proline > 1`: no column `proline` in the data (columns: alcohol, Magnesium, label)"
        );
    }

    #[test]
    fn conjunctions_parse_with_and_in_any_case() {
        let c = p("alcohol > 13 and hue <= 0.8").unwrap();
        assert_eq!(c.expr, "alcohol > 13 and hue <= 0.8");
        assert_eq!(
            c.conditions,
            [
                Condition::new("alcohol", CmpOp::Gt, 13.0),
                Condition::new("hue", CmpOp::Le, 0.8)
            ]
        );
        let q = p("\"fixed acidity\" <= 7.5 AND hue>1 And `a and b` != -2").unwrap();
        assert_eq!(
            q.conditions,
            [
                Condition::new("fixed acidity", CmpOp::Le, 7.5),
                Condition::new("hue", CmpOp::Gt, 1.0),
                Condition::new("a and b", CmpOp::Ne, -2.0)
            ]
        );
        // A quoted name holding ` and ` is one column.
        let r = p("\"x and y\" > 1").unwrap();
        assert_eq!(r.conditions, [Condition::new("x and y", CmpOp::Gt, 1.0)]);
    }

    #[test]
    fn bad_conjunctions_say_what_and_where() {
        let msg = |s: &str| p(s).unwrap_err().to_string();
        assert_eq!(
            msg("alcohol > 13 and"),
            "slice `alcohol > 13 and`: expected a condition `COLUMN OP NUMBER` after `and` \
             (at character 17)"
        );
        assert_eq!(
            msg("alcohol > 13 or hue < 1"),
            "slice `alcohol > 13 or hue < 1`: expected `and` or the end of the slice after \
             `13`, found `or` (at character 14)"
        );
        assert_eq!(
            msg("alcohol > 13 and hue 1"),
            "slice `alcohol > 13 and hue 1`: expected an operator <, <=, >, >=, == or != \
             after the column (at character 22)"
        );
        assert!(msg("a > 1 and b > x").contains("found `x` (at character 15)"));
        assert!(msg("a > 1 andb > 2").contains("found `andb`"));
        assert!(msg("a > 1 and \"b > 2").contains("unterminated quote \" (at character 11)"));
    }

    #[test]
    fn conjunctions_bind_and_need_every_condition() {
        let header = ["alcohol", "hue", "label"];
        let b = p("alcohol > 13 and hue <= 0.8")
            .unwrap()
            .bind(&header)
            .unwrap();
        assert!(b.matches(&[13.5, 0.8, 0.0]));
        assert!(!b.matches(&[13.5, 0.9, 0.0]) && !b.matches(&[12.0, 0.5, 0.0]));
        assert!(!b.matches(&[13.5, f32::NAN, 0.0]));
        let e = p("alcohol > 13 and proline < 2")
            .unwrap()
            .bind(&header)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `proline`"), "{e}");
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_conditions() {
        let conds = vec![
            Condition::new("fixed acidity", CmpOp::Le, 7.45),
            Condition::new("hue", CmpOp::Gt, 0.1 + 0.2),
            Condition::new("say \"hi\"", CmpOp::Eq, 3.0),
            Condition::new("a=b", CmpOp::Ne, -1e-7),
        ];
        let pr = Predicate::from_conditions(conds.clone());
        assert_eq!(
            pr.expr,
            "\"fixed acidity\" <= 7.45 and hue > 0.3 and `say \"hi\"` == 3 and \"a=b\" != -0.0000001"
        );
        assert_eq!(p(&pr.expr).unwrap().conditions, conds);
    }
}
