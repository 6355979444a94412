//! Operators' sightings files: CSV `date,imei,imsi,msisdn,rat`, plain or gzip, read as a
//! stream and folded into (IMEI, IMSI, MSISDN) pairs.
//!
//! [`SightingsReader`] checks the header, then yields one [`Sighting`] or one [`RowError`] per
//! line without allocating per row (one reused line buffer, fields parsed as slices, every
//! value `Copy`). Lines are bounded ([`MAX_LINE_LEN`]) before they are buffered, and a file is
//! bounded in lines ([`DEFAULT_MAX_LINES`]). [`SightingsReader::fill`] feeds a [`PairBatch`]
//! and an [`ImportReport`]; the store upserts each drained batch.
//!
//! Speed, one core of the 2-core CI machine, release build: about 1.8 million rows a second
//! from memory, 1.2 million from a gzip file (10 million rows in 8.4 s, peak RSS 242 MB with
//! a 1,000,000-pair batch); the `ten_million_rows_gzip` test measures it.
//!
//! ```
//! use gica_registry::sightings::{Filled, ImportReport, PairBatch, SightingsReader};
//! let csv = "date,imei,imsi,msisdn,rat\n\
//!            2021-03-01,490154203237518,432111234567890,09121234567,4G\n\
//!            2021-03-05,49015420323751,432111234567890,989121234567,3G\n\
//!            2021-03-09,490154203237517,432111234567890,989121234567,4G\n";
//! let mut reader = SightingsReader::new(csv.as_bytes())?;
//! let mut batch = PairBatch::with_capacity(10_000);
//! let mut report = ImportReport::default();
//! loop {
//!     let filled = reader.fill(&mut batch, &mut report)?;
//!     for (pair, seen) in batch.drain() {
//!         // The store upserts these, a chunk per statement.
//!         assert_eq!((seen.rows, seen.rat.as_str()), (2, "3G"));
//!         assert_eq!(seen.last.to_string(), "2021-03-05");
//!     }
//!     if filled == Filled::EndOfFile {
//!         break;
//!     }
//! }
//! assert_eq!((report.rows_read(), report.rows_bad()), (3, 1));
//! assert_eq!(report.first_bad()[0].line, 4);
//! assert!(report.over_threshold(0.05));
//! # Ok::<(), gica_registry::sightings::SightingsError>(())
//! ```

use std::collections::BTreeMap;
use std::collections::hash_map::{self, Entry, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::domain::{Date, DomainError, Imei, Imsi, Msisdn};

/// The header line every file starts with (ASCII case and spaces around names aside).
pub const HEADER: &str = "date,imei,imsi,msisdn,rat";
/// Longest line accepted, in bytes before the line end; a longer one is skipped unbuffered.
pub const MAX_LINE_LEN: usize = 1024;
/// Longest `rat` value, in bytes.
pub const MAX_RAT_LEN: usize = 16;
/// Lines a reader takes by default before it stops with [`SightingsError::TooManyLines`].
pub const DEFAULT_MAX_LINES: u64 = 100_000_000;
/// Bad rows an [`ImportReport`] keeps in full (the rest are only counted).
pub const MAX_REPORTED_ROWS: usize = 100;
/// The share of bad rows over which an import is refused unless configured otherwise.
pub const DEFAULT_BAD_SHARE_THRESHOLD: f64 = 0.05;
/// Read buffer of [`open_sightings`]: large, so a row costs no system call.
pub const READ_BUFFER_SIZE: usize = 256 * 1024;

/// A radio access technology as the operator wrote it (`4G`, `LTE`, a DIRBS code, or empty):
/// at most [`MAX_RAT_LEN`] bytes of text without control characters, kept inline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rat {
    bytes: [u8; MAX_RAT_LEN],
    len: u8,
}

/// Why a `rat` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatError {
    /// Longer than [`MAX_RAT_LEN`] bytes.
    #[error("rat: {len} bytes, at most {MAX_RAT_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A control character (tab, escape, ...), which would garble logs and exports.
    #[error("rat: control character {found:?}")]
    Control {
        /// The character.
        found: char,
    },
}

