//! gica-ocsp-server: OCSP responder (RFC 6960, RFC 5019, RFC 8954), CRL publisher and
//! revocation store.
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod store;
