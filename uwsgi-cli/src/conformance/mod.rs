//! `uwsgi conformance`: h2spec for uwsgi. Against an application server, replays the
//! request-side decode vectors of tests/vectors and judges the responses (`verdict.rs`); in
//! app-view mode also what the reference application received (`appview.rs`). Against a front
//! end (`--front-end`), sends a fixed set of HTTP requests and checks what reaches its uwsgi
//! upstream (`frontend.rs`).
//!
//! The server's settings are declared with `--persistent`, `--max-datasize`, `--max-vars`,
//! `--magic refuse` and `--no-foreign-check`; each vector whose options those settings meet
//! runs (`plan.rs`), and the others are skipped with the flag that would run them.
//!
//! Before any vector a valid GET must get a 2xx (else exit status 2: nothing can be judged).
//! `--expect-fail FILE` lists known deviations; a listed vector that passes, and a listed name
//! that no vector has, fail. Exit status: 0 iff nothing failed, 1 if something did, 2 for
//! usage, vector-file or target errors.

mod appview;
mod exchange;
mod frontend;
// The repository's one vector loader (std and serde_json only), shared with the crate's tests.
// `data/` links to it, the vector files and the capture that `inspect` dumps, so that the
// published package carries them.
#[allow(dead_code, unreachable_pub, clippy::all)]
#[path = "../../data/loader.rs"]
pub(crate) mod loader;
mod plan;
mod report;
mod verdict;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use uwsgi_codec::{Modifier1, PacketBuilder};

use self::exchange::{Timing, exchange};
pub(crate) use self::loader::DECODE_SCHEMA;
use self::plan::{Plan, Settings};
pub(crate) use self::report::print_line;
use self::report::{Counts, Outcome};
use self::verdict::{Judged, Verdict};
use crate::net::{Target, seconds};
use crate::{ConformanceArgs, Magic};

/// The vector files of `tests/vectors` (through the links in `data/`), built into the tool, so
/// that it runs them wherever it is copied: (file name, text), sorted by name as
/// `loader::load_dir` reads a directory.
const BUNDLED: [(&str, &str); 3] = [
    ("encoder.json", include_str!("../../data/encoder.json")),
    ("nginx.json", include_str!("../../data/nginx.json")),
    ("spec.json", include_str!("../../data/spec.json")),
];

/// The vector files in `dir`, or the bundled ones.
fn load_vectors(dir: Option<&Path>) -> Result<Vec<loader::VectorFile>, String> {
    match dir {
        Some(dir) => loader::load_dir(dir),
        None => loader::parse_files(BUNDLED),
    }
}

/// Runs `uwsgi conformance`; returns the exit status.
pub(crate) async fn run(args: ConformanceArgs) -> u8 {
    let result = match &args.front_end {
        Some(upstream) => frontend::run(&args, upstream).await,
        None => run_server(&args).await,
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(message) => {
            eprintln!("uwsgi conformance: {message}");
            2
        }
    }
}

/// What every vector's task shares.
struct Context {
    target: Target,
    timing: Timing,
    app_view: bool,
    strict: bool,
    probe: Vec<u8>,
}

/// A small valid GET, as nginx sends it with its default `uwsgi_params`; a header alone
/// (datasize 0, V7) when the server's limit is below its size.
fn known_good_request(max_datasize: u64) -> Vec<u8> {
    let pairs: [(&str, &str); 15] = [
        ("QUERY_STRING", ""),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/"),
        ("PATH_INFO", "/"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "40000"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "localhost"),
        ("HTTP_USER_AGENT", "uwsgi-conformance"),
    ];
    let mut builder = PacketBuilder::new(Modifier1::WSGI);
    for (key, value) in &pairs {
        builder.push_var(*key, *value);
    }
    let wire = builder.to_vec().unwrap_or_default();
    if wire.len() as u64 > max_datasize + 4 {
        return vec![0, 0, 0, 0];
    }
    wire
}

/// `Ok(status line)` if the server answers a valid request with a 2xx, else why not.
async fn probe(context: &Context) -> Result<String, String> {
    let exchange = exchange(
        &context.target,
        &context.probe,
        1,
        false,
        false,
        context.timing,
    )
    .await;
    match exchange.responses.first() {
        Some(r) if (200..300).contains(&r.status) => Ok(r.line.clone()),
        Some(r) => Err(format!("it answered `{}`, want a 2xx", r.line)),
        None => Err(exchange.how(context.timing)),
    }
}

fn settings(args: &ConformanceArgs) -> Settings {
    let declared = &args.settings;
    Settings {
        persistent: declared.persistent,
        max_datasize: declared.decode.max_datasize.min(65535) as u64,
        max_vars: declared.max_vars.map(|n| n as u64),
        magic_refuse: declared.magic == Magic::Refuse,
        foreign_check: !declared.decode.no_foreign_check,
        allow_magic: args.allow_magic,
    }
}

