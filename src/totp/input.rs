//! Reading TOTP secrets (import.md §5.1) from CSV (`email,totp_secret,
//! totp_issuer,totp_user`, the package's `totp_secrets.csv`) or NDJSON
//! (`{email, totp_secret | secret | mfa_factors:[{type:"totp", secret |
//! totp_secret}]}`), one record at a time.
//!
//! Rows without an email or a secret are ignored, as in the original (an
//! export lists every user, most without TOTP). Differences, on purpose: a
//! ragged CSV row, an NDJSON line that is not a JSON object, a non-string
//! `email`/secret and a secret that is not Base32 are *invalid* records
//! (reported with their line, never with the secret) instead of being
//! dropped silently or aborting the file; `secret` is also accepted as a CSV
//! column; NDJSON lines may carry `totp_issuer`/`totp_user` too.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::secret::TotpSecret;
use super::TotpError;
use crate::roles::rows::CsvRows;

/// Longest NDJSON line read; a longer one is reported and skipped.
pub const MAX_NDJSON_LINE: usize = 1024 * 1024;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Ndjson,
}

impl InputFormat {
    /// By extension: `.ndjson` / `.jsonl` (any case) → NDJSON, else CSV.
    pub fn detect(path: &Path) -> Self {
        let name = path.to_string_lossy().to_lowercase();
        if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Self::Ndjson
        } else {
            Self::Csv
        }
    }

    /// `--format` value (`csv` or `ndjson`, any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" => Some(Self::Ndjson),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }
}

/// One usable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// Line it starts on (1-based; a CSV header is line 1).
    pub line: u64,
    /// Trimmed, lower-cased.
    pub email: String,
    pub secret: TotpSecret,
    pub issuer: Option<String>,
    pub user: Option<String>,
}

/// What one row or line yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputItem {
    Record(TotpRecord),
    /// No email or no secret: not a TOTP record, not counted.
    Ignored,
    /// A record that cannot be enrolled; `message` never holds the secret.
    Invalid {
        line: u64,
        email: Option<String>,
        message: String,
    },
}

/// Streaming reader of a TOTP input file.
pub struct TotpInput {
    source: Source,
}

enum Source {
    Csv {
        rows: Box<CsvRows>,
        email: Option<usize>,
        secret: Option<usize>,
        issuer: Option<usize>,
        user: Option<usize>,
    },
    Ndjson {
        path: PathBuf,
        reader: BufReader<File>,
        line: u64,
        buf: Vec<u8>,
    },
}

impl TotpInput {
    /// Opens `path` as `format`. A CSV must have `email` and `totp_secret`
    /// (or `secret`) columns.
    pub fn open(path: &Path, format: InputFormat) -> Result<Self, TotpError> {
        if !path.is_file() {
            return Err(TotpError::InputNotFound {
                path: path.to_path_buf(),
            });
        }
        let source = match format {
            InputFormat::Csv => {
                let rows = CsvRows::open(path)?;
                let email = rows.column("email");
                let secret = rows.column("totp_secret").or_else(|| rows.column("secret"));
                if email.is_none() || secret.is_none() {
                    return Err(TotpError::MissingColumns {
                        found: rows.header().join(", "),
                    });
                }
                Source::Csv {
                    issuer: rows.column("totp_issuer"),
                    user: rows.column("totp_user"),
                    rows: Box::new(rows),
                    email,
                    secret,
                }
            }
            InputFormat::Ndjson => {
                let file = File::open(path).map_err(|source| TotpError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Source::Ndjson {
                    path: path.to_path_buf(),
                    reader: BufReader::new(file),
                    line: 0,
                    buf: Vec::new(),
                }
            }
        };
        Ok(Self { source })
    }
}

impl Iterator for TotpInput {
    type Item = Result<InputItem, TotpError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Csv {
                rows,
                email,
                secret,
                issuer,
                user,
            } => {
                let row = match rows.next()? {
                    Ok(row) => row,
                    Err(e) => return Some(Err(e.into())),
                };
                if let Some(found) = row.ragged {
                    return Some(Ok(InputItem::Invalid {
                        line: row.line,
                        email: row.get(*email).map(str::to_lowercase),
                        message: format!(
                            "Row {} has {found} fields but the header has {}",
                            row.row,
                            row.cells.len()
                        ),
                    }));
                }
                Some(Ok(item(
                    row.line,
                    row.get(*email),
                    row.get(*secret),
                    row.get(*issuer).map(str::to_string),
                    row.get(*user).map(str::to_string),
                )))
            }
            Source::Ndjson {
                path,
                reader,
                line,
                buf,
            } => loop {
                buf.clear();
                *line += 1;
                let read = (&mut *reader)
                    .take(MAX_NDJSON_LINE as u64 + 1)
                    .read_until(b'\n', buf);
                match read {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(source) => {
                        return Some(Err(TotpError::Read {
                            path: path.clone(),
                            source,
                        }))
                    }
                }
                if buf.last() != Some(&b'\n') && buf.len() > MAX_NDJSON_LINE {
                    if let Err(source) = skip_rest_of_line(reader) {
                        return Some(Err(TotpError::Read {
                            path: path.clone(),
                            source,
                        }));
                    }
                    return Some(Ok(InputItem::Invalid {
                        line: *line,
                        email: None,
                        message: format!("Line {line} is longer than {MAX_NDJSON_LINE} bytes"),
                    }));
                }
                let mut bytes: &[u8] = buf;
                if *line == 1 {
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                let Ok(text) = std::str::from_utf8(bytes) else {
                    return Some(Ok(InputItem::Invalid {
                        line: *line,
                        email: None,
                        message: format!("Line {line} is not valid UTF-8"),
                    }));
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                return Some(Ok(ndjson_item(*line, text)));
            },
        }
    }
}

fn skip_rest_of_line(reader: &mut BufReader<File>) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        if let Some(i) = memchr::memchr(b'\n', available) {
            reader.consume(i + 1);
            return Ok(());
        }
        let n = available.len();
        reader.consume(n);
    }
}

