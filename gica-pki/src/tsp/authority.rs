//! The time-stamp authority: request DER in, response DER out (RFC 3161 2.4, RFC 5816).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use cms::content_info::ContentInfo;
use der::{
    Any, Decode, Encode,
    asn1::{Int, ObjectIdentifier},
};
use x509_cert::{Certificate, ext::pkix::name::GeneralName};

use super::asn1::{
    Accuracy, FailureInfo, MessageImprint, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo,
};
use crate::{
    DigestAlgorithm, Error, GenTime, Result, Signer, cert, oid,
    signed_data::{self, CmsSigner},
};

/// What a TSA accepts and how it writes tokens.
#[derive(Clone, Debug)]
pub struct AuthorityConfig {
    /// The policy of tokens whose request names none.
    pub default_policy: ObjectIdentifier,
    /// Further policies a request may ask for (the default is always accepted).
    pub accepted_policies: Vec<ObjectIdentifier>,
    /// Hash algorithms accepted in a messageImprint. SHA-1 is refused even if listed.
    pub accepted_digests: Vec<DigestAlgorithm>,
    /// The accuracy stated in tokens, and the clock regression tolerated (see
    /// [`Authority::respond`]).
    pub accuracy: Option<Accuracy>,
    /// Fraction-of-second digits in genTime (0..=9).
    pub fraction_digits: u8,
    /// Promise that genTime orders tokens: genTimes are then strictly increasing.
    pub ordering: bool,
    /// Put the TSA certificate's subject in TSTInfo `tsa`.
    pub include_tsa_name: bool,
    /// Certificates sent after the TSA certificate when a request sets certReq
    /// (intermediates, then the root).
    pub chain: Vec<Certificate>,
}

impl AuthorityConfig {
    /// The defaults with `default_policy`: SHA-256/384/512, accuracy 1 s, millisecond genTime,
    /// no ordering, TSA name included, no chain.
    pub fn new(default_policy: ObjectIdentifier) -> Self {
        Self {
            default_policy,
            accepted_policies: Vec::new(),
            accepted_digests: vec![
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha384,
                DigestAlgorithm::Sha512,
            ],
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            fraction_digits: 3,
            ordering: false,
            include_tsa_name: true,
            chain: Vec::new(),
        }
    }
}

/// Why a request was refused: the failure bit and a reason for `statusString`.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{} ({reason})", .fail_info.name())]
pub struct Rejection {
    /// The PKIFailureInfo bit.
    pub fail_info: FailureInfo,
    /// Human-readable reason, sent as statusString.
    pub reason: String,
}

impl Rejection {
    fn new(fail_info: FailureInfo, reason: impl Into<String>) -> Self {
        Self {
            fail_info,
            reason: reason.into(),
        }
    }
}

/// A request that passed every check of [`Authority::check`], ready to be stamped. Only
/// `check` makes one, so [`Authority::issue`] cannot stamp an unchecked request.
#[derive(Clone, Debug)]
pub struct CheckedRequest {
    request: TimeStampReq,
    digest: DigestAlgorithm,
    policy: ObjectIdentifier,
}

impl CheckedRequest {
    /// The parsed request.
    pub fn request(&self) -> &TimeStampReq {
        &self.request
    }

    /// Its imprint's hash algorithm.
    pub fn digest(&self) -> DigestAlgorithm {
        self.digest
    }

    /// The policy the token will carry.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }
}

/// A TSTInfo serialNumber: positive and at most 160 bits (RFC 3161 2.4.2), checked where it
/// is made.
///
/// ```
/// use gica_pki::{der::asn1::Int, tsp::TstSerial};
/// assert!(TstSerial::new(Int::new(&[0x01, 0x02]).unwrap()).is_ok());
/// assert!(TstSerial::new(Int::new(&[0x00]).unwrap()).is_err());
/// assert!(TstSerial::new(Int::new(&[0xff]).unwrap()).is_err()); // -1
/// assert!(TstSerial::new(Int::new(&[0x7f; 21]).unwrap()).is_err());
/// let s = TstSerial::random().unwrap();
/// assert_eq!(s.as_int().as_bytes().len(), 20);
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TstSerial(Int);

