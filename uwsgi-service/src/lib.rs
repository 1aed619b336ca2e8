//! Serve any tower or hyper service (an `axum::Router`, a `hyper::service::service_fn`) behind
//! nginx `uwsgi_pass`, and forward `http::Request`s to uWSGI: the I/O around the
//! [`uwsgi-codec`](uwsgi_codec) protocol crate.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod convert;
mod frames;
mod server;
mod service;

pub use client::{Client, ClientConfig, ClientError, ResponseBody};
pub use server::{
    BodyError, Listener, PeerInfo, RequestBody, Serve, ServerConfig, serve, serve_connection,
};
pub use service::{BoxError, HttpService, HyperService, TowerService};

/// The protocol crate this one is built on.
pub use uwsgi_codec;
/// How the client writes a request's vars (addresses, document root, header mapping,
/// `Transfer-Encoding`), and how the server reads them (target source, URI form).
pub use uwsgi_codec::http::{
    RequestConfig, RequestVarsConfig, TargetSource, TransferEncoding, UriForm,
};
