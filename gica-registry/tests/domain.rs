//! The registry's identifiers: real-world examples, every refusal with its message, masking,
//! serde, and proptests of the check-digit schemes.

use gica_registry::domain::{
    Date, DomainError, Field, Imei, Imsi, Msisdn, NationalId, TrackingCode,
};
use proptest::prelude::*;

// --- IMEI ------------------------------------------------------------------------------------

#[test]
fn imei_known_example_in_all_three_lengths() {
    let full = Imei::parse("490154203237518").expect("valid Luhn example");
    let body = Imei::parse("49015420323751").expect("body");
    let sv = Imei::parse("4901542032375101").expect("IMEISV");
    assert_eq!(full, body);
    assert_eq!(full, sv);
    assert_eq!(full.as_str(), "49015420323751");
    assert_eq!(full.to_string(), "49015420323751");
    assert_eq!(full.to_15(), "490154203237518");
    assert_eq!(full.tac(), "49015420");
    assert_eq!(full.serial(), "323751");
    assert_eq!(full.check_digit(), 8);
    assert_eq!(format!("{full:?}"), "Imei(49015420323751)");
}

#[test]
fn imei_other_real_world_check_digits() {
    // 35209900176148 is the IMEI of 3GPP TS 23.003's examples; 1 is its Luhn digit.
    assert_eq!(
        Imei::parse("352099001761481").expect("valid").check_digit(),
        1
    );
    assert_eq!(
        Imei::parse("352099001761487")
            .expect_err("refused")
            .to_string(),
        "IMEI 35209900176148: check digit is 7, expected 1"
    );
    // An all-zero body has check digit 0; a body whose digit sum needs no padding too.
    assert_eq!(
        Imei::parse("00000000000000").expect("body").to_15(),
        "000000000000000"
    );
}

#[test]
fn imei_wrong_check_digit_says_which_was_expected() {
    let e = Imei::parse("490154203237517").expect_err("refused");
    assert_eq!(
        e,
        DomainError::ImeiCheckDigit {
            body: Imei::parse("49015420323751").expect("body"),
            found: 7,
            expected: 8,
        }
    );
    assert_eq!(
        e.to_string(),
        "IMEI 49015420323751: check digit is 7, expected 8"
    );
}

#[test]
fn imei_refusals() {
    for (input, len) in [("4901542032375", 13), ("49015420323751812", 17), ("1", 1)] {
        assert_eq!(
            Imei::parse(input),
            Err(DomainError::WrongLength {
                field: Field::Imei,
                len,
                expected: "14, 15 (with check digit) or 16 (IMEISV)",
            }),
            "{input}"
        );
    }
    assert_eq!(
        Imei::parse("4901-5420323751"),
        Err(DomainError::NotDigit {
            field: Field::Imei,
            position: 5,
            found: '-'
        })
    );
    assert_eq!(
        Imei::parse("4901-5420323751")
            .expect_err("refused")
            .to_string(),
        "IMEI: '-' at position 5 is not a digit"
    );
    assert_eq!(
        Imei::parse("49015420 323751"),
        Err(DomainError::NotDigit {
            field: Field::Imei,
            position: 9,
            found: ' '
        })
    );
    // Persian digits are not ASCII digits: the front end converts them.
    assert_eq!(
        Imei::parse("۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸"),
        Err(DomainError::NotDigit {
            field: Field::Imei,
            position: 1,
            found: '۴'
        })
    );
    assert_eq!(
        Imei::parse(" \t\r\n"),
        Err(DomainError::Empty { field: Field::Imei })
    );
    assert_eq!(
        Imei::parse(""),
        Err(DomainError::Empty { field: Field::Imei })
    );
    // Whitespace around is trimmed; a sign or a leading '+' is not a digit.
    assert!(Imei::parse("\t490154203237518\r\n").is_ok());
    assert!(Imei::parse("+49015420323751").is_err());
}

// --- IMSI ------------------------------------------------------------------------------------

#[test]
fn imsi_parts_and_mask() {
    let i = Imsi::parse("432111234567890").expect("Iran, MCI");
    assert_eq!((i.mcc(), i.mnc(), i.msin()), ("432", "11", "1234567890"));
    assert_eq!(i.to_string(), "432111234567890");
    assert_eq!(i.mask(), "43211********90");
    assert_eq!(format!("{i:?}"), "Imsi(43211********90)");
    let us = Imsi::parse("310150123456789").expect("US");
    assert_eq!((us.mcc(), us.mnc(), us.msin()), ("310", "150", "123456789"));
    assert_eq!(us.mask(), "310150*******89");
    let uk = Imsi::parse("234150123456789").expect("UK");
    assert_eq!(uk.mnc(), "15");
}

