//! CMS SignedData (RFC 5652) as gica writes and checks it, written once for the time-stamp
//! authority's tokens and for [`proof`](crate::proof)s: one signer identified by
//! issuerAndSerialNumber, encapsulated content, signed attributes contentType, signingTime,
//! messageDigest and signingCertificateV2.

use std::{sync::Arc, time::Duration};

use cms::{
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::CmsVersion,
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{
    Any, Encode, Sequence,
    asn1::{AnyRef, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime},
};
use x509_cert::{
    Certificate,
    attr::{Attribute, Attributes},
    ext::pkix::SubjectKeyIdentifier,
    time::Time,
};

use crate::{
    AlgorithmPolicy, DigestAlgorithm, Result, Signer,
    algorithm::SignatureError,
    cert,
    ess::{self, SigningCertificate, SigningCertificateV2},
    oid,
    signer::key_matches,
};

/// An attribute with one value.
pub(crate) fn attribute<T: der::EncodeValue + der::Tagged>(
    oid: ObjectIdentifier,
    value: &T,
) -> Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![Any::encode_from(value)?])?,
    })
}

/// RFC 5652 11.3: UTCTime for 1950 through 2049, GeneralizedTime otherwise.
pub(crate) fn signing_time(unix_secs: u64) -> Result<Time> {
    let d = Duration::from_secs(unix_secs);
    Ok(match UtcTime::from_unix_duration(d) {
        Ok(t) => Time::UtcTime(t),
        Err(_) => Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?),
    })
}

/// The SignedData version RFC 5652 5.1 requires of what gica writes and reads: 5 with
/// `other` certificate or revocation formats, 3 when a SignerInfo is version 3 or the
/// eContentType is not id-data, else 1 (attribute certificates, for 4, do not decode).
pub(crate) fn required_version(sd: &SignedData) -> CmsVersion {
    let other_certs = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .any(|c| matches!(c, CertificateChoices::Other(_)));
    let other_crls = sd
        .crls
        .iter()
        .flat_map(|s| s.0.iter())
        .any(|c| matches!(c, cms::revocation::RevocationInfoChoice::Other(_)));
    if other_certs || other_crls {
        CmsVersion::V5
    } else if sd
        .signer_infos
        .0
        .iter()
        .any(|si| si.version == CmsVersion::V3)
        || sd.encap_content_info.econtent_type != oid::DATA
    {
        CmsVersion::V3
    } else {
        CmsVersion::V1
    }
}

/// A key with its certificate, and what every SignedData it makes shares.
#[derive(Debug)]
pub(crate) struct CmsSigner {
    signer: Arc<dyn Signer>,
    cert: Certificate,
    sid: SignerIdentifier,
    ess_attribute: Attribute,
    certificates: CertificateSet,
}

impl CmsSigner {
    /// Checks `signer`'s key is `cert`'s; `chain` follows the certificate in `certificates`.
    pub(crate) fn new(
        cert: Certificate,
        chain: &[Certificate],
        signer: Arc<dyn Signer>,
    ) -> Result<Self> {
        if !key_matches(
            signer.as_ref(),
            cert.tbs_certificate().subject_public_key_info(),
        ) {
            return Err(cert::CertificateError::KeyMismatch.into());
        }
        let cert_der = cert.to_der()?;
        let ess_attribute = ess::signing_certificate_v2_attribute(&cert, &cert_der)?;
        let choices: Vec<_> = std::iter::once(&cert)
            .chain(chain)
            .cloned()
            .map(CertificateChoices::Certificate)
            .collect();
        let certificates = CertificateSet::try_from(choices)?;
        let tbs = cert.tbs_certificate();
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        });
        Ok(Self {
            signer,
            cert,
            sid,
            ess_attribute,
            certificates,
        })
    }

    pub(crate) fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    pub(crate) fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Signs `econtent` as `econtent_type` at `signing_time`; the signer's certificate and
    /// chain go in `certificates` when `include_certs`.
    pub(crate) fn sign(
        &self,
        econtent_type: ObjectIdentifier,
        econtent: Vec<u8>,
        signing_time: Time,
        include_certs: bool,
    ) -> Result<SignedData> {
        let digest = self.signer.digest_algorithm();
        let attrs: Attributes = SetOfVec::try_from(vec![
            attribute(oid::ATTR_CONTENT_TYPE, &econtent_type)?,
            attribute(oid::ATTR_SIGNING_TIME, &signing_time)?,
            attribute(
                oid::ATTR_MESSAGE_DIGEST,
                &OctetString::new(digest.digest(&econtent))?,
            )?,
            self.ess_attribute.clone(),
        ])?;
        let signature = self.signer.sign(&attrs.to_der()?)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: digest.algorithm_identifier(),
            signed_attrs: Some(attrs),
            signature_algorithm: self.signer.signature_algorithm().clone(),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let mut signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![digest.algorithm_identifier()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type,
                econtent: Some(Any::encode_from(&OctetString::new(econtent)?)?),
            },
            certificates: include_certs.then(|| self.certificates.clone()),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info])?,
        };
        signed_data.version = required_version(&signed_data);
        Ok(signed_data)
    }
}

