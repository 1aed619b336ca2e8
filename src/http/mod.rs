//! Conversions between uwsgi messages and the types of the [`http` crate](::http) (feature `http`).
//!
//! | you are | you have | you want | use |
//! |---|---|---|---|
//! | a server behind nginx (a tower or axum service) | a request packet's [`Vars`](crate::Vars) | an `http::Request` | [`request`], [`request_parts`], [`RequestConfig`] |
//! | a gateway in front of uWSGI | an `http::Request` | the vars nginx would send | [`RequestVars`], [`RequestVarsConfig`] |
//! | a gateway in front of uWSGI | the reply's [`ResponseHead`](crate::reply::ResponseHead) | an `http::Response` | [`response`], [`response_parts`] |
//!
//! Both request directions follow nginx (PROTOCOL.md §7 E8 to E10, §8). The header-name
//! mapping is lossy (`X-Foo`, `x-foo` and `X_Foo` all become `HTTP_X_FOO`), so vars → request
//! → vars keeps what nginx sends but not every byte of every var: each function documents
//! what it changes. Errors are [`Error`], whose own offsets count from the packet's first
//! header byte.
//!
//! Files: `to_request.rs` (vars → request), `from_request.rs` (request → vars), `uri.rs`
//! (percent coding and targets), `response.rs` (reply head → response), `error.rs`.

mod error;
mod from_request;
mod response;
mod to_request;
mod uri;

pub use error::{Error, HttpPart};
pub use from_request::{HostVar, RequestVars, RequestVarsConfig, TransferEncoding};
pub use response::{response, response_parts};
pub use to_request::{RequestConfig, TargetSource, UriForm, request, request_parts};
