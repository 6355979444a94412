//! Committed vectors made by the openssl CLI (`testdata/crl/make.sh`, `testdata/ocsp/make.sh`,
//! `testdata/ts/make.sh`): decoded, fields asserted, re-encoded byte for byte; and the same
//! vectors patched into non-DER forms that strict decoding must refuse.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Encode, ErrorKind};
use gica_pki::{
    CrlReason, cert,
    crl::{CrlError, parse_crl},
    ocsp::{
        CertStatus, OcspRequest, OcspResponse, OcspVerifier, OcspVerifyError, ResponderId,
        VerifiedStatus,
    },
    tsp::{Expectation, TokenVerifier, TstInfo, VerifyError},
    x509_cert::{Certificate, crl::CertificateList, ext::pkix::SubjectKeyIdentifier},
};

fn read(rel: &str) -> Vec<u8> {
    let p = format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn load(rel: &str) -> Certificate {
    let pem = String::from_utf8(read(rel)).expect("utf-8");
    cert::load_pem_certs(&pem).expect("pem").remove(0)
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn serial_of(rel: &str) -> Vec<u8> {
    load(rel)
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec()
}

/// Replaces the only occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "pattern {from:02x?} occurs once");
    let mut out = bytes.to_vec();
    out[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    out
}

/// A DER TLV with `tag` around `body`.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    match len {
        0..0x80 => out.push(len as u8),
        0x80..0x100 => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(body);
    out
}

// --- CRL ------------------------------------------------------------------------------------

/// The vector decodes with x509-cert and re-encodes to the same bytes.
fn reencodes(der: &[u8]) {
    let list: CertificateList =
        CertificateList::from_der(der).expect("x509-cert decodes the vector");
    assert_eq!(
        list.to_der().expect("encode"),
        der,
        "re-encoded byte for byte"
    );
}

#[test]
fn openssl_crl_with_entries() {
    let der = read("crl/crl-entries.der");
    reencodes(&der);
    let int = load("pki/int-ca.pem");
    let crl = parse_crl(&der).expect("parses");
    assert_eq!(crl.crl_number.as_bytes(), [0x10, 0x00]);
    assert_eq!(crl.issuer, *int.tbs_certificate().subject());
    let ski = int
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .expect("ext")
        .expect("int-ca has an SKI")
        .1;
    assert_eq!(crl.authority_key_id.as_deref(), Some(ski.0.as_bytes()));
    assert!(crl.idp.is_none());
    let next = crl.next_update.expect("nextUpdate");
    assert_eq!(
        next.duration_since(crl.this_update).expect("after"),
        Duration::from_secs(3650 * 86_400)
    );
    let entries: Vec<_> = crl.entries().collect();
    let got: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.serial,
                e.negative,
                e.revocation_time,
                e.reason,
                e.invalidity_date,
            )
        })
        .collect();
    assert_eq!(
        got,
        // `openssl ca -gencrl` sorts by serial (X509_CRL_sort), shorter magnitudes first.
        [
            (
                &[0x0c][..],
                false,
                at(1_769_904_000),
                Some(CrlReason::Superseded),
                None
            ),
            (&[0xff][..], false, at(1_772_323_200), None, None),
            (
                &[0x0a, 0x0b][..],
                false,
                at(1_767_225_600),
                Some(CrlReason::KeyCompromise),
                Some(at(1_764_547_200))
            ),
        ]
    );
    let this_update = crl.this_update;
    let verified = crl
        .verify(&int, this_update)
        .expect("verifies against int-ca");
    assert_eq!(verified.len(), 3);
    assert!(verified.revoked(&[0x00, 0xff]).is_some());
    assert!(
        verified.revoked(&[0x0d]).is_none(),
        "the valid certificate is not listed"
    );
}

