//! The registry's identifiers: [`Imei`], [`Imsi`], [`Msisdn`], [`NationalId`],
//! [`TrackingCode`], and the calendar [`Date`] of a sighting.
//!
//! Every type parses through one `parse` (also `FromStr` and serde), which trims ASCII
//! whitespace and accepts nothing else: no dashes, no spaces inside. Each holds its normalised
//! form inline (no heap), is `Copy`, and orders the way its normalised text does.
//!
//! # Logging personal data
//! [`NationalId`], [`Imsi`] and [`Msisdn`] identify a person. Their `Display` prints the whole
//! value (receipts need it); their `Debug` prints only [`mask`](Msisdn::mask)ed digits, so
//! `{:?}` in a log line cannot leak one. Logs must use `Debug` or `mask()`, never `Display`.
//! [`DomainError`] messages never quote these values either.
//!
//! ```
//! use gica_registry::domain::{Imei, Msisdn};
//! let imei: Imei = " 490154203237518 ".parse()?;
//! assert_eq!(imei.as_str(), "49015420323751");
//! assert_eq!(imei.to_15(), "490154203237518");
//! let msisdn = Msisdn::parse("09121234567")?;
//! assert_eq!(msisdn.to_string(), "989121234567");
//! assert_eq!(format!("{msisdn:?}"), "Msisdn(98912*****67)");
//! # Ok::<(), gica_registry::domain::DomainError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// Which kind of value a [`DomainError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// [`Imei`].
    Imei,
    /// [`Imsi`].
    Imsi,
    /// [`Msisdn`].
    Msisdn,
    /// [`NationalId`].
    NationalId,
    /// [`TrackingCode`].
    TrackingCode,
    /// [`Date`].
    Date,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Imei => "IMEI",
            Field::Imsi => "IMSI",
            Field::Msisdn => "MSISDN",
            Field::NationalId => "national ID",
            Field::TrackingCode => "tracking code",
            Field::Date => "date",
        })
    }
}

/// Why a value was refused. Messages name the field and what is wrong, and quote no personal
/// data (only an IMEI, which identifies a device, not a person).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// Nothing but whitespace.
    #[error("{field}: empty")]
    Empty {
        /// The kind of value.
        field: Field,
    },
    /// A character that is not an ASCII digit where a digit must be.
    #[error("{field}: {found:?} at position {position} is not a digit")]
    NotDigit {
        /// The kind of value.
        field: Field,
        /// 1-based character position in the trimmed input.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// All digits, but not a length this kind of value has.
    #[error("{field}: {len} digits, expected {expected}")]
    WrongLength {
        /// The kind of value.
        field: Field,
        /// The number of digits found.
        len: usize,
        /// The lengths accepted, in words.
        expected: &'static str,
    },
    /// A 15-digit IMEI whose last digit is not the Luhn check digit of the first 14.
    #[error("IMEI {body}: check digit is {found}, expected {expected}")]
    ImeiCheckDigit {
        /// The 14-digit body as given.
        body: Imei,
        /// The check digit given.
        found: u8,
        /// The check digit the body has.
        expected: u8,
    },
    /// A national ID whose last digit is not the check digit of the first nine.
    #[error("national ID: check digit is {found}, expected {expected}")]
    NationalIdCheckDigit {
        /// The check digit given.
        found: u8,
        /// The check digit the first nine digits have.
        expected: u8,
    },
    /// A national ID of ten equal digits: the arithmetic passes but none is issued.
    #[error("national ID: ten times the digit {digit} is not an issued code")]
    NationalIdRepeated {
        /// The repeated digit.
        digit: u8,
    },
    /// A tracking code whose Damm check fails: mistyped.
    #[error("tracking code: check digit is {found}, expected {expected}")]
    TrackingCheckDigit {
        /// The check digit given.
        found: u8,
        /// The check digit the first nine digits have.
        expected: u8,
    },
    /// [`TrackingCode::from_number`] with a number of more than nine digits.
    #[error("tracking code: number {number} is over 999999999")]
    TrackingNumberRange {
        /// The number given.
        number: u64,
    },
    /// An Iranian number (after `98` or `0`) that does not start with 9: not a mobile number.
    #[error("MSISDN: an Iranian mobile number starts with 9 after 98 or 0, found {found}")]
    MsisdnNotMobile {
        /// The first digit of the national number.
        found: char,
    },
    /// `+0...` or `000...`: no country code starts with 0.
    #[error("MSISDN: a country code cannot start with 0")]
    MsisdnCountryCode,
    /// A date not written `YYYY-MM-DD`.
    #[error("date: expected YYYY-MM-DD")]
    DateFormat,
    /// A date in the right format that is not a day of the calendar (`2023-02-30`, year 0).
    #[error("date: {year:04}-{month:02}-{day:02} is not a day")]
    DateInvalid {
        /// Year as written.
        year: u16,
        /// Month as written.
        month: u8,
        /// Day as written.
        day: u8,
    },
}

