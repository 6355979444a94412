//! Import of OpenSSL `index.txt` files: the parser, and the import into the revocation store
//! on SQLite and on PostgreSQL (`gica_store::testing`; `GICA_SKIP_POSTGRES=1` skips it).

use gica_ocsp_server::index::{ImportError, import_index, parse_index};
use gica_ocsp_server::store::{AnyStore, CertRecord, RecordStatus, StatusSource};
use gica_pki::CrlReason;
use gica_store::testing::{TestDb, record, revoked};

gica_store::backend_suite!(import_index_file, import_large_index);

/// The check's store, migrated.
async fn open(db: &TestDb) -> AnyStore {
    AnyStore::connect(db.url()).await.expect("open the store")
}

/// `openssl ca` (OpenSSL 3.0) wrote lines 3 to 16 (times fixed afterwards): `-revoke c.pem`
/// with nothing, `-crl_reason NAME`, `-crl_hold holdInstructionReject`, `-crl_compromise
/// 20240102030405Z` and `-crl_CA_compromise 20240102030405Z`; `-enddate 20600101000000Z`
/// gave line 4 and `-updatedb` line 3. The rest are written by hand.
const INDEX_TXT: &str = "\
# a comment
V\t271123183550Z\t\t0FFF\tunknown\t/CN=valid.example.com
E\t210101000000Z\t\t100D\tunknown\t/CN=far future
V\t20600101000000Z\t\t100C\tunknown\t/CN=far future
R\t271123183550Z\t261123183550Z\t1000\tunknown\t/CN=host 1.example.com/O=Example Org Ltd
R\t271123183550Z\t261123183550Z,keyCompromise\t1001\tunknown\t/CN=host 2.example.com
R\t271123183550Z\t261123183550Z,CACompromise\t1002\tunknown\t/CN=host 3.example.com
R\t271123183550Z\t261123183550Z,affiliationChanged\t1003\tunknown\t/CN=host 4.example.com
R\t271123183550Z\t261123183550Z,superseded\t1004\tunknown\t/CN=host 5.example.com
R\t271123183550Z\t261123183550Z,cessationOfOperation\t1005\tunknown\t/CN=host 6.example.com
R\t271123183550Z\t261123183550Z,certificateHold\t1006\tunknown\t/CN=host 7.example.com
R\t271123183550Z\t261123183550Z,removeFromCRL\t1007\tunknown\t/CN=host 8.example.com
R\t271123183550Z\t261123183550Z,holdInstruction,holdInstructionReject\t1008\tunknown\t/CN=h9
R\t271123183550Z\t261123183550Z,keyTime,20240102030405Z\t1009\tunknown\t/CN=host 10
R\t271123183550Z\t261123183550Z,CAkeyTime,20240102030405Z\t100A\tunknown\t/CN=host 11
R\t271123183550Z\t261123183550Z,unspecified\t100B\tunknown\t/CN=host 12.example.com
R\t271123183550Z\t261123183550Z,holdInstruction,1.2.840.10040.2.2\t0100E\tunknown\t/CN=h
R\t271123183550Z\t261123183550Z,certificateHold,1.2.840.10040.2.3\t1010\tunknown\t/CN=h

V\t271123183550Z\t\tabc\tunknown\t/CN=odd length, lower case
V\t271123183550Z\t\t2000\tunknown
X\t271123183550Z\t\t2001\tunknown\t/CN=x
V\t271323183550Z\t\t2002\tunknown\t/CN=x
V\t271123183550Z\t\t20G3\tunknown\t/CN=x
V\t271123183550Z\t\t000\tunknown\t/CN=x
R\t271123183550Z\t\t2005\tunknown\t/CN=x
R\t271123183550Z\t261123183550Z,badReason\t2006\tunknown\t/CN=x
R\t271123183550Z\t261123183550Z,keyTime\t2007\tunknown\t/CN=x
R\t271123183550Z\t261123183550Z,keyTime,240102030405Z\t2008\tunknown\t/CN=x
V\t271123183550Z\t261123183550Z\t2009\tunknown\t/CN=x
V\t271123183550Z\t\t200A\tunknown\t/CN=x\textra
R\t271123183550Z\t261123183550Z,holdInstruction\t200B\tunknown\t/CN=x
V\t\t\t200C\tunknown\t/CN=x
R\t271123183550Z\t261123183550Z,holdInstruction,not an oid\t200D\tunknown\t/CN=x
";

