//! SSO hand-off material written under `sso/` (export-and-package.md §1.9 and
//! Appendix A): the `handoff_notes.md` texts for every producer. SSO
//! connections are never imported automatically; these files tell the operator
//! what to do by hand. Row builders for the four `sso/*.csv` files live with
//! each provider's SSO mapping; the headers are in [`super::schema`].

/// Numbers reported by the Clerk hand-off notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClerkSsoCounts {
    pub fetched: u64,
    pub saml: u64,
    pub oidc: u64,
    pub skipped: u64,
}

/// Per-scope numbers for the Firebase / Identity Platform notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirebaseScope {
    /// `project` or `tenant:<id>`.
    pub label: String,
    pub saml: u64,
    pub oidc: u64,
}

/// Said once per Cognito package (hand-off notes, summary, one warning).
pub const COGNITO_NO_PASSWORD_HASHES: &str = "Cognito never exposes password hashes: every exported user must reset their password (or be migrated lazily at first sign-in) after import.";

/// Which `sso/handoff_notes.md` text a package carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoffNotes {
    /// A package created without explicit notes.
    Default,
    /// `export csv` / `generate-package-template`.
    CsvSkeleton,
    Auth0WithoutSso,
    Auth0WithSso {
        secrets_included: bool,
    },
    CognitoWithoutSso,
    CognitoWithSso,
    ClerkWithoutSecretKey,
    ClerkWithSecretKey(ClerkSsoCounts),
    FirebaseWithoutSso,
    FirebaseWithSso {
        fetched: u64,
        saml: u64,
        oidc: u64,
        skipped: u64,
        scopes: Vec<FirebaseScope>,
        /// `--include-secrets` wrote OIDC client secrets into the package.
        secrets_included: bool,
    },
}

