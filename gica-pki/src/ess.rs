//! ESS signing-certificate attributes (RFC 2634 5.4, RFC 5035 3): they bind a CMS signature to
//! the signer's certificate so a substituted certificate is detected.

use der::{
    Any, Encode, Sequence, Tag,
    asn1::{OctetString, SetOfVec},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    ext::pkix::{
        certpolicy::PolicyInformation,
        name::{GeneralName, GeneralNames},
    },
    serial_number::SerialNumber,
};

use crate::{DigestAlgorithm, Result, oid};

/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// issuer (a directoryName holding the certificate's issuer).
    pub issuer: GeneralNames,
    /// serialNumber.
    pub serial_number: SerialNumber,
}

impl IssuerSerial {
    /// The IssuerSerial that names `cert`.
    pub fn of(cert: &Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        Self {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
            serial_number: tbs.serial_number().clone(),
        }
    }

    /// Whether this names `cert` (issuer as a directoryName and serial number).
    pub fn names(&self, cert: &Certificate) -> bool {
        let tbs = cert.tbs_certificate();
        tbs.serial_number() == &self.serial_number
            && self
                .issuer
                .iter()
                .any(|g| matches!(g, GeneralName::DirectoryName(n) if n == tbs.issuer()))
    }
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm            AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash                 Hash,
///     issuerSerial             IssuerSerial OPTIONAL }
/// ```
/// `hashAlgorithm` is `None` when it is the DEFAULT (DER leaves it out).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// hashAlgorithm; `None` means SHA-256.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// certHash: the hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// issuerSerial.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

impl EssCertIdV2 {
    /// Whether `hashAlgorithm` is spelled out as its DEFAULT `{algorithm id-sha256}`, which DER
    /// leaves out (X.690 11.5). SHA-256 with NULL parameters is another value and may appear.
    pub fn has_explicit_default(&self) -> bool {
        self.hash_algorithm
            .as_ref()
            .is_some_and(|a| a.oid == oid::SHA256 && a.parameters.is_none())
    }

    /// The ESSCertIDv2 of `cert` with `digest`, with issuerSerial.
    pub fn new(cert: &Certificate, cert_der: &[u8], digest: DigestAlgorithm) -> Result<Self> {
        Ok(Self {
            hash_algorithm: (digest != DigestAlgorithm::Sha256)
                .then(|| digest.algorithm_identifier()),
            cert_hash: OctetString::new(digest.digest(cert_der))?,
            issuer_serial: Some(IssuerSerial::of(cert)),
        })
    }

    /// The hash algorithm, resolving the DEFAULT; `None` for an unknown algorithm.
    pub fn digest_algorithm(&self) -> Option<DigestAlgorithm> {
        match &self.hash_algorithm {
            None => Some(DigestAlgorithm::Sha256),
            Some(a) => DigestAlgorithm::from_algorithm_identifier(a),
        }
    }

