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

mod array;
mod builder;
mod cgi;
#[cfg(feature = "codec")]
mod codec;
mod error;
mod escape;
mod header;
#[cfg(feature = "http")]
mod http;
mod magic;
mod modifier;
mod packet;
mod response;
mod sniff;
mod status;
mod vars;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use self::http::{HostVar, HttpPart, RequestVars, RequestVarsConfig, request, request_parts};
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
pub use response::{
    DEFAULT_MAX_HEAD_LEN, HeadFault, ResponseHead, ResponseHeadParser, StatusSource,
};
pub use sniff::{ForeignProtocol, sniff};
pub use status::Status;
pub use vars::{Vars, VarsIter, parse_length};
