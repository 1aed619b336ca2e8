//! [`Triage`]: what a header's first byte (modifier1) tells a parser before anything else, in
//! one table lookup: whether the header may be a foreign preamble, whether the packet is a
//! request family whatever its modifier2, and whether such a request needs no check of the
//! parser's own limit and rules (they are the defaults: a parser-wide fact, kept in the same
//! byte so that the fast path tests one bit).

use crate::modifier::NOT_REQUEST_FAMILY;
use crate::sniff::STARTS_A_PATTERN;

/// The header may be a foreign preamble: the four bytes go to the sniffer (rule F1).
pub(crate) const SUSPECT: u8 = 1;
/// The packet is a request family, vars then a `CONTENT_LENGTH` body (PROTOCOL.md §3).
pub(crate) const REQUEST: u8 = 2;
/// A request family whose header cannot be a foreign preamble (`REQUEST` without `SUSPECT`):
/// the bit the path for a parser's own limit and rules tests.
pub(crate) const PLAIN_REQUEST: u8 = 4;
/// A plain request under a parser whose datasize limit and vars rules are the defaults: the
/// packet needs no check but the grammar's. The one bit the fast path tests, which reads no
/// setting but this table.
pub(crate) const PLAIN_DEFAULTS: u8 = 8;

/// Which foreign preambles a parser looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Foreign {
    /// None: the check is off.
    Off,
    /// The built-in patterns, which start with a few known bytes.
    Builtin,
    /// The caller's own patterns too, which may start with any byte.
    Custom,
}

/// One flags byte per modifier1 value, built when the parser's settings change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Triage([u8; 256]);

impl Triage {
    /// The table for these settings; `requests` is false when the caller's own kind table or
    /// the reply direction decides every kind, `defaults` true when the parser's datasize
    /// limit and vars rules are the defaults. The twelve tables are built at compile time, so
    /// a parser made per connection (a codec's) copies one instead of building it.
    pub(crate) const fn new(foreign: Foreign, requests: bool, defaults: bool) -> Triage {
        const fn pair(foreign: Foreign, requests: bool) -> [Triage; 2] {
            let table = Triage::build(foreign, requests);
            [table.with_defaults(false), table.with_defaults(true)]
        }
        const TABLES: [[[Triage; 2]; 2]; 3] = [
            [pair(Foreign::Off, false), pair(Foreign::Off, true)],
            [pair(Foreign::Builtin, false), pair(Foreign::Builtin, true)],
            [pair(Foreign::Custom, false), pair(Foreign::Custom, true)],
        ];
        let tables = match foreign {
            Foreign::Off => &TABLES[0],
            Foreign::Builtin => &TABLES[1],
            Foreign::Custom => &TABLES[2],
        };
        let [own_settings, default_settings] = if requests { &tables[1] } else { &tables[0] };
        if defaults {
            *default_settings
        } else {
            *own_settings
        }
    }

    /// This table with [`PLAIN_DEFAULTS`] on every plain request if `defaults` (the parser's
    /// limit and rules are the defaults), else on none.
    // Indexing in a const fn over 0..256 of a [_; 256]: checked, and never out of bounds.
    #[allow(clippy::indexing_slicing)]
    const fn with_defaults(mut self, defaults: bool) -> Triage {
        let mut m1 = 0;
        while m1 < 256 {
            let flags = self.0[m1] & !PLAIN_DEFAULTS;
            let plain = flags & PLAIN_REQUEST != 0;
            self.0[m1] = if defaults && plain {
                flags | PLAIN_DEFAULTS
            } else {
                flags
            };
            m1 += 1;
        }
        self
    }

    // Indexing in a const fn over 0..256 of a [_; 256]: checked, and never out of bounds.
    #[allow(clippy::indexing_slicing)]
    const fn build(foreign: Foreign, requests: bool) -> Triage {
        let mut table = [0u8; 256];
        let mut m1 = 0;
        while m1 < 256 {
            let suspect = match foreign {
                Foreign::Off => false,
                Foreign::Builtin => STARTS_A_PATTERN[m1],
                Foreign::Custom => true,
            };
            let listed = NOT_REQUEST_FAMILY[m1 >> 6] & (1 << (m1 & 63)) != 0;
            let mut flags = 0;
            if suspect {
                flags |= SUSPECT;
            }
            if requests && !listed {
                flags |= REQUEST;
                if !suspect {
                    flags |= PLAIN_REQUEST;
                }
            }
            table[m1] = flags;
            m1 += 1;
        }
        Triage(table)
    }

    /// The flags of a header whose first byte is `modifier1`.
    #[inline(always)]
    pub(crate) fn of(&self, modifier1: u8) -> u8 {
        // A u8 indexes a [_; 256]: the compiler drops the check and the default.
        self.0
            .get(usize::from(modifier1))
            .copied()
            .unwrap_or(SUSPECT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PLAIN_REQUEST` says exactly what the two flags say together, and `PLAIN_DEFAULTS` is
    /// `PLAIN_REQUEST` when the limit and rules are the defaults and nothing otherwise, in
    /// every table.
    #[test]
    fn plain_request_is_request_and_not_suspect() {
        for foreign in [Foreign::Off, Foreign::Builtin, Foreign::Custom] {
            for requests in [false, true] {
                let table = Triage::new(foreign, requests, false);
                let defaults = Triage::new(foreign, requests, true);
                for m1 in 0..=u8::MAX {
                    let flags = table.of(m1);
                    assert_eq!(
                        flags & PLAIN_REQUEST != 0,
                        flags & (REQUEST | SUSPECT) == REQUEST,
                        "{foreign:?} requests={requests} modifier1={m1}"
                    );
                    assert_eq!(flags & PLAIN_DEFAULTS, 0);
                    let with_bit = defaults.of(m1);
                    assert_eq!(with_bit & !PLAIN_DEFAULTS, flags);
                    assert_eq!(with_bit & PLAIN_DEFAULTS != 0, flags & PLAIN_REQUEST != 0);
                    assert_eq!(defaults.with_defaults(false).of(m1), flags);
                }
            }
        }
        // Both kinds of header occur in the default table: a plain request (0) and a request
        // family that can start a foreign preamble (`G` of `GET `).
        let default = Triage::new(Foreign::Builtin, true, true);
        assert_ne!(default.of(0) & PLAIN_REQUEST, 0);
        assert_eq!(default.of(b'G') & PLAIN_REQUEST, 0);
        assert_ne!(default.of(b'G') & REQUEST, 0);
    }
}