    /// Whether this identifies `cert` (hash and, if present, issuerSerial).
    pub fn binds(&self, cert: &Certificate, cert_der: &[u8]) -> bool {
        self.digest_algorithm()
            .is_some_and(|d| d.digest(cert_der) == self.cert_hash.as_bytes())
            && self.issuer_serial.as_ref().is_none_or(|is| is.names(cert))
    }
}

/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// certs; the first names the signer.
    pub certs: Vec<EssCertIdV2>,
    /// policies.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

impl SigningCertificateV2 {
    /// Decodes the value of a signingCertificateV2 attribute, DER only: besides what
    /// [`crate::strict::decode`] refuses, an ESSCertIDv2 whose `hashAlgorithm` is the DEFAULT
    /// spelled out (the derived type would re-encode it the same way, so a comparison alone
    /// cannot see it).
    ///
    /// ```
    /// use gica_pki::{der::{Any, Decode}, ess::SigningCertificateV2};
    /// // SigningCertificateV2 { certs { ESSCertIDv2 { { sha256 }, certHash '' } } }
    /// let explicit = [0x30, 0x13, 0x30, 0x11, 0x30, 0x0f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
    ///     0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x00];
    /// let any = Any::from_der(&explicit).unwrap();
    /// assert!(SigningCertificateV2::from_der(&explicit).is_ok());
    /// assert!(SigningCertificateV2::from_attribute_value(&any).is_err());
    /// ```
    pub fn from_attribute_value(value: &Any) -> der::Result<Self> {
        let sc: Self = crate::strict::decode(&value.to_der()?)?;
        if sc.certs.iter().any(EssCertIdV2::has_explicit_default) {
            return Err(Tag::Sequence.non_canonical_error().into());
        }
        Ok(sc)
    }
}

impl SigningCertificate {
    /// Decodes the value of a signingCertificate attribute, DER only ([`crate::strict`]).
    pub fn from_attribute_value(value: &Any) -> der::Result<Self> {
        crate::strict::decode(&value.to_der()?)
    }
}

/// ```text
/// ESSCertID ::= SEQUENCE {
///     certHash                 Hash,          -- SHA-1
///     issuerSerial             IssuerSerial OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertId {
    /// certHash (SHA-1 of the certificate DER).
    pub cert_hash: OctetString,
    /// issuerSerial.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

impl EssCertId {
    /// Whether this identifies `cert`.
    pub fn binds(&self, cert: &Certificate, cert_der: &[u8]) -> bool {
        DigestAlgorithm::Sha1.digest(cert_der) == self.cert_hash.as_bytes()
            && self.issuer_serial.as_ref().is_none_or(|is| is.names(cert))
    }
}

/// ```text
/// SigningCertificate ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertID,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificate {
    /// certs; the first names the signer.
    pub certs: Vec<EssCertId>,
    /// policies.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

/// The signed attribute `signingCertificateV2` naming `cert` by SHA-256 with issuerSerial.
pub fn signing_certificate_v2_attribute(
    cert: &Certificate,
    cert_der: &[u8],
) -> Result<x509_cert::attr::Attribute> {
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2::new(cert, cert_der, DigestAlgorithm::Sha256)?],
        policies: None,
    };
    Ok(x509_cert::attr::Attribute {
        oid: oid::ATTR_SIGNING_CERTIFICATE_V2,
        values: SetOfVec::try_from(vec![der::Any::encode_from(&value)?])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};
    use proptest::prelude::*;

    fn arb_octets() -> impl Strategy<Value = OctetString> {
        proptest::collection::vec(any::<u8>(), 0..70)
            .prop_map(|v| OctetString::new(v).expect("octets"))
    }

    proptest! {
        #[test]
        fn ess_cert_id_v2_round_trip(hash in arb_octets(), sha512 in any::<bool>(), serial in proptest::collection::vec(any::<u8>(), 1..20)) {
            let v = EssCertIdV2 {
                hash_algorithm: sha512.then(|| DigestAlgorithm::Sha512.algorithm_identifier()),
                cert_hash: hash,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(Default::default())],
                    serial_number: SerialNumber::new(&serial).expect("serial"),
                }),
            };
            let s = SigningCertificateV2 { certs: vec![v.clone(), v], policies: None };
            let der = s.to_der().expect("encode");
            prop_assert_eq!(SigningCertificateV2::from_der(&der).expect("decode"), s);
        }

        #[test]
        fn ess_cert_id_v1_round_trip(hash in arb_octets()) {
            let s = SigningCertificate { certs: vec![EssCertId { cert_hash: hash, issuer_serial: None }], policies: None };
            let der = s.to_der().expect("encode");
            prop_assert_eq!(SigningCertificate::from_der(&der).expect("decode"), s);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SigningCertificateV2::from_der(&bytes);
            let _ = SigningCertificate::from_der(&bytes);
        }
    }
}
