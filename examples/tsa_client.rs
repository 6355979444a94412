//! Time-stamps a file at an RFC 3161 TSA and verifies the reply: the client side of gica-pki.
//!
//! With the demo TSA running (`cargo run --release -p gica-tsa-server -- --demo`):
//!
//! ```text
//! cargo run --example tsa_client -- README.md
//! cargo run --example tsa_client -- FILE http://tsa.example/tsa roots.pem chain.pem
//! ```
//!
//! Writes `FILE.tsr` (the whole TimeStampResp) and prints genTime, serial and policy.

#[path = "common/http.rs"]
mod http;

use std::time::SystemTime;

use gica_pki::{
    DigestAlgorithm,
    der::Encode,
    tsp::{Expectation, TimeStampReqBuilder, TokenVerifier, ValidationTime},
};

fn main() -> Result<(), http::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let file = args
        .first()
        .ok_or("usage: tsa_client FILE [URL] [ROOTS.pem] [CHAIN.pem]")?;
    let url = arg(1, "http://127.0.0.1:3180/tsa");
    let roots = http::certs(&arg(2, "/tmp/gica-tsa-demo/root.pem"))?;
    let chain = http::certs(&arg(3, "/tmp/gica-tsa-demo/chain.pem"))?;

    let data = std::fs::read(file)?;
    let request = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(&data)
        .with_nonce()
        .cert_req(true)
        .build()?;
    let reply = http::fetch(&url, "application/timestamp-query", Some(request.to_der()?))?;

    let token = TokenVerifier::new(roots)
        .untrusted(chain)
        .validation_time(ValidationTime::At(SystemTime::now()))
        .verify_response(&reply, &Expectation::request(&request))?;
    let out = format!("{file}.tsr");
    std::fs::write(&out, &reply)?;
    println!("Verification: OK");
    println!("genTime: {}", token.tst_info.gen_time);
    println!("serial:  {}", hex(token.tst_info.serial_number.as_bytes()));
    println!("policy:  {}", token.tst_info.policy);
    println!("TSA:     {}", token.signer.tbs_certificate().subject());
    println!("written: {out}");
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
