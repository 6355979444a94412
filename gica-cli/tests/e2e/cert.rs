//! `gica cert verify`: the path, then revocation from CRLs and OCSP.

use crate::{
    common::{ocsp::*, *},
    support::*,
};

fn verify(leaf: &str, extra: &[&str]) -> Run {
    let (root, chain) = (fixture_str("pki/root-ca.pem"), fixture_str("pki/chain.pem"));
    let mut args = vec![
        "cert",
        "verify",
        leaf,
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ];
    args.extend_from_slice(extra);
    gica(&args)
}

#[test]
fn path_only_is_valid_and_says_revocation_was_not_checked() {
    verify(&fixture_str("pki/tsa-p256.pem"), &[]).expect(
        0,
        &[
            "valid",
            "revocation not checked",
            "Intermediate CA",
            "Root CA",
        ],
    );
}

#[test]
fn wrong_anchors_fail() {
    gica(&[
        "cert",
        "verify",
        &fixture_str("pki/tsa-p256.pem"),
        "--anchors",
        &fixture_str("pki/other-root.pem"),
        "--untrusted",
        &fixture_str("pki/chain.pem"),
    ])
    .expect(
        1,
        &[
            "FAILED",
            "tsa-p256.pem",
            "no path to a trust anchor",
            "--untrusted",
        ],
    );
}

#[test]
fn crl_listing_the_leaf_is_revoked() {
    let dir = tempfile::tempdir().expect("tmp");
    let root_crl = s(&root_crl(dir.path()));
    let listed = make_leaf(dir.path(), "listed", "0c", None);
    verify(
        &s(&listed),
        &[
            "--crl",
            &fixture_str("crl/crl-entries.der"),
            "--crl",
            &root_crl,
        ],
    )
    .expect(1, &["revoked: ", "CN=listed", "superseded"]);
}

#[test]
fn crls_not_listing_the_path_are_valid() {
    let dir = tempfile::tempdir().expect("tmp");
    let root_crl = s(&root_crl(dir.path()));
    let entries = fixture_str("crl/crl-entries.der");
    verify(
        &fixture_str("pki/tsa-p256.pem"),
        &["--crl", &entries, "--crl", &root_crl],
    )
    .expect(
        0,
        &["valid", "not revoked", &format!("CRL {entries}"), "CRL "],
    );
}

#[test]
fn crls_that_do_not_cover_the_path_are_unknown() {
    let dir = tempfile::tempdir().expect("tmp");
    let root_crl = s(&root_crl(dir.path()));
    // crl-idp.der covers only certificates naming its distribution point.
    verify(
        &fixture_str("pki/tsa-p256.pem"),
        &["--crl", &fixture_str("crl/crl-idp.der"), "--crl", &root_crl],
    )
    .expect(
        2,
        &[
            "unknown",
            "TSA P-256",
            "no CRL or OCSP answer given covers it",
        ],
    );
    // Nothing covers int-ca without the root's CRL.
    verify(
        &fixture_str("pki/tsa-p256.pem"),
        &["--crl", &fixture_str("crl/crl-entries.der")],
    )
    .expect(2, &["unknown", "Intermediate CA"]);
}

#[test]
fn ocsp_from_authority_info_access_good_and_revoked() {
    let dir = tempfile::tempdir().expect("tmp");
    let (good, revoked) = ("5eed0101", "5eed0102");
    let db = seeded_db_with(
        dir.path(),
        &[
            hex::decode(good).expect("hex"),
            hex::decode(revoked).expect("hex"),
        ],
    );
    block_on(async {
        use gica_ocsp_server::store::{AnyStore, RevocationWriter};
        let store = AnyStore::connect(&db).await.expect("store");
        store
            .revoke(
                &gica_ocsp_server::issuer_id(&cert("pki/int-ca.pem")),
                &hex::decode(revoked).expect("hex"),
                std::time::SystemTime::now(),
                Some(gica_pki::CrlReason::AffiliationChanged),
                None,
            )
            .await
            .expect("revoke");
    });
    let server = start_ocsp(&db, |_| {});
    let url = format!("http://{}/ocsp", server.addr);
    let good = make_leaf(dir.path(), "ocsp-good", good, Some(&url));
    let revoked = make_leaf(dir.path(), "ocsp-revoked", revoked, Some(&url));
    // int-ca names no responder: the root's CRL covers it.
    let root_crl = s(&root_crl(dir.path()));
    verify(&s(&good), &["--ocsp", "--crl", &root_crl]).expect(
        0,
        &[
            "valid",
            "not revoked",
            "OCSP CN=ocsp-good",
            "good from",
            &url,
        ],
    );
    verify(&s(&revoked), &["--ocsp", "--crl", &root_crl])
        .expect(1, &["revoked: ", "CN=ocsp-revoked", "affiliationChanged"]);
    // --ocsp alone cannot ask about int-ca, which names no responder: its status is
    // unknown, unless only the leaf's is required.
    verify(&s(&good), &["--ocsp"]).expect(
        2,
        &[
            "unknown: ",
            "Intermediate CA",
            "--leaf-only",
            "no OCSP responder named by",
        ],
    );
    verify(&s(&good), &["--ocsp", "--leaf-only"])
        .expect(0, &["valid: ", "not revoked", "--leaf-only"]);
    verify(&s(&revoked), &["--ocsp", "--leaf-only"]).expect(1, &["revoked: "]);
}

#[test]
fn der_files_and_bundles_are_read_by_content() {
    let dir = tempfile::tempdir().expect("tmp");
    let der = |rel: &str, name: &str| {
        let out = dir.path().join(name);
        openssl(&[
            "x509",
            "-in",
            &fixture_str(rel),
            "-outform",
            "DER",
            "-out",
            &s(&out),
        ]);
        s(&out)
    };
    let (leaf, root) = (
        der("pki/tsa-p256.pem", "leaf.cer"),
        der("pki/root-ca.pem", "root.cer"),
    );
    let int = der("pki/int-ca.pem", "int.cer");
    gica(&[
        "cert",
        "verify",
        &leaf,
        "--anchors",
        &root,
        "--untrusted",
        &int,
    ])
    .expect(0, &["valid", "TSA P-256"]);
    // The leaf followed by its chain in one PEM file.
    let bundle = dir.path().join("bundle.pem");
    let mut pem = std::fs::read(fixture("pki/tsa-p256.pem")).expect("read");
    pem.extend(std::fs::read(fixture("pki/int-ca.pem")).expect("read"));
    std::fs::write(&bundle, pem).expect("write");
    gica(&["cert", "verify", &s(&bundle), "--anchors", &root])
        .expect(0, &["valid", "Intermediate CA"]);
}
