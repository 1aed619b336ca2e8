//! An independent reference model of the uwsgi packet grammar, written only for the fuzzer,
//! straight from PROTOCOL.md §2.2–§2.4, §3 (block kinds), §4 (H1–H8, L1–L2, V1–V10, A1–A3,
//! §4.5), §5 (C1–C3), §6 (foreign preambles), §7 (the encoder, E1–E7) and §9 (M1–M3). It shares
//! no code with the crate (it does not even use its types): the `differential` target compares
//! the two decoders on the same bytes, and `roundtrip` compares the crate's `PacketBuilder`
//! with [`encode`].
//!
//! The style is deliberately different from the crate's: the block is consumed as a shrinking
//! slice (`rest`) and offsets are recomputed from how much was consumed, numbers are built in
//! `u128`, and the tables are written out as lists.

/// Offsets in errors count from the packet's first header byte; the block starts here.
const BLOCK_START: usize = 4;

/// The protocol maximum and the default datasize limit (L1).
pub const PROTOCOL_MAX: usize = 65535;

/// What happens to `UWSGI_*` keys (M2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Magic {
    /// Everything accepted (default).
    Allow,
    /// Any `UWSGI_*` key refused.
    Refuse,
    /// `UWSGI_*` keys refused but for these exact ones.
    AllowOnly(Vec<Vec<u8>>),
    /// The routing-only class of M1 accepted, the code/process-affecting class refused (M3:
    /// what an encoder does unless the caller explicitly allows them).
    RoutingOnly,
}

/// The decoder settings the model knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Datasize limit (`datasize == limit` accepted, H3).
    pub limit: usize,
    /// The §6 check (F3: on by default).
    pub foreign_check: bool,
    /// Extra 4-byte preambles refused as foreign (F3).
    pub extra_patterns: Vec<[u8; 4]>,
    /// Read packets as replies (§2.5) instead of requests.
    pub reply: bool,
    /// Optional pair limit (L2).
    pub max_vars: Option<usize>,
    /// Magic var policy (M2).
    pub magic: Magic,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limit: PROTOCOL_MAX,
            foreign_check: true,
            extra_patterns: Vec::new(),
            reply: false,
            max_vars: None,
            magic: Magic::Allow,
        }
    }
}

/// §6: which protocol a 4-byte preamble belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    HttpRequest,
    Http2,
    ProxyV1,
    ProxyV2,
    Tls,
    Ssh,
    FastCgi,
    Scgi,
    HttpResponse,
    /// One of `Config::extra_patterns`.
    Custom([u8; 4]),
}

/// Which length an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Key,
    Value,
    Item,
    /// The whole block (encoding only, E2).
    Block,
}

/// §4.5, the decoding rows: what each error carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Foreign {
        protocol: Foreign,
        modifier1: u8,
        datasize: u16,
    },
    TooLarge {
        len: usize,
        max: usize,
    },
    TruncatedLength {
        field: Field,
        offset: usize,
    },
    Overrun {
        field: Field,
        offset: usize,
        len: usize,
        available: usize,
    },
    EmptyKey {
        offset: usize,
    },
    TooManyVars {
        max: usize,
        offset: usize,
    },
    MagicVar {
        offset: usize,
    },
    UnexpectedEof {
        offset: usize,
        needed: usize,
    },
    DatagramLength {
        datasize: usize,
        len: usize,
    },
    /// `not_digit`: `NotDigit` if true, `Overflow` if false.
    InvalidContentLength {
        offset: usize,
        not_digit: bool,
    },
    ConflictingContentLength {
        first: u64,
        second: u64,
        offset: usize,
    },
    /// Encoding: a length that does not fit 16 bits (E2).
    LengthOverflow {
        field: Field,
        len: usize,
    },
}

/// How a block is read (§2.4, §3 rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Vars,
    Array,
    Raw,
}

/// What follows the packet (§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Nothing,
    /// `CONTENT_LENGTH` bytes.
    ContentLength,
    /// `size` bytes (cache m2 17).
    Size,
}

/// The pairs of a vars block, in wire order.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// A decoded block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block<'a> {
    Vars(Pairs<'a>),
    Array(Vec<&'a [u8]>),
    Raw(&'a [u8]),
}

/// A complete packet as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub modifier1: u8,
    pub datasize: u16,
    pub modifier2: u8,
    pub shape: Shape,
    pub body: Body,
    /// `4 + datasize`.
    pub wire_len: usize,
    pub block: Block<'a>,
}

/// The outcome of parsing a buffer that may still grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    Complete(Packet<'a>),
    Incomplete(usize),
    Error(Fault),
}

// -------------------------------------------------------------------------------------------
// §6: foreign preambles
// -------------------------------------------------------------------------------------------