/// Runs one planned vector: `(judged, responses)`.
async fn run_plan(context: &Context, plan: &Plan) -> (Judged, Vec<(u16, String)>) {
    let exchange = exchange(
        &context.target,
        &plan.wire,
        plan.responses(),
        plan.eof_first,
        plan.head_request(),
        context.timing,
    )
    .await;
    let responses = exchange
        .responses
        .iter()
        .map(|r| (r.status, r.line.clone()))
        .collect();
    let judged = match verdict::judge(plan, &exchange, context.app_view, context.timing) {
        Ok(judged) => judged,
        Err(refused) => match probe(context).await {
            Ok(_) => Judged::Pass(format!("{refused}; a valid request is still answered")),
            Err(err) => Judged::Fail(format!("{refused}; but then a valid request failed: {err}")),
        },
    };
    (judged, responses)
}

async fn run_server(args: &ConformanceArgs) -> Result<bool, String> {
    let target = Target::parse(&args.target)?;
    let timing = Timing {
        timeout: seconds(args.timeout, "--timeout")?,
        linger: seconds(args.linger, "--linger")?,
    };
    let files = load_vectors(args.vectors.as_deref())?;
    let vectors: Vec<(&str, &loader::DecodeVector)> = files
        .iter()
        .flat_map(|file| match &file.content {
            loader::Content::Decode(vectors) => {
                vectors.iter().map(|v| (file.name.as_str(), v)).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    let listed = match &args.expect_fail {
        Some(path) => verdict::load_list(path)?,
        None => Vec::new(),
    };
    let settings = settings(args);
    let context = Arc::new(Context {
        target,
        timing,
        app_view: args.app_view,
        strict: args.strict,
        probe: known_good_request(settings.max_datasize),
    });
    let first = probe(&context).await.map_err(|err| {
        format!(
            "{} does not answer a valid request with a 2xx, so no vector can be judged: {err}",
            args.target
        )
    })?;
    if args.app_view {
        let check = exchange(&context.target, &context.probe, 1, false, false, timing).await;
        let body = check
            .responses
            .first()
            .map(|r| r.body.clone())
            .unwrap_or_default();
        if let Err(err) = appview::is_app_view(&body) {
            return Err(format!("--app-view: {err} (it answered `{first}`)"));
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(usize::from(args.jobs)));
    let mut tasks = Vec::new();
    for (file, vector) in vectors
        .iter()
        .filter(|(_, v)| args.only.is_empty() || args.only.iter().any(|o| v.label.name.contains(o)))
    {
        let listed = listed.contains(&vector.label.name);
        let plan = plan::plan(vector, &settings);
        let (context, semaphore) = (Arc::clone(&context), Arc::clone(&semaphore));
        let (name, file) = (vector.label.name.clone(), (*file).to_owned());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let (expect, verdict, reason, responses) = match plan {
                Err(reason) => {
                    let note = if listed {
                        " (listed as an expected failure)"
                    } else {
                        ""
                    };
                    (None, Verdict::Skip, format!("{reason}{note}"), Vec::new())
                }
                Ok(plan) => {
                    let _permit = semaphore.acquire().await;
                    let (judged, responses) = run_plan(&context, &plan).await;
                    let (verdict, reason) = verdict::apply(&judged, listed, context.strict);
                    (Some(plan.expect_name()), verdict, reason, responses)
                }
            };
            Outcome {
                name,
                file: Some(file),
                expect,
                verdict,
                reason,
                responses,
                elapsed: started.elapsed(),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        let outcome = task
            .await
            .map_err(|err| format!("a vector's task failed: {err}"))?;
        if !args.json {
            print_line(&outcome.line());
        }
        outcomes.push(outcome);
    }
    let known: Vec<&str> = vectors.iter().map(|(_, v)| v.label.name.as_str()).collect();
    let stale = report::stale(&listed, &known);
    if !args.json {
        stale.iter().for_each(|o| print_line(&o.line()));
    }
    outcomes.extend(stale);
    let counts = Counts::of(&outcomes);
    if args.json {
        let settings = json!({
            "persistent": settings.persistent, "max_datasize": settings.max_datasize,
            "max_vars": settings.max_vars, "magic_refuse": settings.magic_refuse,
            "foreign_check": settings.foreign_check, "app_view": args.app_view, "strict": args.strict,
        });
        print_line(
            &report::json_report(&args.target, timing.timeout, settings, &outcomes).to_string(),
        );
    } else {
        print_line(&counts.summary());
    }
    Ok(counts.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors the tool runs by default are those of tests/vectors: every file, every vector.
    #[test]
    fn the_bundled_vectors_are_those_of_the_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");
        let names = |files: Vec<loader::VectorFile>| -> Vec<(String, Vec<String>)> {
            let names = |file: &loader::VectorFile| {
                file.vector_names().into_iter().map(str::to_owned).collect()
            };
            files
                .iter()
                .map(|file| (file.name.clone(), names(file)))
                .collect()
        };
        let on_disk = names(load_vectors(Some(Path::new(dir))).expect("the directory"));
        let bundled = names(load_vectors(None).expect("the bundled files"));
        assert_eq!(bundled, on_disk);
        let count: usize = bundled.iter().map(|(_, vectors)| vectors.len()).sum();
        assert!(count >= 276, "{count} vectors");
    }
}
