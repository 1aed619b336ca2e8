//! Every citation of `docs/PROTOCOL.md` in the tree must point at something the document defines.
//!
//! The code, the README, the examples, the tests, the benches, the fuzz targets and the test
//! vectors cite the protocol document by section (`§2.4`, `§3 rule 2`, `§5 table row 3`,
//! `§10 "datasize 0"`), by rule ID (`H3`, `V1 to V5`, `C1–C9`), by conformance case (`case 21`,
//! `§11 cases 32–36`) and by preamble or split-point case (`P20`, `S1-S3`). This test reads the
//! document, collects what it defines, scans the citations and fails with `file:line` for each
//! one that resolves to nothing. It needs std only. `PROTOCOL_DOC_LIST=1 cargo test --test
//! protocol_doc -- --nocapture` lists every citation it found.
//!
//! What the document defines:
//! - sections: `## N. Title` and `### N.M Title` headings;
//! - rule IDs: bold definitions `**H3.**` (the P and S cases of §11 are written the same way);
//! - numbered items: a top-level `N. ` list item in section N (§3 rules, §11 cases);
//! - table rows: the body rows of the first table of a section or subsection;
//! - row labels and bullet labels: the text of a section, for `§N "label"` citations.
//!
//! Where citations are looked for (and nothing else is read):
//! - which files: `src/**/*.rs`, `examples/**/*.rs`, `tests/**/*.rs` (not this file),
//!   `benches/**/*.rs`, `fuzz/src/**/*.rs`, `fuzz/fuzz_targets/**/*.rs`, `<member>/src/**/*.rs` for
//!   each workspace member directory beside the root crate (one with a `Cargo.toml`),
//!   `README.md`, `CHANGELOG.md`, `fuzz/README.md`, `benches/README.md`, `docs/PROTOCOL.md` itself,
//!   and `tests/vectors/*.{md,json,txt}`. A file or directory that does not exist is skipped.
//! - Rust files: comments only (`//`, `///`, `//!`, `/* */`). String literals and code are
//!   skipped, so variable names, byte literals and hex in code never count.
//! - Markdown: prose, inline code included; fenced code blocks are skipped.
//! - Vector files (`tests/vectors/*.json`): the `source` field of each vector, nothing else (so
//!   `wire_hex` is never read).
//! - `tests/vectors/*.txt`: `#` comment lines (the expected-failure lists name §10 rows there).
//!
//! What counts as a citation:
//! - `§N` / `§N.M`, unless it belongs to another document: preceded by `README`, `STYLE.md`,
//!   `RFC 9112` or any `*.md` name other than `PROTOCOL.md` (a list like `README §3.2, §3.5` stays
//!   with that document). In a Markdown file, a bare `§N` that is a heading of that same file is a
//!   reference to itself and is accepted.
//! - after a section: `rule N`, `table row N` (also later on the same line: `§5 C2, table row 6`)
//!   and a quoted label (`§10 "datasize 0"`, `§10 row "datasize 0"`, `§8 "Replies"`).
//! - `case N` / `cases N–M, K and L` (a number list): §11 cases.
//! - a rule ID: one of the letters H L V A C F E M P S, then 1 or 2 digits (no leading zero), as a
//!   whole word; `X1 to X5`, `X1–X5` and `X1-X5` cite the whole range. Not a citation: hex
//!   (`0xE7`, `\xE7`, `%E7`, a byte next to other hex bytes such as `E7 41` or `4B E9`) and part of
//!   a longer word (`A1B2`, `MAX_V1`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/PROTOCOL.md";
const RULE_LETTERS: &str = "HLVACFEMPS";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------------------------------------
// What the document defines

#[derive(Debug, Default)]
struct Doc {
    /// "1" … "11", "2.1" … : every numbered heading.
    sections: BTreeSet<String>,
    /// "H3", "P20", "S1" …, with the line that defines each (duplicates are kept to report them).
    ids: BTreeMap<String, Vec<usize>>,
    /// Section → its numbered top-level list items ("3" → {1, 2}, "11" → {1 … 50}).
    items: BTreeMap<String, BTreeSet<u32>>,
    /// Section or subsection → body rows of its first table.
    table_rows: BTreeMap<String, usize>,
    /// Section or subsection → its text with backticks and bold markers removed.
    text: BTreeMap<String, String>,
}