impl Rat {
    /// `s` as given (ASCII whitespace around it trimmed); empty is allowed.
    pub fn new(s: &str) -> Result<Self, RatError> {
        let t = s.trim_ascii();
        if t.len() > MAX_RAT_LEN {
            return Err(RatError::TooLong { len: t.len() });
        }
        if let Some(found) = t.chars().find(|c| c.is_control()) {
            return Err(RatError::Control { found });
        }
        let mut bytes = [0u8; MAX_RAT_LEN];
        bytes[..t.len()].copy_from_slice(t.as_bytes());
        Ok(Rat {
            bytes,
            len: t.len() as u8,
        })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Built from a &str, so this never falls back.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// Whether the operator gave none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Rat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rat({:?})", self.as_str())
    }
}

impl serde::Serialize for Rat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Rat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Rat;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a radio access technology of at most {MAX_RAT_LEN} bytes"
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Rat, E> {
                Rat::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// One valid row: the operator saw `imei` with `imsi`/`msisdn` on `date`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// The day of the sighting.
    pub date: Date,
    /// The device.
    pub imei: Imei,
    /// The SIM.
    pub imsi: Imsi,
    /// The SIM's number.
    pub msisdn: Msisdn,
    /// The radio technology, as given.
    pub rat: Rat,
}

impl Sighting {
    /// The pair this row is evidence for.
    pub fn pair(&self) -> Pair {
        Pair {
            imei: self.imei,
            imsi: self.imsi,
            msisdn: self.msisdn,
        }
    }
}

/// What is wrong with one row; the reader goes on with the next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowCause {
    /// Not 5 comma-separated fields.
    #[error("{found} fields, expected 5 (date,imei,imsi,msisdn,rat)")]
    FieldCount {
        /// Fields found.
        found: usize,
    },
    /// The date field.
    #[error("{0}")]
    Date(DomainError),
    /// The IMEI field.
    #[error("{0}")]
    Imei(DomainError),
    /// The IMSI field.
    #[error("{0}")]
    Imsi(DomainError),
    /// The MSISDN field.
    #[error("{0}")]
    Msisdn(DomainError),
    /// The rat field (too long, or a control character).
    #[error("{0}")]
    Rat(RatError),
    /// Longer than [`MAX_LINE_LEN`] bytes.
    #[error("line of {len} bytes, at most {MAX_LINE_LEN}")]
    LineTooLong {
        /// The line's length in bytes before its line feed.
        len: u64,
    },
    /// Bytes that are not UTF-8.
    #[error("not UTF-8 at byte {position}")]
    NotUtf8 {
        /// 1-based byte position of the first bad byte.
        position: usize,
    },
    /// An empty line with rows after it (empty lines at the end are skipped).
    #[error("empty line")]
    EmptyLine,
}

/// The kind of a [`RowCause`], for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RowCauseKind {
    /// [`RowCause::FieldCount`].
    FieldCount,
    /// [`RowCause::Date`].
    Date,
    /// [`RowCause::Imei`].
    Imei,
    /// [`RowCause::Imsi`].
    Imsi,
    /// [`RowCause::Msisdn`].
    Msisdn,
    /// [`RowCause::Rat`].
    Rat,
    /// [`RowCause::LineTooLong`].
    LineTooLong,
    /// [`RowCause::NotUtf8`].
    NotUtf8,
    /// [`RowCause::EmptyLine`].
    EmptyLine,
}

impl RowCause {
    /// Its kind.
    pub fn kind(&self) -> RowCauseKind {
        match self {
            RowCause::FieldCount { .. } => RowCauseKind::FieldCount,
            RowCause::Date(_) => RowCauseKind::Date,
            RowCause::Imei(_) => RowCauseKind::Imei,
            RowCause::Imsi(_) => RowCauseKind::Imsi,
            RowCause::Msisdn(_) => RowCauseKind::Msisdn,
            RowCause::Rat(_) => RowCauseKind::Rat,
            RowCause::LineTooLong { .. } => RowCauseKind::LineTooLong,
            RowCause::NotUtf8 { .. } => RowCauseKind::NotUtf8,
            RowCause::EmptyLine => RowCauseKind::EmptyLine,
        }
    }
}

/// A bad row: its 1-based line number in the file (the header is line 1) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {cause}")]
pub struct RowError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub cause: RowCause,
}

impl serde::Serialize for RowError {
    /// `{"line": 7, "kind": "imei", "message": "IMEI ...: check digit is 7, expected 8"}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RowError", 3)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("kind", &self.cause.kind())?;
        st.serialize_field("message", &format_args!("{}", self.cause))?;
        st.end()
    }
}