#[test]
fn imsi_refusals() {
    for (input, len) in [("43211123456789", 14), ("4321112345678901", 16)] {
        assert_eq!(
            Imsi::parse(input),
            Err(DomainError::WrongLength {
                field: Field::Imsi,
                len,
                expected: "15"
            })
        );
    }
    assert_eq!(
        Imsi::parse("43211123456789x"),
        Err(DomainError::NotDigit {
            field: Field::Imsi,
            position: 15,
            found: 'x'
        })
    );
}

// --- MSISDN ----------------------------------------------------------------------------------

#[test]
fn msisdn_iranian_forms_normalise_to_98() {
    for form in [
        "989121234567",
        "+989121234567",
        "00989121234567",
        "09121234567",
        "9121234567",
        " 09121234567\r\n",
    ] {
        let m = Msisdn::parse(form).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(m.as_str(), "989121234567", "{form}");
        assert!(m.is_iranian());
    }
    let m = Msisdn::parse("09351234567").expect("Irancell");
    assert_eq!(m.mask(), "98935*****67");
    assert_eq!(format!("{m:?}"), "Msisdn(98935*****67)");
    assert_eq!(m.to_string(), "989351234567");
}

#[test]
fn msisdn_other_countries_need_an_international_prefix() {
    let uk = Msisdn::parse("+447700900123").expect("UK");
    assert_eq!(uk, Msisdn::parse("00447700900123").expect("UK with 00"));
    assert_eq!(uk.as_str(), "+447700900123");
    assert!(!uk.is_iranian());
    assert_eq!(uk.mask(), "+44********23");
    assert_eq!(Msisdn::parse(&uk.to_string()), Ok(uk));
    // Shortest and longest E.164.
    assert!(Msisdn::parse("+12345678").is_ok());
    assert!(Msisdn::parse("+123456789012345").is_ok());
    // Bare digits that are not an Iranian form are refused, not guessed.
    assert_eq!(
        Msisdn::parse("447700900123").expect_err("refused"),
        DomainError::WrongLength {
            field: Field::Msisdn,
            len: 12,
            expected: "10 (9121234567), 11 (09121234567) or 12 (989121234567); \
                       other countries' numbers start with + or 00",
        }
    );
}

#[test]
fn msisdn_refusals() {
    let e = |s: &str| Msisdn::parse(s).expect_err("refused");
    // A Tehran fixed line.
    assert_eq!(
        e("+982112345678"),
        DomainError::MsisdnNotMobile { found: '2' }
    );
    assert_eq!(
        e("02112345678"),
        DomainError::MsisdnNotMobile { found: '2' }
    );
    assert_eq!(
        e("+98912123456"),
        DomainError::WrongLength {
            field: Field::Msisdn,
            len: 9,
            expected: "10 after 98"
        }
    );
    assert_eq!(e("+0123456789"), DomainError::MsisdnCountryCode);
    assert_eq!(e("0001234567890"), DomainError::MsisdnCountryCode);
    assert!(matches!(
        e("+1234567"),
        DomainError::WrongLength { len: 7, .. }
    ));
    assert!(matches!(
        e("+1234567890123456"),
        DomainError::WrongLength { len: 16, .. }
    ));
    assert!(matches!(e("+"), DomainError::WrongLength { len: 0, .. }));
    assert!(matches!(
        e("912123456"),
        DomainError::WrongLength { len: 9, .. }
    ));
    assert_eq!(
        e("+98 912 123 4567"),
        DomainError::NotDigit {
            field: Field::Msisdn,
            position: 4,
            found: ' '
        }
    );
    assert_eq!(
        e("0912-123-4567"),
        DomainError::NotDigit {
            field: Field::Msisdn,
            position: 5,
            found: '-'
        }
    );
    assert_eq!(
        e("++989121234567"),
        DomainError::NotDigit {
            field: Field::Msisdn,
            position: 2,
            found: '+'
        }
    );
    // Errors never quote the number.
    assert!(!e("+98912123456").to_string().contains("912123456"));
}

