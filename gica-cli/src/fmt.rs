//! How values look in reports.

use std::time::SystemTime;

use gica_pki::{
    Rfc3339,
    der::asn1::ObjectIdentifier,
    x509_cert::{Certificate, ext::pkix::name::GeneralName},
};

pub fn time(t: SystemTime) -> String {
    Rfc3339(t).to_string()
}

/// An OID with its name where known: `1.2.840.10045.4.3.2 (ecdsa-with-SHA256)`.
pub fn oid(o: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(o) {
        Some(name) => format!("{o} ({name})"),
        None => o.to_string(),
    }
}

/// A certificate as people recognise it: its subject.
pub fn subject(c: &Certificate) -> String {
    c.tbs_certificate().subject().to_string()
}

/// Hex of an INTEGER's content octets, without the sign-padding zero.
pub fn serial_hex(bytes: &[u8]) -> String {
    hex::encode(gica_pki::cert::magnitude(bytes))
}

pub fn cert_serial(c: &Certificate) -> String {
    serial_hex(c.tbs_certificate().serial_number().as_bytes())
}

pub fn general_name(n: &GeneralName) -> String {
    match n {
        GeneralName::DirectoryName(name) => name.to_string(),
        GeneralName::UniformResourceIdentifier(u) => u.to_string(),
        GeneralName::DnsName(d) => d.to_string(),
        GeneralName::Rfc822Name(m) => m.to_string(),
        _ => "(a name of another form)".into(),
    }
}

/// The OCSP responder URLs in a certificate's authorityInfoAccess.
pub fn ocsp_urls(c: &Certificate) -> Vec<String> {
    use gica_pki::x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
    let Ok(Some((_, aia))) = c
        .tbs_certificate()
        .get_extension::<AuthorityInfoAccessSyntax>()
    else {
        return Vec::new();
    };
    aia.0
        .iter()
        .filter(|d| d.access_method == gica_pki::oid::AD_OCSP)
        .filter_map(|d| match &d.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}
