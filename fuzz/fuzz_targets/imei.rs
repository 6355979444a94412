//! The registry's identifier parsers (`Imei`, `Imsi`, `Msisdn`, `NationalId`, `TrackingCode`,
//! `Date`, `Rat`) must return, never panic, on any UTF-8 input; a value one accepts prints
//! (`Display`, the normalised form) to text that parses back to the same value, and its mask
//! is as long as the value and never the value itself.
#![no_main]

use gica_registry::domain::{Date, Imei, Imsi, Msisdn, NationalId, TrackingCode};
use gica_registry::sightings::Rat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = Imei::parse(text) {
        assert_eq!(Imei::parse(&v.to_string()), Ok(v));
        assert_eq!(Imei::parse(&v.to_15()), Ok(v));
        assert_eq!(format!("{}{}", v.tac(), v.serial()), v.as_str());
    }
    if let Ok(v) = Imsi::parse(text) {
        assert_eq!(Imsi::parse(&v.to_string()), Ok(v));
        assert_eq!(format!("{}{}{}", v.mcc(), v.mnc(), v.msin()), v.as_str());
        assert_masked(&v.mask(), v.as_str());
    }
    if let Ok(v) = Msisdn::parse(text) {
        assert_eq!(Msisdn::parse(&v.to_string()), Ok(v));
        assert_masked(&v.mask(), v.as_str());
    }
    if let Ok(v) = NationalId::parse(text) {
        assert_eq!(NationalId::parse(&v.to_string()), Ok(v));
        assert_masked(&v.mask(), v.as_str());
    }
    if let Ok(v) = TrackingCode::parse(text) {
        assert_eq!(TrackingCode::parse(&v.to_string()), Ok(v));
        assert_eq!(TrackingCode::from_number(v.number()), Ok(v));
    }
    if let Ok(v) = Date::parse(text) {
        assert_eq!(Date::parse(&v.to_string()), Ok(v));
        assert_eq!(Date::from_ymd(v.year(), v.month(), v.day()), Ok(v));
    }
    if let Ok(v) = Rat::new(text) {
        assert_eq!(Rat::new(v.as_str()), Ok(v));
    }
});

fn assert_masked(mask: &str, value: &str) {
    assert_eq!(mask.len(), value.len(), "{mask}");
    assert!(mask.contains('*') && mask != value, "{mask}");
}
