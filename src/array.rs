//! [`Array`]: a block of length-prefixed items (RPC, cache set, cache UDP sync).

use crate::error::{Error, Field};
use crate::escape::Escaped;
use crate::wire::prefixed;

/// Checks `block` against rules A1 and A2 in one pass (nom's strict parsers: arrays are RPC
/// and cache packets, off the hot path), returning the number of items.
pub(crate) fn validate(block: &[u8]) -> Result<usize, Error> {
    let (mut rest, mut count) = (block, 0);
    while !rest.is_empty() {
        rest = prefixed(Field::Item, rest)
            .map_err(|fault| fault.into_error(block))?
            .0;
        count += 1;
    }
    Ok(count)
}

/// A validated array block: items in wire order, empty items kept (rule A1).
///
/// An RPC request's item 0 is the function name and the rest are its arguments. No item is
/// dropped: uWSGI's 255-item bound is policy for the caller.
///
/// # Examples
///
/// ```
/// use uwsgi_codec::PacketRef;
///
/// let wire = b"\xad\x0c\x00\x00\x05\x00hello\x00\x00\x01\x00a";
/// let packet = PacketRef::parse(wire)?.complete().unwrap();
/// let items: Vec<&[u8]> = packet.array().unwrap().iter().collect();
/// assert_eq!(items, [&b"hello"[..], b"", b"a"]);
/// # Ok::<(), uwsgi_codec::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Array<'a> {
    block: &'a [u8],
    count: usize,
}

impl<'a> Array<'a> {
    /// Validates a bare array block. Offsets in errors count as if it were at offset 4.
    ///
    /// # Errors
    ///
    /// `TruncatedLength` or `Overrun` (field `Item`) for a block that breaks rule A2.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Array, Error, Field};
    ///
    /// assert_eq!(Array::parse(b"\x00\x00")?.len(), 1);
    /// assert!(matches!(
    ///     Array::parse(b"\x05\x00ab"),
    ///     Err(Error::Overrun { field: Field::Item, offset: 4, len: 5, available: 2 })
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse(block: &'a [u8]) -> Result<Array<'a>, Error> {
        Ok(Array {
            block,
            count: validate(block)?,
        })
    }

    /// A block that `validate` already accepted with `count` items.
    pub(crate) fn from_validated(block: &'a [u8], count: usize) -> Array<'a> {
        Array { block, count }
    }

    /// The number of items, empty ones included.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The raw block bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The items in wire order.
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter { rest: self.block }
    }

    /// The item at `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        self.iter().nth(index)
    }
}

impl<'a> IntoIterator for &Array<'a> {
    type Item = &'a [u8];
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

impl core::fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter().map(Escaped)).finish()
    }
}

/// The items of a validated array. Cannot fail.
#[derive(Debug, Clone)]
pub struct ArrayIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.rest.split_first_chunk::<2>()?;
        let (item, rest) = rest.split_at_checked(usize::from(u16::from_le_bytes(len)))?;
        self.rest = rest;
        Some(item)
    }
}

impl core::iter::FusedIterator for ArrayIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_item_length_is_truncated() {
        assert_eq!(
            Array::parse(b"\x01\x00a\x00"),
            Err(Error::TruncatedLength {
                field: Field::Item,
                offset: 7
            })
        );
    }

    #[test]
    fn empty_items_are_kept_anywhere() {
        let array = Array::parse(b"\x00\x00\x01\x00a\x00\x00");
        assert_eq!(array.map(|a| a.iter().count()).ok(), Some(3));
        assert_eq!(Array::parse(b"").map(|a| a.is_empty()).ok(), Some(true));
    }
}
