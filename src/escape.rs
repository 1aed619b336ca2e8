//! [`Escaped`]: print arbitrary bytes readably without ever forcing UTF-8.

/// Displays bytes as text: valid UTF-8 as it is, every other byte as `\xNN`, and control
/// characters, `\` and `"` escaped, so a log line stays one line and shows the exact bytes.
///
/// ```
/// use uwsgi_codec::Escaped;
///
/// assert_eq!(Escaped(b"caf\xc3\xa9 \xff\n").to_string(), "café \\xff\\n");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a [u8]);

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\t' => f.write_str("\\t")?,
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                    c => write!(f, "{c}")?,
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// Prints the items of a cloneable iterator as a list, without collecting them: a `Debug`
/// field made of escaped bytes.
pub(crate) struct DebugList<I>(pub(crate) I);

impl<I: Iterator<Item = T> + Clone, T: core::fmt::Debug> core::fmt::Debug for DebugList<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

impl core::fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "\"{self}\"")
    }
}