const EXACT_PREAMBLES: [(&[u8; 4], Foreign); 14] = [
    (b"GET ", Foreign::HttpRequest),
    (b"POST", Foreign::HttpRequest),
    (b"PUT ", Foreign::HttpRequest),
    (b"HEAD", Foreign::HttpRequest),
    (b"DELE", Foreign::HttpRequest),
    (b"OPTI", Foreign::HttpRequest),
    (b"PATC", Foreign::HttpRequest),
    (b"CONN", Foreign::HttpRequest),
    (b"TRAC", Foreign::HttpRequest),
    (b"PRI ", Foreign::Http2),
    (b"PROX", Foreign::ProxyV1),
    (b"\x0d\x0a\x0d\x0a", Foreign::ProxyV2),
    (b"SSH-", Foreign::Ssh),
    (b"HTTP", Foreign::HttpResponse),
];

/// The §6 table on exactly four bytes (F2: all four decide).
pub fn foreign(four: [u8; 4], cfg: &Config) -> Option<Foreign> {
    if !cfg.foreign_check {
        return None;
    }
    for (pattern, protocol) in EXACT_PREAMBLES {
        if *pattern == four {
            return Some(protocol);
        }
    }
    let [a, b, c, d] = four;
    // `16 03 00..03 xx`: a TLS handshake record.
    if a == 0x16 && b == 0x03 && c <= 0x03 {
        return Some(Foreign::Tls);
    }
    // `01 01 xx xx`: FastCGI BEGIN_REQUEST, version 1.
    if a == 0x01 && b == 0x01 {
        return Some(Foreign::FastCgi);
    }
    // SCGI: `[1-9][0-9]:x`, `[1-9][0-9]{2}:`, `[1-9][0-9]{3}`.
    let is_digit = |x: u8| x.is_ascii_digit();
    let lead = (b'1'..=b'9').contains(&a) && is_digit(b);
    if lead && (c == b':' || (is_digit(c) && d == b':') || (is_digit(c) && is_digit(d))) {
        return Some(Foreign::Scgi);
    }
    if cfg.extra_patterns.contains(&four) {
        return Some(Foreign::Custom(four));
    }
    None
}

// -------------------------------------------------------------------------------------------
// §2.4 / §3: block kind and body of a header
// -------------------------------------------------------------------------------------------

/// modifier1 values §3 lists WITHOUT the R mark (173 is special-cased by modifier2). 99 is a
/// request family: §11 case 9 pins it (`H(99,62,0) BASE` → accept, "unlisted → R").
const LISTED_NOT_REQUEST: &[u8] = &[
    1, 2, 3, 10, 17, 22, 31, 32, 33, 48, 72, 73, 74, 95, 96, 97, 98, 100, 101, 109, 110, 111, 115,
    123, 200, 224, 255,
];

/// The kind of a packet with this header, per §2.4 and §3 (rule 2).
pub fn kind(modifier1: u8, modifier2: u8, reply: bool) -> (Shape, Body) {
    // The two vars + body shapes exist in both directions (§2.4, §2.5).
    if modifier1 == 111 && modifier2 == 17 {
        return (Shape::Vars, Body::Size);
    }
    if modifier1 == 173 && modifier2 == 5 {
        return (Shape::Vars, Body::ContentLength);
    }
    if reply {
        // §3 rule 2: "Replies (§2.5) have raw blocks, except the vars + body shapes".
        return (Shape::Raw, Body::Nothing);
    }
    match (modifier1, modifier2) {
        (173, 0) | (173, 1) => (Shape::Array, Body::Nothing),
        (173, 2..=4) => (Shape::Vars, Body::ContentLength),
        (173, _) => (Shape::Raw, Body::Nothing),
        (111, 1) | (111, 10) | (111, 11) => (Shape::Array, Body::Nothing),
        (111, 3) | (111, 4) => (Shape::Vars, Body::Nothing),
        (17, _) | (224, _) => (Shape::Vars, Body::Nothing),
        (m1, _) if LISTED_NOT_REQUEST.contains(&m1) => (Shape::Raw, Body::Nothing),
        // R families and every unlisted modifier1.
        _ => (Shape::Vars, Body::ContentLength),
    }
}

// -------------------------------------------------------------------------------------------
// §4.3 / §4.4: block grammars
// -------------------------------------------------------------------------------------------

/// Takes a u16le length from the front of `rest`; `None` if fewer than 2 bytes remain.
fn take_len(rest: &mut &[u8]) -> Option<usize> {
    if rest.len() < 2 {
        return None;
    }
    let n = rest[0] as usize + 256 * rest[1] as usize;
    *rest = &rest[2..];
    Some(n)
}

/// Takes `n` bytes from the front of `rest` (the caller checked there are enough).
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    head
}

fn is_magic(key: &[u8]) -> bool {
    key.len() >= 6 && &key[..6] == b"UWSGI_"
}