#[test]
fn openssl_crl_empty_and_with_idp() {
    let int = load("pki/int-ca.pem");
    let empty = read("crl/crl-empty.der");
    reencodes(&empty);
    let crl = parse_crl(&empty).expect("parses");
    assert_eq!(
        (crl.crl_number.as_bytes(), crl.len()),
        (&[0x10, 0x01][..], 0)
    );
    let now = crl.this_update;
    crl.verify(&int, now).expect("verifies");

    let idp = read("crl/crl-idp.der");
    reencodes(&idp);
    let crl = parse_crl(&idp).expect("parses");
    let point = crl.idp.as_ref().expect("IDP");
    assert_eq!(point.full_name, ["http://crl.example.invalid/int-ca.crl"]);
    assert!(point.only_contains_user_certs && !point.only_contains_ca_certs);
    assert_eq!(
        crl.entries().map(|e| e.reason).collect::<Vec<_>>(),
        [Some(CrlReason::KeyCompromise)]
    );
    let now = crl.this_update;
    crl.verify(&int, now).expect("verifies");
}

#[test]
fn negative_serial_entry_is_kept_and_never_matches() {
    let der = read("crl/crl-negative-serial.der");
    let int = load("pki/int-ca.pem");
    let crl = parse_crl(&der).expect("a negative serial does not reject the CRL");
    let now = crl.this_update;
    let crl = crl.verify(&int, now).expect("re-signed by int-ca");
    assert_eq!(crl.len(), 4);
    let last = crl.entries().last().expect("four entries");
    assert_eq!(
        (last.serial, last.negative, last.reason),
        (
            &[0x91, 0x22, 0x33, 0x44][..],
            true,
            Some(CrlReason::CessationOfOperation)
        )
    );
    // The positive serial 0x91223344 has the same octets as magnitude: it must not match.
    assert!(crl.revoked(&[0x91, 0x22, 0x33, 0x44]).is_none());
    assert!(crl.revoked(&[0x00, 0x91, 0x22, 0x33, 0x44]).is_none());
    assert!(
        crl.revoked(&[0x0c]).is_some(),
        "the other entries still count"
    );
}

#[test]
fn non_der_crl_parts_are_refused() {
    // crl-idp's IDP is SEQUENCE { [0] {...}, [1] TRUE }. Flip onlyContainsUserCerts to an
    // explicit FALSE: same length, no longer DER (and no longer signed, but parsing comes
    // first).
    let der = read("crl/crl-idp.der");
    let flipped = patch(&der, &[0x81, 0x01, 0xff], &[0x81, 0x01, 0x00]);
    match parse_crl(&flipped) {
        Err(CrlError::Malformed {
            what: "issuingDistributionPoint",
            source,
        }) => {
            assert!(
                matches!(source.kind(), ErrorKind::Noncanonical { .. }),
                "{source}"
            )
        }
        other => panic!("explicit DEFAULT accepted: {other:?}"),
    }
}

// --- OCSP -----------------------------------------------------------------------------------

fn request(name: &str) -> (Vec<u8>, OcspRequest) {
    let der = read(&format!("ocsp/{name}"));
    let req = OcspRequest::from_der(&der).expect("decodes");
    assert_eq!(
        req.to_der().expect("encode"),
        der,
        "{name} re-encoded byte for byte"
    );
    (der, req)
}

fn response(name: &str) -> (Vec<u8>, OcspResponse) {
    let der = read(&format!("ocsp/{name}"));
    let resp = OcspResponse::from_der(&der).expect("decodes");
    assert_eq!(
        resp.to_der().expect("encode"),
        der,
        "{name} re-encoded byte for byte"
    );
    let basic = resp.basic().expect("basic").expect("strict DER");
    let inner = resp
        .response_bytes
        .as_ref()
        .expect("bytes")
        .response
        .as_bytes();
    assert_eq!(
        basic.to_der().expect("encode"),
        inner,
        "{name}'s BasicOCSPResponse"
    );
    (der, resp)
}

