//! What the property tests (`tests/props_*.rs`) share: the configuration, strategies as
//! functions returning `impl Strategy` (keys, values, modifiers, whole packets) and the checks
//! several properties make.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use uwsgi_codec::{
    Block, BlockKind, Direction, Error, HEADER_LEN, Header, MagicClass, MagicPolicy, Modifier1,
    PacketBuilder, PacketKind, PacketRef, Status, Vars, magic_class, sniff,
};

use super::prefixed;

/// A key/value pair of owned bytes.
pub(crate) type Pair = (Vec<u8>, Vec<u8>);

/// The default configuration (256 cases, `PROPTEST_CASES` honoured), without a regressions
/// file: shrunk inputs belong in `tests/regressions.rs`, bytes inline.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The kind the default parser gives a request with these modifiers.
pub(crate) fn kind_of(m1: u8, m2: u8) -> PacketKind {
    PacketKind::of(Modifier1(m1), m2, Direction::Request)
}

/// Every packet is a request with a vars block (the `with_kind_fn` override).
pub(crate) fn always_vars(_: &Header, _: Direction) -> PacketKind {
    PacketKind::REQUEST
}

pub(crate) fn is_code_magic(key: &[u8]) -> bool {
    magic_class(key) == Some(MagicClass::CodeOrProcess)
}

/// The builder's magic policy for a packet that may (`true`) or may not carry code-affecting
/// magic keys.
pub(crate) fn magic_policy(allow_magic: bool) -> MagicPolicy {
    if allow_magic {
        MagicPolicy::Allow
    } else {
        MagicPolicy::RoutingOnly
    }
}

/// Borrowed pairs, for `with_vars` and `extend_vars`.
pub(crate) fn borrowed(pairs: &[Pair]) -> Vec<(&[u8], &[u8])> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect()
}

/// The complete packet, or a test failure saying what came instead.
pub(crate) fn complete<'a>(
    result: Result<Status<PacketRef<'a>>, Error>,
    what: &str,
) -> Result<PacketRef<'a>, TestCaseError> {
    match result {
        Ok(Status::Complete(packet)) => Ok(packet),
        other => Err(TestCaseError::fail(format!(
            "{what}: expected a complete packet, got {other:?}"
        ))),
    }
}

/// What `Parser::parse` must say about a prefix of `len` bytes of a packet of `wire_len`
/// bytes (H1, H4).
pub(crate) fn missing_of(len: usize, wire_len: usize) -> usize {
    if len < HEADER_LEN {
        HEADER_LEN - len
    } else {
        wire_len - len
    }
}

/// Bytes in failure messages: escaped, long runs cut short.
pub(crate) struct Short<'a>(pub(crate) &'a [u8]);

impl std::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            short if short.len() <= 48 => write!(f, "b\"{}\"", short.escape_ascii()),
            long => write!(
                f,
                "{} bytes b\"{}…\"",
                long.len(),
                long[..16].escape_ascii()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys, values, modifiers
// ---------------------------------------------------------------------------------------------

/// A magic key: routing-only or code-affecting.
pub(crate) fn magic_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec!["UWSGI_SCHEME", "UWSGI_APPID", "UWSGI_CACHE_GET"])
            .prop_map(|k| k.as_bytes().to_vec()),
        "[A-Z_]{0,20}".prop_map(|s| format!("UWSGI_{s}").into_bytes()),
    ]
}

/// A key of 1 to 39 bytes; code-affecting magic ones only when `allow_magic`.
pub(crate) fn key(allow_magic: bool) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        12 => vec(any::<u8>(), 1..40),
        4 => "[A-Z_]{1,39}".prop_map(String::into_bytes),
        1 => Just(b"CONTENT_LENGTH".to_vec()),
        1 => magic_key(),
    ]
    .prop_filter("code-affecting magic keys need allow_magic", move |k| {
        allow_magic || !is_code_magic(k)
    })
    .boxed()
}

/// A key that is neither `CONTENT_LENGTH` nor code-affecting magic.
pub(crate) fn plain_key() -> impl Strategy<Value = Vec<u8>> {
    key(false).prop_filter("not CONTENT_LENGTH", |k| k != b"CONTENT_LENGTH")
}

/// A value of 0 to 59 bytes.
pub(crate) fn value() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..60)
}