/// `## 4. Title` → "4"; `### 4.5 Title` → "4.5". Other headings → None.
fn heading_number(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("## ")
        .or_else(|| line.strip_prefix("### "))?;
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let number = number.trim_end_matches('.');
    let ok = !number.is_empty()
        && number
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    ok.then(|| number.to_owned())
}

/// The headings of any Markdown text (used for a Markdown file's references to itself).
fn headings(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if is_fence(line) {
            fenced = !fenced;
        } else if !fenced {
            out.extend(heading_number(line));
        }
    }
    out
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// Rule IDs defined on a line: every `**X9.**`.
fn bold_ids(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("**") {
        let after = &rest[start + 2..];
        let mut chars = after.chars();
        if let Some(letter) = chars.next().filter(|c| c.is_ascii_uppercase()) {
            let digits: String = chars.clone().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && after[1 + digits.len()..].starts_with(".**") {
                out.push(format!("{letter}{digits}"));
            }
        }
        rest = after;
    }
    out
}

fn parse_doc(text: &str) -> Doc {
    let mut doc = Doc::default();
    let mut section: Option<String> = None; // "4"
    let mut subsection: Option<String> = None; // "4.5"
    let mut fenced = false;
    let mut table_line = 0usize; // lines of the current table seen so far (0 = not in a table)
    let mut tables_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if is_fence(line) {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(number) = heading_number(line) {
            assert!(
                doc.sections.insert(number.clone()),
                "{DOC}:{line_no}: §{number} defined twice"
            );
            if number.contains('.') {
                subsection = Some(number);
            } else {
                section = Some(number);
                subsection = None;
            }
            table_line = 0;
            continue;
        }
        let scopes: Vec<String> = section.iter().chain(subsection.iter()).cloned().collect();
        let plain = line.replace('`', "").replace("**", "");
        for scope in &scopes {
            let text = doc.text.entry(scope.clone()).or_default();
            text.push_str(&plain);
            text.push('\n');
        }
        for id in bold_ids(line) {
            doc.ids.entry(id).or_default().push(line_no);
        }
        // Numbered top-level list items: "12. ..." at the start of the line.
        let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && line[digits.len()..].starts_with(". ") {
            if let (Some(scope), Ok(n)) = (&section, digits.parse::<u32>()) {
                doc.items.entry(scope.clone()).or_default().insert(n);
            }
        }
        // Tables: the first table of each scope; line 1 is the header, line 2 the separator.
        if line.trim_start().starts_with('|') {
            table_line += 1;
            if table_line == 1 {
                for scope in &scopes {
                    *tables_seen.entry(scope.clone()).or_default() += 1;
                }
            } else if table_line > 2 {
                for scope in &scopes {
                    if tables_seen.get(scope) == Some(&1) {
                        *doc.table_rows.entry(scope.clone()).or_default() += 1;
                    }
                }
            }
        } else {
            table_line = 0;
        }
    }
    doc
}

fn load_doc() -> Doc {
    let path = root().join(DOC);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_doc(&text)
}

// ------------------------------------------------------------------------------------------
// Where citations are: the scannable text of each file, line by line

