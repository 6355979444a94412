//! Object identifiers used across gica, named as in their RFCs.

use der::asn1::ObjectIdentifier as Oid;

/// id-signedData (RFC 5652).
pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161).
pub const CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-contentType attribute (RFC 5652).
pub const ATTR_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest attribute (RFC 5652).
pub const ATTR_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime attribute (RFC 5652).
pub const ATTR_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificate (RFC 2634).
pub const ATTR_SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2 (RFC 5035).
pub const ATTR_SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-kp-timeStamping (RFC 5280).
pub const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");

/// id-sha1.
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// rsaEncryption (RFC 8017).
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// sha1WithRSAEncryption (verification of legacy certificates only).
pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// id-RSASSA-PSS (RFC 8017).
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1 (RFC 8017).
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// id-ecPublicKey (RFC 5480).
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 (RFC 5480).
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480).
pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
/// ecdsa-with-SHA256 (RFC 5758).
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758).
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512 (RFC 5758).
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");

/// id-pkix-ocsp-basic (RFC 6960 4.2.1).
pub const OCSP_BASIC: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce (RFC 6960 4.4.1, RFC 8954).
pub const OCSP_NONCE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1).
pub const OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// id-pkix-ocsp-extended-revoke (RFC 6960 4.4.8).
pub const OCSP_EXTENDED_REVOKE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.9");
/// id-kp-OCSPSigning (RFC 5280).
pub const KP_OCSP_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.9");
/// id-ad-ocsp (RFC 5280 4.2.2.1): an accessMethod naming an OCSP responder.
pub const AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-pe-authorityInfoAccess (RFC 5280 4.2.2.1).
pub const PE_AUTHORITY_INFO_ACCESS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
/// id-ce-cRLDistributionPoints (RFC 5280 4.2.1.13).
pub const CE_CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");

/// id-aa-timeStampToken (RFC 3161 Appendix A): the unsigned attribute carrying a time-stamp
/// token over a SignerInfo's signature value (as CAdES-T uses it).
pub const ATTR_TIME_STAMP_TOKEN: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-data (RFC 5652 4).
pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");

/// gica's arc for the content types of [`proof`](crate::proof)s: `1.3.6.1.4.1.99999.2`.
///
/// 99999 is a placeholder private enterprise number (the test policies use its `.1` arc): a
/// deployment must have IANA assign its own and move these types under it before any proof
/// it issues is kept, since a proof's content type is signed and cannot be changed later.
pub const GICA_CONTENT_TYPES: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2");
/// Device registry: a receipt for a registration or change.
pub const CT_REGISTRY_RECEIPT: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.1.1");
/// Device registry: a signed snapshot of the registry's state.
pub const CT_REGISTRY_SNAPSHOT: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.1.2");
/// Device registry: an export of registry records.
pub const CT_REGISTRY_EXPORT: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.1.3");
/// National inbox: evidence of a delivery event.
pub const CT_INBOX_EVIDENCE: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.2.1");
/// National inbox: a checkpoint of the evidence log.
pub const CT_INBOX_CHECKPOINT: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.2.2");
/// Data exchange: an audit record.
pub const CT_EXCHANGE_AUDIT: Oid = Oid::new_unwrap("1.3.6.1.4.1.99999.2.3.1");
