//! [`HttpService`]: what the server accepts, a tower `Service` (an `axum::Router`, anything
//! built with tower) or a hyper `Service` (`hyper::service::service_fn`), each unchanged.

use std::future::{Future, poll_fn};

use bytes::Buf;
use http::{Request, Response};
use http_body::Body;

use crate::server::RequestBody;

/// The error type the crate boxes application errors into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Marks the [`HttpService`] impl for [`tower_service::Service`]s (inferred, never named).
#[derive(Debug)]
pub enum TowerService {}

/// Marks the [`HttpService`] impl for [`hyper::service::Service`]s (inferred, never named).
#[derive(Debug)]
pub enum HyperService {}

mod sealed {
    pub trait Sealed<M> {}
}

/// A service that answers an `http::Request<RequestBody>` with an `http::Response`.
///
/// It is implemented for every [`tower_service::Service`] (such as an `axum::Router`) and every
/// [`hyper::service::Service`] (such as `hyper::service::service_fn(...)`) with these request
/// and response types; `M` tells the two apart and is always inferred. The trait is sealed:
/// implement one of those two instead.
pub trait HttpService<M>: sealed::Sealed<M> + Clone + Send + 'static {
    /// The response body.
    type ResBody: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static;
    /// The service's error: the server answers it with a 500 and logs it.
    type Error: Into<BoxError>;

    /// Waits until the service is ready (tower), then calls it.
    fn serve(
        &mut self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<Self::ResBody>, Self::Error>> + Send;
}

impl<S, B> sealed::Sealed<TowerService> for S
where
    S: tower_service::Service<Request<RequestBody>, Response = Response<B>>,
{
}

impl<S, B> HttpService<TowerService> for S
where
    S: tower_service::Service<Request<RequestBody>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    type ResBody = B;
    type Error = S::Error;

    fn serve(
        &mut self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<B>, S::Error>> + Send {
        async move {
            poll_fn(|cx| self.poll_ready(cx)).await?;
            self.call(request).await
        }
    }
}

impl<S, B> sealed::Sealed<HyperService> for S where
    S: hyper::service::Service<Request<RequestBody>, Response = Response<B>>
{
}

impl<S, B> HttpService<HyperService> for S
where
    S: hyper::service::Service<Request<RequestBody>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
{
    type ResBody = B;
    type Error = S::Error;

    fn serve(
        &mut self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<B>, S::Error>> + Send {
        hyper::service::Service::call(self, request)
    }
}