/// Why a whole file was refused or could not be read to the end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SightingsError {
    /// No header line: the file is empty.
    #[error("empty file: no header line {HEADER:?}")]
    NoHeader,
    /// The first line is not [`HEADER`].
    #[error("header is {found:?}, expected {HEADER:?}")]
    WrongHeader {
        /// The first line (lossy UTF-8, at most [`MAX_LINE_LEN`] bytes).
        found: String,
    },
    /// The first line is longer than [`MAX_LINE_LEN`] bytes: not a header.
    #[error("header line of {len} bytes, expected {HEADER:?}")]
    HeaderTooLong {
        /// Its length in bytes.
        len: u64,
    },
    /// More lines than the reader's limit ([`SightingsReader::max_lines`]).
    #[error("more than {limit} lines")]
    TooManyLines {
        /// The limit.
        limit: u64,
    },
    /// Reading (or decompressing) failed.
    #[error("reading sightings: {0}")]
    Io(#[from] io::Error),
}

/// An item of [`SightingsReader`]'s iterator that is not a [`Sighting`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// One bad row; the next item is the next line.
    #[error(transparent)]
    Row(RowError),
    /// The file cannot be read on; this is the last item.
    #[error(transparent)]
    File(SightingsError),
}

/// Opens a sightings file, plain or gzip (detected by its magic bytes `1f 8b`, not its
/// name), behind a [`READ_BUFFER_SIZE`] buffer.
pub fn open_sightings(path: impl AsRef<Path>) -> io::Result<Box<dyn BufRead + Send>> {
    decode_sightings(File::open(path)?)
}

/// [`open_sightings`] for any byte stream (an upload body, stdin): gzip is decoded,
/// concatenated gzip members included; anything else is passed through.
pub fn decode_sightings<R: Read + Send + 'static>(
    mut inner: R,
) -> io::Result<Box<dyn BufRead + Send>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < magic.len() {
        match inner.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = io::Cursor::new(magic).take(n as u64).chain(inner);
    if n == 2 && magic == [0x1f, 0x8b] {
        let gz = flate2::read::MultiGzDecoder::new(whole);
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER_SIZE, gz)))
    } else {
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER_SIZE, whole)))
    }
}

/// What [`SightingsReader::read_line`] found.
enum Line {
    Eof,
    /// In `buf`, without its line end.
    Text,
    TooLong(u64),
}

/// A line read but not yet yielded, held while the empty lines before it are reported.
#[derive(Clone, Copy)]
enum Held {
    Text,
    TooLong(u64),
}

/// Reads a sightings CSV: the header on [`new`](Self::new), then, as an iterator, one
/// `Ok(Sighting)` or `Err(ReadError::Row)` per line, and at most one final
/// `Err(ReadError::File)`.
///
/// Lines end in `\n` or `\r\n`; the last may have no line end. Fields are trimmed of ASCII
/// whitespace and may be wrapped in double quotes (`"4G"`), as spreadsheet exports write
/// them; a field with a comma inside is not supported. Empty lines at the end are skipped;
/// an empty line followed by rows is a bad row.
///
/// ```
/// use gica_registry::sightings::{ReadError, RowCause, SightingsReader};
/// let csv = "date,imei,imsi,msisdn,rat\r\n2021-03-01,490154203237518,432111234567890,09121234567,\r\n\
///            2021-03-02,4901542032375,432111234567890,09121234567,4G\r\n\r\n";
/// let mut rows = SightingsReader::new(csv.as_bytes())?;
/// let first = rows.next().unwrap().unwrap();
/// assert_eq!((first.date.to_string(), first.rat.is_empty()), ("2021-03-01".to_string(), true));
/// match rows.next() {
///     Some(Err(ReadError::Row(e))) => {
///         assert_eq!(e.line, 3);
///         assert!(matches!(e.cause, RowCause::Imei(_)));
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(rows.next().is_none());
/// # Ok::<(), gica_registry::sightings::SightingsError>(())
/// ```
pub struct SightingsReader<R: BufRead> {
    inner: R,
    buf: Vec<u8>,
    /// The number of the last line read (the header is 1).
    line: u64,
    max_lines: u64,
    /// Empty lines not yet known to be trailing: the first's number and how many.
    blank_start: u64,
    blank_count: u64,
    held: Option<Held>,
    /// A sighting [`fill`](Self::fill) had no room for; the next item.
    pending: Option<Sighting>,
    done: bool,
}

