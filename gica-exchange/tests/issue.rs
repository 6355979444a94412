//! Issuance checked by an independent peer (the openssl CLI) and through the revocation
//! store that gica-ocsp-server answers from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{EncodePem, pem::LineEnding};
use gica_exchange::check::CsrError;
use gica_exchange::issue::{ExchangeCa, IssueError, granted_policies};
use gica_exchange::{Catalogue, check::verify_csr};
use gica_pki::{CrlReason, SignerOptions, SoftwareSigner};
use gica_store::revocation::{AnyStore, RecordStatus, RevokeOutcome, StatusSource};
use gica_store::testing::TestDb;

fn testdata(path: &str) -> String {
    format!("{}/../testdata/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn exchange_ca() -> ExchangeCa {
    let cert = gica_pki::cert::load_pem_certs(
        &std::fs::read_to_string(testdata("pki/int-ca.pem")).unwrap(),
    )
    .unwrap()
    .remove(0);
    let key = SoftwareSigner::from_pem(
        &std::fs::read_to_string(testdata("pki/int-ca.key")).unwrap(),
        SignerOptions::default(),
    )
    .unwrap();
    ExchangeCa::new(
        cert,
        Box::new(key),
        "http://127.0.0.1:3180/ocsp",
        "http://127.0.0.1:3180/crl/exchange.crl",
    )
    .unwrap()
}

fn catalogue() -> Catalogue {
    Catalogue::from_toml(
        r#"
        [[service]]
        id = "inbox.submit"
        name = "Inbox submission"
        owner = "post"
        bus = "both"
        policy_oid = "1.3.6.1.4.1.61423.11.1"
        validity_days = 365
        [[service]]
        id = "registry.export"
        name = "Registry export"
        owner = "cra"
        bus = "gsb"
        policy_oid = "1.3.6.1.4.1.61423.11.2"
        validity_days = 90
        [[service]]
        id = "not.granted"
        name = "Not granted"
        owner = "x"
        bus = "gsb"
        policy_oid = "1.3.6.1.4.1.61423.11.3"
        validity_days = 30
        "#,
    )
    .unwrap()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_the_issued_certificate_and_sees_the_granted_policies() {
    let ca = exchange_ca();
    let cat = catalogue();
    let csr = verify_csr(&std::fs::read(testdata("exchange/csr-p256.der")).unwrap()).unwrap();
    let services = [
        cat.get("inbox.submit").unwrap(),
        cat.get("registry.export").unwrap(),
    ];
    let now = SystemTime::now();
    let cert = ca
        .issue(
            &csr.info.public_key,
            "سازمان نمونه",
            "سامانه تبادل",
            &services,
            now,
        )
        .unwrap();

    // The key certified is the CSR's; the validity is the shortest of the services'.
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        &csr.info.public_key
    );
    let (_, not_after) = gica_pki::cert::validity(&cert);
    let secs = not_after.duration_since(now).unwrap().as_secs();
    // 90 days; RFC 5280 times drop the fraction of the second.
    assert!((90 * 86_400 - 1..=90 * 86_400).contains(&secs), "{secs}");
    let mut policies: Vec<String> = granted_policies(&cert)
        .unwrap()
        .iter()
        .map(|o| o.to_string())
        .collect();
    policies.sort();
    assert_eq!(
        policies,
        ["1.3.6.1.4.1.61423.11.1", "1.3.6.1.4.1.61423.11.2"]
    );

    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, cert.to_pem(LineEnding::LF).unwrap()).unwrap();
    let leaf = leaf.to_str().unwrap();
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &testdata("pki/root-ca.pem"),
        "-untrusted",
        &testdata("pki/int-ca.pem"),
        "-purpose",
        "sslclient",
        leaf,
    ]);
    assert!(ok, "openssl verify: {text}");
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        leaf,
        "-noout",
        "-text",
        "-nameopt",
        "utf8,sep_comma_plus",
    ]);
    assert!(ok, "{text}");
    for want in [
        "Policy: 1.3.6.1.4.1.61423.11.1",
        "Policy: 1.3.6.1.4.1.61423.11.2",
        "OCSP - URI:http://127.0.0.1:3180/ocsp",
        "URI:http://127.0.0.1:3180/crl/exchange.crl",
        "TLS Web Client Authentication",
        "O=سازمان نمونه",
        "CN=سامانه تبادل",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(
        !text.contains("61423.11.3"),
        "a service not granted is not in the certificate"
    );
    // A certificate from another CA does not verify under this root: the check can fail.
    let other = dir.path().join("other.pem");
    std::fs::copy(testdata("pki/other-root.pem"), &other).unwrap();
    let (ok, _) = openssl(&["verify", "-CAfile", other.to_str().unwrap(), leaf]);
    assert!(!ok);
}

#[test]
fn issuing_from_a_csr_checks_it_again() {
    let ca = exchange_ca();
    let cat = catalogue();
    let svc = [cat.get("inbox.submit").unwrap()];
    let good = std::fs::read(testdata("exchange/csr-p256.der")).unwrap();
    let cert = ca
        .issue_from_csr(&good, "A", "S", &svc, SystemTime::now())
        .unwrap();
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        &verify_csr(&good).unwrap().info.public_key
    );
    let mut forged = good.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let e = ca
        .issue_from_csr(&forged, "A", "S", &svc, SystemTime::now())
        .unwrap_err();
    assert!(matches!(e, IssueError::Csr(CsrError::Signature(_))), "{e}");
    let weak = std::fs::read(testdata("exchange/csr-rsa1024.der")).unwrap();
    let e = ca
        .issue_from_csr(&weak, "A", "S", &svc, SystemTime::now())
        .unwrap_err();
    assert!(matches!(e, IssueError::Csr(CsrError::WeakKey(_))), "{e}");
}

async fn recorded_then_revoked(db: TestDb) {
    let store = AnyStore::connect(db.url()).await.unwrap();
    let ca = exchange_ca();
    let cat = catalogue();
    let csr = verify_csr(&std::fs::read(testdata("exchange/csr-p384.der")).unwrap()).unwrap();
    let cert = ca
        .issue(
            &csr.info.public_key,
            "Agency",
            "System",
            &[cat.get("inbox.submit").unwrap()],
            SystemTime::now(),
        )
        .unwrap();
    let serial = gica_pki::cert::serial_magnitude(&cert).to_vec();
    // The id gica-ocsp-server looks the issuer up by.
    assert_eq!(ca.issuer_id(), gica_pki::ocsp::issuer_id(ca.certificate()));
    assert_eq!(
        store.status(ca.issuer_id(), &serial).await.unwrap(),
        None,
        "never issued: unknown"
    );

    ca.record(&store, &cert).await.unwrap();
    let rec = store
        .status(ca.issuer_id(), &serial)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(rec.status, RecordStatus::Valid);
    assert_eq!(rec.not_after, Some(gica_pki::cert::validity(&cert).1));

    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let outcome = ca
        .revoke(&store, &serial, at, Some(CrlReason::CessationOfOperation))
        .await
        .unwrap();
    assert_eq!(outcome, RevokeOutcome::Revoked);
    let rec = store
        .status(ca.issuer_id(), &serial)
        .await
        .unwrap()
        .expect("still recorded");
    assert_eq!(
        rec.status,
        RecordStatus::Revoked {
            time: at,
            reason: Some(CrlReason::CessationOfOperation),
            invalidity_date: None
        }
    );
    let again = ca.revoke(&store, &serial, at, None).await.unwrap();
    assert_eq!(again, RevokeOutcome::AlreadyRevoked);
}

gica_store::backend_suite!(recorded_then_revoked);
