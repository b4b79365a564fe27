//! The `slices` stage of the pipeline: the search of `mlprobe slices` ([`eval::search()`]) on the
//! new model's held-out rows. It fails when a one- or two-feature segment's accuracy is
//! significantly below the rest's (Benjamini–Hochberg adjusted p-value below `alpha`).

use super::{Config, RunOptions, State, json, skipped, verdict};
use crate::error::{Error, Result};
use crate::eval::{self, SearchOptions};
use crate::report::{Case, Report, Suite as Stage};

/// Segments listed in the stage's checks and details.
const TOP: usize = 10;

pub(super) fn stage_slices(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    _: &mut Report,
) -> Result<Stage> {
    let s = &cfg.slices;
    if !s.enabled {
        return Ok(skipped(
            "slices",
            "disabled in the configuration",
            "disabled by [slices] enabled = false in the configuration".into(),
        ));
    }
    let fitted = state
        .fitted
        .as_ref()
        .ok_or_else(|| Error::Usage("no model: the train stage failed".into()))?;
    let opts = SearchOptions {
        min_size: s.min_size,
        alpha: s.alpha,
        top: TOP,
    };
    let test = &fitted.split.test;
    let mut notes = Vec::new();
    let all: Vec<usize>;
    let (rows, which) = if test.len() >= 2 * s.min_size {
        (test.as_slice(), "held-out")
    } else {
        all = (0..fitted.data.rows()).collect();
        notes.push(format!(
            "{} held-out rows are fewer than 2 × min_size ({}): searched all {} rows, the \
             training rows included (lower min_size, or hold out more rows)",
            test.len(),
            2 * s.min_size,
            all.len()
        ));
        (all.as_slice(), "all")
    };
    let r = eval::search(&fitted.model, &fitted.data, rows, &opts)?;
    if r.segments_searched == 0 {
        notes.push(format!(
            "no segment has at least {} rows: nothing was tested",
            s.min_size
        ));
    }
    if r.hidden_redundant > 0 {
        notes.push(format!(
            "{} two-feature segments hidden: a one-feature part is significant already",
            r.hidden_redundant
        ));
    }
    let checks: Vec<Case> = r
        .segments
        .iter()
        .map(|g| {
            Case::check(
                format!("slice {}", g.slice),
                g.p_adjusted >= r.alpha,
                format!(
                    "{} rows, accuracy {:.4} against {:.4} for the rest ({:+.4}); Fisher p = \
                     {:.3e}, BH-adjusted {:.3e} (alpha {})",
                    g.rows,
                    g.accuracy,
                    g.rest_accuracy,
                    g.difference,
                    g.p_value,
                    g.p_adjusted,
                    r.alpha
                ),
            )
        })
        .collect();
    let worst = r.segments.first().map_or_else(String::new, |g| {
        format!(
            "; worst `{}` ({} rows, accuracy {:.4}, adjusted p {:.3})",
            g.slice, g.rows, g.accuracy, g.p_adjusted
        )
    });
    Ok(Stage {
        properties: Vec::new(),
        name: "slices".into(),
        status: Some(verdict(&checks)),
        duration_s: 0.0,
        summary: format!(
            "{} segments of {} {which} rows searched: {} significantly worse than the rest \
             (adjusted p < {}){worst}",
            r.segments_searched, r.rows, r.significant, r.alpha
        ),
        cases: checks,
        notes,
        details: json(&r),
    })
}