// --- National ID -----------------------------------------------------------------------------

/// An independent statement of the rule, for the proptests.
fn national_r(body: &[u8; 9]) -> u32 {
    body.iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * (10 - i as u32))
        .sum::<u32>()
        % 11
}

fn national_check(body: &[u8; 9]) -> u8 {
    let r = national_r(body) as u8;
    if r < 2 { r } else { 11 - r }
}

fn national_text(body: &[u8; 9], check: u8) -> String {
    body.iter()
        .chain(std::iter::once(&check))
        .map(|d| char::from(b'0' + d))
        .collect()
}

#[test]
fn national_id_examples() {
    let id = NationalId::parse("0010350829").expect("valid");
    assert_eq!(id.to_string(), "0010350829");
    assert_eq!(id.mask(), "001*****29");
    assert_eq!(format!("{id:?}"), "NationalId(001*****29)");
    // r = 0 and r = 1 keep r as the check digit; r >= 2 gives 11 - r.
    assert!(NationalId::parse("0000000108").is_ok()); // s = 3, r = 3, check 8
    assert!(NationalId::parse("0000000019").is_ok()); // s = 2, r = 2, check 9
    assert!(NationalId::parse("0000000061").is_ok()); // s = 12, r = 1, check 1
    assert!(NationalId::parse("0000000140").is_ok()); // s = 11, r = 0, check 0
    let valid = ["0010350829", "1234567891", "0499370899"];
    for v in valid {
        let body: [u8; 9] = std::array::from_fn(|i| v.as_bytes()[i] - b'0');
        let check = v.as_bytes()[9] - b'0';
        assert_eq!(
            NationalId::parse(v).is_ok(),
            national_check(&body) == check,
            "{v}: the parser and the rule agree"
        );
    }
    assert!(NationalId::parse("0499370899").is_ok());
}

#[test]
fn national_id_refusals() {
    assert_eq!(
        NationalId::parse("0010350828"),
        Err(DomainError::NationalIdCheckDigit {
            found: 8,
            expected: 9
        })
    );
    assert_eq!(
        NationalId::parse("0010350828")
            .expect_err("refused")
            .to_string(),
        "national ID: check digit is 8, expected 9"
    );
    for d in 0..=9u8 {
        let code: String = std::iter::repeat_n(char::from(b'0' + d), 10).collect();
        let body = [d; 9];
        assert_eq!(national_check(&body), d, "{code} passes the arithmetic");
        assert_eq!(
            NationalId::parse(&code),
            Err(DomainError::NationalIdRepeated { digit: d })
        );
    }
    assert_eq!(
        NationalId::parse("010350829"),
        Err(DomainError::WrongLength {
            field: Field::NationalId,
            len: 9,
            expected: "10"
        })
    );
    assert_eq!(
        NationalId::parse("001-035082"),
        Err(DomainError::NotDigit {
            field: Field::NationalId,
            position: 4,
            found: '-'
        })
    );
}

/// The rule's one blind spot, shown so nobody relies on it catching every typo.
#[test]
fn national_id_r1_and_r10_share_check_digit_1() {
    let mut found = None;
    'search: for n in 0..1_000_000u32 {
        let body: [u8; 9] = std::array::from_fn(|i| ((n / 10u32.pow(8 - i as u32)) % 10) as u8);
        if national_r(&body) != 1 {
            continue;
        }
        for pos in 0..9 {
            for d in 0..10 {
                let mut m = body;
                m[pos] = d;
                if d != body[pos] && national_r(&m) == 10 {
                    found = Some((national_text(&body, 1), national_text(&m, 1)));
                    break 'search;
                }
            }
        }
    }
    let (a, b) = found.expect("such a pair exists");
    assert!(NationalId::parse(&a).is_ok(), "{a}");
    assert!(
        NationalId::parse(&b).is_ok(),
        "{b}: one digit away from {a}"
    );
}

// --- Tracking code ---------------------------------------------------------------------------

