//! HTTP as plain data: the request head an adapter lends, the response it sends back, endpoint
//! bodies, cookies and the CSRF defences, and the error answers.

pub mod cookies;
pub(crate) mod error;
// `Fields` and `parse_body` are public for the fuzz targets only (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub, dead_code))]
pub(crate) mod form;
pub(crate) mod request;
pub(crate) mod response;
