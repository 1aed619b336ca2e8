//! `uwsgi`: a command-line tool for the uwsgi wire protocol (nginx `uwsgi_pass` and uWSGI),
//! built on the `uwsgi-codec` crate.
//!
//! ```text
//! uwsgi inspect capture.bin               annotated dump of packets (or --json)
//! uwsgi curl 127.0.0.1:3031 /path         one request as nginx sends it; the raw reply
//! uwsgi serve --listen 127.0.0.1:3031     Hello World, --dump, or --app-view
//! uwsgi ping 127.0.0.1:3031               ping / pong round trip
//! uwsgi record --listen 127.0.0.1:3032    save what a front end sends, as vectors
//! uwsgi conformance 127.0.0.1:3031        run the test vectors against a live server
//! ```
//!
//! This file holds the argument definitions only; each subcommand lives in its own module.
//! Errors are one line on stderr; exit status 0 on success, 1 on failure, 2 on usage or
//! input errors.

mod appview;
mod conformance;
mod curl;
mod hex;
mod inspect;
mod net;
mod ping;
mod record;
mod replies;
mod serve;
mod sha256;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The uwsgi wire protocol on the command line.
#[derive(Debug, Parser)]
#[command(name = "uwsgi", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode uwsgi packets (a stream: packet, body, packet ...) and print an annotated dump.
    Inspect(InspectArgs),
    /// Send one request as nginx would and copy the raw reply to stdout.
    Curl(CurlArgs),
    /// A uwsgi application server: Hello World, the request as JSON, or the app view.
    Serve(ServeArgs),
    /// Send pings and time the pongs.
    Ping(PingArgs),
    /// Listen as a uwsgi upstream and save what a front end sends, as decode vectors.
    Record(RecordArgs),
    /// Run the test vectors against a live application server, or check a front end.
    Conformance(ConformanceArgs),
}

/// `uwsgi inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A file of raw bytes, or `-` for stdin; without it, the bundled nginx capture.
    pub(crate) path: Option<PathBuf>,
    /// The input is hex text (whitespace ignored), not raw bytes.
    #[arg(long)]
    pub(crate) hex: bool,
    /// Read packets as replies, not requests.
    #[arg(long)]
    pub(crate) reply: bool,
    #[command(flatten)]
    pub(crate) decode: DecodeSettings,
    /// One JSON object per packet, one per line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `uwsgi curl`.
#[derive(Debug, Args)]
pub(crate) struct CurlArgs {
    /// HOST:PORT, or a unix socket path (contains `/`).
    pub(crate) addr: String,
    /// The request path and query, as in a URL.
    #[arg(default_value = "/")]
    pub(crate) path: String,
    /// The request method (default GET, POST with a body).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub(crate) method: Option<String>,
    /// A request header, sent as HTTP_NAME (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// The request body from a file (`-` = stdin), sent byte for byte.
    #[arg(
        short = 'd',
        long = "data",
        visible_alias = "body",
        value_name = "FILE"
    )]
    pub(crate) data: Option<String>,
    /// Header byte 0.
    #[arg(long, default_value_t = 0)]
    pub(crate) modifier1: u8,
    /// Header byte 3.
    #[arg(long, default_value_t = 0)]
    pub(crate) modifier2: u8,
    /// Send exactly these pairs: a JSON list of {"key_hex", "value_hex"}.
    #[arg(long, value_name = "FILE")]
    pub(crate) vars_json: Option<String>,
    /// Bound connect and the whole exchange, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) timeout: f64,
    /// Print only the reply's body (the head goes to stderr with -v).
    #[arg(long)]
    pub(crate) body_only: bool,
    /// Describe the reply's head and framing on stderr.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

/// Which magic vars a server accepts (PROTOCOL.md §9, M2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Magic {
    /// Every `UWSGI_*` var (uWSGI's behaviour, the parser's default).
    #[default]
    Allow,
    /// Refuse the code- and process-affecting ones.
    RoutingOnly,
    /// Refuse every `UWSGI_*` var.
    Refuse,
}

/// `uwsgi serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// HOST:PORT (port 0: any free port), or a unix socket path (contains `/`).
    #[arg(long, default_value = "127.0.0.1:3031")]
    pub(crate) listen: String,
    /// Answer each request with the request itself as JSON (modifiers, vars, body).
    #[arg(long, conflicts_with = "app_view")]
    pub(crate) dump: bool,
    /// Answer each request with what an application received (the app-view JSON schema of
    /// tests/peers/appview.py).
    #[arg(long)]
    pub(crate) app_view: bool,
    /// Refuse bodies longer than N bytes (uWSGI --limit-post).
    #[arg(long, value_name = "N")]
    pub(crate) max_body: Option<u64>,
    #[command(flatten)]
    pub(crate) settings: ServerSettings,
}

