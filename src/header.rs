//! [`Header`]: the 4 bytes in front of every packet, parsed and encoded.

use bytes::BufMut;

use crate::modifier::{Direction, Modifier1, PacketKind};
use crate::status::Status;

/// Length of the packet header: modifier1, datasize (2 bytes, little-endian), modifier2.
pub const HEADER_LEN: usize = 4;

/// The largest block the protocol can carry, and the default datasize limit (rule L1).
pub const MAX_DATASIZE: usize = u16::MAX as usize;

/// The packet header.
///
/// ```text
///  offset 0      1      2      3      4 ...
///       +------+-------------+------+--------------------------+
///       |  m1  |  datasize   |  m2  |  block: datasize bytes   |
///       |  u8  |  u16 LE     |  u8  |  (vars, array or raw)    |
///       +------+-------------+------+--------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Packet type / request handler.
    pub modifier1: Modifier1,
    /// Length of the block that follows the header.
    pub datasize: u16,
    /// Sub-command or flag; its meaning depends on `modifier1`.
    pub modifier2: u8,
}

impl Header {
    /// A header from its three fields.
    #[inline]
    pub const fn new(modifier1: Modifier1, datasize: u16, modifier2: u8) -> Self {
        Header {
            modifier1,
            datasize,
            modifier2,
        }
    }

    /// Reads the header from the start of `buf`.
    ///
    /// Only the 4 header bytes are looked at; nothing is validated (any value of each field is
    /// a header), so this never fails. With fewer than 4 bytes it says exactly how many more
    /// are needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use uwsgi_codec::{Header, Modifier1, Status};
    ///
    /// let header = Header::parse(&[0x00, 0x83, 0x01, 0x00]).complete().unwrap();
    /// assert_eq!(header, Header::new(Modifier1::WSGI, 387, 0));
    /// assert_eq!(Header::parse(&[0x00, 0x83]), Status::Incomplete(2));
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Status<Header> {
        match buf.first_chunk::<HEADER_LEN>() {
            Some(&[modifier1, low, high, modifier2]) => {
                let datasize = u16::from_le_bytes([low, high]);
                Status::Complete(Header::new(Modifier1(modifier1), datasize, modifier2))
            }
            None => Status::Incomplete(HEADER_LEN - buf.len()),
        }
    }

    /// The header's wire bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let [low, high] = self.datasize.to_le_bytes();
        [self.modifier1.0, low, high, self.modifier2]
    }

    /// Writes the header's 4 bytes.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// Length of the whole packet: `4 + datasize`.
    #[inline]
    pub fn packet_len(&self) -> usize {
        HEADER_LEN + usize::from(self.datasize)
    }

    /// The default kind of this packet travelling in `direction` ([`PacketKind::of`]).
    #[inline]
    pub fn kind(&self, direction: Direction) -> PacketKind {
        PacketKind::of(self.modifier1, self.modifier2, direction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_needs_exactly_the_missing_bytes() {
        assert_eq!(Header::parse(&[]), Status::Incomplete(4));
        assert_eq!(Header::parse(&[0]), Status::Incomplete(3));
        assert_eq!(Header::parse(&[0, 1]), Status::Incomplete(2));
        assert_eq!(Header::parse(&[0, 1, 2]), Status::Incomplete(1));
    }

    #[test]
    fn datasize_is_little_endian_and_round_trips() {
        let bytes = [0xad, 0x34, 0x12, 0x05];
        let header = Header::parse(&bytes).complete();
        assert_eq!(header, Some(Header::new(Modifier1::RPC, 0x1234, 5)));
        assert_eq!(header.map(|h| h.to_bytes()), Some(bytes));
        assert_eq!(header.map(|h| h.packet_len()), Some(4 + 0x1234));
    }

    #[test]
    fn encode_writes_the_same_bytes() {
        let mut out = Vec::new();
        Header::new(Modifier1(7), 65535, 255).encode(&mut out);
        assert_eq!(out, [7, 0xff, 0xff, 255]);
    }
}