/// The comment text of a Rust file, as (line number, text) pairs; code and literals are dropped.
fn rust_comments(src: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut lines: BTreeMap<usize, String> = BTreeMap::new();
    let mut line = 1usize;
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            // A line comment, doc comment or inner doc comment.
            i += 2;
            while at(i) == '/' || at(i) == '!' {
                i += 1;
            }
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            let entry = lines.entry(line).or_default();
            entry.push(' ');
            entry.extend(&chars[start..i]);
        } else if c == '/' && at(i + 1) == '*' {
            // A block comment; they nest in Rust.
            let mut depth = 1;
            i += 2;
            while i < chars.len() && depth > 0 {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    } else {
                        lines.entry(line).or_default().push(chars[i]);
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            // A string literal (the `b` or `c` prefix was read as an identifier): skip it.
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\'', '\u{e9}') or a lifetime or label ('a).
            if at(i + 1) == '\\' {
                i += 3;
                while i < chars.len() && chars[i] != '\'' && chars[i] != '\n' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A raw string: r"…", r#"…"#, br#"…"#, cr"…" (but not a raw identifier r#name).
            if matches!(word.as_str(), "r" | "br" | "cr") {
                let mut j = i;
                while at(j) == '#' {
                    j += 1;
                }
                if at(j) == '"' {
                    let hashes = j - i;
                    i = j + 1;
                    while i < chars.len() {
                        if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                            i += 1 + hashes;
                            break;
                        }
                        if chars[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
        } else {
            i += 1;
        }
    }
    lines
        .into_iter()
        .map(|(n, t)| (n, t.trim().to_owned()))
        .filter(|(_, t)| !t.is_empty())
        .collect()
}

/// The prose of a Markdown file (fenced code blocks dropped).
fn markdown_prose(text: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if is_fence(line) {
            fenced = !fenced;
        } else if !fenced && !line.trim().is_empty() {
            out.push((index + 1, line.to_owned()));
        }
    }
    out
}

/// The `source` fields of a vector file, with the line each one is on.
fn json_sources(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let key = "\"source\"";
    let (mut from, mut line, mut counted) = (0, 1, 0);
    while let Some(found) = text[from..].find(key) {
        let start = from + found;
        line += text[counted..start].matches('\n').count();
        counted = start;
        from = start + key.len();
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            continue;
        };
        let mut value = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        value.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
                    }
                    Some(other) => value.push(other),
                    None => break,
                },
                other => value.push(other),
            }
        }
        out.push((line, value));
    }
    out
}

/// `#` comment lines of a plain-text list.
fn hash_comments(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with('#'))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

// ------------------------------------------------------------------------------------------
// Which files

fn files_with_ext(dir: &Path, ext: &str, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    }; // a missing directory is skipped
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if recursive {
                files_with_ext(&path, ext, recursive, out);
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Rust,
    Markdown,
    Json,
    Text,
}

/// Every file whose citations are checked, with how to read it.
fn scanned_files() -> Vec<(PathBuf, Kind)> {
    let root = root();
    let this_file = root.join("tests").join("protocol_doc.rs");
    let mut rust = Vec::new();
    for dir in [
        "src",
        "examples",
        "tests",
        "benches",
        "fuzz/src",
        "fuzz/fuzz_targets",
    ] {
        files_with_ext(&root.join(dir), "rs", true, &mut rust);
    }
    // Workspace members beside the root crate (uwsgi-service/, uwsgi-cli/, …): their src/.
    if let Ok(entries) = fs::read_dir(&root) {
        let mut members: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.join("Cargo.toml").is_file())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !matches!(
                    name,
                    "target" | "fuzz" | "src" | "tests" | "examples" | "benches"
                ) && !name.starts_with('.')
            })
            .collect();
        members.sort();
        for member in members {
            files_with_ext(&member.join("src"), "rs", true, &mut rust);
        }
    }
    rust.retain(|p| *p != this_file);

    // The project's own Markdown: the README, the document itself (its own cross-references),
    // the CHANGELOG and the READMEs of the fuzz crate and the benches.
    let mut markdown: Vec<PathBuf> = [
        "README.md",
        DOC,
        "CHANGELOG.md",
        "fuzz/README.md",
        "benches/README.md",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    markdown.retain(|p| p.is_file());
    files_with_ext(&root.join("tests/vectors"), "md", false, &mut markdown);
    let mut json = Vec::new();
    files_with_ext(&root.join("tests/vectors"), "json", false, &mut json);
    let mut text = Vec::new();
    files_with_ext(&root.join("tests/vectors"), "txt", false, &mut text);

    let mut out = Vec::new();
    out.extend(rust.into_iter().map(|p| (p, Kind::Rust)));
    out.extend(markdown.into_iter().map(|p| (p, Kind::Markdown)));
    out.extend(json.into_iter().map(|p| (p, Kind::Json)));
    out.extend(text.into_iter().map(|p| (p, Kind::Text)));
    out
}

