//! Issuance: an approved request becomes a certificate under the exchange CA, whose
//! certificatePolicies name the granted services, recorded in the revocation store so that
//! gica-ocsp-server (sharing the store) answers `good` for it; revoking the grant revokes it
//! there.
//!
//! ```
//! use gica_exchange::{Catalogue, issue::ExchangeCa};
//! use gica_pki::{Signer, SoftwareSigner, certgen::DemoCa};
//! let now = std::time::SystemTime::now();
//! let demo = DemoCa::new("gica demo", "Exchange CA", now).unwrap();
//! let ca = ExchangeCa::new(demo.ca.clone(), Box::new(demo.ca_key.clone()),
//!     "http://ocsp.example/", "http://crl.example/exchange.crl").unwrap();
//! let cat = Catalogue::from_toml(r#"[[service]]
//!     id = "inbox.submit"
//!     name = "Inbox"
//!     owner = "post"
//!     bus = "gsb"
//!     policy_oid = "1.3.6.1.4.1.61423.11.1"
//!     validity_days = 30"#).unwrap();
//! let system_key = SoftwareSigner::generate_p256().unwrap();
//! let cert = ca.issue(system_key.public_key(), "Agency", "System",
//!     &[cat.get("inbox.submit").unwrap()], now).unwrap();
//! assert_eq!(gica_exchange::issue::granted_policies(&cert).unwrap().len(), 1);
//! ```

use std::time::SystemTime;

use der::asn1::{Ia5String, ObjectIdentifier, OctetString};
use der::{Encode, oid::AssociatedOid};
use gica_pki::{CrlReason, Signer, certgen::CertificateParams};
use gica_store::StoreError;
use gica_store::revocation::{RevocationWriter, RevokeOutcome};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, CertificatePolicies, CrlDistributionPoints,
};

use crate::catalogue::Service;
use crate::check::valid_system;

const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const ID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// Most services one certificate grants.
pub const MAX_SERVICES_PER_GRANT: usize = 64;