/// M1: the routing-only class; every other `UWSGI_*` key is code/process-affecting (§9, "the
/// crate's choice" for names the table does not list).
const ROUTING_ONLY_MAGIC: [&[u8]; 3] = [b"UWSGI_CACHE_GET", b"UWSGI_APPID", b"UWSGI_SCHEME"];

/// Whether `magic` refuses a pair with this key (M2, M3).
pub fn magic_refused(key: &[u8], magic: &Magic) -> bool {
    match magic {
        Magic::Allow => false,
        Magic::Refuse => is_magic(key),
        Magic::AllowOnly(list) => is_magic(key) && !list.iter().any(|k| k == key),
        Magic::RoutingOnly => is_magic(key) && !ROUTING_ONLY_MAGIC.contains(&key),
    }
}

/// V1–V10, L2, M2 on a vars block.
pub fn vars<'a>(block: &'a [u8], cfg: &Config) -> Result<Pairs<'a>, Fault> {
    let mut pairs = Vec::new();
    let mut rest = block;
    let at = |rest: &[u8]| BLOCK_START + block.len() - rest.len();
    while !rest.is_empty() {
        let pair_at = at(rest);
        if let Some(max) = cfg.max_vars
            && pairs.len() >= max
        {
            return Err(Fault::TooManyVars {
                max,
                offset: pair_at,
            });
        }
        // V1: a lone byte where a key length should be.
        let Some(klen) = take_len(&mut rest) else {
            return Err(Fault::TruncatedLength {
                field: Field::Key,
                offset: pair_at,
            });
        };
        // V2.
        if klen == 0 {
            return Err(Fault::EmptyKey { offset: pair_at });
        }
        // V3.
        if klen > rest.len() {
            return Err(Fault::Overrun {
                field: Field::Key,
                offset: pair_at,
                len: klen,
                available: rest.len(),
            });
        }
        let key = take(&mut rest, klen);
        // V4: 0 or 1 byte after the key.
        let value_at = at(rest);
        let Some(vlen) = take_len(&mut rest) else {
            return Err(Fault::TruncatedLength {
                field: Field::Value,
                offset: value_at,
            });
        };
        // V5.
        if vlen > rest.len() {
            return Err(Fault::Overrun {
                field: Field::Value,
                offset: value_at,
                len: vlen,
                available: rest.len(),
            });
        }
        let value = take(&mut rest, vlen);
        if magic_refused(key, &cfg.magic) {
            return Err(Fault::MagicVar { offset: pair_at });
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// A1–A2 on an array block.
pub fn array(block: &[u8]) -> Result<Vec<&[u8]>, Fault> {
    let mut items = Vec::new();
    let mut rest = block;
    while !rest.is_empty() {
        let item_at = BLOCK_START + block.len() - rest.len();
        let Some(len) = take_len(&mut rest) else {
            return Err(Fault::TruncatedLength {
                field: Field::Item,
                offset: item_at,
            });
        };
        if len > rest.len() {
            return Err(Fault::Overrun {
                field: Field::Item,
                offset: item_at,
                len,
                available: rest.len(),
            });
        }
        items.push(take(&mut rest, len));
    }
    Ok(items)
}

// -------------------------------------------------------------------------------------------
// §4.1: decoder steps
// -------------------------------------------------------------------------------------------

/// H1–H5 on a buffer that may still grow.
pub fn parse<'a>(data: &'a [u8], cfg: &Config) -> Outcome<'a> {
    // H1.
    if data.len() < 4 {
        return Outcome::Incomplete(4 - data.len());
    }
    let four = [data[0], data[1], data[2], data[3]];
    let (modifier1, modifier2) = (data[0], data[3]);
    let datasize = u16::from_le_bytes([data[1], data[2]]);
    // H2.
    if let Some(protocol) = foreign(four, cfg) {
        return Outcome::Error(Fault::Foreign {
            protocol,
            modifier1,
            datasize,
        });
    }
    // H3.
    let size = datasize as usize;
    if size > cfg.limit {
        return Outcome::Error(Fault::TooLarge {
            len: size,
            max: cfg.limit,
        });
    }
    // H4.
    let wire_len = 4 + size;
    if data.len() < wire_len {
        return Outcome::Incomplete(wire_len - data.len());
    }
    // H5.
    let raw = &data[4..wire_len];
    let (shape, body) = kind(modifier1, modifier2, cfg.reply);
    let block = match shape {
        Shape::Vars => vars(raw, cfg).map(Block::Vars),
        Shape::Array => array(raw).map(Block::Array),
        Shape::Raw => Ok(Block::Raw(raw)),
    };
    match block {
        Ok(block) => Outcome::Complete(Packet {
            modifier1,
            datasize,
            modifier2,
            shape,
            body,
            wire_len,
            block,
        }),
        Err(fault) => Outcome::Error(fault),
    }
}

