//! The runner's report: one line per vector (`VERDICT name: reason`, in file and vector
//! order) and a summary line `N passed, N failed` with `, N skipped`, `, N expected
//! failures` and `, N server errors` appended when not zero; or, with `--json`, one object:
//! `{"target", "timeout_ms", "settings", "vectors": [{"name", "file", "verdict", "reason",
//! "expect", "responses": [{"status", "line"}], "elapsed_ms"}], "passed", "failed",
//! "skipped", "expected_failures", "unexpected_passes", "server_errors"}`.

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::verdict::Verdict;

/// What happened to one vector (or one front-end check).
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) file: Option<String>,
    pub(crate) expect: Option<&'static str>,
    pub(crate) verdict: Verdict,
    pub(crate) reason: String,
    /// `(status, line)` of each response read.
    pub(crate) responses: Vec<(u16, String)>,
    pub(crate) elapsed: Duration,
}

impl Outcome {
    /// The text line.
    pub(crate) fn line(&self) -> String {
        format!("{} {}: {}", self.verdict.label(), self.name, self.reason)
    }

    fn json(&self) -> Value {
        let responses: Vec<Value> = self
            .responses
            .iter()
            .map(|(status, line)| json!({"status": status, "line": line}))
            .collect();
        json!({
            "name": self.name,
            "file": self.file,
            "verdict": self.verdict.label(),
            "reason": self.reason,
            "expect": self.expect,
            "responses": responses,
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// Prints a line to stdout, ignoring a closed pipe.
pub(crate) fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    pub(crate) expected_failures: usize,
    pub(crate) unexpected_passes: usize,
    pub(crate) server_errors: usize,
}

impl Counts {
    /// Counts the verdicts.
    pub(crate) fn of(outcomes: &[Outcome]) -> Counts {
        let count = |verdicts: &[Verdict]| {
            outcomes
                .iter()
                .filter(|o| verdicts.contains(&o.verdict))
                .count()
        };
        Counts {
            passed: count(&[Verdict::Pass]),
            failed: count(&[Verdict::Fail, Verdict::UnexpectedPass]),
            skipped: count(&[Verdict::Skip]),
            expected_failures: count(&[Verdict::ExpectedFail]),
            unexpected_passes: count(&[Verdict::UnexpectedPass]),
            server_errors: count(&[Verdict::ServerError]),
        }
    }

    /// `N passed, N failed[, N skipped][, N expected failures][, N server errors]`.
    pub(crate) fn summary(&self) -> String {
        let mut summary = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            summary.push_str(&format!(", {} skipped", self.skipped));
        }
        if self.expected_failures > 0 {
            summary.push_str(&format!(", {} expected failures", self.expected_failures));
        }
        if self.server_errors > 0 {
            summary.push_str(&format!(", {} server errors", self.server_errors));
        }
        summary
    }
}

/// The `--json` document.
pub(crate) fn json_report(
    target: &str,
    timeout: Duration,
    settings: Value,
    outcomes: &[Outcome],
) -> Value {
    let counts = Counts::of(outcomes);
    json!({
        "target": target,
        "timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        "settings": settings,
        "vectors": outcomes.iter().map(Outcome::json).collect::<Vec<_>>(),
        "passed": counts.passed,
        "failed": counts.failed,
        "skipped": counts.skipped,
        "expected_failures": counts.expected_failures,
        "unexpected_passes": counts.unexpected_passes,
        "server_errors": counts.server_errors,
    })
}

/// Outcomes for listed names that name nothing: a stale list fails.
pub(crate) fn stale(listed: &[String], known: &[&str]) -> Vec<Outcome> {
    listed
        .iter()
        .filter(|name| !known.contains(&name.as_str()))
        .map(|name| Outcome {
            name: name.clone(),
            file: None,
            expect: None,
            verdict: Verdict::Fail,
            reason: "listed as an expected failure, but nothing by that name exists".into(),
            responses: Vec::new(),
            elapsed: Duration::ZERO,
        })
        .collect()
}