#[test]
fn tracking_code_damm() {
    // Damm's published example: 572 -> check digit 4.
    let c = TrackingCode::from_number(572).expect("in range");
    assert_eq!(c.as_str(), "0000005724");
    assert_eq!(c.to_string(), "0000005724");
    assert_eq!(c.number(), 572);
    assert_eq!(format!("{c:?}"), "TrackingCode(0000005724)");
    assert_eq!(TrackingCode::parse("0000005724"), Ok(c));
    assert_eq!(
        TrackingCode::parse("0000005723"),
        Err(DomainError::TrackingCheckDigit {
            found: 3,
            expected: 4
        })
    );
    assert!(TrackingCode::parse("0000007524").is_err());
    let max = TrackingCode::from_number(TrackingCode::MAX_NUMBER).expect("max");
    assert_eq!(max.number(), 999_999_999);
    assert_eq!(
        TrackingCode::from_number(1_000_000_000),
        Err(DomainError::TrackingNumberRange {
            number: 1_000_000_000
        })
    );
    assert_eq!(
        TrackingCode::parse("000000572"),
        Err(DomainError::WrongLength {
            field: Field::TrackingCode,
            len: 9,
            expected: "10"
        })
    );
    assert_eq!(
        TrackingCode::from_number(0).expect("zero").as_str(),
        "0000000000"
    );
}

// --- Date ------------------------------------------------------------------------------------

#[test]
fn dates() {
    let epoch = Date::parse("1970-01-01").expect("epoch");
    assert_eq!(epoch.days_since_epoch(), 0);
    assert_eq!(
        Date::parse("2000-03-01").expect("valid").days_since_epoch(),
        11_017
    );
    assert_eq!(
        Date::parse("1969-12-31").expect("valid").days_since_epoch(),
        -1
    );
    assert_eq!(Date::MIN.to_string(), "0001-01-01");
    assert_eq!(Date::MAX.to_string(), "9999-12-31");
    assert_eq!(Date::parse("0001-01-01"), Ok(Date::MIN));
    assert_eq!(Date::parse("9999-12-31"), Ok(Date::MAX));
    assert_eq!(
        Date::from_days_since_epoch(Date::MIN.days_since_epoch() - 1),
        None
    );
    assert_eq!(
        Date::from_days_since_epoch(Date::MAX.days_since_epoch() + 1),
        None
    );
    assert!(Date::parse("2000-02-29").is_ok());
    assert!(Date::parse("2024-02-29").is_ok());
    assert_eq!(
        Date::parse("1900-02-29"),
        Err(DomainError::DateInvalid {
            year: 1900,
            month: 2,
            day: 29
        })
    );
    assert_eq!(
        Date::parse("2023-02-29").expect_err("refused").to_string(),
        "date: 2023-02-29 is not a day"
    );
    for bad in [
        "2023-04-31",
        "2023-13-01",
        "2023-00-10",
        "2023-01-00",
        "0000-01-01",
    ] {
        assert!(
            matches!(Date::parse(bad), Err(DomainError::DateInvalid { .. })),
            "{bad}"
        );
    }
    for bad in [
        "2023-1-01",
        "2023/01/01",
        "20230101",
        "2023-01-01T00",
        "+023-01-01",
        "2023-01-0a",
        "۲۰۲۳-۰۱-۰۱",
    ] {
        assert_eq!(Date::parse(bad), Err(DomainError::DateFormat), "{bad}");
    }
    assert!(Date::parse("2023-01-02").expect("d") > Date::parse("2022-12-31").expect("d"));
    assert_eq!(format!("{epoch:?}"), "Date(1970-01-01)");
}

// --- serde -----------------------------------------------------------------------------------

