//! Verdicts: what the server's responses mean for a vector (its plan), and how an
//! expected-failure list turns them into the reported verdict.
//!
//! - A whole valid request must get a **2xx** (from the reference application in app-view
//!   mode, whose report must then match the request). A 5xx is its own verdict, `5XX`: the
//!   server refused something the protocol allows (an application error or a policy); it
//!   fails under `--strict`. Any other answer, or none, fails.
//! - A malformed message must not get a 2xx (in app-view mode a 2xx whose app was told its
//!   body is incomplete counts as refused), and the server must then still answer a valid
//!   request with a 2xx on a new connection (the probe).
//! - The connection is read to its end: in one-request mode a second response (to bytes
//!   after the body, or to our end of input) fails; a persistent server must answer each
//!   request once.

use super::appview;
use super::exchange::{End, Exchange, Timing};
use super::plan::{Plan, Step};

/// The verdict on a vector, before an expected-failure list is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Judged {
    /// It passes.
    Pass(String),
    /// It fails.
    Fail(String),
    /// A well-formed request got a 5xx.
    ServerError(String),
}

/// The reported verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail,
    /// A 5xx to a well-formed request, without `--strict`.
    ServerError,
    ExpectedFail,
    UnexpectedPass,
    Skip,
}

impl Verdict {
    /// The label in the text report and the JSON.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::ServerError => "5XX",
            Verdict::ExpectedFail => "XFAIL",
            Verdict::UnexpectedPass => "XPASS",
            Verdict::Skip => "SKIP",
        }
    }
}

/// Applies the list: a listed vector that does not pass is an expected failure, a listed one
/// that passes is an unexpected pass.
pub(crate) fn apply(judged: &Judged, listed: bool, strict: bool) -> (Verdict, String) {
    let (verdict, reason) = match judged {
        Judged::Pass(reason) => (Verdict::Pass, reason),
        Judged::Fail(reason) => (Verdict::Fail, reason),
        Judged::ServerError(reason) if strict => (Verdict::Fail, reason),
        Judged::ServerError(reason) => (Verdict::ServerError, reason),
    };
    match (verdict, listed) {
        (Verdict::Pass, true) => (
            Verdict::UnexpectedPass,
            format!("{reason} (listed as an expected failure, but it passes)"),
        ),
        (Verdict::Fail | Verdict::ServerError, true) => (Verdict::ExpectedFail, reason.clone()),
        _ => (verdict, reason.clone()),
    }
}

fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Judges an exchange; `Ok(reason)` means "refused as it should be, if the probe passes".
pub(crate) fn judge(
    plan: &Plan,
    exchange: &Exchange,
    app_view: bool,
    timing: Timing,
) -> Result<Judged, String> {
    let how = exchange.how(timing);
    if let End::NoConnection(_) = exchange.end {
        return Ok(Judged::Fail(how));
    }
    let mut server_error = None;
    let mut refused = false;
    let mut notes: Vec<String> = Vec::new();
    let several = plan.steps.len() > 1;
    for (index, step) in plan.steps.iter().enumerate() {
        let which = if several {
            format!("request {}: ", index + 1)
        } else {
            String::new()
        };
        let response = exchange.responses.get(index);
        match (step, response) {
            (Step::Response(_), None) => {
                return Ok(Judged::Fail(format!("{which}no HTTP response: {how}")));
            }
            (Step::Response(message), Some(r)) if is_2xx(r.status) => {
                if app_view {
                    let faults = appview::check(message, &r.body);
                    if !faults.is_empty() {
                        return Ok(Judged::Fail(format!(
                            "{which}app view: {}",
                            faults.join("; ")
                        )));
                    }
                }
            }
            (Step::Response(_), Some(r)) if r.status >= 500 => {
                server_error.get_or_insert(format!(
                    "{which}a well-formed request answered `{}` (5xx: the app failed or the server refused it): {how}",
                    r.line
                ));
            }
            (Step::Response(_), Some(r)) => {
                return Ok(Judged::Fail(format!(
                    "{which}a well-formed request answered `{}` (want 2xx): {how}",
                    r.line
                )));
            }
            (Step::Refusal { kind }, Some(r)) if is_2xx(r.status) => {
                let told = app_view
                    .then(|| appview::told_incomplete(&r.body))
                    .flatten();
                match told {
                    Some(told) if kind == "TruncatedBody" => {
                        notes.push(told);
                        refused = true;
                    }
                    _ => {
                        let seen = app_view.then(|| appview::body_seen(&r.body)).flatten();
                        let seen = seen.map_or(String::new(), |s| format!(" ({s})"));
                        return Ok(Judged::Fail(format!(
                            "{which}accepted ({kind} expected){seen}: {how}"
                        )));
                    }
                }
            }
            (Step::Refusal { .. }, _) => refused = true,
        }
    }
    if plan.steps.is_empty() && !exchange.responses.is_empty() {
        return Ok(Judged::Fail(format!(
            "answered a connection that sent nothing (H7: an end of input at a packet start is a clean end): {how}"
        )));
    }
    let judged = plan.steps.len();
    if exchange.responses.len() > judged && !plan.unjudged_tail {
        let extra = exchange
            .responses
            .get(judged)
            .map_or(String::new(), |r| r.line.clone());
        let after = if exchange.half_closed {
            "after our end of input (H7: an end between messages is a clean end)"
        } else {
            "to the bytes after the body"
        };
        return Ok(Judged::Fail(format!(
            "answered {} times: a further response `{extra}` {after} ({}): {how}",
            exchange.responses.len(),
            if plan.steps.iter().any(|s| matches!(s, Step::Refusal { .. })) {
                "after a refusal"
            } else {
                "one-request mode: bytes after the body are never parsed, C8"
            }
        )));
    }
    if exchange.end == End::NotHttp && !exchange.garbage.is_empty() && !refused {
        return Ok(Judged::Fail(format!(
            "bytes that are not HTTP after the responses: {how}"
        )));
    }
    if refused {
        let notes = notes.iter().map(|n| format!(" ({n})")).collect::<String>();
        return Err(format!("refused: {how}{notes}"));
    }
    Ok(match server_error {
        Some(reason) => Judged::ServerError(reason),
        None => Judged::Pass(how),
    })
}

/// The names an expected-failure file lists, in order (`#` starts a comment).
pub(crate) fn load_list(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "{}:{}: {name:?} is not a vector name",
                path.display(),
                number + 1
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}