/// H7: `data` is all there is.
pub fn parse_eof<'a>(data: &'a [u8], cfg: &Config) -> Result<Option<Packet<'a>>, Fault> {
    match parse(data, cfg) {
        Outcome::Complete(packet) => Ok(Some(packet)),
        Outcome::Error(fault) => Err(fault),
        Outcome::Incomplete(_) if data.is_empty() => Ok(None),
        Outcome::Incomplete(needed) => Err(Fault::UnexpectedEof {
            offset: data.len(),
            needed,
        }),
    }
}

/// H8: a datagram is exactly one packet. The header checks (H2, H3) come first: they are
/// decided from the 4 header bytes, whatever follows.
pub fn parse_datagram<'a>(data: &'a [u8], cfg: &Config) -> Result<Packet<'a>, Fault> {
    if data.len() >= 4 {
        if let Outcome::Error(fault @ (Fault::Foreign { .. } | Fault::TooLarge { .. })) =
            parse(&data[..4], cfg)
        {
            return Err(fault);
        }
        let datasize = u16::from_le_bytes([data[1], data[2]]) as usize;
        if data.len() != 4 + datasize {
            return Err(Fault::DatagramLength {
                datasize,
                len: data.len(),
            });
        }
    }
    match parse_eof(data, cfg)? {
        Some(packet) => Ok(packet),
        // An empty datagram is a packet cut after 0 bytes.
        None => Err(Fault::UnexpectedEof {
            offset: 0,
            needed: 4,
        }),
    }
}

// -------------------------------------------------------------------------------------------
// §5: body length
// -------------------------------------------------------------------------------------------

/// C2: empty → 0; else ASCII digits only, fitting a u64; the error points at the first
/// offending byte (a non-digit, or the digit that makes the number overflow).
pub fn length_value(value: &[u8], offset: usize) -> Result<u64, Fault> {
    let mut n: u128 = 0;
    for (i, &byte) in value.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return Err(Fault::InvalidContentLength {
                offset: offset + i,
                not_digit: true,
            });
        }
        n = n * 10 + (byte - b'0') as u128;
        if n > u64::MAX as u128 {
            return Err(Fault::InvalidContentLength {
                offset: offset + i,
                not_digit: false,
            });
        }
    }
    Ok(n as u64)
}

/// C1–C3 over the pairs of a validated vars block, for the var named `key`.
pub fn length_of(pairs: &[(&[u8], &[u8])], key: &[u8]) -> Result<u64, Fault> {
    let mut first: Option<(&[u8], u64)> = None;
    let mut pair_at = BLOCK_START;
    for (k, v) in pairs {
        let value_at = pair_at + 2 + k.len() + 2;
        if *k == key {
            match first {
                None => first = Some((v, length_value(v, value_at)?)),
                Some((seen, _)) if seen == *v => {}
                Some((_, n)) => {
                    let second = length_value(v, value_at)?;
                    return Err(Fault::ConflictingContentLength {
                        first: n,
                        second,
                        offset: pair_at,
                    });
                }
            }
        }
        pair_at = value_at + v.len();
    }
    Ok(first.map(|(_, n)| n).unwrap_or(0))
}

/// The body length of a complete packet (H6; 0 when its kind has no body).
pub fn body_len(packet: &Packet<'_>) -> Result<u64, Fault> {
    match (&packet.block, packet.body) {
        (Block::Vars(pairs), Body::ContentLength) => length_of(pairs, b"CONTENT_LENGTH"),
        (Block::Vars(pairs), Body::Size) => length_of(pairs, b"size"),
        _ => Ok(0),
    }
}

// -------------------------------------------------------------------------------------------
// §7: the encoder (E1–E7) and M3
// -------------------------------------------------------------------------------------------

/// One piece of a block as a caller hands it to an encoder, in the caller's order (E4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Var(&'a [u8], &'a [u8]),
    Item(&'a [u8]),
    /// Bytes appended as they are, counted in datasize (E6).
    Raw(&'a [u8]),
}

/// What an encoder is asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build<'a> {
    pub modifier1: u8,
    pub modifier2: u8,
    pub pieces: Vec<Piece<'a>>,
    /// E7: the length of the body the packet frames, when the caller gives one.
    pub body_len: Option<u64>,
    /// E2: the datasize limit (`TooLarge` above it); `PROTOCOL_MAX` for none.
    pub limit: usize,
    /// M3: which magic vars may be written.
    pub magic: Magic,
}

/// The var that frames a body (C1, E7).
const CONTENT_LENGTH: &[u8] = b"CONTENT_LENGTH";