#[test]
fn serde_as_normalised_strings() {
    let imei = Imei::parse("490154203237518").expect("valid");
    assert_eq!(
        serde_json::to_string(&imei).expect("json"),
        r#""49015420323751""#
    );
    assert_eq!(
        serde_json::from_str::<Imei>(r#""4901542032375101""#).expect("IMEISV"),
        imei
    );
    let e = serde_json::from_str::<Imei>(r#""490154203237517""#).expect_err("refused");
    assert!(
        e.to_string().contains("check digit is 7, expected 8"),
        "{e}"
    );
    assert!(
        serde_json::from_str::<Imei>("49015420323751").is_err(),
        "a number is not a string"
    );

    let m: Msisdn = serde_json::from_str(r#""09121234567""#).expect("msisdn");
    assert_eq!(
        serde_json::to_string(&m).expect("json"),
        r#""989121234567""#
    );
    let i: Imsi = serde_json::from_str(r#""432111234567890""#).expect("imsi");
    assert_eq!(
        serde_json::to_string(&i).expect("json"),
        r#""432111234567890""#
    );
    let n: NationalId = serde_json::from_str(r#""0010350829""#).expect("id");
    assert_eq!(serde_json::to_string(&n).expect("json"), r#""0010350829""#);
    let t: TrackingCode = serde_json::from_str(r#""0000005724""#).expect("code");
    assert_eq!(serde_json::to_string(&t).expect("json"), r#""0000005724""#);
    let d: Date = serde_json::from_str(r#""2024-02-29""#).expect("date");
    assert_eq!(serde_json::to_string(&d).expect("json"), r#""2024-02-29""#);
    // A refused personal value is not echoed by the error.
    let e = serde_json::from_str::<NationalId>(r#""0010350828""#).expect_err("refused");
    assert!(!e.to_string().contains("001035082"), "{e}");
}

#[test]
fn debug_of_personal_values_leaks_nothing() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Applicant {
        id: NationalId,
        imsi: Imsi,
        msisdn: Msisdn,
    }
    let a = Applicant {
        id: NationalId::parse("0010350829").expect("id"),
        imsi: Imsi::parse("432111234567890").expect("imsi"),
        msisdn: Msisdn::parse("09121234567").expect("msisdn"),
    };
    let log = format!("{a:?} {a:#?}");
    for secret in ["0010350829", "1234567890", "9121234567", "103508"] {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
}

// --- proptests -------------------------------------------------------------------------------

fn digits_string(d: &[u8]) -> String {
    d.iter().map(|&d| char::from(b'0' + d)).collect()
}

fn replace_digit(s: &str, pos: usize, d: u8) -> String {
    let mut b = s.as_bytes().to_vec();
    b[pos] = b'0' + d;
    String::from_utf8(b).expect("ascii")
}

fn swap_adjacent(s: &str, pos: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b.swap(pos, pos + 1);
    String::from_utf8(b).expect("ascii")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn imei_body_to_15_round_trips(body in proptest::array::uniform14(0u8..10), sv in 0u8..100) {
        let text = digits_string(&body);
        let imei = Imei::parse(&text).expect("any 14 digits");
        let full = imei.to_15();
        prop_assert_eq!(&full[..14], text.as_str());
        prop_assert_eq!(Imei::parse(&full), Ok(imei));
        prop_assert_eq!(Imei::parse(&format!("{text}{sv:02}")), Ok(imei));
        prop_assert_eq!(Imei::parse(&imei.to_string()), Ok(imei));
        prop_assert_eq!(u32::from(imei.check_digit()), full[14..].parse::<u32>().expect("digit"));
    }

    #[test]
    fn imei_any_single_digit_change_is_refused(
        body in proptest::array::uniform14(0u8..10),
        pos in 0usize..15,
        delta in 1u8..10,
    ) {
        let full = Imei::parse(&digits_string(&body)).expect("body").to_15();
        let old = full.as_bytes()[pos] - b'0';
        let changed = replace_digit(&full, pos, (old + delta) % 10);
        let refused = matches!(Imei::parse(&changed), Err(DomainError::ImeiCheckDigit { .. }));
        prop_assert!(refused, "{} -> {}", full, changed);
    }

    #[test]
    fn national_id_single_digit_errors(
        body in proptest::array::uniform9(0u8..10),
        pos in 0usize..10,
        delta in 1u8..10,
    ) {
        let code = national_text(&body, national_check(&body));
        prop_assume!(body.iter().any(|&d| d != body[0]) || national_check(&body) != body[0]);
        prop_assert!(NationalId::parse(&code).is_ok(), "{}", code);
        let old = code.as_bytes()[pos] - b'0';
        let changed = replace_digit(&code, pos, (old + delta) % 10);
        let accepted = NationalId::parse(&changed).is_ok();
        // Missed only when the change moves r between 1 and 10 (both give check digit 1).
        let mut m = body;
        if pos < 9 {
            m[pos] = (old + delta) % 10;
        }
        let repeated = changed.bytes().all(|c| c == changed.as_bytes()[0]);
        let blind = pos < 9 && !repeated && {
            let (a, b) = (national_r(&body), national_r(&m));
            (a == 1 && b == 10) || (a == 10 && b == 1)
        };
        prop_assert_eq!(accepted, blind, "{} -> {}", code, changed);
    }

    #[test]
    fn national_id_adjacent_transpositions_in_the_body(
        body in proptest::array::uniform9(0u8..10),
        pos in 0usize..8,
    ) {
        prop_assume!(body[pos] != body[pos + 1]);
        let code = national_text(&body, national_check(&body));
        let swapped = swap_adjacent(&code, pos);
        let mut m = body;
        m.swap(pos, pos + 1);
        let (a, b) = (national_r(&body), national_r(&m));
        let blind = (a == 1 && b == 10) || (a == 10 && b == 1);
        prop_assert_eq!(NationalId::parse(&swapped).is_ok(), blind, "{} -> {}", code, swapped);
    }

    #[test]
    fn tracking_code_round_trips(n in 0u64..=TrackingCode::MAX_NUMBER) {
        let c = TrackingCode::from_number(n).expect("in range");
        prop_assert_eq!(c.number(), n);
        prop_assert_eq!(TrackingCode::parse(&c.to_string()), Ok(c));
        prop_assert_eq!(c.as_str()[..9].to_string(), format!("{n:09}"));
    }

    #[test]
    fn tracking_code_catches_every_single_digit_error(
        n in 0u64..=TrackingCode::MAX_NUMBER,
        pos in 0usize..10,
        delta in 1u8..10,
    ) {
        let code = TrackingCode::from_number(n).expect("in range").to_string();
        let old = code.as_bytes()[pos] - b'0';
        let changed = replace_digit(&code, pos, (old + delta) % 10);
        prop_assert!(TrackingCode::parse(&changed).is_err(), "{} -> {}", code, changed);
    }

    #[test]
    fn tracking_code_catches_every_adjacent_transposition(
        n in 0u64..=TrackingCode::MAX_NUMBER,
        pos in 0usize..9,
    ) {
        let code = TrackingCode::from_number(n).expect("in range").to_string();
        prop_assume!(code.as_bytes()[pos] != code.as_bytes()[pos + 1]);
        let swapped = swap_adjacent(&code, pos);
        prop_assert!(TrackingCode::parse(&swapped).is_err(), "{} -> {}", code, swapped);
    }

    #[test]
    fn msisdn_iranian_forms_agree(rest in proptest::array::uniform9(0u8..10)) {
        let national = format!("9{}", digits_string(&rest));
        let want = format!("98{national}");
        for form in [
            want.clone(),
            format!("+{want}"),
            format!("00{want}"),
            format!("0{national}"),
            national.clone(),
        ] {
            let m = Msisdn::parse(&form).expect("valid form");
            prop_assert_eq!(m.as_str(), want.as_str());
            prop_assert_eq!(Msisdn::parse(&m.to_string()), Ok(m));
            prop_assert_eq!(m.mask(), format!("98{}*****{}", &national[..3], &national[8..]));
        }
    }

    #[test]
    fn msisdn_foreign_round_trips(cc in 1u8..10, rest in proptest::collection::vec(0u8..10, 7..=14)) {
        prop_assume!(!(cc == 9 && rest[0] == 8));
        let text = format!("+{cc}{}", digits_string(&rest));
        let m = Msisdn::parse(&text).expect("E.164");
        prop_assert_eq!(m.as_str(), text.as_str());
        prop_assert_eq!(Msisdn::parse(&m.to_string()), Ok(m));
        prop_assert_eq!(Msisdn::parse(&format!("00{}", &text[1..])), Ok(m));
    }

    #[test]
    fn imsi_round_trips(d in proptest::array::uniform15(0u8..10)) {
        let text = digits_string(&d);
        let i = Imsi::parse(&text).expect("15 digits");
        prop_assert_eq!(i.to_string(), text.clone());
        prop_assert_eq!(format!("{}{}{}", i.mcc(), i.mnc(), i.msin()), text);
        prop_assert_eq!(i.mask().len(), 15);
        prop_assert!(!i.mask().contains(&i.msin()[..i.msin().len() - 2]));
    }

    #[test]
    fn dates_round_trip(days in Date::MIN.days_since_epoch()..=Date::MAX.days_since_epoch()) {
        let d = Date::from_days_since_epoch(days).expect("in range");
        let text = d.to_string();
        prop_assert_eq!(Date::parse(&text), Ok(d));
        prop_assert_eq!(Date::from_ymd(d.year(), d.month(), d.day()), Ok(d));
        // The day after is the next day of the calendar.
        if let Some(next) = Date::from_days_since_epoch(days + 1) {
            prop_assert!(next.to_string() > text);
            prop_assert!(next > d);
        }
    }
}