/// Why a certificate was not issued, recorded or revoked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The grant names no services, or more than [`MAX_SERVICES_PER_GRANT`].
    #[error("a grant names 1..={MAX_SERVICES_PER_GRANT} services, not {count}")]
    ServiceCount {
        /// How many were given.
        count: usize,
    },
    /// The agency or system name cannot go into the subject.
    #[error("{field} name is empty, longer than 64 characters or has control characters")]
    BadName {
        /// `agency` or `system`.
        field: &'static str,
    },
    /// An OCSP or CRL URL that is not an ASCII http(s) URL.
    #[error("{what} URL {url:?} is not an ASCII http:// or https:// URL")]
    BadUrl {
        /// `OCSP` or `CRL`.
        what: &'static str,
        /// What was given.
        url: String,
    },
    /// The CA key does not belong to the CA certificate.
    #[error("the CA key does not match the CA certificate")]
    KeyMismatch,
    /// Building or signing the certificate failed.
    #[error("issuing failed: {0}")]
    Pki(#[from] gica_pki::Error),
    /// The request's CSR fails the proof-of-possession or key check.
    #[error(transparent)]
    Csr(#[from] crate::check::CsrError),
    /// Encoding an extension failed.
    #[error("encoding failed: {0}")]
    Der(#[from] der::Error),
    /// The revocation store failed.
    #[error("revocation store: {0}")]
    Store(#[from] StoreError),
}

/// The exchange CA: its certificate and key, and where relying services check status.
#[derive(Debug)]
pub struct ExchangeCa {
    cert: Certificate,
    key: Box<dyn Signer>,
    ocsp_url: Ia5String,
    crl_url: Ia5String,
    issuer_id: String,
}

impl ExchangeCa {
    /// Checks that `key` belongs to `cert` and that both URLs are http(s).
    pub fn new(
        cert: Certificate,
        key: Box<dyn Signer>,
        ocsp_url: &str,
        crl_url: &str,
    ) -> Result<Self, IssueError> {
        if !gica_pki::key_matches(
            key.as_ref(),
            cert.tbs_certificate().subject_public_key_info(),
        ) {
            return Err(IssueError::KeyMismatch);
        }
        let issuer_id = gica_pki::ocsp::issuer_id(&cert);
        Ok(Self {
            ocsp_url: url("OCSP", ocsp_url)?,
            crl_url: url("CRL", crl_url)?,
            cert,
            key,
            issuer_id,
        })
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The CA's id in the revocation store ([`gica_pki::ocsp::issuer_id`]).
    pub fn issuer_id(&self) -> &str {
        &self.issuer_id
    }

    /// Certifies `subject_key` (from a CSR whose proof of possession was checked, see
    /// [`crate::check::verify_csr`]) for `system` of `agency`, granting `services`: subject
    /// `C=IR, O=agency, CN=system`, valid from `now` (less an hour of clock skew) for the
    /// shortest validity among the services, digitalSignature, clientAuth, the services'
    /// policy OIDs, AIA OCSP and a CRL distribution point.
    pub fn issue(
        &self,
        subject_key: &SubjectPublicKeyInfoOwned,
        agency: &str,
        system: &str,
        services: &[&Service],
        now: SystemTime,
    ) -> Result<Certificate, IssueError> {
        if services.is_empty() || services.len() > MAX_SERVICES_PER_GRANT {
            return Err(IssueError::ServiceCount {
                count: services.len(),
            });
        }
        if !valid_system(agency) {
            return Err(IssueError::BadName { field: "agency" });
        }
        if !valid_system(system) {
            return Err(IssueError::BadName { field: "system" });
        }
        let days = services.iter().map(|s| s.validity_days).min().unwrap_or(1);
        let subject = format!("CN={},O={},C=IR", escape_dn(system), escape_dn(agency));
        let mut oids: Vec<ObjectIdentifier> = services.iter().map(|s| s.policy_oid).collect();
        oids.sort();
        oids.dedup();
        let policies = CertificatePolicies(
            oids.into_iter()
                .map(|policy_identifier| PolicyInformation {
                    policy_identifier,
                    policy_qualifiers: None,
                })
                .collect(),
        );
        let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: GeneralName::UniformResourceIdentifier(self.ocsp_url.clone()),
        }]);
        let cdp = CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![
                GeneralName::UniformResourceIdentifier(self.crl_url.clone()),
            ])),
            reasons: None,
            crl_issuer: None,
        }]);
        let mut params = CertificateParams::leaf(&subject, now, u64::from(days));
        params.extended_key_usage = Some((false, vec![ID_KP_CLIENT_AUTH]));
        params.extra_extensions = vec![ext(&policies)?, ext(&aia)?, ext(&cdp)?];
        Ok(params.signed_by(subject_key, &self.cert, self.key.as_ref())?)
    }

    /// [`ExchangeCa::issue`] for the key of a PKCS#10 request, checked again here
    /// ([`crate::check::verify_csr`]) so no path issues without proof of possession.
    pub fn issue_from_csr(
        &self,
        csr_der: &[u8],
        agency: &str,
        system: &str,
        services: &[&Service],
        now: SystemTime,
    ) -> Result<Certificate, IssueError> {
        let csr = crate::check::verify_csr(csr_der)?;
        self.issue(&csr.info.public_key, agency, system, services, now)
    }

    /// Records `cert` (issued by this CA) as valid in the revocation store.
    pub async fn record<W: RevocationWriter>(
        &self,
        store: &W,
        cert: &Certificate,
    ) -> Result<(), IssueError> {
        let (_, not_after) = gica_pki::cert::validity(cert);
        store
            .record_issued(
                &self.issuer_id,
                gica_pki::cert::serial_magnitude(cert),
                Some(not_after),
            )
            .await?;
        Ok(())
    }

    /// Revokes the certificate with `serial` (a grant withdrawn) in the revocation store.
    pub async fn revoke<W: RevocationWriter>(
        &self,
        store: &W,
        serial: &[u8],
        at: SystemTime,
        reason: Option<CrlReason>,
    ) -> Result<RevokeOutcome, IssueError> {
        Ok(store
            .revoke(&self.issuer_id, serial, at, reason, None)
            .await?)
    }
}

