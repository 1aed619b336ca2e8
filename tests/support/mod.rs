//! The real-peer harness lives in the workspace member `test-support/` (crate
//! `uwsgi-test-support`), shared by every crate's tests. The root package has no dependency on
//! it, so its tests (`tests/http.rs` for `UWSGI_PARAMS`) include its
//! source by path: one copy of the harness in the repository.

#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
#[path = "../../test-support/src/lib.rs"]
mod harness;

#[allow(unused_imports)]
pub(crate) use harness::*;
