//! What the runner sends for a vector and what it expects back, given the settings the server
//! was started with: the vector's own outcome (tests/vectors/README.md §3.2, §3.5), carried
//! over to stricter server settings where PROTOCOL.md decides it (H3, L2, M2, C8), or a
//! reason to skip it.
//!
//! A vector's bytes are one connection. The expectation is a list of steps, one per message
//! the server decodes: a `Response` for a whole valid request (the packet and its body), and
//! at most one final `Refusal` (a packet or body that cannot be decoded). In one-request mode
//! only the first message is decoded; the rest is trailing and must not be answered.

use uwsgi_codec::{Direction, MagicClass, Modifier1, PacketKind, magic_class};

use super::loader::{
    BlockSpec, DEFAULT_MAX_DATASIZE, DecodeVector, Expect, Frame, Magic, Mode, Side,
};

/// The server's settings, as declared on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) persistent: bool,
    pub(crate) max_datasize: u64,
    pub(crate) max_vars: Option<u64>,
    pub(crate) magic_refuse: bool,
    pub(crate) foreign_check: bool,
    /// Send vectors whose vars make uWSGI run code.
    pub(crate) allow_magic: bool,
}

/// A whole valid request: its packet's datasize and vars (in wire order), and its body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Message {
    pub(crate) datasize: u16,
    pub(crate) vars: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

/// One message of the connection.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Must be answered with a 2xx.
    Response(Message),
    /// Must not be answered with a 2xx; `kind` is the error PROTOCOL.md gives.
    Refusal { kind: String },
}

/// What to do with a vector.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) wire: Vec<u8>,
    pub(crate) steps: Vec<Step>,
    /// Bytes after the last step that a persistent server decodes with an outcome no vector
    /// pins: further responses are not judged.
    pub(crate) unjudged_tail: bool,
    /// The outcome is decided by the end of input (UnexpectedEof, TruncatedBody): the write
    /// side is shut right after the bytes.
    pub(crate) eof_first: bool,
}

impl Plan {
    /// `response` when every step is a response, else `refusal`.
    pub(crate) fn expect_name(&self) -> &'static str {
        match self.steps.last() {
            Some(Step::Refusal { .. }) => "refusal",
            _ => "response",
        }
    }

    /// Whether the first request is a `HEAD` (its response has no body).
    pub(crate) fn head_request(&self) -> bool {
        match self.steps.first() {
            Some(Step::Response(message)) => super::appview::is_head(&message.vars),
            _ => false,
        }
    }

    /// How many responses must come before the refusal (or in all).
    pub(crate) fn responses(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Response(_)))
            .count()
    }
}

/// Errors that the end of input proves (README §4, stage eof).
fn eof_stage(kind: &str) -> bool {
    matches!(kind, "UnexpectedEof" | "TruncatedBody")
}

/// The steps of a vector read in its own mode (its stream outcome, README §3.5), whether
/// bytes trail them, and whether the final refusal needs the end of input.
fn steps(vector: &DecodeVector) -> (Vec<Step>, bool, bool) {
    let (mut steps, mut trailing, mut eof) = (Vec::new(), false, false);
    let mut current: Option<Message> = None;
    for frame in vector.frames() {
        match frame {
            Frame::Packet(packet) => {
                let vars = match &packet.block {
                    BlockSpec::Vars(vars) => {
                        vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
                    }
                    _ => Vec::new(),
                };
                current = Some(Message {
                    datasize: packet.datasize,
                    vars,
                    body: Vec::new(),
                });
            }
            Frame::Body(bytes) => {
                if let Some(message) = current.as_mut() {
                    message.body.extend_from_slice(&bytes);
                }
            }
            Frame::End => steps.extend(current.take().map(Step::Response)),
            Frame::Trailing(_) => trailing = true,
            Frame::Error(error) => {
                eof = eof_stage(&error.kind);
                steps.push(Step::Refusal { kind: error.kind });
            }
        }
    }
    (steps, trailing, eof)
}

