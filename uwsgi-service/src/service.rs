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

/// The two impls differ only in the trait they start from and how they call it.
macro_rules! http_service {
    ($marker:ty, $trait:path, |$service:ident, $request:ident| $call:expr) => {
        impl<S, B> sealed::Sealed<$marker> for S where S: $trait {}

        impl<S, B> HttpService<$marker> for S
        where
            S: $trait + Clone + Send + 'static,
            S::Future: Send,
            S::Error: Into<BoxError>,
            B: Body<Data: Buf + Send, Error: Into<BoxError>> + Send + 'static,
        {
            type ResBody = B;
            type Error = S::Error;

            fn serve(
                &mut self,
                $request: Request<RequestBody>,
            ) -> impl Future<Output = Result<Response<B>, S::Error>> + Send {
                let $service = self;
                $call
            }
        }
    };
}

http_service!(
    TowerService,
    tower_service::Service<Request<RequestBody>, Response = Response<B>>,
    |service, request| async move {
        poll_fn(|cx| service.poll_ready(cx)).await?;
        service.call(request).await
    }
);

http_service!(
    HyperService,
    hyper::service::Service<Request<RequestBody>, Response = Response<B>>,
    |service, request| hyper::service::Service::call(service, request)
);