impl TstSerial {
    /// Checks `serial` is positive and at most 160 bits.
    pub fn new(serial: Int) -> Result<Self> {
        let bytes = serial.as_bytes();
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let magnitude = cert::magnitude(bytes);
        if negative || magnitude.is_empty() {
            return Err(Error::Config {
                what: "TSTInfo serialNumber",
                reason: "must be positive",
            });
        }
        if magnitude.len() > 20 {
            return Err(Error::Config {
                what: "TSTInfo serialNumber",
                reason: "must be at most 160 bits",
            });
        }
        Ok(Self(serial))
    }

    /// A random serial: positive, exactly 159 bits, so independent instances do not collide.
    pub fn random() -> Result<Self> {
        let mut b = [0u8; 20];
        crate::signer::random(&mut b)?;
        b[0] = (b[0] & 0x3f) | 0x40;
        Ok(Self(Int::new(&b)?))
    }

    /// The INTEGER.
    pub fn as_int(&self) -> &Int {
        &self.0
    }

    /// The INTEGER, owned.
    pub fn into_int(self) -> Int {
        self.0
    }
}

/// The outcome of [`Authority::respond`]: the response DER and what to log.
#[derive(Clone, Debug)]
pub struct Issued {
    /// DER of the TimeStampResp.
    pub der: Vec<u8>,
    /// `Ok` with the token's serial and genTime, or the rejection sent.
    pub outcome: std::result::Result<(Int, GenTime), Rejection>,
    /// The imprint's hash algorithm, when the request got that far.
    pub digest: Option<DigestAlgorithm>,
}

/// A time-stamp authority: one TSA certificate and its signer.
///
/// ```
/// # use gica_pki::tsp::*;
/// # use gica_pki::*;
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki/");
/// # let cert = &cert::load_pem_certs(&std::fs::read_to_string(format!("{dir}tsa-p256.pem")).unwrap()).unwrap()[0];
/// # let key = std::fs::read_to_string(format!("{dir}tsa-p256.key")).unwrap();
/// let signer = SoftwareSigner::from_pem(&key, SignerOptions::default())?;
/// let policy = "1.3.6.1.4.1.99999.1.1".parse().unwrap();
/// let tsa = Authority::new(cert.clone(), std::sync::Arc::new(signer), AuthorityConfig::new(policy))?;
/// let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256).data(b"hello").with_nonce().build()?;
/// let issued = tsa.respond(&der::Encode::to_der(&req)?, std::time::SystemTime::now(), random_serial()?);
/// assert!(issued.outcome.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Authority {
    config: AuthorityConfig,
    cms: CmsSigner,
    tsa_name: Option<GeneralName>,
    tolerance: u128,
    not_before: SystemTime,
    not_after: SystemTime,
    last_gen_time: Mutex<u128>,
}