/// The policy OIDs of `cert`'s certificatePolicies extension (empty when it has none).
pub fn granted_policies(cert: &Certificate) -> Result<Vec<ObjectIdentifier>, IssueError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<CertificatePolicies>()?
        .map(|(_, p)| p.0.into_iter().map(|i| i.policy_identifier).collect())
        .unwrap_or_default())
}

fn url(what: &'static str, s: &str) -> Result<Ia5String, IssueError> {
    let bad = || IssueError::BadUrl {
        what,
        url: s.chars().take(256).collect(),
    };
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() <= 2048
        && s.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(bad());
    }
    Ia5String::new(s).map_err(|_| bad())
}

fn ext<T: Encode + AssociatedOid>(value: &T) -> Result<Extension, IssueError> {
    Ok(Extension {
        extn_id: T::OID,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Escapes a value for an RFC 4514 string as x509-cert parses it back, so a name with
/// `,` or `+` stays one attribute instead of adding others.
fn escape_dn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hostile_names_stay_one_attribute() {
        let demo = gica_pki::certgen::DemoCa::new("t", "Exchange CA", SystemTime::now()).unwrap();
        let ca = ExchangeCa::new(
            demo.ca.clone(),
            Box::new(demo.ca_key.clone()),
            "http://o/",
            "http://c/",
        )
        .unwrap();
        let cat = crate::Catalogue::from_toml("[[service]]\nid=\"s\"\nname=\"n\"\nowner=\"o\"\nbus=\"gsb\"\npolicy_oid=\"1.2.3\"\nvalidity_days=1").unwrap();
        let key = gica_pki::SoftwareSigner::generate_p256().unwrap();
        for (agency, system) in [
            ("A, O=Evil", "sys+CN=x"),
            ("#lead ", " \\ \"q\" <>;="),
            ("سازمان ثبت", "سامانه"),
        ] {
            let cert = ca
                .issue(
                    key.public_key(),
                    agency,
                    system,
                    &[cat.get("s").unwrap()],
                    SystemTime::now(),
                )
                .unwrap();
            let rdns: Vec<_> = cert.tbs_certificate().subject().iter_rdn().collect();
            assert_eq!(rdns.len(), 3, "{agency:?} {system:?}");
            let values: Vec<String> = rdns
                .iter()
                .map(|rdn| {
                    let atv = rdn.iter().next().unwrap();
                    assert_eq!(rdn.len(), 1);
                    der::asn1::Utf8StringRef::try_from(&atv.value)
                        .map(|s| s.as_str().to_string())
                        .or_else(|_| {
                            der::asn1::PrintableStringRef::try_from(&atv.value)
                                .map(|s| s.as_str().to_string())
                        })
                        .unwrap()
                })
                .collect();
            assert_eq!(
                values,
                vec!["IR".to_string(), agency.to_string(), system.to_string()]
            );
        }
        assert!(matches!(
            ca.issue(key.public_key(), "a", "s", &[], SystemTime::now()),
            Err(IssueError::ServiceCount { count: 0 })
        ));
        assert!(matches!(
            ca.issue(
                key.public_key(),
                "",
                "s",
                &[cat.get("s").unwrap()],
                SystemTime::now()
            ),
            Err(IssueError::BadName { field: "agency" })
        ));
    }

    #[test]
    fn construction_is_checked() {
        let demo = gica_pki::certgen::DemoCa::new("t", "Exchange CA", SystemTime::now()).unwrap();
        let e = ExchangeCa::new(
            demo.ca.clone(),
            Box::new(demo.root_key.clone()),
            "http://o/",
            "http://c/",
        )
        .unwrap_err();
        assert!(matches!(e, IssueError::KeyMismatch));
        let e = ExchangeCa::new(
            demo.ca.clone(),
            Box::new(demo.ca_key.clone()),
            "ldap://o/",
            "http://c/",
        )
        .unwrap_err();
        assert!(matches!(e, IssueError::BadUrl { what: "OCSP", .. }));
        let e = ExchangeCa::new(
            demo.ca.clone(),
            Box::new(demo.ca_key.clone()),
            "http://o/",
            "http://c d/",
        )
        .unwrap_err();
        assert!(matches!(e, IssueError::BadUrl { what: "CRL", .. }));
    }
}