/// Why a SignerInfo was refused; the token and proof verifiers map it into their own errors.
#[derive(Debug)]
pub(crate) enum CmsError {
    /// A structure could not be decoded.
    Malformed {
        what: &'static str,
        source: der::Error,
    },
    /// A rule of RFC 5652 is broken.
    Structure(&'static str),
    /// The contentType attribute is not the eContentType.
    ContentTypeAttribute {
        expected: ObjectIdentifier,
        found: ObjectIdentifier,
    },
    Signature(SignatureError),
    /// messageDigest is not the hash of the eContent.
    MessageDigest,
    /// signingCertificate(V2) is absent where required, or binds another certificate.
    SigningCertificate(&'static str),
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> CmsError {
    move |source| CmsError::Malformed { what, source }
}

/// Whether `sid` names `cert`.
pub(crate) fn sid_names(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            &isn.issuer == tbs.issuer() && &isn.serial_number == tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if &own == ski)
        }
    }
}

/// The SignerInfo version RFC 5652 5.3 requires for its sid.
pub(crate) fn signer_info_version_ok(si: &SignerInfo) -> bool {
    let want = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    si.version == want
}

/// The X.509 certificates a SignedData carries, in order (other formats skipped).
pub(crate) fn certificates(sd: &SignedData) -> Vec<x509_cert::Certificate> {
    sd.certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect()
}

/// The SignerInfo's version fits its sid, and its digest algorithm is among the SignedData's
/// digestAlgorithms; the error says which rule failed.
pub(crate) fn check_signer_info_form(sd: &SignedData, si: &SignerInfo) -> Result<(), &'static str> {
    if !signer_info_version_ok(si) {
        return Err("SignerInfo version does not match its sid (RFC 5652 5.3)");
    }
    if !sd
        .digest_algorithms
        .iter()
        .any(|a| a.oid == si.digest_alg.oid)
    {
        return Err("the signer's digest algorithm is not in digestAlgorithms");
    }
    Ok(())
}

/// The single value of the single attribute of type `oid`, if present.
pub(crate) fn attr_value(
    attrs: &Attributes,
    oid: ObjectIdentifier,
) -> Result<Option<&Any>, CmsError> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(CmsError::Structure(
            "a signed attribute must occur once with one value",
        ));
    }
    Ok(attr.values.iter().next())
}

/// Checks the signed attributes contentType (= `econtent_type`) and messageDigest (the hash
/// of `econtent`), and the signature over them by `signer` under `policy`.
pub(crate) fn check_signer_info(
    si: &SignerInfo,
    econtent_type: ObjectIdentifier,
    econtent: &[u8],
    signer: &Certificate,
    policy: &AlgorithmPolicy,
) -> Result<(), CmsError> {
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(CmsError::Structure("no signed attributes"))?;
    let content_type: ObjectIdentifier = attr_value(attrs, oid::ATTR_CONTENT_TYPE)?
        .ok_or(CmsError::Structure("no contentType attribute"))?
        .decode_as()
        .map_err(malformed("contentType"))?;
    if content_type != econtent_type {
        return Err(CmsError::ContentTypeAttribute {
            expected: econtent_type,
            found: content_type,
        });
    }
    let digest = DigestAlgorithm::from_algorithm_identifier(&si.digest_alg).ok_or(
        CmsError::Signature(SignatureError::UnsupportedAlgorithm(si.digest_alg.oid)),
    )?;
    policy
        .check_digest(digest, si.digest_alg.oid)
        .map_err(CmsError::Signature)?;
    let md: OctetString = attr_value(attrs, oid::ATTR_MESSAGE_DIGEST)?
        .ok_or(CmsError::Structure("no messageDigest attribute"))?
        .decode_as()
        .map_err(malformed("messageDigest"))?;
    if md.as_bytes() != digest.digest(econtent) {
        return Err(CmsError::MessageDigest);
    }
    let signed = attrs.to_der().map_err(malformed("signed attributes"))?;
    // RFC 5652 5.4 / RFC 5754: digestAlgorithm must be the hash signatureAlgorithm uses.
    policy
        .verify(
            signer.tbs_certificate().subject_public_key_info(),
            &si.signature_algorithm,
            Some(digest),
            &signed,
            si.signature.as_bytes(),
        )
        .map_err(CmsError::Signature)
}