/// Up to 23 pairs: at most 23 × 103 = 2369 bytes, short of the smallest datasize a foreign
/// preamble spells with a vars modifier1 (`0D 0A 0D 0A`, 3338).
pub(crate) fn pairs(allow_magic: bool) -> impl Strategy<Value = Vec<Pair>> {
    vec((key(allow_magic), value()), 0..24)
}

/// Up to 5 pairs with plain keys.
pub(crate) fn plain_pairs() -> impl Strategy<Value = Vec<Pair>> {
    vec((plain_key(), value()), 0..6)
}

/// Modifiers whose packets the default parser reads as a vars block.
pub(crate) fn vars_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        1 => (Just(0u8), any::<u8>()),
        3 => (any::<u8>(), prop_oneof![Just(0u8), 0u8..20, any::<u8>()])
            .prop_filter("a vars block", |&(m1, m2)| kind_of(m1, m2).block == BlockKind::Vars),
    ]
}

/// Modifiers of packets with a vars block and a body framed by a length var (request
/// families, RPC 5, cache 17).
pub(crate) fn framed_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        2 => (Just(0u8), any::<u8>()),
        1 => Just((173u8, 5u8)),
        1 => Just((111u8, 17u8)),
        3 => vars_modifiers().prop_filter("a framed body", |&(m1, m2)| {
            kind_of(m1, m2).body.length_key().is_some()
        }),
    ]
}

/// Modifiers of packets read as an array (RPC and cache requests).
pub(crate) fn array_modifiers() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        3 => Just((173u8, 0u8)),
        1 => select(vec![(173u8, 1u8), (111, 1), (111, 10), (111, 11)]),
    ]
}

/// Modifiers of packets with a raw block, none of which can spell a foreign preamble.
pub(crate) fn raw_modifiers() -> impl Strategy<Value = (u8, u8)> {
    (
        select(vec![100u8, 101, 110, 111, 115, 200, 255]),
        any::<u8>(),
    )
        .prop_filter("a raw block", |&(m1, m2)| {
            kind_of(m1, m2) == PacketKind::RAW
        })
}

/// A `CONTENT_LENGTH`-like value: digits (sometimes too many), u64 decimals, or junk.
pub(crate) fn length_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{0,22}".prop_map(String::into_bytes),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        "[0-9]{0,3}[^0-9][0-9]{0,3}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..4),
    ]
}

/// Body lengths: small, large, and the ends of u64.
pub(crate) fn body_length() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0u64..1_000,
        any::<u64>(),
        Just(u64::MAX),
        Just(u64::MAX / 10),
    ]
}

// ---------------------------------------------------------------------------------------------
// Whole packets
// ---------------------------------------------------------------------------------------------

/// What a valid packet is built from.
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    Vars {
        m1: u8,
        m2: u8,
        allow_magic: bool,
        pairs: Vec<Pair>,
    },
    Array {
        m1: u8,
        m2: u8,
        items: Vec<Vec<u8>>,
    },
    Raw {
        m1: u8,
        m2: u8,
        payload: Vec<u8>,
    },
}

