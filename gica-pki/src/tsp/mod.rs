//! Time-stamp protocol (RFC 3161 as updated by RFC 5816): DER types, the authority that issues
//! tokens, a request builder and a token verifier.

mod asn1;
mod authority;
mod request;
mod verify;

pub use asn1::{
    Accuracy, FailureInfo, MessageImprint, PkiFailureInfo, PkiStatus, PkiStatusInfo, TimeStampReq,
    TimeStampResp, TstInfo,
};
pub use authority::{
    Authority, AuthorityConfig, CheckedRequest, Issued, Rejection, TstSerial, random_serial,
    rejection_der,
};
pub use request::TimeStampReqBuilder;
pub(crate) use verify::check_granted;
pub use verify::{
    CheckedReply, Expectation, ImprintCheck, TokenContents, TokenParts, TokenVerifier,
    ValidationTime, VerifiedToken, VerifyError, check_reply, read_token,
};