// ------------------------------------------------------------------------------------------
// Finding citations in text

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cite {
    /// `§N` or `§N.M`.
    Section(String),
    /// A bold-defined rule ID: `H3`, `P20`, `S1`.
    Id(String),
    /// `§3 rule 2` (section, number) or `case 21` ("11", 21).
    Item(String, u32),
    /// `§5 table row 3`.
    TableRow(String, u32),
    /// `§10 "datasize 0"`.
    Label(String, String),
}

impl std::fmt::Display for Cite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cite::Section(s) => write!(f, "§{s}"),
            Cite::Id(id) => write!(f, "{id}"),
            Cite::Item(s, n) if s == "11" => write!(f, "§11 case {n}"),
            Cite::Item(s, n) => write!(f, "§{s} rule {n}"),
            Cite::TableRow(s, n) => write!(f, "§{s} table row {n}"),
            Cite::Label(s, l) => write!(f, "§{s} \"{l}\""),
        }
    }
}

struct Scanner<'a> {
    chars: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> char {
        self.chars.get(i).copied().unwrap_or('\0')
    }
    fn starts_with(&self, i: usize, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.at(i + k) == c)
    }
    /// After a number at `j`: the start of the next number of a list (`, `, ` and `, `, and`, ` or `,
    /// `/`, line breaks allowed), or None when the list ends here.
    fn list_separator(&self, j: usize) -> Option<usize> {
        let skip_space = |mut k: usize| {
            while self.at(k) == ' ' || self.at(k) == '\n' {
                k += 1;
            }
            k
        };
        let mut k = j;
        let mut separated = false;
        if self.at(k) == ',' || self.at(k) == '/' {
            k += 1;
            separated = true;
        }
        k = skip_space(k);
        for word in ["and", "or"] {
            let after = k + word.len();
            if self.starts_with(k, word) && matches!(self.at(after), ' ' | '\n') {
                k = skip_space(after);
                separated = true;
                break;
            }
        }
        (separated && self.at(k).is_ascii_digit()).then_some(k)
    }
    /// Digits at `i` (no leading zero unless the number is 0): (value, end).
    fn number(&self, i: usize) -> Option<(u32, usize)> {
        let mut j = i;
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        if j == i || j - i > 6 {
            return None;
        }
        let s: String = self.chars[i..j].iter().collect();
        Some((s.parse().ok()?, j))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_hex_byte(token: &str) -> bool {
    token.len() == 2 && token.chars().all(|c| c.is_ascii_hexdigit())
}

/// Whether the rule-ID-looking token at `chars[start..end]` is really a hex byte.
fn looks_like_hex(chars: &[char], start: usize, end: usize) -> bool {
    let token: String = chars[start..end].iter().collect();
    if !is_hex_byte(&token) {
        return false;
    }
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let trim = |s: &str| -> String {
        s.trim_matches(|c| matches!(c, '`' | '"' | '(' | ')' | '[' | ']'))
            .to_owned()
    };
    // The next whitespace-separated token, if exactly one space follows.
    if at(end) == ' ' {
        let mut j = end + 1;
        while j < chars.len() && !chars[j].is_whitespace() {
            j += 1;
        }
        let next: String = chars[end + 1..j].iter().collect();
        let next = next.trim_end_matches([',', '.', ';', ':']);
        if is_hex_byte(&trim(next)) {
            return true;
        }
    }
    // The previous token, if exactly one space precedes and it does not end a list item.
    if start >= 1 && at(start - 1) == ' ' {
        let mut j = start - 1;
        while j > 0 && !chars[j - 1].is_whitespace() {
            j -= 1;
        }
        let prev: String = chars[j..start - 1].iter().collect();
        if !prev.ends_with(',') && is_hex_byte(&trim(&prev)) {
            return true;
        }
    }
    false
}

/// Whether the `§` at `i` belongs to another document (`README §3`, `STYLE.md §5`, `RFC 9112 §5.2`).
fn foreign_section(chars: &[char], i: usize) -> bool {
    let before: String = chars[..i].iter().collect();
    let before = before.trim_end();
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '`')
        .next()
        .unwrap_or("");
    let word = word.trim_matches(|c| c == '`' || c == '(' || c == '"');
    if word.ends_with(".md") {
        return !word.ends_with("PROTOCOL.md");
    }
    if matches!(word, "README" | "STYLE" | "CHANGELOG") {
        return true;
    }
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
        let rest = before[..before.len() - word.len()].trim_end();
        return rest.ends_with("RFC");
    }
    false
}

