//! Shared code for the `uwsgi-codec` fuzz targets.
//!
//! - [`reference`]: an independent model of the grammar and header rules, written from
//!   PROTOCOL.md only (the `differential` target compares it with the crate);
//! - [`Settings`]: decoder settings picked by one input byte, as a crate [`Parser`] and as a
//!   model [`reference::Config`].

pub mod reference;

use uwsgi_codec::{Direction, MagicPolicy, Parser};

/// The magic-var allow list used when the settings pick `AllowOnly`.
pub const ALLOWED_MAGIC: &[u8] = b"UWSGI_SCHEME";

/// The extra foreign pattern used when the settings pick one (a WebDAV `PROPFIND`).
pub const CUSTOM_PATTERN: [u8; 4] = *b"PROP";

/// Decoder settings chosen by one byte of fuzz input.
///
/// | bits | meaning |
/// |---|---|
/// | 0–1 | datasize limit: 65535, 4096, 62, 0 |
/// | 2 | read as replies |
/// | 3 | foreign-protocol check off |
/// | 4–5 | pair limit: none, 0, 1, 3 |
/// | 6–7 | magic: allow, refuse, allow only `UWSGI_SCHEME`, allow + extra foreign pattern `PROP` |
///
/// Byte 0 is the default parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub limit: usize,
    pub reply: bool,
    pub foreign_check: bool,
    pub max_vars: Option<usize>,
    /// 0 allow, 1 refuse, 2 allow only [`ALLOWED_MAGIC`].
    pub magic: u8,
    pub custom_pattern: bool,
}

impl Settings {
    pub fn from_byte(b: u8) -> Settings {
        Settings {
            limit: [65535, 4096, 62, 0][usize::from(b & 3)],
            reply: b & 4 != 0,
            foreign_check: b & 8 == 0,
            max_vars: [None, Some(0), Some(1), Some(3)][usize::from((b >> 4) & 3)],
            magic: [0, 1, 2, 0][usize::from(b >> 6)],
            custom_pattern: b >> 6 == 3,
        }
    }

    /// The crate's parser with these settings.
    pub fn parser(&self) -> Parser {
        let magic = match self.magic {
            1 => MagicPolicy::Refuse,
            2 => MagicPolicy::AllowOnly(vec![ALLOWED_MAGIC.to_vec()]),
            _ => MagicPolicy::Allow,
        };
        let direction = if self.reply {
            Direction::Reply
        } else {
            Direction::Request
        };
        let mut parser = Parser::new()
            .with_max_datasize(self.limit)
            .with_direction(direction)
            .with_foreign_check(self.foreign_check)
            .with_max_vars(self.max_vars)
            .with_magic_policy(magic);
        if self.custom_pattern {
            parser = parser.with_foreign_pattern(CUSTOM_PATTERN);
        }
        parser
    }

    /// The reference model's configuration with these settings.
    pub fn model(&self) -> reference::Config {
        reference::Config {
            limit: self.limit,
            foreign_check: self.foreign_check,
            extra_patterns: if self.custom_pattern {
                vec![CUSTOM_PATTERN]
            } else {
                Vec::new()
            },
            reply: self.reply,
            max_vars: self.max_vars,
            magic: match self.magic {
                1 => reference::Magic::Refuse,
                2 => reference::Magic::AllowOnly(vec![ALLOWED_MAGIC.to_vec()]),
                _ => reference::Magic::Allow,
            },
        }
    }
}

/// An error's variant and offset (and every number it carries) as one comparable string.
pub fn describe(err: &uwsgi_codec::Error) -> String {
    format!("{err:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_zero_is_the_default_parser() {
        let s = Settings::from_byte(0);
        assert_eq!(s.model(), reference::Config::default());
        assert_eq!(s.parser().max_datasize(), 65535);
    }
}