impl HandoffNotes {
    /// The file content: lines joined by `\n`, ending with exactly one `\n`.
    pub fn render(&self) -> String {
        let lines: Vec<String> = match self {
            Self::Default => vec![
                "# SSO handoff notes".into(),
                String::new(),
                "No SSO handoff notes were generated.".into(),
            ],
            Self::CsvSkeleton => vec![
                "# SSO handoff notes".into(),
                String::new(),
                "This skeleton ships empty SSO handoff CSVs. Populate them only when you have".into(),
                "enterprise SAML or OIDC connection material to hand off; otherwise leave them".into(),
                "header-only. WorkOS SSO connections are never imported automatically.".into(),
            ],
            Self::Auth0WithoutSso => vec![
                "# Auth0 SSO handoff notes".into(),
                String::new(),
                "This package was generated without Auth0 SSO connection handoff files.".into(),
                "Run package mode with --entities sso, or include sso in a comma-separated entity list, when SSO handoff is needed.".into(),
            ],
            Self::Auth0WithSso { secrets_included } => vec![
                "# Auth0 SSO handoff notes".into(),
                String::new(),
                "Auth0 SSO export is handoff-only. The package writes SAML and OIDC connection CSVs for WorkOS/manual processing and does not create WorkOS SSO connections automatically.".into(),
                "Auth0 enterprise strategies are inspected for SAML/OIDC configuration, and only connections with enough reliable handoff data are emitted. Database, passwordless, social, generic OAuth, non-SAML/OIDC enterprise, and incomplete connections are skipped with warnings.".into(),
                "If one Auth0 connection is enabled for multiple Auth0 organizations, the exporter writes one handoff row with the union of source organization domains and a confirmation warning.".into(),
                if *secrets_included {
                    "Connection secrets were included because --include-secrets was set.".into()
                } else {
                    "Connection secrets were redacted. Re-run with --include-secrets only if the output directory can safely store secrets.".into()
                },
            ],
            Self::CognitoWithoutSso => vec![
                "# Cognito SSO handoff notes".into(),
                String::new(),
                "This package was generated without Cognito SSO connection handoff files.".into(),
                "Re-run with --entities sso (or include sso in a comma-separated entity list) when SSO handoff is needed.".into(),
                String::new(),
                COGNITO_NO_PASSWORD_HASHES.into(),
            ],
            Self::CognitoWithSso => vec![
                "# Cognito SSO handoff notes".into(),
                String::new(),
                "Cognito SSO export is handoff-only. SAML and OIDC identity providers are mapped onto WorkOS connection CSVs but no WorkOS connections are created automatically.".into(),
                "Use the proxy templates and proxy_routes.csv when staging a callback proxy during enterprise-connection cutover.".into(),
                String::new(),
                COGNITO_NO_PASSWORD_HASHES.into(),
            ],
            // The original pointed at legacy flag names (§17.23); ours names
            // the flags of the command that produced the package.
            Self::ClerkWithoutSecretKey => vec![
                "# Clerk handoff notes".into(),
                String::new(),
                "Clerk dashboard CSV export does not surface SAML/OIDC connection material.".into(),
                "Re-run with `--secret-key <sk_...>` to fetch enterprise connections".into(),
                "via the Clerk Backend API (`/v1/enterprise_connections`), or populate the".into(),
                "sso/ CSVs manually and run `validate-package` before importing.".into(),
            ],
            Self::ClerkWithSecretKey(c) => {
                let mut l = vec![
                    "# Clerk handoff notes".into(),
                    String::new(),
                    format!("Clerk Backend API returned {} enterprise connection(s) from /v1/enterprise_connections.", c.fetched),
                    format!("{} SAML connection(s) were mapped to sso/saml_connections.csv.", c.saml),
                    format!("{} OIDC connection(s) were mapped to sso/oidc_connections.csv.", c.oidc),
                ];
                if c.skipped > 0 {
                    l.push(format!("{} were skipped because required fields were missing \u{2014} see warnings.jsonl.", c.skipped));
                }
                l.extend([
                    String::new(),
                    "No connection secrets were fetched \u{2014} Clerk exposes only public IdP certificates".into(),
                    "for SAML and client_id + discovery_url for OIDC via the Backend API. Customers".into(),
                    "will need to re-enter OIDC client secrets in the WorkOS dashboard regardless.".into(),
                ]);
                l
            }
            Self::FirebaseWithoutSso => vec![
                "# Firebase / Identity Platform handoff notes".into(),
                String::new(),
                "Firebase Auth JSON exports do not include SAML/OIDC connection material.".into(),
                "Re-run with `--service-account-key <key.json>` and `--project-id <gcp-project>`".into(),
                "to fetch Identity Platform SAML/OIDC configs via the admin REST API, or".into(),
                "populate sso/ files manually and run validate-package before importing.".into(),
            ],
            Self::FirebaseWithSso { fetched, saml, oidc, skipped, scopes, secrets_included } => {
                let non_empty: Vec<&FirebaseScope> =
                    scopes.iter().filter(|s| s.saml + s.oidc > 0).collect();
                let scope_count = non_empty.len().max(1);
                let mut l = vec![
                    "# Firebase / Identity Platform handoff notes".into(),
                    String::new(),
                    format!("Identity Platform admin API returned {fetched} provider config(s) across {scope_count} scope(s)."),
                    format!("{saml} SAML provider config(s) were mapped to sso/saml_connections.csv."),
                    format!("{oidc} OIDC provider config(s) were mapped to sso/oidc_connections.csv."),
                ];
                if *skipped > 0 {
                    l.push(format!("{skipped} config(s) were skipped because required fields were missing \u{2014} see warnings.jsonl."));
                }
                if !non_empty.is_empty() {
                    l.push(String::new());
                    l.push("Scope breakdown:".into());
                    for s in non_empty {
                        l.push(format!("- {}: {} SAML, {} OIDC", s.label, s.saml, s.oidc));
                    }
                }
                l.push(String::new());
                l.push(if *secrets_included {
                    "OIDC client secrets were included because --include-secrets was set; store this package securely.".into()
                } else {
                    "OIDC client secrets are redacted by design \u{2014} re-enter them in the WorkOS dashboard.".into()
                });
                l.extend([
                    "SAML responses contain only public IdP certificates; no SP signing private keys are returned by the admin API.".into(),
                ]);
                l
            }
        };
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_and_default_texts() {
        assert_eq!(
            HandoffNotes::Default.render(),
            "# SSO handoff notes\n\nNo SSO handoff notes were generated.\n"
        );
        assert_eq!(
            HandoffNotes::CsvSkeleton.render(),
            "# SSO handoff notes\n\nThis skeleton ships empty SSO handoff CSVs. Populate them only when you have\nenterprise SAML or OIDC connection material to hand off; otherwise leave them\nheader-only. WorkOS SSO connections are never imported automatically.\n"
        );
    }

    #[test]
    fn clerk_and_firebase_counts() {
        let clerk = HandoffNotes::ClerkWithSecretKey(ClerkSsoCounts {
            fetched: 3,
            saml: 1,
            oidc: 1,
            skipped: 1,
        })
        .render();
        assert!(clerk.contains("\n1 were skipped because required fields were missing \u{2014} see warnings.jsonl.\n\nNo connection"));
        let fb = HandoffNotes::FirebaseWithSso {
            fetched: 3,
            saml: 1,
            oidc: 1,
            skipped: 1,
            scopes: vec![
                FirebaseScope {
                    label: "project".into(),
                    saml: 1,
                    oidc: 0,
                },
                FirebaseScope {
                    label: "tenant:t1".into(),
                    saml: 1,
                    oidc: 1,
                },
            ],
            secrets_included: false,
        }
        .render();
        assert!(fb.contains("across 2 scope(s).\n"));
        assert!(fb.contains(
            "Scope breakdown:\n- project: 1 SAML, 0 OIDC\n- tenant:t1: 1 SAML, 1 OIDC\n\nOIDC"
        ));
        assert!(fb.ends_with("returned by the admin API.\n"));
    }
}