/// The first code- or process-affecting `UWSGI_*` key in the bytes (a lenient server might
/// see it even in a block that does not parse).
fn code_magic(wire: &[u8]) -> Option<String> {
    (0..wire.len()).find_map(|at| {
        let rest = wire.get(at..)?;
        if !rest.starts_with(b"UWSGI_") {
            return None;
        }
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_uppercase() || *b == b'_'))
            .unwrap_or(rest.len());
        let key = rest.get(..len)?;
        (magic_class(key) == Some(MagicClass::CodeOrProcess))
            .then(|| key.escape_ascii().to_string())
    })
}

/// The plan for `vector` against a server with `settings`, or why it is not run.
pub(crate) fn plan(vector: &DecodeVector, settings: &Settings) -> Result<Plan, String> {
    let options = &vector.options;
    if options.direction == Side::Reply {
        return Err("a reply (direction reply): not sent to a server".into());
    }
    if options.datagram {
        return Err("a datagram: not sent on a stream".into());
    }
    // Fewer than 4 bytes are an end of input inside a header (or a clean end): run them.
    let (m1, m2) = match vector.wire.get(..4) {
        Some(&[m1, _, _, m2]) => (m1, m2),
        _ => (0, 0),
    };
    let foreign = matches!(&vector.expect, Expect::Error(e) if e.kind == "ForeignProtocol");
    let max_datasize = options.max_datasize.min(DEFAULT_MAX_DATASIZE);
    if !foreign && PacketKind::of(Modifier1(m1), m2, Direction::Request) != PacketKind::REQUEST {
        return Err(format!(
            "modifier1 {m1}, modifier2 {m2}: a service packet, not a request family"
        ));
    }
    // The options the vector sets must be the server's.
    let mut needs = Vec::new();
    if max_datasize != DEFAULT_MAX_DATASIZE && max_datasize != settings.max_datasize {
        needs.push(format!("--max-datasize {max_datasize}"));
    }
    if options.max_vars.is_some() && options.max_vars != settings.max_vars {
        needs.push(format!(
            "--max-vars {}",
            options.max_vars.unwrap_or_default()
        ));
    }
    if options.magic_policy == Magic::Refuse && !settings.magic_refuse {
        needs.push("--magic refuse".to_owned());
    }
    if !options.foreign_check && settings.foreign_check {
        needs.push("--no-foreign-check".to_owned());
    }
    if !needs.is_empty() {
        return Err(format!("needs a server started with {}", needs.join(" ")));
    }
    if !settings.allow_magic && !settings.magic_refuse {
        if let Some(key) = code_magic(&vector.wire) {
            return Err(format!(
                "carries {key} (PROTOCOL.md §9: uWSGI would act on it); --allow-magic sends it"
            ));
        }
    }
    let (mut steps, mut trailing, mut eof_first) = steps(vector);
    eof_first |= steps.is_empty(); // an empty connection: nothing but the end of input
    // A one-request server decodes the first message only (C8): the rest is trailing.
    if !settings.persistent && steps.len() > 1 {
        steps.truncate(1);
        trailing = true;
        eof_first = false;
    }
    // Stricter server settings turn a message into a refusal where PROTOCOL.md says so.
    let foreign_refusal =
        |s: &Step| matches!(s, Step::Refusal { kind } if kind == "ForeignProtocol");
    if !settings.foreign_check && options.foreign_check && steps.iter().any(foreign_refusal) {
        return Err("a foreign preamble: with the check off its outcome is not pinned; run it without --no-foreign-check".into());
    }
    for index in 0..steps.len() {
        let refused = match steps.get(index) {
            Some(Step::Response(message)) => {
                let vars = &message.vars;
                if u64::from(message.datasize) > settings.max_datasize {
                    Some("TooLarge") // H3
                } else if settings.max_vars.is_some_and(|max| vars.len() as u64 > max) {
                    Some("TooManyVars") // L2
                } else if settings.magic_refuse
                    && vars.iter().any(|(k, _)| k.starts_with(b"UWSGI_"))
                {
                    Some("MagicVar") // M2
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(kind) = refused {
            steps.truncate(index);
            steps.push(Step::Refusal {
                kind: kind.to_owned(),
            });
            eof_first = false;
            trailing = false;
            break;
        }
    }
    // A persistent server decodes trailing bytes as the next packet, with no pinned outcome.
    let unjudged_tail = settings.persistent && trailing && options.mode != Mode::Persistent;
    Ok(Plan {
        wire: vector.wire.to_vec(),
        steps,
        unjudged_tail,
        eof_first,
    })
}