/// Checks signingCertificate and signingCertificateV2, where present: the first ESSCertID
/// binds `signer`, every further one a certificate of `pool`. With `required`, one of the
/// two attributes must be present.
pub(crate) fn check_ess(
    attrs: Option<&Attributes>,
    signer: &Certificate,
    pool: &[Certificate],
    required: bool,
) -> Result<(), CmsError> {
    use CmsError::SigningCertificate as Ess;
    let attrs = attrs.ok_or(CmsError::Structure("no signed attributes"))?;
    let v2 = attr_value(attrs, oid::ATTR_SIGNING_CERTIFICATE_V2)?;
    let v1 = attr_value(attrs, oid::ATTR_SIGNING_CERTIFICATE)?;
    if v1.is_none() && v2.is_none() {
        return if required {
            Err(Ess(
                "neither signingCertificate nor signingCertificateV2 is present",
            ))
        } else {
            Ok(())
        };
    }
    let signer_der = signer.to_der().map_err(malformed("certificate"))?;
    let pool_der: Vec<(Certificate, Vec<u8>)> = pool
        .iter()
        .filter_map(|c| c.to_der().ok().map(|d| (c.clone(), d)))
        .collect();
    if let Some(any) = v2 {
        let sc = SigningCertificateV2::from_attribute_value(any)
            .map_err(malformed("SigningCertificateV2"))?;
        let (first, rest) = sc
            .certs
            .split_first()
            .ok_or(Ess("empty SigningCertificateV2"))?;
        if !first.binds(signer, &signer_der) {
            return Err(Ess("ESSCertIDv2 does not bind the signer certificate"));
        }
        if !rest
            .iter()
            .all(|id| pool_der.iter().any(|(c, d)| id.binds(c, d)))
        {
            return Err(Ess(
                "an ESSCertIDv2 names a certificate that is not available",
            ));
        }
    }
    if let Some(any) = v1 {
        let sc = SigningCertificate::from_attribute_value(any)
            .map_err(malformed("SigningCertificate"))?;
        let (first, rest) = sc
            .certs
            .split_first()
            .ok_or(Ess("empty SigningCertificate"))?;
        if !first.binds(signer, &signer_der) {
            return Err(Ess("ESSCertID does not bind the signer certificate"));
        }
        if !rest
            .iter()
            .all(|id| pool_der.iter().any(|(c, d)| id.binds(c, d)))
        {
            return Err(Ess(
                "an ESSCertID names a certificate that is not available",
            ));
        }
    }
    Ok(())
}

/// SignedData (RFC 5652 5.1) with its certificate and CRL sets kept as received.
///
/// ```text
/// SignedData ::= SEQUENCE {
///   version CMSVersion,
///   digestAlgorithms DigestAlgorithmIdentifiers,
///   encapContentInfo EncapsulatedContentInfo,
///   certificates [0] IMPLICIT CertificateSet OPTIONAL,
///   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///   signerInfos SignerInfos }
/// ```
#[derive(Sequence)]
struct SignedDataAsReceived<'a> {
    version: CmsVersion,
    digest_algorithms: AnyRef<'a>,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<Vec<AnyRef<'a>>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<Vec<AnyRef<'a>>>,
    signer_infos: SignerInfos,
}

/// Refuses a SignedData (a token's, a proof's) unless it is DER ([`crate::strict`]) apart from the order of
/// its `certificates` SET: OpenSSL writes them in the order they were added, and that order
/// is not signed. Each certificate must be DER itself.
pub(crate) fn check_signed_data(der: &[u8]) -> der::Result<()> {
    let sd: SignedDataAsReceived<'_> = crate::strict::decode(der)?;
    for cert in sd.certificates.iter().flatten() {
        crate::strict::decode::<CertificateChoices>(&cert.to_der()?)?;
    }
    Ok(())
}
