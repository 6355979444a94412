//! End to end: the real `gica` binary against gica-tsa-server and gica-ocsp-server started in
//! this process on 127.0.0.1:0, against openssl peers (`openssl ts -reply` tokens, `openssl
//! ocsp -index`, `openssl ca -gencrl` CRLs) and against misbehaving HTTP servers. Every test
//! asserts the exit code and the words that name the cause.

#[path = "../../../tests/common/mod.rs"]
mod common;
mod support;

mod cert;
mod crl;
mod io;
mod ocsp;
mod receipt;
mod ts;