/// E1–E7 and M3: the packet's bytes, or the faults of the first piece that has any (E2 names
/// every fault but does not rank two faults of one piece, so each of them is a right answer),
/// or the fault of the whole block.
pub fn encode(build: &Build<'_>) -> Result<Vec<u8>, Vec<Fault>> {
    let digits: Option<Vec<u8>> = build.body_len.map(|n| n.to_string().into_bytes());
    let mut block: Vec<u8> = Vec::new();
    // E7: every CONTENT_LENGTH must go out with the same bytes (a decoder refuses two that
    // differ, C3); the first one as written.
    let mut first_written: Option<Vec<u8>> = None;
    let mut caller_gave_one = false;
    for piece in &build.pieces {
        // E2: "at the offset the key would have had".
        let at = BLOCK_START + block.len();
        match *piece {
            Piece::Var(key, value) => {
                let mut faults = Vec::new();
                if key.is_empty() {
                    faults.push(Fault::EmptyKey { offset: at });
                }
                for (field, len) in [(Field::Key, key.len()), (Field::Value, value.len())] {
                    if len > PROTOCOL_MAX {
                        faults.push(Fault::LengthOverflow { field, len });
                    }
                }
                if magic_refused(key, &build.magic) {
                    faults.push(Fault::MagicVar { offset: at });
                }
                let mut written = value.to_vec();
                if let (Some(digits), true) = (&digits, key == CONTENT_LENGTH) {
                    caller_gave_one = true;
                    let n = build.body_len.unwrap_or(0);
                    if value.is_empty() {
                        // The placeholder is filled where it stands; for n = 0 it stays empty.
                        if n > 0 {
                            written = digits.clone();
                        }
                    } else if value != digits.as_slice() {
                        // Not a number at all: InvalidContentLength at its offending byte;
                        // any other spelling or number: ConflictingContentLength.
                        let value_at = at + 2 + key.len() + 2;
                        faults.push(match length_value(value, value_at) {
                            Err(fault) => fault,
                            Ok(first) => Fault::ConflictingContentLength {
                                first,
                                second: n,
                                offset: at,
                            },
                        });
                    }
                    if faults.is_empty() {
                        match &first_written {
                            Some(first) if *first != written => {
                                let number = |v: &[u8]| length_value(v, 0).unwrap_or(u64::MAX);
                                faults.push(Fault::ConflictingContentLength {
                                    first: number(first),
                                    second: number(&written),
                                    offset: at,
                                });
                            }
                            Some(_) => {}
                            None => first_written = Some(written.clone()),
                        }
                    }
                }
                if !faults.is_empty() {
                    return Err(faults);
                }
                push_prefixed(&mut block, key);
                push_prefixed(&mut block, &written);
            }
            Piece::Item(item) => {
                if item.len() > PROTOCOL_MAX {
                    return Err(vec![Fault::LengthOverflow {
                        field: Field::Item,
                        len: item.len(),
                    }]);
                }
                push_prefixed(&mut block, item);
            }
            Piece::Raw(bytes) => block.extend_from_slice(bytes),
        }
    }
    // E7: "When the caller gave none, one is appended if n > 0."
    if let Some(digits) = digits.filter(|_| !caller_gave_one && build.body_len > Some(0)) {
        push_prefixed(&mut block, CONTENT_LENGTH);
        push_prefixed(&mut block, &digits);
    }
    let len = block.len();
    if len > PROTOCOL_MAX {
        return Err(vec![Fault::LengthOverflow {
            field: Field::Block,
            len,
        }]);
    }
    if len > build.limit {
        return Err(vec![Fault::TooLarge {
            len,
            max: build.limit,
        }]);
    }
    let mut wire = vec![
        build.modifier1,
        (len % 256) as u8,
        (len / 256) as u8,
        build.modifier2,
    ];
    wire.extend_from_slice(&block);
    Ok(wire)
}

