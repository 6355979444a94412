//! Checks a certificate's status with OCSP (a nonce POST, as `openssl ocsp` sends) and says
//! good, revoked or unknown: the client side of gica-pki's OCSP.
//!
//! With the demo responder running (`cargo run --release -p gica-ocsp-server -- serve --demo`):
//!
//! ```text
//! cargo run --example ocsp_check
//! cargo run --example ocsp_check -- /tmp/gica-ocsp-demo/revoked.pem /tmp/gica-ocsp-demo/ca.pem
//! cargo run --example ocsp_check -- LEAF.pem ISSUER.pem http://ocsp.example/ocsp
//! ```

#[path = "common/http.rs"]
mod http;

use std::time::SystemTime;

use gica_pki::{
    DigestAlgorithm,
    der::Encode,
    ocsp::{OcspRequestBuilder, OcspVerifier, VerifiedStatus},
};

fn main() -> Result<(), http::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let leaf = http::certs(&arg(0, "/tmp/gica-ocsp-demo/good.pem"))?.remove(0);
    let issuer = http::certs(&arg(1, "/tmp/gica-ocsp-demo/ca.pem"))?.remove(0);
    let url = arg(2, "http://127.0.0.1:3181/ocsp");

    let request = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)?
        .with_nonce()?
        .build();
    let response = http::fetch(&url, "application/ocsp-request", Some(request.to_der()?))?;
    let answers = OcspVerifier::new(issuer).verify(&response, &request, SystemTime::now())?;
    let answer = answers.first().ok_or("no answer")?;
    match &answer.status {
        VerifiedStatus::Good => println!("good"),
        VerifiedStatus::Revoked { time, reason } => {
            println!("revoked at {time:?}, reason {reason:?}")
        }
        VerifiedStatus::Unknown => println!("unknown"),
    }
    println!("thisUpdate: {:?}", answer.this_update);
    println!("nextUpdate: {:?}", answer.next_update);
    Ok(())
}
