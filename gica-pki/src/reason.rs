//! CRLReason (RFC 5280 5.3.1), shared by CRL entries and OCSP RevokedInfo.

use der::Enumerated;

/// ```text
/// CRLReason ::= ENUMERATED {
///      unspecified             (0),
///      keyCompromise           (1),
///      cACompromise            (2),
///      affiliationChanged      (3),
///      superseded              (4),
///      cessationOfOperation    (5),
///      certificateHold         (6),
///           -- value 7 is not used
///      removeFromCRL           (8),
///      privilegeWithdrawn      (9),
///      aACompromise           (10) }
/// ```
///
/// ```
/// use gica_pki::CrlReason;
/// assert_eq!(CrlReason::from_name("keyCompromise"), Some(CrlReason::KeyCompromise));
/// assert_eq!(CrlReason::KeyCompromise.name(), "keyCompromise");
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, Enumerated)]
#[repr(u8)]
pub enum CrlReason {
    /// unspecified.
    Unspecified = 0,
    /// keyCompromise.
    KeyCompromise = 1,
    /// cACompromise.
    CaCompromise = 2,
    /// affiliationChanged.
    AffiliationChanged = 3,
    /// superseded.
    Superseded = 4,
    /// cessationOfOperation.
    CessationOfOperation = 5,
    /// certificateHold.
    CertificateHold = 6,
    /// removeFromCRL (delta CRLs only).
    RemoveFromCrl = 8,
    /// privilegeWithdrawn.
    PrivilegeWithdrawn = 9,
    /// aACompromise.
    AaCompromise = 10,
}

impl CrlReason {
    /// Every reason.
    pub const ALL: [CrlReason; 10] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::RemoveFromCrl,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
    ];

    /// The name as RFC 5280 and openssl spell it (`keyCompromise`, `cACompromise`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        }
    }

    /// Parses a name, ignoring case (`keycompromise`, `CACompromise`, `remove-from-crl`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.replace(['-', '_'], "");
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(&n))
    }

    /// The enumerated value.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason for an enumerated value.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u8 == code)
    }
}

impl std::fmt::Display for CrlReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