const EXPIRY: i64 = 1_826_994_950; // 271123183550Z
const REVOKED_AT: i64 = 1_795_458_950; // 261123183550Z
const COMPROMISED_AT: i64 = 1_704_164_645; // 20240102030405Z

/// The records of [`INDEX_TXT`], in order.
fn index_records(issuer: &str) -> Vec<CertRecord> {
    let valid = |serial: &[u8], expiry| record(issuer, serial, Some(expiry), RecordStatus::Valid);
    let rev = |serial: &[u8], reason, invalidity| {
        record(
            issuer,
            serial,
            Some(EXPIRY),
            revoked(REVOKED_AT, reason, invalidity),
        )
    };
    use CrlReason::*;
    vec![
        valid(&[0x0f, 0xff], EXPIRY),
        valid(&[0x10, 0x0d], 1_609_459_200),
        valid(&[0x10, 0x0c], 2_840_140_800),
        rev(&[0x10, 0x00], None, None),
        rev(&[0x10, 0x01], Some(KeyCompromise), None),
        rev(&[0x10, 0x02], Some(CaCompromise), None),
        rev(&[0x10, 0x03], Some(AffiliationChanged), None),
        rev(&[0x10, 0x04], Some(Superseded), None),
        rev(&[0x10, 0x05], Some(CessationOfOperation), None),
        rev(&[0x10, 0x06], Some(CertificateHold), None),
        // removeFromCRL: a released hold, so valid (RFC 5280 5.3.1).
        valid(&[0x10, 0x07], EXPIRY),
        rev(&[0x10, 0x08], Some(CertificateHold), None),
        rev(&[0x10, 0x09], Some(KeyCompromise), Some(COMPROMISED_AT)),
        rev(&[0x10, 0x0a], Some(CaCompromise), Some(COMPROMISED_AT)),
        rev(&[0x10, 0x0b], Some(Unspecified), None),
        rev(&[0x10, 0x0e], Some(CertificateHold), None),
        rev(&[0x10, 0x10], Some(CertificateHold), None),
        valid(&[0x0a, 0xbc], EXPIRY),
    ]
}

const INDEX_MALFORMED: [usize; 14] = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34];

#[test]
fn parse_every_line_form() {
    let (records, malformed) = parse_index(INDEX_TXT, "issuer-x");
    assert_eq!(records, index_records("issuer-x"));
    let lines: Vec<usize> = malformed.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, INDEX_MALFORMED, "{malformed:#?}");
    let why = |line: usize| {
        malformed
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, why)| why.as_str())
            .expect("a malformed line")
    };
    assert!(
        why(21).contains("6 tab-separated fields, found 5"),
        "{}",
        why(21)
    );
    assert!(why(22).contains("unknown status"), "{}", why(22));
    assert!(why(23).contains("expiry"), "{}", why(23));
    assert!(why(24).contains("serial"), "{}", why(24));
    assert!(why(25).contains("zero"), "{}", why(25));
    assert!(why(26).contains("without a revocation date"), "{}", why(26));
    assert!(why(27).contains("badReason"), "{}", why(27));
    assert!(why(28).contains("compromise time"), "{}", why(28));
    assert!(why(29).contains("compromise time"), "{}", why(29));
    assert!(why(30).contains("on a V line"), "{}", why(30));
    assert!(why(31).contains("found 7"), "{}", why(31));
    assert!(why(32).contains("instruction"), "{}", why(32));
    assert!(why(33).contains("expiry"), "{}", why(33));
    assert!(why(34).contains("hold instruction"), "{}", why(34));
}