/// Trims ASCII whitespace and refuses an empty result.
fn trimmed(field: Field, s: &str) -> Result<&str, DomainError> {
    let t = s.trim_ascii();
    if t.is_empty() {
        return Err(DomainError::Empty { field });
    }
    Ok(t)
}

/// `s` as ASCII digits, or the first character that is not one (position counted from
/// `offset`, the length of a prefix already stripped).
fn digits(field: Field, s: &str, offset: usize) -> Result<&[u8], DomainError> {
    let b = s.as_bytes();
    match b.iter().position(|c| !c.is_ascii_digit()) {
        None => Ok(b),
        Some(i) => Err(DomainError::NotDigit {
            field,
            position: offset + i + 1,
            // Everything before `i` is ASCII, so `i` is a char boundary.
            found: s
                .get(i..)
                .and_then(|r| r.chars().next())
                .unwrap_or('\u{fffd}'),
        }),
    }
}

/// The text of digits a type keeps; always ASCII by construction.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Copies a slice the caller has checked to be `N` long.
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[..N]);
    out
}

/// Writes `head` leading and `tail` trailing characters of `s`, stars between.
fn write_masked(f: &mut impl fmt::Write, s: &str, head: usize, tail: usize) -> fmt::Result {
    let n = s.len();
    let head = head.min(n);
    let tail = tail.min(n - head);
    f.write_str(&s[..head])?;
    for _ in head..n - tail {
        f.write_char('*')?;
    }
    f.write_str(&s[n - tail..])
}

fn masked(s: &str, head: usize, tail: usize) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing to a String cannot fail.
    let _ = write_masked(&mut out, s, head, tail);
    out
}

/// Serde as the normalised string, deserialised through `parse`.
macro_rules! string_serde {
    ($t:ident, $expecting:literal) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$t, E> {
                        $t::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }

        impl FromStr for $t {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, DomainError> {
                $t::parse(s)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------

/// A device identity (3GPP TS 23.003 IMEI), kept as its 14-digit body: TAC (8) + serial (6).
///
/// Accepts 14 digits (the body), 15 (body + Luhn check digit, verified) or 16 (IMEISV: body +
/// 2-digit software version, which is dropped). The same device reported with or without check
/// digit or software version is one `Imei`.
///
/// ```
/// use gica_registry::domain::{DomainError, Imei};
/// let a = Imei::parse("490154203237518")?;
/// assert_eq!(a, Imei::parse("49015420323751")?);
/// assert_eq!(a, Imei::parse("4901542032375101")?); // IMEISV
/// assert_eq!((a.tac(), a.serial(), a.check_digit()), ("49015420", "323751", 8));
/// assert_eq!(
///     Imei::parse("490154203237517").unwrap_err().to_string(),
///     "IMEI 49015420323751: check digit is 7, expected 8"
/// );
/// # Ok::<(), DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Imei([u8; 14]);

impl Imei {
    /// Parses 14, 15 (Luhn-checked) or 16 (IMEISV) digits.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = trimmed(Field::Imei, s)?;
        let d = digits(Field::Imei, t, 0)?;
        let body = match d.len() {
            14..=16 => Imei(array(d)),
            len => {
                return Err(DomainError::WrongLength {
                    field: Field::Imei,
                    len,
                    expected: "14, 15 (with check digit) or 16 (IMEISV)",
                });
            }
        };
        if d.len() == 15 {
            let (found, expected) = (d[14] - b'0', body.check_digit());
            if found != expected {
                return Err(DomainError::ImeiCheckDigit {
                    body,
                    found,
                    expected,
                });
            }
        }
        Ok(body)
    }

    /// The 14-digit body.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// Type Allocation Code: the first 8 digits (maker and model).
    pub fn tac(&self) -> &str {
        ascii(&self.0[..8])
    }

    /// Serial number: digits 9 to 14.
    pub fn serial(&self) -> &str {
        ascii(&self.0[8..])
    }

    /// The Luhn check digit of the body (computed; never stored).
    pub fn check_digit(&self) -> u8 {
        // Doubled: every second digit counted from the right of the body, the rightmost first.
        let sum: u32 = self
            .0
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = u32::from(c - b'0');
                if i % 2 == 1 {
                    let d = v * 2;
                    d / 10 + d % 10
                } else {
                    v
                }
            })
            .sum();
        ((10 - sum % 10) % 10) as u8
    }

    /// The 15-digit form: body and check digit.
    pub fn to_15(&self) -> String {
        let mut s = String::with_capacity(15);
        s.push_str(self.as_str());
        s.push(char::from(b'0' + self.check_digit()));
        s
    }
}

