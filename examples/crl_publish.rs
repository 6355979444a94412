//! Makes a CRL with a CA's key, checks it as a relying party would, and writes it as DER:
//! what a CA's publishing job does, with gica-pki alone (no store; see `gica-ocsp-server crl`
//! for the store-backed command).
//!
//! ```text
//! cargo run --example crl_publish -- testdata/pki/int-ca.pem testdata/pki/int-ca.key /tmp/int-ca.crl 1A2B 3C4D
//! openssl crl -inform DER -in /tmp/int-ca.crl -CAfile testdata/pki/int-ca.pem -noout -text
//! ```
//!
//! Every serial (hex) after the output file is listed, revoked now with reason
//! keyCompromise. The CRL number is the current Unix time, so it increases from run to run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gica_pki::{
    CrlReason, SignerOptions, SoftwareSigner, cert,
    crl::{CrlParams, RevokedEntry, build_crl, verify_crl},
};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ca, key, out, serials @ ..] = args.as_slice() else {
        return Err("usage: crl_publish CA.pem CA.key OUT.crl [SERIAL_HEX...]".into());
    };
    let ca = cert::load_pem_certs(&std::fs::read_to_string(ca)?)?
        .into_iter()
        .next()
        .ok_or("no certificate in the CA file")?;
    let key = SoftwareSigner::from_pem(&std::fs::read_to_string(key)?, SignerOptions::default())?;
    let serials = serials
        .iter()
        .map(|s| parse_hex(s))
        .collect::<Result<Vec<_>, _>>()?;

    let now = SystemTime::now();
    let number = now.duration_since(UNIX_EPOCH)?.as_secs();
    let params = CrlParams::new(now, now + Duration::from_secs(86_400), number);
    let entries = serials
        .iter()
        .map(|s| RevokedEntry::new(cert::magnitude(s), now).reason(CrlReason::KeyCompromise));
    let der = build_crl(&ca, &key, &params, entries)?;

    let crl = verify_crl(&der, &ca, now)?;
    std::fs::write(out, &der)?;
    println!(
        "CRL number {} with {} entries, valid until {:?}: {out}",
        crl.crl_number,
        crl.len(),
        crl.next_update
    );
    Ok(())
}

fn parse_hex(s: &str) -> Result<Vec<u8>, Error> {
    if s.is_empty() || !s.len().is_multiple_of(2) || s.len() > 40 {
        return Err(format!("serial {s}: 1 to 20 octets of hex").into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(&s[i..i + 2], 16)?))
        .collect()
}