impl<R: BufRead> SightingsReader<R> {
    /// Reads and checks the header line.
    pub fn new(inner: R) -> Result<Self, SightingsError> {
        let mut r = SightingsReader {
            inner,
            buf: Vec::with_capacity(MAX_LINE_LEN + 1),
            line: 0,
            max_lines: DEFAULT_MAX_LINES,
            blank_start: 0,
            blank_count: 0,
            held: None,
            pending: None,
            done: false,
        };
        match r.read_line()? {
            Line::Eof => return Err(SightingsError::NoHeader),
            Line::TooLong(len) => return Err(SightingsError::HeaderTooLong { len }),
            Line::Text => {}
        }
        r.line = 1;
        let text = r.buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&r.buf);
        let mut names = text.split(|&b| b == b',').map(field_bytes);
        let mut expected = HEADER.split(',');
        let matches = expected.all(|want| {
            names
                .next()
                .is_some_and(|got| got.eq_ignore_ascii_case(want.as_bytes()))
        }) && names.next().is_none();
        if !matches {
            return Err(SightingsError::WrongHeader {
                found: String::from_utf8_lossy(&r.buf).into_owned(),
            });
        }
        Ok(r)
    }

    /// Stops with [`SightingsError::TooManyLines`] after `limit` lines, header included
    /// (default [`DEFAULT_MAX_LINES`]).
    pub fn max_lines(mut self, limit: u64) -> Self {
        self.max_lines = limit;
        self
    }

    /// The number of the last line read (1 after the header).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads rows into `batch` and `report` until a row of a new pair finds the batch
    /// [full](PairBatch::is_full) (that row is kept for the next call: drain the batch, then
    /// call again) or the file ends. Rows of pairs already in the batch still fold in when
    /// it is full, so a pair's adjacent rows make one entry.
    pub fn fill(
        &mut self,
        batch: &mut PairBatch,
        report: &mut ImportReport,
    ) -> Result<Filled, SightingsError> {
        loop {
            match self.next() {
                None => return Ok(Filled::EndOfFile),
                Some(Ok(s)) => match batch.add(&s) {
                    Ok(()) => report.record_accepted(),
                    Err(BatchFull { .. }) => {
                        self.pending = Some(s);
                        return Ok(Filled::BatchFull);
                    }
                },
                Some(Err(ReadError::Row(e))) => report.record_bad(e),
                Some(Err(ReadError::File(e))) => return Err(e),
            }
        }
    }

    /// Reads one line into `buf` without its line end, buffering at most `MAX_LINE_LEN + 1`
    /// bytes (room for a `\r`) whatever the line's length.
    fn read_line(&mut self) -> io::Result<Line> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut too_long = false;
        let mut any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (chunk, newline) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], true),
                None => (avail, false),
            };
            let n = chunk.len();
            total = total.saturating_add(n as u64);
            if !too_long {
                if self.buf.len() + n <= MAX_LINE_LEN + 1 {
                    self.buf.extend_from_slice(chunk);
                } else {
                    too_long = true;
                    self.buf.clear();
                }
            }
            self.inner.consume(n + usize::from(newline));
            if newline {
                break;
            }
        }
        if !any {
            return Ok(Line::Eof);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if too_long || self.buf.len() > MAX_LINE_LEN {
            return Ok(Line::TooLong(total));
        }
        Ok(Line::Text)
    }

    fn row_at(line: u64, cause: RowCause) -> Option<Result<Sighting, ReadError>> {
        Some(Err(ReadError::Row(RowError { line, cause })))
    }
}

impl<R: BufRead> Iterator for SightingsReader<R> {
    type Item = Result<Sighting, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(s) = self.pending.take() {
            return Some(Ok(s));
        }
        loop {
            if self.done {
                return None;
            }
            if let Some(held) = self.held {
                // Empty lines before a row are bad rows of their own, reported first.
                if self.blank_count > 0 {
                    let line = self.blank_start;
                    self.blank_start += 1;
                    self.blank_count -= 1;
                    return Self::row_at(line, RowCause::EmptyLine);
                }
                self.held = None;
                return match held {
                    Held::TooLong(len) => Self::row_at(self.line, RowCause::LineTooLong { len }),
                    Held::Text => match parse_row(&self.buf) {
                        Ok(s) => Some(Ok(s)),
                        Err(cause) => Self::row_at(self.line, cause),
                    },
                };
            }
            let read = match self.read_line() {
                Ok(Line::Eof) => {
                    self.done = true;
                    return None;
                }
                Ok(read) => read,
                Err(e) => {
                    self.done = true;
                    return Some(Err(ReadError::File(SightingsError::Io(e))));
                }
            };
            self.line += 1;
            if self.line > self.max_lines {
                self.done = true;
                let limit = self.max_lines;
                return Some(Err(ReadError::File(SightingsError::TooManyLines { limit })));
            }
            self.held = Some(match read {
                Line::TooLong(len) => Held::TooLong(len),
                _ if self.buf.is_empty() => {
                    if self.blank_count == 0 {
                        self.blank_start = self.line;
                    }
                    self.blank_count += 1;
                    continue;
                }
                _ => Held::Text,
            });
        }
    }
}