impl fmt::Display for Imei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Imei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Imei({})", self.as_str())
    }
}

string_serde!(Imei, "an IMEI of 14, 15 or 16 digits");

// ---------------------------------------------------------------------------------------------

/// A SIM identity (3GPP TS 23.003 IMSI): exactly 15 digits, MCC + MNC + MSIN.
///
/// The IMSI does not say how long its MNC is; [`Imsi::mnc`] uses this rule: 3 digits for the
/// North American MCCs 310 to 316, 2 for every other MCC (Iran's 432 included). The whole
/// IMSI is what the registry stores and compares, so the rule only affects display.
///
/// `Debug` and [`Imsi::mask`] hide the MSIN but its last 2 digits; `Display` prints all 15.
///
/// ```
/// use gica_registry::domain::Imsi;
/// let imsi = Imsi::parse("432111234567890")?;
/// assert_eq!((imsi.mcc(), imsi.mnc(), imsi.msin()), ("432", "11", "1234567890"));
/// assert_eq!(imsi.mask(), "43211********90");
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Imsi([u8; 15]);

impl Imsi {
    /// Parses exactly 15 digits.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = trimmed(Field::Imsi, s)?;
        let d = digits(Field::Imsi, t, 0)?;
        if d.len() != 15 {
            return Err(DomainError::WrongLength {
                field: Field::Imsi,
                len: d.len(),
                expected: "15",
            });
        }
        Ok(Imsi(array(d)))
    }

    /// All 15 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// Mobile Country Code: the first 3 digits.
    pub fn mcc(&self) -> &str {
        ascii(&self.0[..3])
    }

    fn mnc_len(&self) -> usize {
        match &self.0[..3] {
            b"310" | b"311" | b"312" | b"313" | b"314" | b"315" | b"316" => 3,
            _ => 2,
        }
    }

    /// Mobile Network Code: 2 digits, or 3 for MCC 310 to 316 (see the type's doc).
    pub fn mnc(&self) -> &str {
        ascii(&self.0[3..3 + self.mnc_len()])
    }

    /// The subscriber number within the network: what follows the MNC.
    pub fn msin(&self) -> &str {
        ascii(&self.0[3 + self.mnc_len()..])
    }

    /// For logs: MCC and MNC, stars, the last 2 digits (`43211********90`).
    pub fn mask(&self) -> String {
        masked(self.as_str(), 3 + self.mnc_len(), 2)
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Imsi(")?;
        write_masked(f, self.as_str(), 3 + self.mnc_len(), 2)?;
        f.write_str(")")
    }
}

string_serde!(Imsi, "an IMSI of 15 digits");

// ---------------------------------------------------------------------------------------------