#[test]
fn openssl_ocsp_requests() {
    let (_, req) = request("req-p256-sha1.der");
    let tbs = &req.tbs_request;
    assert_eq!(tbs.version, 0);
    assert_eq!(tbs.request_list.len(), 1);
    let id = &tbs.request_list[0].req_cert;
    assert_eq!(id.hash_algorithm.oid, gica_pki::oid::SHA1);
    assert_eq!(id.serial_number.as_bytes(), serial_of("pki/tsa-p256.pem"));
    let nonce = tbs
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == gica_pki::oid::OCSP_NONCE);
    assert!(nonce.is_some(), "openssl sends a nonce by default");

    let (_, req) = request("req-two-sha256.der");
    let serials: Vec<_> = req
        .tbs_request
        .request_list
        .iter()
        .map(|r| r.req_cert.serial_number.as_bytes().to_vec())
        .collect();
    assert_eq!(
        serials,
        [serial_of("pki/tsa-p256.pem"), serial_of("pki/tsa-rsa.pem")]
    );
    assert!(req.tbs_request.request_extensions.is_none());

    let (_, req) = request("req-unknown.der");
    assert_eq!(
        req.tbs_request.request_list[0]
            .req_cert
            .serial_number
            .as_bytes(),
        [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
    );
}

#[test]
fn openssl_ocsp_responses() {
    let int = load("pki/int-ca.pem");
    let (der, resp) = response("resp-p256-good.der");
    let basic = resp.basic().expect("basic").expect("DER");
    let data = &basic.tbs_response_data;
    assert!(
        matches!(&data.responder_id, ResponderId::ByName(n) if n == int.tbs_certificate().subject())
    );
    assert_eq!(basic.certs.as_ref().map(Vec::len), Some(1));
    assert!(matches!(data.responses[0].cert_status, CertStatus::Good(_)));
    assert!(data.responses[0].next_update.is_none());
    let (_, req) = request("req-p256-sha1.der");
    let now = data.produced_at.to_system_time();
    let answers = OcspVerifier::new(int.clone())
        .allow_missing_next_update()
        .verify(&der, &req, now)
        .expect("verifies");
    assert_eq!(answers[0].status, VerifiedStatus::Good);

    let (der, resp) = response("resp-two-bykey.der");
    let basic = resp.basic().expect("basic").expect("DER");
    assert!(matches!(
        basic.tbs_response_data.responder_id,
        ResponderId::ByKey(_)
    ));
    assert!(basic.certs.is_none());
    assert_eq!(
        basic.signature_algorithm.oid,
        gica_pki::oid::ECDSA_WITH_SHA384
    );
    let (_, req) = request("req-two-sha256.der");
    let now = basic.tbs_response_data.produced_at.to_system_time();
    let answers = OcspVerifier::new(int.clone())
        .verify(&der, &req, now)
        .expect("verifies");
    assert_eq!(answers[0].status, VerifiedStatus::Good);
    assert_eq!(
        answers[1].status,
        VerifiedStatus::Revoked {
            time: at(1_767_225_600),
            reason: Some(CrlReason::KeyCompromise)
        }
    );
    assert_eq!(
        answers[1].next_update,
        Some(answers[1].this_update + Duration::from_secs(7 * 86_400))
    );

    let (der, _) = response("resp-unknown.der");
    let (_, req) = request("req-unknown.der");
    let answers = OcspVerifier::new(int)
        .allow_missing_next_update()
        .verify(&der, &req, SystemTime::now())
        .expect("verifies");
    assert_eq!(answers[0].status, VerifiedStatus::Unknown);
}

