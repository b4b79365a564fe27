//! `expect_column_values_to_match_regex`'s expression: the `regex` crate's, and a fully built
//! DFA of it where one fits.

use regex::bytes::Regex;
use regex_automata::Input;
use regex_automata::dfa::{Automaton, dense};
use std::sync::Arc;

/// A compiled regular expression, compared by its source: the `regex` crate's, and where the
/// expression allows one within `DFA_BYTES` (2 MiB), a fully built DFA of the same expression (a
/// table walk with no cache: 15 ns a cell where `is_match` takes 24 on `^[A-Z]{2}-\d{4}$`).
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The expression (`regex::bytes`: cells need not be UTF-8).
    pub regex: Regex,
    dfa: Option<Arc<dense::DFA<Vec<u32>>>>,
}

/// Largest DFA built for a `regex` (and for its construction); a larger one, or an expression
/// a DFA cannot hold (a Unicode word boundary), is searched by the `regex` crate alone.
const DFA_BYTES: usize = 2 << 20;

impl Pattern {
    /// Compiles `source` (the `regex` crate's syntax).
    pub fn new(source: &str) -> std::result::Result<Self, regex::Error> {
        let regex = Regex::new(source)?;
        // As `regex::bytes` compiles it: no UTF-8 requirement on the haystack.
        let dfa = dense::Builder::new()
            .syntax(regex_automata::util::syntax::Config::new().utf8(false))
            .thompson(regex_automata::nfa::thompson::Config::new().utf8(false))
            .configure(
                dense::Config::new()
                    .dfa_size_limit(Some(DFA_BYTES))
                    .determinize_size_limit(Some(DFA_BYTES)),
            )
            .build(source)
            .ok()
            .map(Arc::new);
        Ok(Self { regex, dfa })
    }

    /// Whether the expression matches somewhere in `cell` (`local`: this thread's copy of the
    /// `regex`, with its own cache).
    #[inline]
    pub fn is_match(&self, cell: &[u8], local: &mut Option<Regex>) -> bool {
        if let Some(dfa) = &self.dfa
            && let Ok(found) = dfa.try_search_fwd(&Input::new(cell).earliest(true))
        {
            return found.is_some();
        }
        local
            .get_or_insert_with(|| self.regex.clone())
            .is_match(cell)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DFA finds what the `regex` crate finds (`is_match`, a search anywhere in the cell),
    /// on cells of every kind: ASCII, Unicode, invalid UTF-8, empty; and an expression no DFA
    /// holds (a Unicode word boundary) is left to the `regex` crate.
    #[test]
    fn a_pattern_matches_what_the_regex_crate_matches() {
        let cells: [&[u8]; 12] = [
            b"AB-1234",
            b"AB-12345",
            b"ab-1234",
            b"",
            b"x AB-1234 y",
            "Saint-\u{c9}tienne".as_bytes(),
            "\u{661}\u{662}\u{663}".as_bytes(),
            b"\xff\xfeAB-1234",
            b"AB-12\xff4",
            b"foo bar",
            b"\n",
            b"Lyon",
        ];
        let sources = [
            r"^[A-Z]{2}-\d{4}$",
            r"\d{3}",
            r"(?i)ab",
            r"",
            r"^$",
            r"\w+",
            r"\bbar\b",
            r"(?-u:\xff)",
            r"[[:alpha:]]-",
            r"^.{4}$",
            r"É|é",
        ];
        let mut with_dfa = 0;
        for source in sources {
            let p = Pattern::new(source).unwrap();
            with_dfa += usize::from(p.dfa.is_some());
            let plain = Regex::new(source).unwrap();
            for cell in cells {
                assert_eq!(
                    p.is_match(cell, &mut None),
                    plain.is_match(cell),
                    "{source} on {cell:?}"
                );
            }
        }
        assert!(with_dfa >= 9, "{with_dfa} of {} built a DFA", sources.len());
        assert!(Pattern::new(r"\bbar\b").unwrap().dfa.is_none());
    }
}