/// A subscriber's phone number (E.164), Iranian mobile numbers first.
///
/// Iranian mobile numbers are normalised to `98` + 10 digits starting with 9
/// (`989121234567`) from any of `989121234567`, `+989121234567`, `00989121234567`,
/// `09121234567` or `9121234567`. An Iranian number that does not start with 9 after `98`/`0`
/// is refused (fixed lines have no SIM to register).
///
/// Other countries' numbers are accepted only written internationally, `+` or `00` followed
/// by 8 to 15 digits (country code first, not 0), and are normalised to `+` and the digits
/// (`+447700900123`): bare digits would be ambiguous with Iran's own short forms
/// (`912123456`, a mistyped Iranian number, is also India's 91 + 7 digits).
///
/// `Debug` and [`Msisdn::mask`] keep the first 5 characters of an Iranian number (`98` and
/// the operator prefix; 3 for others) and the last 2; `Display` prints it all.
///
/// ```
/// use gica_registry::domain::Msisdn;
/// for form in ["989121234567", "+989121234567", "00989121234567", "09121234567", "9121234567"] {
///     assert_eq!(Msisdn::parse(form)?.as_str(), "989121234567");
/// }
/// assert_eq!(Msisdn::parse("0044 7700900123").is_err(), true);
/// assert_eq!(Msisdn::parse("00447700900123")?.as_str(), "+447700900123");
/// assert_eq!(Msisdn::parse("989121234567")?.mask(), "98912*****67");
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Msisdn {
    /// `98` + 10 digits, or `+` + 8 to 15 digits; zero-filled after `len`.
    text: [u8; 16],
    len: u8,
}

const IRAN_LENGTHS: &str = "10 (9121234567), 11 (09121234567) or 12 (989121234567); \
                            other countries' numbers start with + or 00";

impl Msisdn {
    /// Parses the forms listed in the type's doc.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let f = Field::Msisdn;
        let t = trimmed(f, s)?;
        let (international, rest, offset) = if let Some(r) = t.strip_prefix('+') {
            (true, r, 1)
        } else if let Some(r) = t.strip_prefix("00") {
            (true, r, 2)
        } else {
            (false, t, 0)
        };
        let d = digits(f, rest, offset)?;
        if international {
            return match d {
                [] => Err(DomainError::WrongLength {
                    field: f,
                    len: 0,
                    expected: "8 to 15 after + or 00",
                }),
                [b'0', ..] => Err(DomainError::MsisdnCountryCode),
                [b'9', b'8', national @ ..] => Self::iranian(national),
                _ if (8..=15).contains(&d.len()) => {
                    let mut text = [0u8; 16];
                    text[0] = b'+';
                    text[1..=d.len()].copy_from_slice(d);
                    Ok(Msisdn {
                        text,
                        len: (d.len() + 1) as u8,
                    })
                }
                _ => Err(DomainError::WrongLength {
                    field: f,
                    len: d.len(),
                    expected: "8 to 15 after + or 00",
                }),
            };
        }
        match d {
            [b'9', b'8', national @ ..] if d.len() == 12 => Self::iranian(national),
            [b'0', national @ ..] if d.len() == 11 => Self::iranian(national),
            _ if d.len() == 10 => Self::iranian(d),
            _ => Err(DomainError::WrongLength {
                field: f,
                len: d.len(),
                expected: IRAN_LENGTHS,
            }),
        }
    }

    /// An Iranian national significant number: 10 digits starting with 9.
    fn iranian(national: &[u8]) -> Result<Self, DomainError> {
        if national.len() != 10 {
            return Err(DomainError::WrongLength {
                field: Field::Msisdn,
                len: national.len(),
                expected: "10 after 98",
            });
        }
        if national[0] != b'9' {
            return Err(DomainError::MsisdnNotMobile {
                found: char::from(national[0]),
            });
        }
        let mut text = [0u8; 16];
        text[..2].copy_from_slice(b"98");
        text[2..12].copy_from_slice(national);
        Ok(Msisdn { text, len: 12 })
    }

    /// The normalised form: `989121234567`, or `+447700900123` for another country.
    pub fn as_str(&self) -> &str {
        ascii(&self.text[..usize::from(self.len)])
    }

    /// Whether this is an Iranian (country code 98) number.
    pub fn is_iranian(&self) -> bool {
        self.text[0] != b'+'
    }

    fn mask_head(&self) -> usize {
        if self.is_iranian() { 5 } else { 3 }
    }

    /// For logs: `98912*****67` (`+44*******23` for other countries).
    pub fn mask(&self) -> String {
        masked(self.as_str(), self.mask_head(), 2)
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Msisdn(")?;
        write_masked(f, self.as_str(), self.mask_head(), 2)?;
        f.write_str(")")
    }
}

