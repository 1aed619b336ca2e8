#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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

mod array;
mod builder;
mod cgi;
#[cfg(feature = "codec")]
mod codec;
mod error;
mod escape;
mod header;
mod magic;
mod modifier;
mod packet;
mod sniff;
mod status;
mod vars;

pub use array::{Array, ArrayIter};
pub use builder::PacketBuilder;
pub use cgi::{CgiMapping, ContentHeaders, NginxParams, RepeatedHeaders, Underscores};
#[cfg(feature = "codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
pub use codec::{ClientCodec, Frame, RpcReply, ServerCodec};
pub use error::{ContentLengthFault, Error, Field};
pub use escape::Escaped;
pub use header::{HEADER_LEN, Header};
pub use magic::{MagicClass, MagicPolicy, magic_class};
pub use modifier::{BlockKind, BodyFraming, Direction, Modifier1, PacketKind};
pub use packet::{Block, MAX_DATASIZE, Packet, PacketRef, Parser};
pub use sniff::{ForeignProtocol, sniff};
pub use status::Status;
pub use vars::{Vars, VarsIter, parse_length};
