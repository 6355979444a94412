//! `gica crl show | verify` on `openssl ca -gencrl` vectors and on gica-ocsp-server's CRL.

use crate::{
    common::{ocsp::*, *},
    support::*,
};

/// thisUpdate of a testdata/crl vector: the vectors are verified at their own time, as their
/// README says (they are remade with the run's time).
fn this_update(rel: &str) -> String {
    let run = gica(&["crl", "show", &fixture_str(rel), "--json"]);
    run.expect(0, &[]);
    run.json()["this_update"]
        .as_str()
        .expect("this_update")
        .to_string()
}

fn verify(rel: &str, issuer: &str, leaf: Option<&str>) -> Run {
    let (crl, at) = (fixture_str(rel), this_update(rel));
    let mut args = vec!["crl", "verify", &crl, "--issuer", issuer, "--at", &at];
    if let Some(l) = leaf {
        args.extend_from_slice(&["--cert", l]);
    }
    gica(&args)
}

#[test]
fn show_prints_number_times_and_entries() {
    gica(&["crl", "show", &fixture_str("crl/crl-entries.der")]).expect(
        0,
        &[
            "CRL number 4096",
            "Intermediate CA",
            "0c at 2026-02-01T00:00:00Z (superseded)",
            "0a0b at 2026-01-01T00:00:00Z (keyCompromise)",
            "shown, not verified",
        ],
    );
    gica(&["crl", "show", &fixture_str("crl/crl-idp.der")]).expect(
        0,
        &[
            "end-entity certificates only",
            "http://crl.example.invalid/int-ca.crl",
        ],
    );
}

#[test]
fn verify_of_openssl_crls_at_their_time() {
    let int_ca = fixture_str("pki/int-ca.pem");
    for rel in [
        "crl/crl-entries.der",
        "crl/crl-empty.der",
        "crl/crl-idp.der",
    ] {
        verify(rel, &int_ca, None)
            .expect(0, &["verified", "signed by CN=gica Test Intermediate CA"]);
    }
    // Past nextUpdate: stale.
    gica(&[
        "crl",
        "verify",
        &fixture_str("crl/crl-empty.der"),
        "--issuer",
        &int_ca,
        "--at",
        "2100-01-01T00:00:00Z",
    ])
    .expect(1, &["FAILED", "crl-empty.der", "fetch a newer CRL"]);
}

#[test]
fn a_listed_certificate_is_revoked() {
    let dir = tempfile::tempdir().expect("tmp");
    // Serial 0x0c is listed in crl-entries.der (superseded).
    let listed = s(&make_leaf(dir.path(), "listed", "0c", None));
    verify(
        "crl/crl-entries.der",
        &fixture_str("pki/int-ca.pem"),
        Some(&listed),
    )
    .expect(
        1,
        &["revoked: CN=listed", "2026-02-01T00:00:00Z", "superseded"],
    );
}

#[test]
fn an_unlisted_certificate_is_good() {
    verify(
        "crl/crl-entries.der",
        &fixture_str("pki/int-ca.pem"),
        Some(&fixture_str("pki/tsa-p256.pem")),
    )
    .expect(0, &["good: CN=gica Test TSA P-256", "is not listed"]);
}

#[test]
fn a_certificate_outside_the_idp_scope_is_unknown() {
    // The IDP names a distribution point the TSA certificate does not have.
    verify(
        "crl/crl-idp.der",
        &fixture_str("pki/int-ca.pem"),
        Some(&fixture_str("pki/tsa-p256.pem")),
    )
    .expect(2, &["unknown", "does not cover CN=gica Test TSA P-256"]);
}

#[test]
fn a_certificate_of_another_issuer_is_unknown() {
    verify(
        "crl/crl-entries.der",
        &fixture_str("pki/int-ca.pem"),
        Some(&fixture_str("pki/root-ca.pem")),
    )
    .expect(2, &["unknown", "does not cover CN=gica Test Root CA"]);
}

#[test]
fn verify_with_the_wrong_issuer_fails() {
    for issuer in ["pki/root-ca.pem", "pki/other-root.pem"] {
        verify("crl/crl-entries.der", &fixture_str(issuer), None).expect(
            1,
            &[
                "FAILED",
                "crl-entries.der",
                "CRL issuer name is not the issuer certificate's subject",
            ],
        );
    }
    // An impostor: int-ca's name on another key.
    let dir = tempfile::tempdir().expect("tmp");
    let (key, impostor) = (dir.path().join("i.key"), dir.path().join("i.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &s(&key),
        "-subj",
        "/C=IR/O=gica test/CN=gica Test Intermediate CA",
        "-days",
        "30",
        "-out",
        &s(&impostor),
    ]);
    verify("crl/crl-entries.der", &s(&impostor), None).expect(
        1,
        &[
            "FAILED",
            "crl-entries.der",
            "is --issuer the certificate that signed this CRL?",
        ],
    );
}

#[test]
fn a_crl_by_url_from_gica_ocsp_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let url = format!("http://{}/crl/int-ca.crl", server.addr);
    let int_ca = fixture_str("pki/int-ca.pem");
    gica(&["crl", "show", &url]).expect(0, &["CRL number", "entries", "keyCompromise"]);
    gica(&["crl", "verify", &url, "--issuer", &int_ca]).expect(0, &["verified", "current"]);
    gica(&[
        "crl",
        "verify",
        &url,
        "--issuer",
        &int_ca,
        "--cert",
        &fixture_str("pki/tsa-rsa.pem"),
    ])
    .expect(
        1,
        &[
            "revoked: CN=gica Test TSA RSA",
            "2023-11-14T22:13:20Z",
            "keyCompromise",
        ],
    );
    gica(&[
        "crl",
        "verify",
        &url,
        "--issuer",
        &int_ca,
        "--cert",
        &fixture_str("pki/tsa-p256.pem"),
    ])
    .expect(0, &["good: CN=gica Test TSA P-256"]);
    let missing = format!("http://{}/crl/nope.crl", server.addr);
    gica(&["crl", "show", &missing]).expect(3, &[&missing, "HTTP 404"]);
}