#[test]
fn explicit_default_version_in_a_response_is_refused() {
    let (der, resp) = response("resp-two-bykey.der");
    let basic_der = resp
        .response_bytes
        .as_ref()
        .expect("bytes")
        .response
        .as_bytes()
        .to_vec();
    // BasicOCSPResponse = SEQUENCE { ResponseData, ... }: rebuild it with `version [0] v1`
    // spelled out at the start of ResponseData.
    let outer = der::SliceReader::new(&basic_der).and_then(|mut r| {
        use der::Reader;
        r.sequence(|r| {
            let data = r.tlv_bytes()?;
            let rest = r.read_slice(r.remaining_len())?;
            Ok((data.to_vec(), rest.to_vec()))
        })
    });
    let (data, rest) = outer.expect("split");
    let header_len = if data[1] & 0x80 == 0 {
        2
    } else {
        2 + usize::from(data[1] & 0x7f)
    };
    let mut body = vec![0xa0, 0x03, 0x02, 0x01, 0x00];
    body.extend_from_slice(&data[header_len..]);
    let mut basic = tlv(0x30, &body);
    basic.extend_from_slice(&rest);
    let basic = tlv(0x30, &basic);
    // OCSPResponse { successful, [0] { id-pkix-ocsp-basic, OCTET STRING basic } }
    let mut rb = gica_pki::oid::OCSP_BASIC.to_der().expect("oid");
    rb.extend(tlv(0x04, &basic));
    let mut body = vec![0x0a, 0x01, 0x00];
    body.extend(tlv(0xa0, &tlv(0x30, &rb)));
    let patched = tlv(0x30, &body);
    assert_ne!(patched, der);

    let resp = OcspResponse::from_der(&patched).expect("the wrapper is fine");
    assert!(resp.basic().expect("basic").is_err(), "basic() is strict");
    let (_, req) = request("req-two-sha256.der");
    let int = load("pki/int-ca.pem");
    match OcspVerifier::new(int).verify(&patched, &req, SystemTime::now()) {
        Err(OcspVerifyError::Malformed {
            what: "ResponseData",
            source,
        }) => {
            assert!(
                matches!(source.kind(), ErrorKind::Noncanonical { .. }),
                "{source}"
            )
        }
        other => panic!("explicit version v1 accepted: {other:?}"),
    }
}

// --- TSP ------------------------------------------------------------------------------------

#[test]
fn explicit_ordering_false_in_a_tst_info_is_refused() {
    // testdata/ts tokens are made with `ordering yes`: the TSTInfo ends its accuracy
    // (secs 1, millis 500) with `ordering TRUE`. Writing FALSE keeps the length but spells out
    // the DEFAULT.
    let token = read("ts/token-p256.der");
    let accuracy_then_ordering = [
        0x30, 0x07, 0x02, 0x01, 0x01, 0x80, 0x02, 0x01, 0xf4, 0x01, 0x01,
    ];
    let mut from = accuracy_then_ordering.to_vec();
    from.push(0xff);
    let mut to = accuracy_then_ordering.to_vec();
    to.push(0x00);
    let patched = patch(&token, &from, &to);
    let anchors = vec![load("pki/root-ca.pem")];
    match TokenVerifier::new(anchors).verify_token(&patched, &Expectation::data(b"x")) {
        Err(VerifyError::Malformed {
            what: "TSTInfo",
            source,
        }) => {
            assert!(
                matches!(source.kind(), ErrorKind::Noncanonical { .. }),
                "{source}"
            )
        }
        other => panic!("explicit ordering FALSE accepted: {other:?}"),
    }
    // TstInfo::from_der stays tolerant; from_econtent (what the verifier uses) does not.
    let at = patched
        .windows(to.len())
        .position(|w| w == to.as_slice())
        .expect("patched");
    let start = (0..at)
        .rev()
        .find(|&i| patched[i] == 0x30 && patched[i + 1] == 0x81)
        .expect("TSTInfo header");
    let len = 3 + usize::from(patched[start + 2]);
    let econtent = &patched[start..start + len];
    let lenient = TstInfo::from_der(econtent).expect("der's derived decoder takes it");
    assert!(!lenient.ordering);
    assert!(TstInfo::from_econtent(econtent).is_err());
}
