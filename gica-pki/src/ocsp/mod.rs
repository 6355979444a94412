//! Online Certificate Status Protocol (RFC 6960, RFC 5019 profile, RFC 8954 nonce): DER
//! types, a sans-I/O responder, a request builder, a response verifier and the GET encoding.

mod asn1;
mod client;
pub mod get;
mod responder;

pub use asn1::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, ResponseBytes, ResponseData, RevokedInfo, Signature, SingleResponse, TbsRequest,
    issuer_hashes,
};
pub use client::{
    OcspRequestBuilder, OcspVerifier, OcspVerifyError, VerifiedResponse, VerifiedStatus, serial_of,
};
pub use responder::{
    DelegateError, DelegateWarning, MAX_NONCE_LEN, NotIssuedPolicy, ParsedRequest,
    RFC9654_MAX_NONCE_LEN, RequestLimits, Responder, ResponderConfig, ResponderError,
    ResponderIdKind, ResponseTimes, Status, check_delegate_certificate, issuer_id, nonce_value,
    parse_request, parse_request_with,
};