/// Every citation in `text` (one logical block: consecutive scanned lines joined by `\n`), with
/// the char offset it starts at.
fn citations(text: &str) -> Vec<(usize, Cite)> {
    let chars: Vec<char> = text.chars().collect();
    let s = Scanner { chars: &chars };
    let mut out = Vec::new();
    let mut last_section: Option<(String, usize /*end*/, bool /*foreign*/)> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i == 0 { ' ' } else { chars[i - 1] };
        if c == '§' {
            let mut j = i + 1;
            let mut number = String::new();
            while s.at(j).is_ascii_digit() {
                number.push(s.at(j));
                j += 1;
            }
            if number.is_empty() {
                i += 1;
                continue;
            }
            if s.at(j) == '.' && s.at(j + 1).is_ascii_digit() {
                number.push('.');
                j += 1;
                while s.at(j).is_ascii_digit() {
                    number.push(s.at(j));
                    j += 1;
                }
            }
            // Part of a list that started with another document's section?
            let chained = last_section.as_ref().is_some_and(|(_, end, _)| {
                let between: String = chars[*end..i].iter().collect();
                matches!(
                    between.trim(),
                    "" | "," | "/" | "–" | "-" | "and" | ", and" | "or"
                )
            });
            let foreign = if chained {
                last_section.as_ref().is_some_and(|(_, _, f)| *f)
            } else {
                foreign_section(&chars, i)
            };
            last_section = Some((number.clone(), j, foreign));
            if !foreign {
                out.push((i, Cite::Section(number.clone())));
                // Qualifiers right after the section.
                if s.starts_with(j, " rule ") {
                    if let Some((n, end)) = s.number(j + 6) {
                        out.push((i, Cite::Item(number.clone(), n)));
                        j = end;
                    }
                } else if s.starts_with(j, " table row ") {
                    if let Some((n, end)) = s.number(j + 11) {
                        out.push((i, Cite::TableRow(number.clone(), n)));
                        j = end;
                    }
                } else {
                    let q = if s.starts_with(j, " row \"") {
                        Some(j + 6)
                    } else if s.starts_with(j, " \"") {
                        Some(j + 2)
                    } else {
                        None
                    };
                    if let Some(q) = q {
                        let mut k = q;
                        while k < chars.len() && chars[k] != '"' && chars[k] != '\n' {
                            k += 1;
                        }
                        if s.at(k) == '"' && k > q {
                            let label: String = chars[q..k].iter().collect();
                            out.push((i, Cite::Label(number.clone(), label)));
                            j = k + 1;
                        }
                    }
                }
                if let Some(last) = last_section.as_mut() {
                    last.1 = j;
                }
            }
            i = j;
            continue;
        }
        if is_word_char(prev) {
            i += 1;
            continue;
        }
        // `table row N`, after a section earlier in the same citation (`§5 C2, table row 6`).
        if s.starts_with(i, "table row ") {
            if let (Some((n, end)), Some((section, _, false))) =
                (s.number(i + 10), last_section.as_ref())
            {
                out.push((i, Cite::TableRow(section.clone(), n)));
                i = end;
                continue;
            }
        }
        // `case 9`, `cases 32–36`, `cases 1–31, 36–49 and P1–P22`.
        let case_word = ["cases ", "Cases ", "case ", "Case "]
            .into_iter()
            .find(|w| s.starts_with(i, w));
        if let Some(word) = case_word {
            let mut j = i + word.chars().count();
            let mut found = false;
            while let Some((first, end)) = s.number(j) {
                if is_word_char(s.at(end)) {
                    break;
                }
                found = true;
                j = end;
                let mut last = first;
                for sep in ["–", "-", " to "] {
                    if s.starts_with(j, sep) {
                        if let Some((to, end)) = s.number(j + sep.chars().count()) {
                            if !is_word_char(s.at(end)) && to > first {
                                last = to;
                                j = end;
                            }
                        }
                        break;
                    }
                }
                for n in first..=last {
                    out.push((i, Cite::Item("11".to_owned(), n)));
                }
                // Another number in the list? (`, 40`, ` and 42`, `, and\n42`, `/44`)
                match s.list_separator(j) {
                    Some(next) => j = next,
                    None => break,
                }
            }
            if found {
                i = j;
                continue;
            }
        }
        // A rule ID: H3, V10, P22; a range X1–X5 / X1-X5 / X1 to X5.
        if RULE_LETTERS.contains(c) && s.at(i + 1).is_ascii_digit() && s.at(i + 1) != '0' {
            let mut j = i + 1;
            while s.at(j).is_ascii_digit() {
                j += 1;
            }
            let hex_prefix =
                matches!(prev, '%' | '\\') || (prev == 'x' && i >= 2 && s.at(i - 2) == '0');
            let number_continues = s.at(j) == '.' && s.at(j + 1).is_ascii_digit();
            if j - i <= 3
                && !is_word_char(s.at(j))
                && !hex_prefix
                && !number_continues
                && !looks_like_hex(&chars, i, j)
            {
                let first: u32 = chars[i + 1..j].iter().collect::<String>().parse().unwrap();
                let mut last = first;
                let mut end = j;
                for sep in ["–", "-", " to "] {
                    let k = j + sep.chars().count();
                    if s.starts_with(j, sep) && s.at(k) == c {
                        if let Some((to, e)) = s.number(k + 1) {
                            if !is_word_char(s.at(e)) && to > first && to - first < 60 {
                                last = to;
                                end = e;
                            }
                        }
                    }
                }
                for n in first..=last {
                    out.push((i, Cite::Id(format!("{c}{n}"))));
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

// ------------------------------------------------------------------------------------------
// Resolving

/// Why a citation does not resolve, or None when it does.
fn unresolved(doc: &Doc, cite: &Cite, own_headings: &BTreeSet<String>) -> Option<String> {
    match cite {
        Cite::Section(s) => (!doc.sections.contains(s) && !own_headings.contains(s))
            .then(|| format!("{DOC} has no section §{s} (a `## {s}.` or `### {s} ` heading)")),
        Cite::Id(id) => {
            (!doc.ids.contains_key(id)).then(|| format!("{DOC} defines no rule **{id}.**"))
        }
        Cite::Item(s, n) => {
            let ok = doc.items.get(s).is_some_and(|items| items.contains(n));
            (!ok).then(|| {
                if s == "11" {
                    format!("{DOC} §11 has no case {n}")
                } else {
                    format!("{DOC} §{s} has no numbered rule {n}")
                }
            })
        }
        Cite::TableRow(s, n) => {
            let rows = doc.table_rows.get(s).copied().unwrap_or(0);
            (*n == 0 || *n as usize > rows)
                .then(|| format!("the first table of {DOC} §{s} has {rows} rows, not {n}"))
        }
        Cite::Label(s, label) => {
            let label = label.replace('`', "");
            let ok = doc.text.get(s).is_some_and(|t| t.contains(label.as_str()));
            (!ok).then(|| format!("{DOC} §{s} has no row or label \"{label}\""))
        }
    }
}

struct Found {
    file: String,
    line: usize,
    cite: Cite,
}

/// Every citation in the tree, with where it is.
fn all_citations() -> (Vec<Found>, BTreeMap<String, BTreeSet<String>>) {
    let root = root();
    let mut found = Vec::new();
    let mut own_headings = BTreeMap::new();
    for (path, kind) in scanned_files() {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let lines = match kind {
            Kind::Rust => rust_comments(&text),
            Kind::Markdown => {
                own_headings.insert(rel.clone(), headings(&text));
                markdown_prose(&text)
            }
            Kind::Json => json_sources(&text),
            Kind::Text => hash_comments(&text),
        };
        // Join consecutive lines into one block so that a list may run on to the next line;
        // a gap (code, a blank line, another vector) separates blocks.
        let mut block = String::new();
        let mut starts: Vec<(usize, usize)> = Vec::new(); // (char offset, line number)
        let mut previous_line = 0usize;
        let mut flush = |block: &mut String, starts: &mut Vec<(usize, usize)>| {
            for (offset, cite) in citations(block) {
                let line = starts
                    .iter()
                    .rev()
                    .find(|(start, _)| *start <= offset)
                    .map_or(0, |(_, l)| *l);
                found.push(Found {
                    file: rel.clone(),
                    line,
                    cite,
                });
            }
            block.clear();
            starts.clear();
        };
        for (line, content) in lines {
            let separate = kind == Kind::Json || kind == Kind::Text || line != previous_line + 1;
            if separate && !block.is_empty() {
                flush(&mut block, &mut starts);
            }
            if !block.is_empty() {
                block.push('\n');
            }
            starts.push((block.chars().count(), line));
            block.push_str(&content);
            previous_line = line;
        }
        if !block.is_empty() {
            flush(&mut block, &mut starts);
        }
    }
    (found, own_headings)
}

// ------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_citation_resolves() {
    let doc = load_doc();
    let (found, own_headings) = all_citations();
    let mut problems = BTreeSet::new();
    let mut files = BTreeSet::new();
    let empty = BTreeSet::new();
    for f in &found {
        files.insert(f.file.clone());
        let own = if f.file.ends_with(".md") && f.file != DOC {
            own_headings.get(&f.file).unwrap_or(&empty)
        } else {
            &empty
        };
        if let Some(why) = unresolved(&doc, &f.cite, own) {
            problems.insert((f.file.clone(), f.line, format!("{}: {why}", f.cite)));
        }
    }
    if std::env::var_os("PROTOCOL_DOC_LIST").is_some() {
        for f in &found {
            println!("{}:{}: {}", f.file, f.line, f.cite);
        }
    }
    println!(
        "checked {} citations of {DOC} in {} files",
        found.len(),
        files.len()
    );
    if !problems.is_empty() {
        let mut message = format!(
            "{} citation(s) of {DOC} point at nothing it defines:\n",
            problems.len()
        );
        for (file, line, what) in &problems {
            let _ = writeln!(message, "  {file}:{line}: {what}");
        }
        message.push_str(
            "\nFix the citation (a typo, or the wrong rule), or, if the rule really is missing, \
             define it in the document under a new ID. IDs and numbers are never reused or \
             renumbered: third parties cite them.",
        );
        panic!("{message}");
    }
}

#[test]
fn document_defines_every_section_and_numbering_is_contiguous() {
    let doc = load_doc();
    let mut problems = Vec::new();
    for n in 1..=11 {
        if !doc.sections.contains(&n.to_string()) {
            problems.push(format!("no `## {n}.` heading"));
        }
    }
    for (id, lines) in &doc.ids {
        if lines.len() > 1 {
            problems.push(format!(
                "{id} is defined {} times (lines {lines:?})",
                lines.len()
            ));
        }
    }
    // Each family of rule IDs runs from 1 without a gap.
    let mut families: BTreeMap<char, BTreeSet<u32>> = BTreeMap::new();
    for id in doc.ids.keys() {
        let mut chars = id.chars();
        let letter = chars.next().unwrap();
        families
            .entry(letter)
            .or_default()
            .insert(chars.as_str().parse().unwrap());
    }
    for letter in RULE_LETTERS.chars() {
        let numbers = families.get(&letter).cloned().unwrap_or_default();
        let max = numbers.iter().max().copied().unwrap_or(0);
        if numbers.is_empty() || numbers.len() as u32 != max {
            problems.push(format!(
                "rule family {letter}: {numbers:?} is not 1..={max} without gaps"
            ));
        }
    }
    let cases = doc.items.get("11").cloned().unwrap_or_default();
    if cases.is_empty() || cases.len() as u32 != *cases.iter().max().unwrap_or(&0) {
        problems.push(format!("§11 cases are not 1..=N without gaps: {cases:?}"));
    }
    let ids = doc.ids.len();
    println!(
        "{DOC}: {} sections, {ids} rule IDs, {} §11 cases, {} §3 rules",
        doc.sections.len(),
        cases.len(),
        doc.items.get("3").map_or(0, BTreeSet::len)
    );
    assert!(
        problems.is_empty(),
        "{DOC} is not well-formed:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn scanner_finds_citations_and_ignores_hex() {
    let ids = |text: &str| -> Vec<String> {
        citations(text)
            .into_iter()
            .map(|(_, c)| c.to_string())
            .collect()
    };
    assert_eq!(ids("rules V1 to V3 and H7"), ["V1", "V2", "V3", "H7"]);
    assert_eq!(ids("(S1-S3) and P20"), ["S1", "S2", "S3", "P20"]);
    assert_eq!(ids("C1–C3, E7"), ["C1", "C2", "C3", "E7"]);
    assert_eq!(ids("(E2, E7)"), ["E2", "E7"]);
    assert_eq!(
        ids("0xE7, `E7 41`, `4B E9`, \\xE7, %C0%, A1B2, MAX_V1, h2, E1.5"),
        Vec::<String>::new()
    );
    assert_eq!(
        ids("spec §4.3 V5, §11 case 17"),
        ["§4.3", "V5", "§11", "§11 case 17"]
    );
    assert_eq!(
        ids("§11 cases 32–34, 40 and\n42"),
        [
            "§11",
            "§11 case 32",
            "§11 case 33",
            "§11 case 34",
            "§11 case 40",
            "§11 case 42"
        ]
    );
    assert_eq!(
        ids("spec §3 rule 2, §5 C2, table row 6"),
        ["§3", "§3 rule 2", "§5", "C2", "§5 table row 6"]
    );
    assert_eq!(
        ids("# §10 \"datasize 0\": and §10 row \"> 128 pairs\""),
        ["§10", "§10 \"datasize 0\"", "§10", "§10 \"> 128 pairs\""]
    );
    assert_eq!(
        ids("README §3.2, §3.5; RFC 9112 §5.2; STYLE.md §5; tests/vectors/README.md §1"),
        Vec::<String>::new()
    );
    assert_eq!(ids("PROTOCOL.md §2.4 and §3"), ["§2.4", "§3"]);
}

#[test]
fn rust_comments_skip_code_and_literals() {
    let src = "let a = \"// V99 in a string\"; // H3 here\nlet b = r#\"§99 \"# ; /* C7 */\nlet c = '\"'; // E7\nfn f<'a>(x: &'a str) {} // P1\n/// doc S1\n";
    let got = rust_comments(src);
    assert_eq!(
        got,
        [
            (1, "H3 here".to_owned()),
            (2, "C7".to_owned()),
            (3, "E7".to_owned()),
            (4, "P1".to_owned()),
            (5, "doc S1".to_owned())
        ]
    );
}

#[test]
fn unresolved_citations_are_reported() {
    let doc = parse_doc(
        "# t\n\n## 1. One\n\n- **H1.** a rule.\n\n### 1.1 Sub\n\n## 3. Three\n\n\
         | a | b |\n|---|---|\n| row one | x |\n| row two | y |\n\n1. first\n2. second\n\n\
         ## 11. Cases\n\n1. a case\n- **P1.** a preamble\n",
    );
    let none = BTreeSet::new();
    let check = |text: &str| -> Vec<String> {
        citations(text)
            .into_iter()
            .filter_map(|(_, c)| unresolved(&doc, &c, &none).map(|_| c.to_string()))
            .collect()
    };
    assert_eq!(
        check("H1, P1, §1.1, §3 rule 2, §3 table row 2, §3 \"row two\", case 1"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("H2, P2, S1, §1.2, §12, §3 rule 3, §3 table row 3, §3 \"row three\", case 2"),
        [
            "H2",
            "P2",
            "S1",
            "§1.2",
            "§12",
            "§3 rule 3",
            "§3 table row 3",
            "§3 \"row three\"",
            "§11 case 2"
        ]
    );
}
