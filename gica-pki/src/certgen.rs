//! Issuing certificates with any [`Signer`]: demo PKIs, test fixtures, delegated responders.
//!
//! x509-cert's builder wants its own signer traits; gica signs through [`Signer`], so the TBS
//! is assembled here (RFC 5280 4.1) and signed by whichever backend the caller holds.

use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use der::{
    Decode, Encode, Sequence,
    asn1::{BitString, ObjectIdentifier, OctetString},
};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{
    Certificate,
    ext::{
        Extension, Extensions,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
            SubjectKeyIdentifier,
        },
    },
    name::Name,
    serial_number::SerialNumber,
    time::Time,
};

use crate::{Result, Signer};

/// ```text
/// TBSCertificate  ::=  SEQUENCE  {
///      version         [0]  EXPLICIT Version DEFAULT v1,
///      serialNumber         CertificateSerialNumber,
///      signature            AlgorithmIdentifier,
///      issuer               Name,
///      validity             Validity,
///      subject              Name,
///      subjectPublicKeyInfo SubjectPublicKeyInfo,
///      extensions      [3]  EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: ValidityDer,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

#[derive(Sequence)]
struct ValidityDer {
    not_before: Time,
    not_after: Time,
}

#[derive(Sequence)]
struct CertDer {
    tbs: der::Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What a new certificate says. Finish with [`CertificateParams::self_signed`] or
/// [`CertificateParams::signed_by`].
///
/// ```
/// use gica_pki::{SoftwareSigner, Signer, certgen::CertificateParams};
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let root = CertificateParams::ca("CN=Example Root", std::time::SystemTime::now(), 3650).self_signed(&key).unwrap();
/// gica_pki::cert::verify_issued_by(&root, &root).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct CertificateParams {
    /// Subject DN in RFC 4514 form (`CN=...,O=...,C=IR`).
    pub subject: String,
    /// Start of validity (backdated an hour by the constructors to absorb clock skew).
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// `Some(path_len)` makes a CA (pathLen `None` = unlimited).
    pub ca: Option<Option<u8>>,
    /// keyUsage bits (critical).
    pub key_usage: Vec<KeyUsages>,
    /// extendedKeyUsage OIDs and whether the extension is critical.
    pub extended_key_usage: Option<(bool, Vec<ObjectIdentifier>)>,
    /// Further extensions, added as given.
    pub extra_extensions: Vec<Extension>,
}

impl CertificateParams {
    /// A CA certificate valid from an hour before `now` for `days` days.
    pub fn ca(subject: &str, now: SystemTime, days: u64) -> Self {
        Self {
            ca: Some(None),
            key_usage: vec![KeyUsages::KeyCertSign, KeyUsages::CRLSign],
            ..Self::leaf(subject, now, days)
        }
    }

    /// An end-entity certificate valid from an hour before `now` (clock skew) for `days`
    /// days, digitalSignature only. The time comes in: the core reads no clock.
    pub fn leaf(subject: &str, now: SystemTime, days: u64) -> Self {
        Self {
            subject: subject.to_string(),
            not_before: now - Duration::from_secs(3600),
            not_after: crate::time::add_saturating(
                now,
                Duration::from_secs(days.saturating_mul(86_400)),
            ),
            ca: None,
            key_usage: vec![KeyUsages::DigitalSignature],
            extended_key_usage: None,
            extra_extensions: Vec::new(),
        }
    }

    /// A TSA certificate: critical extendedKeyUsage of timeStamping only (RFC 3161 2.3).
    pub fn tsa(subject: &str, now: SystemTime, days: u64) -> Self {
        Self {
            extended_key_usage: Some((true, vec![crate::oid::KP_TIME_STAMPING])),
            ..Self::leaf(subject, now, days)
        }
    }

    /// Self-signed by `key`.
    pub fn self_signed(&self, key: &dyn Signer) -> Result<Certificate> {
        let subject: Name = self.subject.parse()?;
        self.sign(subject, key.public_key(), None, key)
    }

    /// Issued to `subject_key` by `issuer` (whose key is `issuer_key`).
    pub fn signed_by(
        &self,
        subject_key: &SubjectPublicKeyInfoOwned,
        issuer: &Certificate,
        issuer_key: &dyn Signer,
    ) -> Result<Certificate> {
        self.sign(
            issuer.tbs_certificate().subject().clone(),
            subject_key,
            Some(issuer),
            issuer_key,
        )
    }

