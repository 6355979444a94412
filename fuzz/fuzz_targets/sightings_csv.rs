//! The sightings CSV reader over any bytes, as they come and after a valid header (and, when
//! they start with the gzip magic, decompressed): it must return, never panic; bad rows'
//! line numbers increase strictly and never pass the reader's line count; rows it accepts
//! fold into a bounded `PairBatch` and print back to fields that parse to the same values.
#![no_main]

use std::io::{BufRead, Cursor};

use gica_registry::domain::{Date, Imei, Imsi, Msisdn};
use gica_registry::sightings::{HEADER, PairBatch, ReadError, SightingsReader, decode_sightings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    read(data);
    let mut with_header = format!("{HEADER}\n").into_bytes();
    with_header.extend_from_slice(data);
    read(&with_header[..]);
    if data.starts_with(&[0x1f, 0x8b])
        && let Ok(plain) = decode_sightings(Cursor::new(data.to_vec()))
    {
        read(plain);
    }
});

fn read(input: impl BufRead) {
    let Ok(reader) = SightingsReader::new(input) else {
        return;
    };
    // Bounds a gzip bomb's work, not only its memory.
    let mut reader = reader.max_lines(200_000);
    let mut batch = PairBatch::with_capacity(8);
    let mut last_bad = 1;
    while let Some(item) = reader.next() {
        match item {
            Ok(s) => {
                assert_eq!(Date::parse(&s.date.to_string()), Ok(s.date));
                assert_eq!(Imei::parse(&s.imei.to_15()), Ok(s.imei));
                assert_eq!(Imsi::parse(&s.imsi.to_string()), Ok(s.imsi));
                assert_eq!(Msisdn::parse(&s.msisdn.to_string()), Ok(s.msisdn));
                if batch.add(&s).is_err() {
                    assert!(batch.is_full());
                    batch.drain().for_each(drop);
                    assert!(batch.add(&s).is_ok());
                }
                assert!(batch.len() <= batch.capacity());
            }
            Err(ReadError::Row(e)) => {
                assert!(e.line > last_bad, "line {} after {last_bad}", e.line);
                assert!(e.line <= reader.line());
                last_bad = e.line;
                assert!(!e.to_string().is_empty());
            }
            Err(_) => {
                assert!(reader.next().is_none(), "a file error is the last item");
                break;
            }
        }
    }
}