impl Authority {
    /// The key that signs tokens.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        self.cms.signer()
    }

    /// Checks the certificate (critical timeStamping-only EKU, key matches `signer`) and the
    /// configuration, and precomputes what every token shares.
    pub fn new(
        cert: Certificate,
        signer: Arc<dyn Signer>,
        config: AuthorityConfig,
    ) -> Result<Self> {
        cert::check_time_stamping_eku(&cert)?;
        let (not_before, not_after) = cert::validity(&cert);
        let tsa_name = config
            .include_tsa_name
            .then(|| GeneralName::DirectoryName(cert.tbs_certificate().subject().clone()));
        let cms = CmsSigner::new(cert, &config.chain, signer)?;
        if config.fraction_digits > 9 {
            return Err(Error::Config {
                what: "fraction_digits",
                reason: "must be 0..=9",
            });
        }
        if let Some(a) = config.accuracy {
            if !a.is_valid() || a.to_micros() == 0 {
                return Err(Error::Config {
                    what: "accuracy",
                    reason: "millis and micros must be 1..=999, and not all absent",
                });
            }
            // genTime is truncated to its digits, so the true time may be up to one unit
            // later: an accuracy finer than that unit would be a false claim.
            let unit_ns = 10u64.pow(9 - u32::from(config.fraction_digits));
            if a.to_micros().saturating_mul(1000) < unit_ns {
                return Err(Error::Config {
                    what: "accuracy",
                    reason: "finer than genTime's resolution with these fraction digits",
                });
            }
        }
        let tolerance = u128::from(config.accuracy.map_or(0, |a| a.to_micros())) * 1000;
        Ok(Self {
            config,
            cms,
            tsa_name,
            tolerance,
            not_before,
            not_after,
            last_gen_time: Mutex::new(0),
        })
    }

    /// The TSA certificate.
    pub fn certificate(&self) -> &Certificate {
        self.cms.certificate()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// Time left until the TSA certificate expires, or `None` if it has (or is not yet valid).
    pub fn certificate_time_left(&self, now: SystemTime) -> Option<Duration> {
        if now < self.not_before {
            return None;
        }
        self.not_after.duration_since(now).ok()
    }

    /// Parses and checks a request (RFC 3161 2.4.1) without stamping it.
    pub fn check(&self, request_der: &[u8]) -> std::result::Result<CheckedRequest, Rejection> {
        use FailureInfo::*;
        let request = TimeStampReq::from_der(request_der)
            .map_err(|e| Rejection::new(BadDataFormat, format!("not a DER TimeStampReq: {e}")))?;
        if request.version != 1 {
            return Err(Rejection::new(
                BadRequest,
                format!("version {} is not v1", request.version),
            ));
        }
        let alg = &request.message_imprint.hash_algorithm;
        let digest = DigestAlgorithm::from_algorithm_identifier(alg)
            .filter(|d| *d != DigestAlgorithm::Sha1 && self.config.accepted_digests.contains(d))
            .ok_or_else(|| {
                Rejection::new(
                    BadAlg,
                    format!("hash algorithm {} is not accepted", alg.oid),
                )
            })?;
        let got = request.message_imprint.hashed_message.as_bytes().len();
        if got != digest.output_len() {
            return Err(Rejection::new(
                BadDataFormat,
                format!(
                    "{digest} imprint must be {} octets, got {got}",
                    digest.output_len()
                ),
            ));
        }
        let policy = match request.req_policy {
            None => self.config.default_policy,
            Some(p)
                if p == self.config.default_policy
                    || self.config.accepted_policies.contains(&p) =>
            {
                p
            }
            Some(p) => {
                return Err(Rejection::new(
                    UnacceptedPolicy,
                    format!("policy {p} is not accepted"),
                ));
            }
        };
        if let Some(ext) = request.extensions.as_ref().and_then(|e| e.first()) {
            return Err(Rejection::new(
                UnacceptedExtension,
                format!("extension {} is not supported", ext.extn_id),
            ));
        }
        Ok(CheckedRequest {
            request,
            digest,
            policy,
        })
    }

    /// Answers one request: a granted response with a token, or a rejection. Never fails: every
    /// refusal is a TimeStampResp with PKIStatusInfo.
    ///
    /// `now` is one clock read; it becomes both genTime and signingTime. If `now` is earlier than
    /// the last genTime this authority issued by more than the accuracy, the clock has stepped
    /// back and the request is refused with timeNotAvailable. [`TstSerial::random`] makes a
    /// serial.
    pub fn respond(&self, request_der: &[u8], now: SystemTime, serial: TstSerial) -> Issued {
        self.respond_with_clock(request_der, &|| now, serial)
    }

    /// As [`Authority::respond`], reading the time from `clock` while holding the lock that
    /// orders genTimes, so concurrent requests cannot see each other's times out of order.
    /// Servers use this; the core still reads no clock of its own.
    pub fn respond_with_clock(
        &self,
        request_der: &[u8],
        clock: &dyn Fn() -> SystemTime,
        serial: TstSerial,
    ) -> Issued {
        let checked = match self.check(request_der) {
            Ok(c) => c,
            Err(r) => {
                return Issued {
                    der: rejection_der(&r),
                    outcome: Err(r),
                    digest: None,
                };
            }
        };
        let digest = Some(checked.digest);
        match self.issue_with_clock(&checked, clock, serial) {
            Ok((der, serial, gen_time)) => Issued {
                der,
                outcome: Ok((serial, gen_time)),
                digest,
            },
            Err(r) => Issued {
                der: rejection_der(&r),
                outcome: Err(r),
                digest,
            },
        }
    }

    /// Stamps a checked request at `now`.
    pub fn issue(
        &self,
        checked: &CheckedRequest,
        now: SystemTime,
        serial: TstSerial,
    ) -> std::result::Result<(Vec<u8>, Int, GenTime), Rejection> {
        self.issue_with_clock(checked, &|| now, serial)
    }

    fn issue_with_clock(
        &self,
        checked: &CheckedRequest,
        clock: &dyn Fn() -> SystemTime,
        serial: TstSerial,
    ) -> std::result::Result<(Vec<u8>, Int, GenTime), Rejection> {
        let serial = serial.into_int();
        let gen_time = self.gen_time(clock)?;
        let tst = TstInfo {
            version: 1,
            policy: checked.policy,
            message_imprint: MessageImprint::clone(&checked.request.message_imprint),
            serial_number: serial.clone(),
            gen_time,
            accuracy: self.config.accuracy,
            ordering: self.config.ordering,
            nonce: checked.request.nonce.clone(),
            tsa: self.tsa_name.clone(),
            extensions: None,
        };
        let der = self
            .sign_token(&tst, gen_time, checked.request.cert_req)
            .map_err(|e| {
                Rejection::new(FailureInfo::SystemFailure, format!("signing failed: {e}"))
            })?;
        Ok((der, serial, gen_time))
    }

    fn gen_time(&self, clock: &dyn Fn() -> SystemTime) -> std::result::Result<GenTime, Rejection> {
        let unavailable = |why: &str| Rejection::new(FailureInfo::TimeNotAvailable, why);
        let digits = self.config.fraction_digits;
        let unit = 10u128.pow(9 - u32::from(digits));
        let mut last = self.last_gen_time.lock().unwrap_or_else(|p| p.into_inner());
        let now = clock();
        if now < self.not_before || now > self.not_after {
            return Err(unavailable(
                "the TSA certificate is not valid at the current time",
            ));
        }
        let t = GenTime::from_system_time(now, digits)
            .map_err(|_| unavailable("clock out of range"))?;
        let read = t.unix_nanos();
        if read + self.tolerance < *last {
            return Err(unavailable(
                "the clock reads earlier than a time already issued",
            ));
        }
        let nanos = if self.config.ordering && read <= *last {
            *last + unit
        } else {
            read
        };
        // genTime + accuracy must stay an upper bound of the true time (RFC 3161 2.4.2).
        if nanos > read + self.tolerance {
            return Err(unavailable(
                "ordering would push genTime beyond the stated accuracy",
            ));
        }
        *last = (*last).max(nanos);
        drop(last);
        let secs =
            u64::try_from(nanos / 1_000_000_000).map_err(|_| unavailable("clock out of range"))?;
        GenTime::from_unix(secs, (nanos % 1_000_000_000) as u32)
            .map_err(|_| unavailable("clock out of range"))
    }

    fn sign_token(&self, tst: &TstInfo, gen_time: GenTime, cert_req: bool) -> Result<Vec<u8>> {
        let signing_time = signed_data::signing_time(gen_time.unix_secs())?;
        let signed_data = self
            .cms
            .sign(oid::CT_TST_INFO, tst.to_der()?, signing_time, cert_req)?;
        let resp = TimeStampResp {
            status: PkiStatusInfo::granted(),
            time_stamp_token: Some(ContentInfo {
                content_type: oid::SIGNED_DATA,
                content: Any::encode_from(&signed_data)?,
            }),
        };
        Ok(resp.to_der()?)
    }
}