/// How a uwsgi application server decodes: `uwsgi serve` takes these settings, and
/// `uwsgi conformance` is told them (so that it runs the vectors that need them).
#[derive(Debug, Args)]
pub(crate) struct ServerSettings {
    /// Read packet after packet on a connection (uWSGI --puwsgi-socket).
    #[arg(long)]
    pub(crate) persistent: bool,
    #[command(flatten)]
    pub(crate) decode: DecodeSettings,
    /// Refuse blocks with more than N pairs (uWSGI --max-vars is 64, i.e. 128 pairs).
    #[arg(long, value_name = "N")]
    pub(crate) max_vars: Option<usize>,
    /// Which UWSGI_* vars are accepted (refuse: every UWSGI_* var is refused).
    #[arg(long, value_enum, default_value_t = Magic::Allow)]
    pub(crate) magic: Magic,
}

/// The decoding limits every side shares: the datasize limit and the foreign-protocol check.
#[derive(Debug, Args)]
pub(crate) struct DecodeSettings {
    /// Refuse blocks longer than N bytes (uWSGI --buffer-size).
    #[arg(long, value_name = "N", default_value_t = 65535)]
    pub(crate) max_datasize: usize,
    /// Do not refuse other protocols' preambles (HTTP, TLS, PROXY ...).
    #[arg(long)]
    pub(crate) no_foreign_check: bool,
}

/// `uwsgi ping`.
#[derive(Debug, Args)]
pub(crate) struct PingArgs {
    /// HOST:PORT, or a unix socket path (contains `/`).
    pub(crate) addr: String,
    /// How many pings, one connection each.
    #[arg(short, long, default_value_t = 1)]
    pub(crate) count: u32,
    /// Bound each round trip, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) timeout: f64,
}

/// `uwsgi record`.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// HOST:PORT to listen on as the front end's uwsgi upstream (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:3032")]
    pub(crate) listen: String,
    /// Write the vectors to this file (uwsgi-vectors/decode/1); stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Stop after N connections.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600.0)]
    pub(crate) duration: f64,
    /// Name vectors PREFIX_NNN (or after an X-Capture-Name header).
    #[arg(long, default_value = "recorded")]
    pub(crate) prefix: String,
    /// Written into each vector's source: what sent the bytes (e.g. "nginx 1.22.1").
    #[arg(long, default_value = "a front end")]
    pub(crate) front_end: String,
}

/// `uwsgi conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// HOST:PORT of a uwsgi application server, or a unix socket path (contains `/`). With
    /// --front-end: the front end's HTTP HOST:PORT.
    pub(crate) target: String,
    /// A directory of vector files (default: those of tests/vectors, built into the tool).
    #[arg(long, value_name = "DIR")]
    pub(crate) vectors: Option<PathBuf>,
    /// Per exchange: connect + write + read, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub(crate) timeout: f64,
    /// Known deviations: names, one per line, # comments; a listed one that passes fails.
    #[arg(long, value_name = "FILE")]
    pub(crate) expect_fail: Option<PathBuf>,
    /// Vectors run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,
    /// Run only vectors whose name contains TEXT (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub(crate) only: Vec<String>,
    /// Also send vectors with code-affecting UWSGI_* vars (the server may run them).
    #[arg(long)]
    pub(crate) allow_magic: bool,
    /// One JSON object instead of the text report.
    #[arg(long)]
    pub(crate) json: bool,
    /// A 5xx to a well-formed request fails (otherwise it is its own verdict, 5XX).
    #[arg(long)]
    pub(crate) strict: bool,
    /// The settings the server was started with.
    #[command(flatten)]
    pub(crate) settings: ServerSettings,
    /// The server runs a reference app (tests/peers/appview.py or `uwsgi serve --app-view`):
    /// also check what the application received.
    #[arg(long)]
    pub(crate) app_view: bool,
    /// Check a front end instead: TARGET is its HTTP address, and its uwsgi upstream is
    /// this address, where the runner listens.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) front_end: Option<String>,
    /// How long to keep reading after a complete response, in seconds (a second response
    /// in that time is reported).
    #[arg(long, default_value_t = 0.25)]
    pub(crate) linger: f64,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            // One line: the error itself, not clap's tips and usage.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!(
                "uwsgi: {} (see --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
        Err(help) => {
            let _ = help.print(); // --help, --version
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("uwsgi: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Curl(args) => runtime.block_on(curl::run(&args)),
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Ping(args) => runtime.block_on(ping::run(&args)),
        Command::Record(args) => runtime.block_on(record::run(&args)),
        Command::Conformance(args) => runtime.block_on(conformance::run(args)),
    };
    ExitCode::from(code)
}
