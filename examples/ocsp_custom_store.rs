//! An OCSP responder over your own store, in a few lines: `Responder::respond` takes the DER
//! request, a lookup from CertID to status, and the time; it returns the DER response, errors
//! (malformedRequest, unauthorized) included. Here the store is a `HashMap` keyed by serial,
//! the PKI is made on the spot, and the answer is checked the way a client would.
//!
//! ```text
//! cargo run --example ocsp_custom_store
//! ```

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use gica_pki::{
    CrlReason, DigestAlgorithm, Signer, SoftwareSigner,
    certgen::CertificateParams,
    der::Encode,
    ocsp::{
        OcspRequestBuilder, OcspVerifier, Responder, ResponderConfig, Status, get::encode_get_path,
    },
    x509_cert::Certificate,
};

type Error = Box<dyn std::error::Error>;

/// Your store: serial (DER INTEGER content octets) -> status.
struct MyStore(HashMap<Vec<u8>, Status>);

impl MyStore {
    fn status(&self, serial: &[u8]) -> Status {
        // Never `good` for a serial this CA did not issue (RFC 6960 2.2).
        self.0.get(serial).copied().unwrap_or(Status::NotIssued)
    }
}

fn serial(cert: &Certificate) -> Vec<u8> {
    cert.tbs_certificate().serial_number().as_bytes().to_vec()
}

fn main() -> Result<(), Error> {
    let ca_key = Arc::new(SoftwareSigner::generate_p256()?);
    let ca = CertificateParams::ca("CN=Example CA", std::time::SystemTime::now(), 365)
        .self_signed(ca_key.as_ref())?;
    let issue = |cn: &str| -> Result<Certificate, Error> {
        let key = SoftwareSigner::generate_p256()?;
        Ok(
            CertificateParams::leaf(cn, std::time::SystemTime::now(), 30).signed_by(
                key.public_key(),
                &ca,
                ca_key.as_ref(),
            )?,
        )
    };
    let alice = issue("CN=alice")?;
    let mallory = issue("CN=mallory")?;
    let revoked_at = SystemTime::now() - Duration::from_secs(3600);
    let store = MyStore(HashMap::from([
        (serial(&alice), Status::Good),
        (
            serial(&mallory),
            Status::Revoked {
                time: revoked_at,
                reason: Some(CrlReason::KeyCompromise),
            },
        ),
    ]));

    // The responder: the CA signs its own answers.
    let responder = Responder::new(ca.clone(), None, ca_key, ResponderConfig::default())?;

    // A client asks about both, with a nonce.
    let request = OcspRequestBuilder::new()
        .certificate(&alice, &ca, DigestAlgorithm::Sha256)?
        .certificate(&mallory, &ca, DigestAlgorithm::Sha256)?
        .with_nonce()?
        .build();
    let request_der = request.to_der()?;
    println!("GET /ocsp/{}", encode_get_path(&request_der));

    // The whole responder: request bytes in, response bytes out.
    let now = SystemTime::now();
    let response = responder.respond(
        &request_der,
        |id| store.status(id.serial_number.as_bytes()),
        now,
    );

    // The client checks signature, nonce and freshness, and reads the answers.
    for answer in OcspVerifier::new(ca).verify(&response, &request, now)? {
        println!(
            "serial {}: {:?}",
            hex::encode(answer.cert_id.serial_number.as_bytes()),
            answer.status
        );
    }
    Ok(())
}