/// A CSV field: trimmed, and unwrapped from one pair of double quotes.
fn field_bytes(f: &[u8]) -> &[u8] {
    let t = f.trim_ascii();
    match t {
        [b'"', inner @ .., b'"'] => inner,
        _ => t,
    }
}

fn field(f: &str) -> &str {
    let t = f.trim_ascii();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
}

fn parse_row(line: &[u8]) -> Result<Sighting, RowCause> {
    let text = std::str::from_utf8(line).map_err(|e| RowCause::NotUtf8 {
        position: e.valid_up_to() + 1,
    })?;
    let mut it = text.split(',');
    let (Some(date), Some(imei), Some(imsi), Some(msisdn), Some(rat), None) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(RowCause::FieldCount {
            found: text.split(',').count(),
        });
    };
    Ok(Sighting {
        date: Date::parse(field(date)).map_err(RowCause::Date)?,
        imei: Imei::parse(field(imei)).map_err(RowCause::Imei)?,
        imsi: Imsi::parse(field(imsi)).map_err(RowCause::Imsi)?,
        msisdn: Msisdn::parse(field(msisdn)).map_err(RowCause::Msisdn)?,
        rat: Rat::new(field(rat)).map_err(RowCause::Rat)?,
    })
}

/// How [`SightingsReader::fill`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// A row of a new pair found the batch full: drain it and call `fill` again.
    BatchFull,
    /// The file is read to the end: drain the batch one last time.
    EndOfFile,
}

/// Counts of an import, the first [`MAX_REPORTED_ROWS`] bad rows in full, and the decision
/// whether the file has too many bad rows to be taken.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    rows_read: u64,
    rows_accepted: u64,
    rows_bad: u64,
    first_bad: Vec<RowError>,
    bad_by_kind: BTreeMap<RowCauseKind, u64>,
}

impl ImportReport {
    /// Counts a good row.
    pub fn record_accepted(&mut self) {
        self.rows_read += 1;
        self.rows_accepted += 1;
    }

    /// Counts a bad row, and keeps it if fewer than [`MAX_REPORTED_ROWS`] are kept.
    pub fn record_bad(&mut self, e: RowError) {
        self.rows_read += 1;
        self.rows_bad += 1;
        *self.bad_by_kind.entry(e.cause.kind()).or_default() += 1;
        if self.first_bad.len() < MAX_REPORTED_ROWS {
            self.first_bad.push(e);
        }
    }

    /// Rows read (header and trailing empty lines not counted).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Rows that gave a [`Sighting`].
    pub fn rows_accepted(&self) -> u64 {
        self.rows_accepted
    }

    /// Rows refused.
    pub fn rows_bad(&self) -> u64 {
        self.rows_bad
    }

    /// The first [`MAX_REPORTED_ROWS`] bad rows, in file order.
    pub fn first_bad(&self) -> &[RowError] {
        &self.first_bad
    }

    /// Bad rows by kind of cause (all of them, not only the first ones).
    pub fn bad_by_kind(&self) -> &BTreeMap<RowCauseKind, u64> {
        &self.bad_by_kind
    }

    /// Bad rows over rows read (0 when none were read).
    pub fn bad_share(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_bad as f64 / self.rows_read as f64
        }
    }

    /// Whether the share of bad rows is over `threshold` (a share, `0.05` for 5%; exactly
    /// at the threshold passes). A NaN threshold counts as 0: any bad row is too many.
    pub fn over_threshold(&self, threshold: f64) -> bool {
        let t = if threshold.is_nan() { 0.0 } else { threshold };
        self.bad_share() > t
    }
}

/// The key sightings fold into: a device seen with a SIM and its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    /// The device.
    pub imei: Imei,
    /// The SIM.
    pub imsi: Imsi,
    /// The SIM's number.
    pub msisdn: Msisdn,
}

