//! gica-exchange: agencies apply for services on the national data-exchange buses (GSB and
//! PGSB), and an approval is a certificate whose policy OIDs name the granted services.
//!
//! - [`catalogue`]: the services on offer, loaded from TOML.
//! - [`request`]: the request state machine and its transition table.
//! - [`check`]: the completeness check, one coded [`check::Deficiency`] per rule, including
//!   the PKCS#10 proof of possession.
//! - [`issue`]: the certificate for an approved request, recorded in the revocation store so
//!   that gica-ocsp-server answers for it.
//! - [`store`]: agencies, connections, requests and the hash-chained audit trail.
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod catalogue;
pub mod check;
pub mod issue;
pub mod request;
pub mod store;

pub use catalogue::{Bus, Catalogue, CatalogueError, Service};
pub use check::{CheckInput, Deficiency, DeficiencyCode};
pub use request::{Action, IllegalMove, RequestKind, State, transition};
