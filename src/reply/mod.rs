//! The head of the raw HTTP reply that an application server sends back for a request-family
//! packet (PROTOCOL.md §2.5 and §8): [`ResponseHead`], read the way nginx's uwsgi module reads
//! it, but strictly, in one pass or resumably with [`ResponseHeadParser`].
//!
//! A reply starts either with an HTTP status line (`HTTP/x.y NNN reason`) or directly with
//! CGI-style headers, where a `Status: NNN reason` header gives the status (`Location` alone
//! means 302, neither means 200). The head ends at the first empty line; the body follows, and
//! [`ResponseHead::body_framing`] says where it ends. No I/O, `no_std` + `alloc`.

mod error;
mod head;
mod scan;
pub(crate) mod token;

pub use error::{Error, HeadFault};
pub use head::{DEFAULT_MAX_HEAD_LEN, ReplyBody, ResponseHead, StatusSource};
pub use scan::ResponseHeadParser;