    fn sign(
        &self,
        issuer_name: Name,
        subject_key: &SubjectPublicKeyInfoOwned,
        issuer: Option<&Certificate>,
        issuer_key: &dyn Signer,
    ) -> Result<Certificate> {
        let ski = key_identifier(subject_key)?;
        let aki = match issuer {
            Some(c) => match c
                .tbs_certificate()
                .get_extension::<SubjectKeyIdentifier>()?
            {
                Some((_, id)) => id.0,
                None => key_identifier(c.tbs_certificate().subject_public_key_info())?,
            },
            None => ski.clone(),
        };
        let mut exts = vec![
            ext(false, &SubjectKeyIdentifier(ski))?,
            ext(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(aki),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
        ];
        if let Some(path_len) = self.ca {
            exts.push(ext(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: path_len,
                },
            )?);
        }
        if !self.key_usage.is_empty() {
            let flags = self
                .key_usage
                .iter()
                .fold(der::flagset::FlagSet::default(), |acc, k| acc | *k);
            exts.push(ext(true, &KeyUsage(flags))?);
        }
        if let Some((critical, oids)) = &self.extended_key_usage {
            exts.push(ext(*critical, &ExtendedKeyUsage(oids.clone()))?);
        }
        exts.extend(self.extra_extensions.iter().cloned());
        let mut serial = [0u8; 16];
        crate::signer::random(&mut serial)?;
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let tbs = Tbs {
            version: 2,
            serial_number: SerialNumber::new(&serial)?,
            signature: issuer_key.signature_algorithm().clone(),
            issuer: issuer_name,
            validity: ValidityDer {
                not_before: Time::try_from(self.not_before)?,
                not_after: Time::try_from(self.not_after)?,
            },
            subject: self.subject.parse()?,
            subject_public_key_info: subject_key.clone(),
            extensions: Some(exts),
        };
        let tbs_der = tbs.to_der()?;
        let signature = issuer_key.sign(&tbs_der)?;
        let cert = CertDer {
            tbs: der::Any::from_der(&tbs_der)?,
            signature_algorithm: issuer_key.signature_algorithm().clone(),
            signature: BitString::from_bytes(&signature)?,
        };
        Ok(Certificate::from_der(&cert.to_der()?)?)
    }
}

/// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString> {
    Ok(OctetString::new(crate::cert::key_identifier(spki))?)
}

fn ext<T: Encode + AssociatedOid>(critical: bool, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// A throwaway P-256 root and issuing CA (pathLen 0), for `--demo` modes and tests.
#[derive(Debug, Clone)]
pub struct DemoCa {
    /// Self-signed root.
    pub root: Certificate,
    /// Its key.
    pub root_key: crate::SoftwareSigner,
    /// Issuing CA, signed by the root.
    pub ca: Certificate,
    /// Its key.
    pub ca_key: crate::SoftwareSigner,
}

impl DemoCa {
    /// A root `CN=<org> Root CA` (10 years from `now`) and an issuing CA `CN=<ca_name>` (5
    /// years), both `O=<org>,C=IR`.
    ///
    /// ```
    /// let demo = gica_pki::certgen::DemoCa::new("gica demo", "gica Demo Issuing CA", std::time::SystemTime::now()).unwrap();
    /// gica_pki::cert::verify_issued_by(&demo.ca, &demo.root).unwrap();
    /// ```
    pub fn new(org: &str, ca_name: &str, now: SystemTime) -> Result<Self> {
        let root_key = crate::SoftwareSigner::generate_p256()?;
        let root = CertificateParams::ca(&format!("CN={org} Root CA,O={org},C=IR"), now, 3650)
            .self_signed(&root_key)?;
        let ca_key = crate::SoftwareSigner::generate_p256()?;
        let mut params = CertificateParams::ca(&format!("CN={ca_name},O={org},C=IR"), now, 1825);
        params.ca = Some(Some(0));
        let ca = params.signed_by(ca_key.public_key(), &root, &root_key)?;
        Ok(Self {
            root,
            root_key,
            ca,
            ca_key,
        })
    }
}