/// What the sightings of one [`Pair`] add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairSeen {
    /// The earliest date.
    pub first: Date,
    /// The latest date.
    pub last: Date,
    /// The rat of the row with the latest date (of the later row in the file on a tie).
    pub rat: Rat,
    /// Rows folded in (saturating).
    pub rows: u32,
}

impl PairSeen {
    /// One sighting.
    pub fn new(date: Date, rat: Rat) -> Self {
        PairSeen {
            first: date,
            last: date,
            rat,
            rows: 1,
        }
    }

    /// Folds in one more sighting.
    pub fn see(&mut self, date: Date, rat: Rat) {
        self.merge(&PairSeen::new(date, rat));
    }

    /// Folds in `later`, an aggregate of rows that came after these (a later batch). The
    /// store's upsert does the same: `first = min`, `last = max`, `rows = rows + rows`, and
    /// `rat = later.rat` when `later.last >= last`.
    pub fn merge(&mut self, later: &PairSeen) {
        self.first = self.first.min(later.first);
        if later.last >= self.last {
            self.last = later.last;
            self.rat = later.rat;
        }
        self.rows = self.rows.saturating_add(later.rows);
    }
}

/// Returned by [`PairBatch::add`] for a new pair when the batch is full; nothing was added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pair batch is full ({capacity} pairs)")]
pub struct BatchFull {
    /// The batch's capacity.
    pub capacity: usize,
}

/// Sightings folded by [`Pair`], up to a capacity, for the store to upsert in chunks.
///
/// Memory is reserved up front: about 81 bytes a slot, in a power of two of slots at least
/// 8/7 of the capacity (a capacity of 100,000 reserves about 11 MB; 1,000,000 about 170 MB).
///
/// ```
/// use gica_registry::sightings::{PairBatch, Rat, Sighting};
/// use gica_registry::domain::{Date, Imei, Imsi, Msisdn};
/// let s = Sighting {
///     date: Date::parse("2021-03-01")?,
///     imei: Imei::parse("490154203237518")?,
///     imsi: Imsi::parse("432111234567890")?,
///     msisdn: Msisdn::parse("09121234567")?,
///     rat: Rat::new("4G").unwrap(),
/// };
/// let mut batch = PairBatch::with_capacity(1);
/// batch.add(&s).unwrap();
/// batch.add(&s).unwrap(); // the same pair: folded, no new entry
/// assert!(batch.is_full());
/// let mut chunk = Vec::new();
/// batch.drain_sorted_into(&mut chunk);
/// assert_eq!(chunk[0].1.rows, 2);
/// assert!(batch.is_empty());
/// # Ok::<(), gica_registry::domain::DomainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PairBatch {
    map: HashMap<Pair, PairSeen>,
    capacity: usize,
}

impl PairBatch {
    /// An empty batch of at most `capacity` pairs (at least 1), its memory reserved.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        PairBatch {
            map: HashMap::with_capacity(capacity),
            capacity,
        }
    }

    /// Folds `s` in; a new pair when the batch is full is refused.
    pub fn add(&mut self, s: &Sighting) -> Result<(), BatchFull> {
        let full = self.is_full();
        match self.map.entry(s.pair()) {
            Entry::Occupied(mut e) => e.get_mut().see(s.date, s.rat),
            Entry::Vacant(_) if full => {
                return Err(BatchFull {
                    capacity: self.capacity,
                });
            }
            Entry::Vacant(e) => {
                e.insert(PairSeen::new(s.date, s.rat));
            }
        }
        Ok(())
    }

    /// Whether it holds `capacity` pairs.
    pub fn is_full(&self) -> bool {
        self.map.len() >= self.capacity
    }

    /// Pairs held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What `pair` adds up to so far.
    pub fn get(&self, pair: &Pair) -> Option<&PairSeen> {
        self.map.get(pair)
    }

    /// Takes every entry out, in no particular order; the memory stays for the next batch.
    pub fn drain(&mut self) -> hash_map::Drain<'_, Pair, PairSeen> {
        self.map.drain()
    }

    /// Moves every entry into `out` (cleared first), sorted by pair: upserts that lock rows
    /// in one order cannot deadlock each other. Reuse `out` across batches.
    pub fn drain_sorted_into(&mut self, out: &mut Vec<(Pair, PairSeen)>) {
        out.clear();
        out.extend(self.map.drain());
        out.sort_unstable_by_key(|entry| entry.0);
    }
}