impl Spec {
    /// A builder for the packet, pairs and items added one call at a time.
    pub(crate) fn builder(&self) -> PacketBuilder<'_> {
        match self {
            Spec::Vars {
                m1,
                m2,
                allow_magic,
                pairs,
            } => PacketBuilder::new(*m1)
                .with_modifier2(*m2)
                .with_magic_policy(magic_policy(*allow_magic))
                .extend_vars(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))),
            Spec::Array { m1, m2, items } => {
                let mut builder = PacketBuilder::new(*m1).with_modifier2(*m2);
                for item in items {
                    builder.push_item(item);
                }
                builder
            }
            Spec::Raw { m1, m2, payload } => {
                PacketBuilder::new(*m1).with_modifier2(*m2).raw(payload)
            }
        }
    }

    /// The packet's bytes, written by hand with the notation (not with the builder).
    pub(crate) fn wire(&self) -> Vec<u8> {
        let (m1, m2) = self.modifiers();
        let block: Vec<u8> = match self {
            Spec::Vars { pairs, .. } => pairs.iter().flat_map(|(k, v)| super::kv(k, v)).collect(),
            Spec::Array { items, .. } => items.iter().flat_map(|i| prefixed(i)).collect(),
            Spec::Raw { payload, .. } => payload.clone(),
        };
        super::packet(m1, m2, &block)
    }

    /// The packet's bytes from the builder, which must agree with [`Spec::wire`].
    pub(crate) fn build(&self) -> Result<Vec<u8>, TestCaseError> {
        let wire = self
            .builder()
            .to_vec()
            .map_err(|e| TestCaseError::fail(format!("the builder refused {self:?}: {e:?}")))?;
        prop_assert_eq!(
            &wire,
            &self.wire(),
            "the builder writes the notation's bytes"
        );
        prop_assert!(
            sniff(&wire).is_none(),
            "the generator made a foreign preamble: {:02x?}",
            &wire[..4]
        );
        Ok(wire)
    }

    pub(crate) fn modifiers(&self) -> (u8, u8) {
        match self {
            Spec::Vars { m1, m2, .. } | Spec::Array { m1, m2, .. } | Spec::Raw { m1, m2, .. } => {
                (*m1, *m2)
            }
        }
    }

    /// Checks that `block` is the block the packet was built from.
    pub(crate) fn check_block(&self, block: &Block<'_>) -> Result<(), TestCaseError> {
        match (self, block) {
            (Spec::Vars { pairs, .. }, Block::Vars(vars)) => check_vars(vars, pairs),
            (Spec::Array { items, .. }, Block::Array(array)) => {
                let got: Vec<&[u8]> = array.iter().collect();
                let want: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                prop_assert_eq!(got, want, "items, in order");
                prop_assert_eq!(array.len(), items.len(), "item count");
                for (index, item) in items.iter().enumerate() {
                    prop_assert_eq!(array.get(index), Some(item.as_slice()), "item {}", index);
                }
                prop_assert_eq!(array.get(items.len()), None, "no item past the end");
                Ok(())
            }
            (Spec::Raw { payload, .. }, Block::Raw(raw)) => {
                prop_assert_eq!(*raw, payload.as_slice(), "raw block");
                Ok(())
            }
            (spec, block) => Err(TestCaseError::fail(format!(
                "{spec:?} parsed as the wrong block kind: {block:?}"
            ))),
        }
    }
}

/// The pairs, in order, duplicates kept, with last-wins and first-wins lookups (V10).
pub(crate) fn check_vars(vars: &Vars<'_>, pairs: &[Pair]) -> Result<(), TestCaseError> {
    let got: Vec<(&[u8], &[u8])> = vars.iter().collect();
    let want = borrowed(pairs);
    prop_assert_eq!(&got, &want, "pairs, in order");
    prop_assert_eq!(vars.len(), pairs.len(), "pair count");
    prop_assert_eq!(vars.is_empty(), pairs.is_empty(), "is_empty");
    for (key, _) in pairs {
        let all: Vec<&[u8]> = want
            .iter()
            .filter(|(k, _)| *k == key.as_slice())
            .map(|(_, v)| *v)
            .collect();
        let listed: Vec<&[u8]> = vars.get_all(key).collect();
        prop_assert_eq!(&listed, &all, "get_all({:02x?})", key);
        prop_assert_eq!(vars.get(key), all.last().copied(), "get is the last");
        prop_assert_eq!(
            vars.get_first(key),
            all.first().copied(),
            "get_first is the first"
        );
    }
    Ok(())
}

pub(crate) fn vars_spec() -> impl Strategy<Value = Spec> {
    (vars_modifiers(), any::<bool>()).prop_flat_map(|((m1, m2), allow_magic)| {
        pairs(allow_magic).prop_map(move |pairs| Spec::Vars {
            m1,
            m2,
            allow_magic,
            pairs,
        })
    })
}

pub(crate) fn array_spec() -> impl Strategy<Value = Spec> {
    (array_modifiers(), vec(vec(any::<u8>(), 0..40), 0..24))
        .prop_map(|((m1, m2), items)| Spec::Array { m1, m2, items })
}

pub(crate) fn raw_spec() -> impl Strategy<Value = Spec> {
    (raw_modifiers(), vec(any::<u8>(), 0..100)).prop_map(|((m1, m2), payload)| Spec::Raw {
        m1,
        m2,
        payload,
    })
}

/// Any valid packet the default parser accepts.
pub(crate) fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![3 => vars_spec(), 2 => array_spec(), 1 => raw_spec()]
}

/// A packet whose block is validated (vars or array).
pub(crate) fn validated_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![3 => vars_spec(), 2 => array_spec()]
}