string_serde!(Msisdn, "a phone number (E.164 or an Iranian mobile number)");

// ---------------------------------------------------------------------------------------------

/// An Iranian national code (کد ملی): 10 digits, the last a check digit.
///
/// With `d[0..9]` the first nine digits, `s = Σ d[i]·(10−i)`, `r = s mod 11`, the check digit
/// is `r` if `r < 2`, else `11 − r`. Codes of ten equal digits pass that arithmetic but are
/// not issued, and are refused. Exactly 10 digits: a shorter code is not zero-padded, since
/// a missing digit is likelier a typo than a dropped leading zero.
///
/// The rule maps both `r = 1` and `r = 10` to check digit 1, so a single-digit error that moves
/// `r` between those two goes unnoticed: the check catches most typos, not all.
///
/// `Debug` and [`NationalId::mask`] show `001*****89`; `Display` prints all 10 digits.
///
/// ```
/// use gica_registry::domain::NationalId;
/// let id = NationalId::parse("0010350829")?;
/// assert_eq!(id.mask(), "001*****29");
/// assert!(NationalId::parse("0010350828").is_err());
/// assert!(NationalId::parse("1111111111").is_err());
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NationalId([u8; 10]);

impl NationalId {
    /// Parses 10 digits and checks the check digit.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = trimmed(Field::NationalId, s)?;
        let d = digits(Field::NationalId, t, 0)?;
        if d.len() != 10 {
            return Err(DomainError::WrongLength {
                field: Field::NationalId,
                len: d.len(),
                expected: "10",
            });
        }
        if d.iter().all(|&c| c == d[0]) {
            return Err(DomainError::NationalIdRepeated { digit: d[0] - b'0' });
        }
        let expected = Self::check_digit_of(&d[..9]);
        let found = d[9] - b'0';
        if found != expected {
            return Err(DomainError::NationalIdCheckDigit { found, expected });
        }
        Ok(NationalId(array(d)))
    }

    /// The check digit of nine ASCII digits.
    fn check_digit_of(body: &[u8]) -> u8 {
        let s: u32 = body
            .iter()
            .zip((2..=10u32).rev())
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        let r = (s % 11) as u8;
        if r < 2 { r } else { 11 - r }
    }

    /// All 10 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    /// For logs: the first 3 digits (the issuing office), stars, the last 2.
    pub fn mask(&self) -> String {
        masked(self.as_str(), 3, 2)
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NationalId(")?;
        write_masked(f, self.as_str(), 3, 2)?;
        f.write_str(")")
    }
}

string_serde!(NationalId, "a national ID of 10 digits");

// ---------------------------------------------------------------------------------------------

/// Damm's quasigroup (weakly totally anti-symmetric, order 10): the interim digit after
/// `DAMM[interim][digit]`.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit of ASCII digits; appending it makes the whole come out 0.
fn damm(ascii_digits: &[u8]) -> u8 {
    ascii_digits.iter().fold(0u8, |interim, c| {
        DAMM[usize::from(interim)][usize::from((c - b'0') % 10)]
    })
}

/// The code an applicant is given to follow a request: 9 digits and a Damm check digit, which
/// catches every single-digit error and every swap of two adjacent digits (what a USSD keypad
/// produces).
///
/// ```
/// use gica_registry::domain::TrackingCode;
/// let code = TrackingCode::from_number(572)?;
/// assert_eq!(code.to_string(), "0000005724");
/// assert_eq!(TrackingCode::parse("0000005724")?, code);
/// assert!(TrackingCode::parse("0000007524").is_err()); // two digits swapped
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackingCode([u8; 10]);

impl TrackingCode {
    /// The largest number a code carries.
    pub const MAX_NUMBER: u64 = 999_999_999;