/// A record from its fields (email and secret still raw).
fn item(
    line: u64,
    email: Option<&str>,
    secret: Option<&str>,
    issuer: Option<String>,
    user: Option<String>,
) -> InputItem {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let secret = secret.map(str::trim).filter(|s| !s.is_empty());
    let (Some(email), Some(secret)) = (email, secret) else {
        return InputItem::Ignored;
    };
    let email = email.to_lowercase();
    match TotpSecret::parse(secret) {
        Ok(secret) => InputItem::Record(TotpRecord {
            line,
            email,
            secret,
            issuer: issuer.filter(|v| !v.trim().is_empty()),
            user: user.filter(|v| !v.trim().is_empty()),
        }),
        Err(e) => InputItem::Invalid {
            line,
            email: Some(email),
            message: e.to_string(),
        },
    }
}

/// A string field: `Ok(None)` when absent, null or blank, `Err` when it is
/// another JSON type.
fn string_field<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.trim().is_empty())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn ndjson_item(line: u64, text: &str) -> InputItem {
    let invalid = |email: Option<&str>, message: String| InputItem::Invalid {
        line,
        email: email.map(|e| e.trim().to_lowercase()),
        message: format!("Line {line}: {message}"),
    };
    let obj = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return invalid(None, "not a JSON object".to_string()),
        Err(e) => return invalid(None, format!("invalid JSON ({e})")),
    };
    let email = match string_field(&obj, "email") {
        Ok(e) => e,
        Err(m) => return invalid(None, m),
    };
    let mut secret = None;
    for key in ["totp_secret", "secret"] {
        match string_field(&obj, key) {
            Ok(Some(s)) => {
                secret = Some(s);
                break;
            }
            Ok(None) => {}
            Err(m) => return invalid(email, m),
        }
    }
    if secret.is_none() {
        if let Some(Value::Array(factors)) = obj.get("mfa_factors") {
            let totp = factors.iter().find_map(|f| {
                f.as_object()
                    .filter(|f| f.get("type").and_then(Value::as_str) == Some("totp"))
            });
            if let Some(factor) = totp {
                for key in ["secret", "totp_secret"] {
                    match string_field(factor, key) {
                        Ok(Some(s)) => {
                            secret = Some(s);
                            break;
                        }
                        Ok(None) => {}
                        Err(m) => return invalid(email, format!("mfa_factors: {m}")),
                    }
                }
            }
        }
    }
    let issuer = string_field(&obj, "totp_issuer")
        .ok()
        .flatten()
        .map(str::to_string);
    let user = string_field(&obj, "totp_user")
        .ok()
        .flatten()
        .map(str::to_string);
    item(line, email, secret, issuer, user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn items(name: &str, text: &str, format: Option<InputFormat>) -> Vec<InputItem> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let format = format.unwrap_or_else(|| InputFormat::detect(&p));
        TotpInput::open(&p, format)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    fn record(i: &InputItem) -> &TotpRecord {
        match i {
            InputItem::Record(r) => r,
            other => panic!("not a record: {other:?}"),
        }
    }

    #[test]
    fn detects_format() {
        assert_eq!(InputFormat::detect(Path::new("a.csv")), InputFormat::Csv);
        assert_eq!(
            InputFormat::detect(Path::new("a.ndjson")),
            InputFormat::Ndjson
        );
        assert_eq!(
            InputFormat::detect(Path::new("a.JSONL")),
            InputFormat::Ndjson
        );
        assert_eq!(InputFormat::detect(Path::new("a.txt")), InputFormat::Csv);
        assert_eq!(InputFormat::parse("NDJSON"), Some(InputFormat::Ndjson));
        assert_eq!(InputFormat::parse("json"), None);
    }

    #[test]
    fn csv_rows() {
        let got = items(
            "t.csv",
            "email,totp_secret,totp_issuer,totp_user\n Alice@Example.COM ,jbswy3dpehpk3pxp,,\nbob@x.com,MZXW6YTB,MyApp,bob\n,MZXW6YTB,,\ncarol@x.com,,,\ndan@x.com,SECRET123,,\ned@x.com,MZXW6YTB\n",
            None,
        );
        assert_eq!(got.len(), 6);
        let a = record(&got[0]);
        assert_eq!(a.email, "alice@example.com");
        assert_eq!(a.secret.expose(), "JBSWY3DPEHPK3PXP");
        assert_eq!((a.issuer.as_deref(), a.user.as_deref()), (None, None));
        let b = record(&got[1]);
        assert_eq!(
            (b.issuer.as_deref(), b.user.as_deref()),
            (Some("MyApp"), Some("bob"))
        );
        assert_eq!(got[2], InputItem::Ignored);
        assert_eq!(got[3], InputItem::Ignored);
        match &got[4] {
            InputItem::Invalid {
                line,
                email,
                message,
            } => {
                assert_eq!(*line, 6);
                assert_eq!(email.as_deref(), Some("dan@x.com"));
                assert!(!message.contains("SECRET"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&got[5], InputItem::Invalid { line: 7, .. }));
    }

    #[test]
    fn csv_needs_email_and_secret_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "email,issuer\n").unwrap();
        let e = TotpInput::open(&p, InputFormat::Csv).err().unwrap();
        assert!(e.to_string().contains("must have email and totp_secret"));
        let header_only = items("h.csv", "email,totp_secret\n", None);
        assert!(header_only.is_empty());
    }

    #[test]
    fn ndjson_shapes() {
        let got = items(
            "t.jsonl",
            concat!(
                "{\"email\":\"A@x.com\",\"totp_secret\":\"JBSWY3DPEHPK3PXP\"}\n",
                "{\"email\":\"b@x.com\",\"secret\":\"MZXW6YTB\"}\n",
                "\n",
                "{\"email\":\"c@x.com\",\"mfa_factors\":[{\"type\":\"sms\",\"secret\":\"ignored\"},{\"type\":\"totp\",\"secret\":\"MZXW6YTBOI\"}]}\n",
                "{\"secret\":\"MZXW6YTB\"}\n",
                "{\"email\":\"d@x.com\"}\n",
                "{not json\n",
                "{\"email\":5,\"secret\":\"MZXW6YTB\"}\n",
            ),
            None,
        );
        assert_eq!(got.len(), 7);
        assert_eq!(record(&got[0]).email, "a@x.com");
        assert_eq!(record(&got[1]).secret.expose(), "MZXW6YTB");
        assert_eq!(record(&got[2]).secret.expose(), "MZXW6YTBOI");
        assert_eq!(record(&got[2]).line, 4);
        assert_eq!(got[3], InputItem::Ignored);
        assert_eq!(got[4], InputItem::Ignored);
        assert!(
            matches!(&got[5], InputItem::Invalid { line: 7, message, .. } if message.contains("invalid JSON"))
        );
        assert!(
            matches!(&got[6], InputItem::Invalid { message, .. } if message.contains("email is not a string"))
        );
    }

    #[test]
    fn explicit_format_wins_over_extension() {
        let got = items(
            "t.txt",
            "{\"email\":\"a@x.com\",\"totp_secret\":\"MZXW6YTB\"}\n",
            Some(InputFormat::Ndjson),
        );
        assert_eq!(record(&got[0]).email, "a@x.com");
    }
}
