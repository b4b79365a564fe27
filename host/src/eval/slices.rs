//! Slices: subgroups of the rows, `COLUMN OP NUMBER` with `<, <=, >, >=, ==, !=`
//! (`alcohol > 13`, `"fixed acidity" <= 7.5`), bound to a CSV header and evaluated on rows of
//! `f32`. Each slice is evaluated and gated on its own.

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

/// A slice: `COLUMN OP NUMBER`, e.g. `alcohol > 13` or `"fixed acidity" <= 7.5`.
///
/// ```
/// use mlprobe::eval::Predicate;
/// let p: Predicate = "alcohol > 13".parse().unwrap();
/// let bound = p.bind(&["alcohol", "label"]).unwrap();
/// assert!(bound.matches(&[13.5, 0.0]));
/// assert!(!bound.matches(&[13.0, 0.0]));
/// assert!("alcohol >> 13".parse::<Predicate>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The expression as the user wrote it (trimmed): the slice's name in reports.
    pub expr: String,
    /// The column name.
    pub column: String,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
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
        // Column: a quoted name ("…" or `…`) or a run up to whitespace or an operator.
        let (column, rest_at) = match expr.chars().next() {
            None => {
                return Err(err(
                    0,
                    "empty expression: expected `COLUMN OP NUMBER`, e.g. `alcohol > 13`".into(),
                ));
            }
            Some(q @ ('"' | '`')) => match expr[1..].find(q) {
                Some(end) => (&expr[1..1 + end], end + 2),
                None => return Err(err(0, format!("unterminated quote {q}"))),
            },
            Some(_) => {
                let end = expr
                    .find(|c: char| c.is_whitespace() || "<>=!".contains(c))
                    .unwrap_or(expr.len());
                (&expr[..end], end)
            }
        };
        if column.is_empty() {
            return Err(err(0, "expected a column name before the operator".into()));
        }
        let after_col = &expr[rest_at..];
        let op_at = rest_at + (after_col.len() - after_col.trim_start().len());
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        let rest = &expr[op_at..];
        let Some((sym, op)) = ops.iter().find(|(sym, _)| rest.starts_with(sym)) else {
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
        let num = num_raw.trim();
        if num.starts_with(['<', '>', '=', '!']) {
            return Err(err(
                num_at,
                format!("unexpected `{}` after `{sym}`", &num[..1]),
            ));
        }
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
        Ok(Predicate {
            expr: expr.to_string(),
            column: column.to_string(),
            op: *op,
            value,
        })
    }
}

impl Predicate {
    /// Resolves the column in a header (exact name, else a unique case-insensitive match).
    pub fn bind<S: AsRef<str>>(&self, header: &[S]) -> Result<BoundPredicate> {
        let exact = header.iter().position(|h| h.as_ref() == self.column);
        let index = exact.or_else(|| {
            let mut it = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_ref().eq_ignore_ascii_case(&self.column));
            match (it.next(), it.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        });
        let index = index.ok_or_else(|| {
            let available: Vec<&str> = header.iter().map(|h| h.as_ref()).collect();
            Error::Usage(format!(
                "slice `{}`: no column `{}` in the data (columns: {})",
                self.expr,
                self.column,
                available.join(", ")
            ))
        })?;
        Ok(BoundPredicate {
            index,
            op: self.op,
            value: self.value,
        })
    }
}

/// A [`Predicate`] whose column is an index into rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundPredicate {
    /// The column's index in the header.
    pub index: usize,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl BoundPredicate {
    /// True when the row is in the slice (a row too short for the column is not).
    pub fn matches(&self, row: &[f32]) -> bool {
        row.get(self.index)
            .is_some_and(|&x| self.op.apply(x, self.value))
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
            assert_eq!((pr.op, pr.value), (op, v), "{s}");
            assert_eq!(pr.expr, s.trim());
        }
        let q = p("\"fixed acidity\" <= 7.5").unwrap();
        assert_eq!(q.column, "fixed acidity");
        assert_eq!(p("`od280/od315` > 2").unwrap().column, "od280/od315");
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
        assert_eq!(b.index, 2);
        assert!(b.matches(&[0.0, 0.0, 2.0]) && !b.matches(&[0.0, 0.0, 1.0]));
        assert!(!b.matches(&[0.0]), "short row");
        // NaN (a missing cell) is in no slice, even for `!=`.
        let ne = p("alcohol != 1").unwrap().bind(&header).unwrap();
        assert!(!ne.matches(&[f32::NAN, 0.0, 0.0]));
        assert_eq!(p("magnesium > 1").unwrap().bind(&header).unwrap().index, 1);
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
}