    /// The code for `number` (at most [`Self::MAX_NUMBER`]): 9 zero-padded digits and the
    /// check digit.
    pub fn from_number(number: u64) -> Result<Self, DomainError> {
        if number > Self::MAX_NUMBER {
            return Err(DomainError::TrackingNumberRange { number });
        }
        let mut d = [0u8; 10];
        let mut n = number;
        for slot in d[..9].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        d[9] = b'0' + damm(&d[..9]);
        Ok(TrackingCode(d))
    }

    /// Parses 10 digits and checks the Damm check digit.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = trimmed(Field::TrackingCode, s)?;
        let d = digits(Field::TrackingCode, t, 0)?;
        if d.len() != 10 {
            return Err(DomainError::WrongLength {
                field: Field::TrackingCode,
                len: d.len(),
                expected: "10",
            });
        }
        let expected = damm(&d[..9]);
        let found = d[9] - b'0';
        if found != expected {
            return Err(DomainError::TrackingCheckDigit { found, expected });
        }
        Ok(TrackingCode(array(d)))
    }

    /// The number the code carries (its first 9 digits).
    pub fn number(&self) -> u64 {
        self.0[..9]
            .iter()
            .fold(0, |n, c| n * 10 + u64::from(c - b'0'))
    }

    /// All 10 digits.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingCode({})", self.as_str())
    }
}

string_serde!(TrackingCode, "a tracking code of 10 digits");

// ---------------------------------------------------------------------------------------------

/// A calendar day (proleptic Gregorian, years 1 to 9999), written `YYYY-MM-DD`.
///
/// Kept as days since 1970-01-01, so it is 4 bytes, orders by time and subtracts to a number
/// of days. No date crate: this is all a sighting needs, and the conversions are Howard
/// Hinnant's `days_from_civil` / `civil_from_days`.
///
/// ```
/// use gica_registry::domain::Date;
/// let d = Date::parse("2024-02-29")?;
/// assert_eq!((d.year(), d.month(), d.day()), (2024, 2, 29));
/// assert_eq!(Date::from_ymd(1970, 1, 2)?.days_since_epoch(), 1);
/// assert!(Date::parse("2023-02-29").is_err());
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// 0001-01-01.
    pub const MIN: Date = Date(-719_162);
    /// 9999-12-31.
    pub const MAX: Date = Date(2_932_896);

    /// The day `year-month-day`, if it exists and `year` is 1 to 9999.
    pub fn from_ymd(year: u16, month: u8, day: u8) -> Result<Self, DomainError> {
        let invalid = DomainError::DateInvalid { year, month, day };
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return Err(invalid);
        }
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let month_len = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day > month_len {
            return Err(invalid);
        }
        let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        // Within ±3 million for years 1..=9999: fits i32.
        Ok(Date((era * 146_097 + doe - 719_468) as i32))
    }

    /// Parses exactly `YYYY-MM-DD` (ASCII whitespace around it trimmed).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = trimmed(Field::Date, s)?;
        let b = t.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = b.get(r)?;
            part.iter().try_fold(0u16, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
            })
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(DomainError::DateFormat);
        }
        match (num(0..4), num(5..7), num(8..10)) {
            (Some(y), Some(m), Some(d)) => Self::from_ymd(y, m as u8, d as u8),
            _ => Err(DomainError::DateFormat),
        }
    }

    /// The day `days` after 1970-01-01 (negative: before), if within years 1 to 9999.
    pub fn from_days_since_epoch(days: i32) -> Option<Self> {
        (Self::MIN.0..=Self::MAX.0)
            .contains(&days)
            .then_some(Date(days))
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i32 {
        self.0
    }

    fn civil(&self) -> (u16, u8, u8) {
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        // The constructors keep the year within 1..=9999.
        (y as u16, m as u8, d as u8)
    }

    /// The year, 1 to 9999.
    pub fn year(&self) -> u16 {
        self.civil().0
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.civil().1
    }

    /// The day of the month, 1 to 31.
    pub fn day(&self) -> u8 {
        self.civil().2
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

string_serde!(Date, "a date YYYY-MM-DD");
