//! `export-template [template]` (export-and-package.md §12): CSV templates for
//! the WorkOS dashboard upload format and the SSO hand-off files, with
//! example rows. Unlike the original, every example row has exactly as many
//! fields as its header (the SAML examples had 20 and 19 for 21 columns).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::package::schema::{OIDC_CONNECTIONS_HEADER, SAML_CONNECTIONS_HEADER};

/// One template.
#[derive(Debug, Clone, Copy)]
pub struct CsvTemplate {
    pub key: &'static str,
    pub description: &'static str,
    pub filename: &'static str,
    pub headers: &'static [&'static str],
    pub required: &'static [&'static str],
    pub examples: &'static [&'static str],
}

impl CsvTemplate {
    pub fn optional(&self) -> Vec<&'static str> {
        self.headers
            .iter()
            .copied()
            .filter(|h| !self.required.contains(h))
            .collect()
    }

    /// Header line plus example lines (unless `examples` is false), `\n`-terminated.
    pub fn render(&self, examples: bool) -> String {
        let mut lines = vec![self.headers.join(",")];
        if examples {
            lines.extend(self.examples.iter().map(|e| e.to_string()));
        }
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }
}

pub const TEMPLATES: [CsvTemplate; 5] = [
    CsvTemplate {
        key: "users",
        description: "User accounts with authentication details",
        filename: "users.csv",
        headers: &["user_id", "email", "email_verified", "first_name", "last_name", "name", "password_hash"],
        required: &["user_id", "email"],
        examples: &[
            "user_123,john.doe@company.com,true,John,Doe,John Doe,$2a$10$abcd...",
            "user_456,jane.smith@company.com,false,Jane,Smith,Jane Smith,$2a$10$efgh...",
        ],
    },
    CsvTemplate {
        key: "organizations",
        description: "Organization entities",
        filename: "organizations.csv",
        headers: &["organization_id", "name"],
        required: &["organization_id", "name"],
        examples: &["org_123,Acme Corporation", "org_456,Example Industries"],
    },
    CsvTemplate {
        key: "organization_memberships",
        description: "User memberships in organizations",
        filename: "organization_memberships.csv",
        headers: &["organization_id", "user_id"],
        required: &["organization_id", "user_id"],
        examples: &["org_123,user_123", "org_123,user_456", "org_456,user_456"],
    },
    CsvTemplate {
        key: "saml_connections",
        description: "SAML SSO connections",
        filename: "saml_connections.csv",
        headers: SAML_CONNECTIONS_HEADER,
        required: &["organizationName", "organizationId"],
        examples: &[
            "Acme SAML,Acme Corporation,org_123,,acme.com;app.acme.com,https://acme.okta.com,https://acme.okta.com/app/saml,MIICXjCCAcegAwIBAgIBADANBgkqhkiG9w0BAQ0FADCBhzELMAkGA1UEBhMCVVMx...,https://acme.okta.com/app/metadata,,https://acme.com/saml/acs,email,,,,,,,,,",
            "Example SAML,Example Industries,org_456,,example.com,https://example.auth0.com/,https://example.auth0.com/saml,,https://example.auth0.com/samlp/metadata,,,uid,,,,,,,,,",
        ],
    },
    CsvTemplate {
        key: "oidc_connections",
        description: "OIDC SSO connections",
        filename: "oidc_connections.csv",
        headers: OIDC_CONNECTIONS_HEADER,
        required: &["organizationName", "organizationId"],
        examples: &[
            "Acme OIDC,Acme Corporation,org_123,,acme.com,client_abc123,secret_xyz789,https://accounts.google.com/.well-known/openid-configuration,,",
            "Example OIDC,Example Industries,org_456,,example.com,client_def456,secret_uvw321,https://login.microsoftonline.com/tenant-id/v2.0/.well-known/openid-configuration,,",
        ],
    },
];

pub fn find(key: &str) -> Option<&'static CsvTemplate> {
    TEMPLATES.iter().find(|t| t.key == key)
}

/// Errors of `export-template`.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Prints the `--list` text.
pub fn print_list(out: &mut dyn Write) -> io::Result<()> {
    for t in &TEMPLATES {
        writeln!(out, "  {}  {}", t.key, t.description)?;
        writeln!(
            out,
            "    File: {}  |  Columns: {}",
            t.filename,
            t.headers.join(", ")
        )?;
        writeln!(out, "    Required: {}", t.required.join(", "))?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "Usage: workos-migrate export-template <name> [--output file.csv]"
    )
}

/// Runs `export-template`; returns the exit code.
pub fn run(
    name: Option<&str>,
    output: Option<&Path>,
    list: bool,
    examples: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, TemplateError> {
    if list {
        print_list(out)?;
        return Ok(0);
    }
    let template = match name {
        None => {
            writeln!(err, "Error: template name is required.")?;
            writeln!(err)?;
            print_list(err)?;
            return Ok(1);
        }
        Some(n) => match find(n) {
            Some(t) => t,
            None => {
                writeln!(err, "Error: unknown template \"{n}\".")?;
                writeln!(err)?;
                print_list(err)?;
                return Ok(1);
            }
        },
    };
    let content = template.render(examples);
    let Some(path) = output else {
        out.write_all(content.as_bytes())?;
        return Ok(0);
    };
    let write_err = |source| TemplateError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(write_err(io::Error::other(
            "is a directory, expected a file path",
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_err)?;
    }
    std::fs::write(path, content).map_err(write_err)?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    writeln!(out, "Template written to {}", abs.display())?;
    writeln!(
        out,
        "  {} columns: {}",
        template.headers.len(),
        template.headers.join(", ")
    )?;
    writeln!(out, "  Required: {}", template.required.join(", "))?;
    let optional = template.optional();
    if !optional.is_empty() {
        writeln!(out, "  Optional: {}", optional.join(", "))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_row_has_the_header_width() {
        for t in &TEMPLATES {
            let text = t.render(true);
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .from_reader(text.as_bytes());
            let width = rdr.headers().unwrap().len();
            assert_eq!(width, t.headers.len());
            let mut rows = 0;
            for rec in rdr.records() {
                assert_eq!(rec.unwrap().len(), width, "template {}", t.key);
                rows += 1;
            }
            assert!(rows >= 1);
            assert!(t.required.iter().all(|r| t.headers.contains(r)));
            assert!(t.filename.ends_with(".csv"));
        }
    }

    #[test]
    fn keys_are_exact() {
        let keys: Vec<&str> = TEMPLATES.iter().map(|t| t.key).collect();
        assert_eq!(
            keys,
            [
                "users",
                "organizations",
                "organization_memberships",
                "saml_connections",
                "oidc_connections"
            ]
        );
    }

    #[test]
    fn unknown_and_missing_names_fail() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(Some("nope"), None, false, true, &mut out, &mut err).unwrap(),
            1
        );
        assert!(String::from_utf8(err)
            .unwrap()
            .starts_with("Error: unknown template \"nope\".\n\n  users"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(None, None, false, true, &mut out, &mut err).unwrap(), 1);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(
                Some("organizations"),
                None,
                false,
                false,
                &mut out,
                &mut err
            )
            .unwrap(),
            0
        );
        assert_eq!(out, b"organization_id,name\n");
    }
}
