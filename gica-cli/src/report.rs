//! What a command found, printed as text (verdict first) or as one JSON object.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

/// Exit status, as documented in `--help` and the README.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Code {
    /// Verified, good, valid.
    Ok = 0,
    /// Verification failed, or revoked.
    Failed = 1,
    /// Status unknown.
    Unknown = 2,
    /// Usage or I/O error.
    Usage = 3,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> Self {
        ExitCode::from(c as u8)
    }
}

/// Why a command could not give a verdict, or the verdict "failed".
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad flag value or an input that is not what it should be (exit 3).
    #[error("{0}")]
    Usage(String),
    /// A file or the network failed (exit 3).
    #[error("{0}")]
    Io(String),
    /// Verification failed (exit 1), with what to try next when there is something.
    #[error("{message}")]
    Failed {
        /// The cause.
        message: String,
        /// A suggestion.
        hint: Option<String>,
    },
    /// No verdict could be reached (exit 2): a revocation status nobody gave.
    #[error("{message}")]
    Unknown {
        /// What is unknown.
        message: String,
        /// What to give so it is known.
        hint: Option<String>,
    },
}

impl CliError {
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            hint: None,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Self::Usage(_) | Self::Io(_) => Code::Usage,
            Self::Failed { .. } => Code::Failed,
            Self::Unknown { .. } => Code::Unknown,
        }
    }
}

/// A verdict with its details.
#[derive(Debug)]
pub struct Report {
    code: Code,
    verdict: &'static str,
    summary: String,
    fields: Vec<(&'static str, Value)>,
    notes: Vec<String>,
}

impl Report {
    pub fn new(code: Code, verdict: &'static str, summary: impl Into<String>) -> Self {
        Self {
            code,
            verdict,
            summary: summary.into(),
            fields: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a field (text output shows `key: value`; arrays one item per line).
    pub fn field(&mut self, key: &'static str, value: impl Into<Value>) -> &mut Self {
        self.fields.push((key, value.into()));
        self
    }

    /// Adds a field when there is a value.
    pub fn opt(&mut self, key: &'static str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(v) = value {
            self.field(key, v);
        }
        self
    }

    /// A sentence for the reader (e.g. "revocation was not checked").
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("verdict".into(), json!(self.verdict));
        m.insert("exit_code".into(), json!(self.code as u8));
        m.insert("summary".into(), json!(self.summary));
        for (k, v) in &self.fields {
            m.insert((*k).into(), v.clone());
        }
        if !self.notes.is_empty() {
            m.insert("notes".into(), json!(self.notes));
        }
        Value::Object(m)
    }

    pub fn to_text(&self) -> String {
        let mut out = format!("{}: {}\n", self.verdict, self.summary);
        let width = self.fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.fields {
            let label = k.replace('_', " ");
            match v {
                Value::Array(items) if items.is_empty() => {
                    out.push_str(&format!("  {label:width$}  (none)\n"));
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let l = if i == 0 { label.as_str() } else { "" };
                        out.push_str(&format!("  {l:width$}  {}\n", plain(item)));
                    }
                }
                v => out.push_str(&format!("  {label:width$}  {}\n", plain(v))),
            }
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }

    /// The report for an error: exit 1 for a failed verification, 3 otherwise.
    pub fn from_error(e: &CliError) -> Self {
        let verdict = match e {
            CliError::Failed { .. } => "FAILED",
            CliError::Unknown { .. } => "unknown",
            _ => "error",
        };
        let mut r = Report::new(e.code(), verdict, e.to_string());
        if let CliError::Failed {
            hint: Some(hint), ..
        }
        | CliError::Unknown {
            hint: Some(hint), ..
        } = e
        {
            r.note(hint.clone());
        }
        r
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Prints a report (stdout) or an error (stdout for failures and JSON, stderr otherwise).
pub fn emit(result: Result<Report, CliError>, json: bool) -> ExitCode {
    let report = match &result {
        Ok(r) => r,
        Err(e) => &Report::from_error(e),
    };
    // A closed pipe (`gica ... | head -1`) is not an error worth a panic.
    use std::io::Write as _;
    let _ = if json {
        writeln!(std::io::stdout().lock(), "{}", report.to_json())
    } else {
        match &result {
            Err(CliError::Usage(_) | CliError::Io(_)) => {
                write!(std::io::stderr().lock(), "{}", report.to_text())
            }
            _ => write!(std::io::stdout().lock(), "{}", report.to_text()),
        }
    };
    report.code().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_puts_the_verdict_first_and_aligns_fields() {
        let mut r = Report::new(Code::Ok, "good", "CN=leaf");
        r.field("this_update", "2026-01-01T00:00:00Z")
            .field("chain", vec!["CN=a", "CN=b"])
            .note("revocation was not checked");
        let text = r.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "good: CN=leaf");
        assert_eq!(lines[1], "  this update  2026-01-01T00:00:00Z");
        assert_eq!(lines[2], "  chain        CN=a");
        assert_eq!(lines[3], "               CN=b");
        assert_eq!(lines[4], "note: revocation was not checked");
    }

    #[test]
    fn json_carries_verdict_code_and_fields() {
        let mut r = Report::new(Code::Unknown, "unknown", "x");
        r.field("serial", "01");
        let v = r.to_json();
        assert_eq!(v["verdict"], "unknown");
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["serial"], "01");
    }

    #[test]
    fn failures_exit_1_and_io_errors_exit_3() {
        let f = Report::from_error(&CliError::Failed {
            message: "imprint".into(),
            hint: Some("try".into()),
        });
        assert_eq!(f.code(), Code::Failed);
        assert!(f.to_text().starts_with("FAILED: imprint\nnote: try"));
        assert_eq!(
            Report::from_error(&CliError::Io("x".into())).code(),
            Code::Usage
        );
        let u = Report::from_error(&CliError::Unknown {
            message: "revocation".into(),
            hint: Some("give --crl".into()),
        });
        assert_eq!(u.code(), Code::Unknown);
        assert!(
            u.to_text()
                .starts_with("unknown: revocation\nnote: give --crl")
        );
    }
}