#[test]
fn parse_openssl_lines_with_spaces() {
    // CRLF endings, a file name and subject with spaces, a subject with an escaped tab.
    let text = "V\t271123183550Z\t\t1A2B\tcerts/my cert.pem\t/C=GB/O=Example Org Ltd/OU=Web Team/CN=www example com\r\n\
                R\t271123183550Z\t261123183550Z,superseded\t1A2C\tunknown\t/CN=Name With\\\tTab\r\n\
                V\t271123183550Z\t\t1A2D\tunknown\t/CN=  leading and trailing  \n";
    let (records, malformed) = parse_index(text, "i");
    assert!(malformed.is_empty(), "{malformed:?}");
    assert_eq!(
        records,
        [
            record("i", &[0x1a, 0x2b], Some(EXPIRY), RecordStatus::Valid),
            record(
                "i",
                &[0x1a, 0x2c],
                Some(EXPIRY),
                revoked(REVOKED_AT, Some(CrlReason::Superseded), None)
            ),
            record("i", &[0x1a, 0x2d], Some(EXPIRY), RecordStatus::Valid),
        ]
    );
}

#[test]
fn parse_bounds_what_it_quotes() {
    let long = "Z".repeat(10_000);
    let (_, malformed) = parse_index(&format!("V\t{long}\t\t01\tunknown\t/CN=x"), "i");
    assert_eq!(malformed.len(), 1);
    assert!(malformed[0].1.len() < 100, "{}", malformed[0].1);
    let serial = "1".repeat(129);
    let (_, malformed) = parse_index(
        &format!("V\t271123183550Z\t\t{serial}\tunknown\t/CN=x"),
        "i",
    );
    assert!(malformed[0].1.contains("longer than"), "{}", malformed[0].1);
}

async fn import_index_file(db: TestDb) {
    let s = open(&db).await;
    let issuer = "issuer-index";
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("index.txt");
    std::fs::write(&path, INDEX_TXT).expect("write index.txt");

    let summary = import_index(&s, &path, issuer, true).await.expect("import");
    let records = index_records(issuer);
    assert_eq!(summary.imported, records.len() as u64);
    assert_eq!(summary.skipped, 0);
    let lines: Vec<usize> = summary.malformed.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, INDEX_MALFORMED);
    for want in &records {
        let got = s.status(issuer, &want.serial).await.expect("status");
        assert_eq!(got.as_ref(), Some(want));
    }
    let revoked = s.revoked(issuer).await.expect("revoked");
    assert_eq!(
        revoked.len(),
        13,
        "the removeFromCRL line is a released hold"
    );

    // Twice: everything skipped.
    let summary = import_index(&s, &path, issuer, false)
        .await
        .expect("import");
    assert_eq!(
        (summary.imported, summary.skipped),
        (0, records.len() as u64)
    );

    let missing = import_index(&s, &dir.path().join("missing.txt"), issuer, false).await;
    assert!(
        matches!(missing, Err(ImportError::Read { .. })),
        "{missing:?}"
    );
}

/// Past the progress bar's threshold, and a measure of the import's speed.
async fn import_large_index(db: TestDb) {
    const LINES: u32 = 20_000;
    let s = open(&db).await;
    let issuer = "issuer-large";
    let mut text = String::new();
    for n in 1..=LINES {
        if n % 10 == 0 {
            text += &format!("R\t271123183550Z\t261123183550Z,superseded\t{n:X}\tunknown\t/CN=n\n");
        } else {
            text += &format!("V\t271123183550Z\t\t{n:X}\tunknown\t/CN={n}\n");
        }
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("index.txt");
    std::fs::write(&path, text).expect("write index.txt");

    let started = std::time::Instant::now();
    let summary = import_index(&s, &path, issuer, true).await.expect("import");
    eprintln!("imported {LINES} lines in {:?}", started.elapsed());
    assert_eq!(summary.imported, u64::from(LINES));
    assert!(summary.malformed.is_empty());
    assert_eq!(s.revoked(issuer).await.expect("revoked").len(), 2_000);
}
