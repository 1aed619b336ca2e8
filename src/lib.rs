#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

extern crate alloc;

// The core: no I/O, no_std + alloc. A module imports only modules of the rows above its own:
//   escape, status      printing bytes; the outcome of parsing input that may be partial
//   modifier, header    what modifier1 and modifier2 mean; the 4-byte header
//   sniff, magic        foreign preambles; UWSGI_* vars
//   error               the core error
//   wire, body          length-prefixed fields; the body length (CONTENT_LENGTH)
//   vars, array         the two block grammars (vars indexed by their validating walk)
//   packet, owned       the borrowed and the owned packet
//   parser, builder     decoding settings and steps; the encoder
// The layers import the core and nothing above themselves: cgi and reply the core only,
// codec the core, http the core, cgi and reply.
mod array;
mod body;
mod builder;
mod error;
mod escape;
mod header;
mod magic;
mod modifier;
mod owned;
mod packet;
mod parser;
mod sniff;
mod status;
mod triage;
mod vars;
mod wire;

// The layers above the core, each in its own namespace.
pub mod cgi;
#[cfg(feature = "codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
pub mod codec;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod reply;

pub use array::{Array, ArrayIter};
pub use body::parse_length;
pub use builder::{PacketBuilder, Pair};
pub use error::{ContentLengthFault, Error, Field};
pub use escape::Escaped;
pub use header::{HEADER_LEN, Header, MAX_DATASIZE};
pub use magic::{MagicClass, MagicPolicy, magic_class};
pub use modifier::{BlockKind, BodyFraming, Direction, Modifier1, PacketKind};
pub use owned::Packet;
pub use packet::{Block, PacketRef};
pub use parser::{EMPTY_PAIR, MAX_PAIRS, PacketPairs, Parser};
pub use sniff::{ForeignProtocol, sniff};
pub use status::Status;
pub use vars::{Vars, VarsIter};