/// A u16le length (checked by the caller) and the bytes.
fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push((bytes.len() % 256) as u8);
    out.push((bytes.len() / 256) as u8);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    //! The model against PROTOCOL.md §11: a model that gets the spec's own cases wrong would
    //! only produce noise.
    use super::*;

    fn h(m1: u8, n: usize, m2: u8) -> Vec<u8> {
        vec![m1, (n & 0xff) as u8, (n >> 8) as u8, m2]
    }

    fn kv(k: &[u8], v: &[u8]) -> Vec<u8> {
        let mut out = (k.len() as u16).to_le_bytes().to_vec();
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(v);
        out
    }

    fn base() -> Vec<u8> {
        [
            kv(b"REQUEST_METHOD", b"GET"),
            kv(b"PATH_INFO", b"/"),
            kv(b"SERVER_PROTOCOL", b"HTTP/1.1"),
        ]
        .concat()
    }

    fn with_tail(tail: &[u8]) -> Vec<u8> {
        [h(0, 62 + tail.len(), 0), base(), tail.to_vec()].concat()
    }

    fn err(data: &[u8]) -> Fault {
        match parse(data, &Config::default()) {
            Outcome::Error(f) => f,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn base_is_62_bytes_and_case_1_accepts() {
        assert_eq!(base().len(), 62);
        let wire = with_tail(b"");
        let Outcome::Complete(p) = parse(&wire, &Config::default()) else {
            panic!()
        };
        assert_eq!(p.wire_len, 66);
        assert_eq!(body_len(&p), Ok(0));
    }

    #[test]
    fn case_2_incomplete_counts() {
        let wire = with_tail(b"");
        let cfg = Config::default();
        assert_eq!(parse(&wire[..1], &cfg), Outcome::Incomplete(3));
        assert_eq!(parse(&wire[..4], &cfg), Outcome::Incomplete(62));
        assert_eq!(parse(&wire[..65], &cfg), Outcome::Incomplete(1));
    }

    #[test]
    fn cases_4_6_7_8_header() {
        let cfg = Config {
            limit: 4096,
            ..Config::default()
        };
        assert_eq!(
            parse(&h(0, 4097, 0), &cfg),
            Outcome::Error(Fault::TooLarge {
                len: 4097,
                max: 4096
            })
        );
        assert!(matches!(
            err(b"GET / HTTP/1.1"),
            Fault::Foreign {
                protocol: Foreign::HttpRequest,
                modifier1: 71,
                datasize: 21573
            }
        ));
        assert!(matches!(
            err(&[0x16, 3, 1, 2, 0]),
            Fault::Foreign {
                protocol: Foreign::Tls,
                modifier1: 22,
                datasize: 259
            }
        ));
        let wire = [h(0, 72, 0), base()].concat();
        assert_eq!(
            parse_eof(&wire, &Config::default()),
            Err(Fault::UnexpectedEof {
                offset: 66,
                needed: 10
            })
        );
    }

    #[test]
    fn cases_11_to_19_vars() {
        assert_eq!(
            err(&with_tail(&kv(b"", b"x"))),
            Fault::EmptyKey { offset: 66 }
        );
        assert_eq!(
            err(&with_tail(b"\x00")),
            Fault::TruncatedLength {
                field: Field::Key,
                offset: 66
            }
        );
        assert_eq!(err(&with_tail(b"\x00\x00")), Fault::EmptyKey { offset: 66 });
        assert_eq!(
            err(&with_tail(b"\x01\x00A")),
            Fault::TruncatedLength {
                field: Field::Value,
                offset: 69
            }
        );
        assert_eq!(
            err(&with_tail(b"\x01\x00K\x00")),
            Fault::TruncatedLength {
                field: Field::Value,
                offset: 69
            }
        );
        assert_eq!(
            err(&with_tail(b"\x01\x00K\x10\x00ab")),
            Fault::Overrun {
                field: Field::Value,
                offset: 69,
                len: 16,
                available: 2
            }
        );
        assert_eq!(
            err(&with_tail(b"\xff\x00\x01\x00K\x00\x00")),
            Fault::Overrun {
                field: Field::Key,
                offset: 66,
                len: 255,
                available: 5
            }
        );
        assert_eq!(
            err(&[0, 3, 0, 0, 0xff, 0xff, 0]),
            Fault::Overrun {
                field: Field::Key,
                offset: 4,
                len: 65535,
                available: 1
            }
        );
        assert_eq!(
            err(&with_tail(b"\x03\x00K=v")),
            Fault::TruncatedLength {
                field: Field::Value,
                offset: 71
            }
        );
    }

    #[test]
    fn case_23_pair_limit() {
        let mut block = Vec::new();
        for i in 0..126 {
            block.extend(kv(format!("V{i:03}").as_bytes(), b""));
        }
        block.extend(base());
        let wire = [h(0, block.len(), 0), block].concat();
        assert_eq!(wire.len() - 4, 1070);
        let cfg = Config {
            max_vars: Some(128),
            ..Config::default()
        };
        assert_eq!(
            parse(&wire, &cfg),
            Outcome::Error(Fault::TooManyVars {
                max: 128,
                offset: 1047
            })
        );
    }

    #[test]
    fn cases_25_26_27() {
        let mut wire = vec![0x00, 0x2c, 0x01, 0x00, 0x21, 0x00];
        wire.extend(std::iter::repeat_n(b'A', 289));
        wire.extend(b"\x01\x00v\x01\x00B\x01\x00w");
        assert_eq!(
            err(&wire),
            Fault::Overrun {
                field: Field::Value,
                offset: 39,
                len: 16705,
                available: 263
            }
        );
        let wire = b"\x00\x0d\x00\x00\x01\x00A\x01\x00bRAW\\x01";
        assert_eq!(
            err(wire),
            Fault::Overrun {
                field: Field::Key,
                offset: 10,
                len: 16722,
                available: 5
            }
        );
        let wire = [
            vec![0xad, 0x16, 0, 1],
            kv(b"hellolua", b"foo"),
            kv(b"bar", b""),
        ]
        .concat();
        let Outcome::Complete(p) = parse(&wire, &Config::default()) else {
            panic!()
        };
        assert_eq!(
            p.block,
            Block::Array(vec![b"hellolua", b"foo", b"bar", b""])
        );
    }

    #[test]
    fn cases_21_and_28_to_31_content_length() {
        let cl = |v: &[u8]| -> Result<u64, Fault> {
            let wire = with_tail(&kv(b"CONTENT_LENGTH", v));
            let Outcome::Complete(p) = parse(&wire, &Config::default()) else {
                panic!()
            };
            body_len(&p)
        };
        assert_eq!(cl(b""), Ok(0));
        assert_eq!(
            cl(b"5abc"),
            Err(Fault::InvalidContentLength {
                offset: 85,
                not_digit: true
            })
        );
        assert_eq!(
            cl(b"-1"),
            Err(Fault::InvalidContentLength {
                offset: 84,
                not_digit: true
            })
        );
        assert_eq!(
            cl(b" 5"),
            Err(Fault::InvalidContentLength {
                offset: 84,
                not_digit: true
            })
        );
        assert_eq!(
            cl(b"18446744073709551621"),
            Err(Fault::InvalidContentLength {
                offset: 103,
                not_digit: false
            })
        );
        assert_eq!(cl(b"18446744073709551615"), Ok(u64::MAX));
        let tail = [kv(b"CONTENT_LENGTH", b"2"), kv(b"CONTENT_LENGTH", b"5")].concat();
        let wire = with_tail(&tail);
        let Outcome::Complete(p) = parse(&wire, &Config::default()) else {
            panic!()
        };
        assert_eq!(
            body_len(&p),
            Err(Fault::ConflictingContentLength {
                first: 2,
                second: 5,
                offset: 85
            })
        );
    }

    #[test]
    fn cases_37_to_46_service_packets() {
        let cfg = Config::default();
        let Outcome::Complete(p) = parse(b"\xad\x0c\x00\x00\x05\x00hello\x00\x00\x01\x00a", &cfg)
        else {
            panic!()
        };
        assert_eq!(p.block, Block::Array(vec![b"hello", b"", b"a"]));
        let reply = Config {
            reply: true,
            ..Config::default()
        };
        let Outcome::Complete(p) = parse(b"\xad\x03\x00\x00a|b", &reply) else {
            panic!()
        };
        assert_eq!(p.block, Block::Raw(b"a|b"));
        assert_eq!(kind(100, 0, false), (Shape::Raw, Body::Nothing));
        assert_eq!(kind(110, 17, false), (Shape::Raw, Body::Nothing));
        assert_eq!(kind(111, 17, true), (Shape::Vars, Body::Size));
        assert_eq!(kind(111, 0, false), (Shape::Raw, Body::Nothing));
        assert_eq!(kind(99, 0, false), (Shape::Vars, Body::ContentLength));
        assert_eq!(kind(72, 0, false), (Shape::Raw, Body::Nothing));
        let sub = [
            vec![0xe0, 0x66, 0, 0],
            kv(b"key", b"example.com"),
            kv(b"address", b"127.0.0.1:18099"),
            kv(b"modifier1", b"0"),
            kv(b"modifier2", b"0"),
            kv(b"cores", b"1"),
            kv(b"load", b"0"),
            kv(b"weight", b"0"),
        ]
        .concat();
        assert_eq!(sub.len(), 106);
        assert!(parse_datagram(&sub, &cfg).is_ok());
        let mut longer = sub.clone();
        longer.push(0);
        assert_eq!(
            parse_datagram(&longer, &cfg),
            Err(Fault::DatagramLength {
                datasize: 102,
                len: 107
            })
        );
    }

    #[test]
    fn foreign_preambles_p1_to_p22() {
        let cfg = Config::default();
        for p in [
            &b"GET "[..],
            b"POST",
            b"PUT ",
            b"HEAD",
            b"DELE",
            b"OPTI",
            b"PATC",
            b"CONN",
            b"TRAC",
            b"PRI ",
            b"PROX",
            b"\r\n\r\n",
            b"\x16\x03\x01\x02",
            b"\x16\x03\x03\x00",
            b"SSH-",
            b"\x01\x01\x00\x01",
            b"70:C",
            b"123:",
            b"1234",
            b"HTTP",
        ] {
            assert!(foreign(p.try_into().unwrap(), &cfg).is_some(), "{p:?}");
        }
        for p in [
            &b"\x48\x00\x00\x00"[..],
            b"07:C",
            b"7:CO",
            b"123x",
            b"\x16\x03\x04\x00",
        ] {
            assert!(foreign(p.try_into().unwrap(), &cfg).is_none(), "{p:?}");
        }
        let off = Config {
            foreign_check: false,
            ..Config::default()
        };
        assert_eq!(parse(b"GET ", &off), Outcome::Incomplete(21573));
    }

    fn build(pieces: Vec<Piece<'_>>, body_len: Option<u64>) -> Build<'_> {
        Build {
            modifier1: 0,
            modifier2: 0,
            pieces,
            body_len,
            limit: PROTOCOL_MAX,
            magic: Magic::RoutingOnly,
        }
    }

    #[test]
    fn cases_48_49_encoder_lengths() {
        // 48: a block that adds up to 65536.
        let value = vec![b'x'; 65536 - 5];
        assert_eq!(
            encode(&build(vec![Piece::Var(b"K", &value)], None)),
            Err(vec![Fault::LengthOverflow {
                field: Field::Block,
                len: 65536
            }])
        );
        // 49: a key or a value of 65536 bytes; an empty key.
        let big = vec![b'k'; 65536];
        assert_eq!(
            encode(&build(vec![Piece::Var(&big, b"v")], None)),
            Err(vec![Fault::LengthOverflow {
                field: Field::Key,
                len: 65536
            }])
        );
        assert_eq!(
            encode(&build(
                vec![Piece::Var(b"A", b""), Piece::Var(b"", b"x")],
                None
            )),
            Err(vec![Fault::EmptyKey { offset: 9 }])
        );
        let wire = encode(&build(
            vec![Piece::Var(b"K", b"v"), Piece::Item(b"ab")],
            None,
        ));
        assert_eq!(
            wire,
            Ok(b"\x00\x0a\x00\x00\x01\x00K\x01\x00v\x02\x00ab".to_vec())
        );
    }

    #[test]
    fn e7_content_length() {
        let cl = |v: &'static [u8], n| encode(&build(vec![Piece::Var(b"CONTENT_LENGTH", v)], n));
        // The placeholder is filled, and stays empty for n = 0.
        assert_eq!(
            cl(b"", Some(12)),
            Ok([&[0, 20, 0, 0][..], &kv(b"CONTENT_LENGTH", b"12")].concat())
        );
        assert_eq!(
            cl(b"", Some(0)),
            Ok([&[0, 18, 0, 0][..], &kv(b"CONTENT_LENGTH", b"")].concat())
        );
        assert_eq!(cl(b"12", Some(12)).map(|w| w.len()), Ok(24));
        assert_eq!(
            cl(b"7", Some(12)),
            Err(vec![Fault::ConflictingContentLength {
                first: 7,
                second: 12,
                offset: 4
            }])
        );
        // "abc": InvalidContentLength at its offending byte (offset 4 + 2 + 14 + 2).
        assert_eq!(
            cl(b"1bc", Some(1)),
            Err(vec![Fault::InvalidContentLength {
                offset: 23,
                not_digit: true
            }])
        );
        // Appended when the caller gave none and n > 0; nothing for n = 0.
        let none = encode(&build(vec![Piece::Var(b"A", b"")], Some(5)));
        assert_eq!(
            none,
            Ok([
                &[0, 24, 0, 0][..],
                &kv(b"A", b""),
                &kv(b"CONTENT_LENGTH", b"5")
            ]
            .concat())
        );
        assert_eq!(encode(&build(vec![], Some(0))), Ok(vec![0, 0, 0, 0]));
        // An empty placeholder beside "0" for n = 0 would go out as two different vars.
        let two = vec![
            Piece::Var(b"CONTENT_LENGTH", b""),
            Piece::Var(b"CONTENT_LENGTH", b"0"),
        ];
        assert_eq!(
            encode(&build(two, Some(0))),
            Err(vec![Fault::ConflictingContentLength {
                first: 0,
                second: 0,
                offset: 22
            }])
        );
        // Without a framed body, CONTENT_LENGTH is an ordinary var.
        assert!(cl(b"abc", None).is_ok());
    }

    #[test]
    fn m3_encoder_refuses_code_magic_unless_allowed() {
        let pieces = vec![
            Piece::Var(b"UWSGI_SCHEME", b"https"),
            Piece::Var(b"UWSGI_FILE", b"x"),
        ];
        assert_eq!(
            encode(&build(pieces.clone(), None)),
            Err(vec![Fault::MagicVar { offset: 25 }])
        );
        let allowed = Build {
            magic: Magic::Allow,
            ..build(pieces, None)
        };
        assert!(encode(&allowed).is_ok());
        assert!(magic_refused(b"UWSGI_NEW_THING", &Magic::RoutingOnly));
        assert!(!magic_refused(b"UWSGI_APPID", &Magic::RoutingOnly));
        assert!(!magic_refused(b"uwsgi_file", &Magic::Refuse));
    }
}