/// DER of a rejection response. Encoding a status cannot fail in practice; should it, the
/// fixed systemFailure response is sent so the client still gets a protocol answer.
pub fn rejection_der(r: &Rejection) -> Vec<u8> {
    let resp = TimeStampResp {
        status: PkiStatusInfo::rejection(r.fail_info, r.reason.clone()),
        time_stamp_token: None,
    };
    resp.to_der().unwrap_or_else(|_| SYSTEM_FAILURE.to_vec())
}

/// `TimeStampResp { status { rejection, failInfo systemFailure } }`.
const SYSTEM_FAILURE: [u8; 14] = [
    0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40,
];

/// A random serial number: positive, exactly 159 bits, so independent instances do not collide
/// (the same as [`TstSerial::random`]).
pub fn random_serial() -> Result<TstSerial> {
    TstSerial::random()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsp::PkiStatus;

    #[test]
    fn system_failure_constant_decodes() {
        let r = TimeStampResp::from_der(&SYSTEM_FAILURE).expect("decodes");
        assert_eq!(r.status.status, PkiStatus::Rejection);
        assert!(
            r.status
                .fail_info
                .expect("failInfo")
                .contains(FailureInfo::SystemFailure)
        );
    }

    #[test]
    fn serials_are_positive_159_bits() {
        for _ in 0..100 {
            let s = random_serial().expect("rng").into_int();
            assert_eq!(s.as_bytes().len(), 20);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
        }
    }
}
