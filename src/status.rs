//! [`Status`]: the outcome of parsing input that may still be arriving.

/// The result of a parse over input that may be incomplete.
///
/// Running out of input is not an error: the caller reads more and calls again.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The value, complete.
    Complete(T),
    /// At least this many more bytes are needed before the next step can be taken; never zero.
    ///
    /// For a packet the count is exact: before the header is complete it counts the header
    /// bytes still missing, after it the bytes still missing from the whole packet. Where the
    /// end cannot be known in advance (the head of an HTTP reply ends at an empty line), it is
    /// a lower bound.
    Incomplete(usize),
}

impl<T> Status<T> {
    /// Whether the value is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }

    /// The complete value, or `None` when more bytes are needed.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(value) => Some(value),
            Status::Incomplete(_) => None,
        }
    }

    /// Applies `f` to a complete value, keeping an `Incomplete` count as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Complete(value) => Status::Complete(f(value)),
            Status::Incomplete(needed) => Status::Incomplete(needed),
        }
    }
}
