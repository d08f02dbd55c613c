//! Identity Platform provider configs → SSO hand-off rows
//! (export-and-package.md §10.2/§10.3 Firebase columns, §14.1 warnings).
//!
//! Decisions (old → ours → why):
//! - signRequest / expiring SP certificates reused the "was skipped" text of
//!   `incomplete_connection_configuration` (§17.15) → same code, message
//!   "was exported but needs attention before activation: …" — the
//!   connection *is* in the CSV.
//! - `missing_domains` is emitted when a mapped row's `domains` cell is empty,
//!   the same rule as Clerk. Identity Platform configs carry no e-mail domains
//!   (tenants neither), so today that is every mapped Firebase connection: the
//!   warning is true, and it disappears if domains ever become known.
//! - `secrets_redacted`, `secretRedaction` and `secretsRedacted` tell the
//!   truth: `redacted` only when a mapped OIDC config had a client secret
//!   that was left out; `included` when `--include-secrets` wrote one;
//!   `not-applicable` when no mapped config had a secret.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::package::jsonl::JsonlRecord;
use crate::package::manifest::SecretRedaction;
use crate::package::sso::{FirebaseScope, HandoffNotes};
use crate::sources::sso::{
    connection_needs_attention, incomplete_connection_configuration, json_str, missing_domains,
    normalize_discovery_endpoint, secrets_redacted, OidcConnectionRow, Protocol, SamlConnectionRow,
    SsoHandoff, FIREBASE, OIDC_FILE,
};

/// SP certificates expiring within this many days are reported.
pub const SP_CERT_WARNING_DAYS: i64 = 90;

/// Where a config came from: the project or one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeInfo {
    pub tenant_id: Option<String>,
    pub display_name: Option<String>,
}

impl ScopeInfo {
    pub fn project() -> Self {
        Self::default()
    }

    pub fn tenant(id: &str, display_name: Option<&str>) -> Self {
        Self {
            tenant_id: Some(id.to_string()),
            display_name: display_name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        }
    }

    /// `project` or `tenant:<id>`.
    pub fn label(&self) -> String {
        match &self.tenant_id {
            Some(t) => format!("tenant:{t}"),
            None => "project".into(),
        }
    }

    fn organization_name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.tenant_id.clone())
            .unwrap_or_default()
    }

    fn organization_external_id(&self) -> String {
        self.tenant_id.clone().unwrap_or_default()
    }

    /// `firebase:<configId>` or `firebase:<tenantId>:<configId>`.
    fn external_id(&self, config_id: &str) -> String {
        match &self.tenant_id {
            Some(t) => format!("firebase:{t}:{config_id}"),
            None => format!("firebase:{config_id}"),
        }
    }
}

/// The last `/` segment of a resource name.
pub fn config_id(name: &str) -> &str {
    name.trim().rsplit('/').next().unwrap_or_default()
}

/// Maps configs scope by scope and builds the [`SsoHandoff`].
#[derive(Debug)]
pub struct FirebaseSsoMapper {
    include_secrets: bool,
    now: DateTime<Utc>,
    handoff: SsoHandoff,
    mapping_warnings: Vec<JsonlRecord>,
    fetched: u64,
    skipped: u64,
    secrets_withheld: u64,
    secrets_written: u64,
    scopes: Vec<FirebaseScope>,
}

impl FirebaseSsoMapper {
    pub fn new(include_secrets: bool, now: DateTime<Utc>) -> Self {
        Self {
            include_secrets,
            now,
            handoff: SsoHandoff::new(
                HandoffNotes::FirebaseWithoutSso,
                no_sso_secret_redaction(),
                true,
            ),
            mapping_warnings: Vec::new(),
            fetched: 0,
            skipped: 0,
            secrets_withheld: 0,
            secrets_written: 0,
            scopes: Vec::new(),
        }
    }

    /// Records a fetch failure (kept before all mapping warnings, §7.5).
    pub fn fetch_warning(&mut self, record: JsonlRecord) {
        self.handoff.warnings.push(record);
    }

    /// Maps one scope's configs: SAML first, then OIDC.
    pub fn scope(&mut self, scope: &ScopeInfo, saml: &[Value], oidc: &[Value]) {
        for cfg in saml {
            self.saml(scope, cfg);
        }
        for cfg in oidc {
            self.oidc(scope, cfg);
        }
        self.fetched += (saml.len() + oidc.len()) as u64;
        self.scopes.push(FirebaseScope {
            label: scope.label(),
            saml: saml.len() as u64,
            oidc: oidc.len() as u64,
        });
    }

    fn skip(&mut self, protocol: Protocol, external_id: &str, missing: &[&str]) {
        self.skipped += 1;
        self.mapping_warnings
            .push(incomplete_connection_configuration(
                FIREBASE,
                protocol,
                external_id,
                missing,
            ));
    }

    fn saml(&mut self, scope: &ScopeInfo, cfg: &Value) {
        let id = config_id(&json_str(Some(cfg), "name")).to_string();
        let external_id = scope.external_id(&id);
        let idp = cfg.get("idpConfig").filter(|v| v.is_object());
        let sp = cfg.get("spConfig").filter(|v| v.is_object());
        let entity_id = json_str(idp, "idpEntityId").into_owned();
        let sso_url = json_str(idp, "ssoUrl").into_owned();
        let cert = idp
            .and_then(|i| i.get("idpCertificates"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| json_str(Some(c), "x509Certificate"))
            .find(|c| !c.is_empty())
            .map(|c| c.into_owned())
            .unwrap_or_default();
        let mut missing = Vec::new();
        if id.is_empty() {
            missing.push("name");
        }
        if entity_id.is_empty() {
            missing.push("idpConfig.idpEntityId");
        }
        if sso_url.is_empty() {
            missing.push("idpConfig.ssoUrl");
        }
        if cert.is_empty() {
            missing.push("idpConfig.idpCertificates");
        }
        if !missing.is_empty() {
            return self.skip(Protocol::Saml, &external_id, &missing);
        }
        let row = SamlConnectionRow {
            organization_name: scope.organization_name(),
            organization_external_id: scope.organization_external_id(),
            idp_entity_id: entity_id,
            idp_url: sso_url,
            x509_cert: cert,
            custom_entity_id: json_str(sp, "spEntityId").into_owned(),
            custom_acs_url: json_str(sp, "callbackUri").into_owned(),
            external_id: external_id.clone(),
            ..Default::default()
        };
        if row.domains.is_empty() {
            self.mapping_warnings
                .push(missing_domains(FIREBASE, Protocol::Saml, &external_id));
        }
        if idp
            .and_then(|i| i.get("signRequest"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            self.mapping_warnings.push(connection_needs_attention(
                FIREBASE,
                Protocol::Saml,
                &external_id,
                "IdP expects signed SAML AuthnRequests (idpConfig.signRequest=true); verify SP request signing is configured in WorkOS.",
            ));
        }
        let limit = self.now + Duration::days(SP_CERT_WARNING_DAYS);
        let expiring: Vec<String> = sp
            .and_then(|s| s.get("spCertificates"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| json_str(Some(c), "expiresAt").into_owned())
            .filter(|at| {
                DateTime::parse_from_rfc3339(at).is_ok_and(|t| t.with_timezone(&Utc) <= limit)
            })
            .collect();
        if !expiring.is_empty() {
            self.mapping_warnings.push(connection_needs_attention(
                FIREBASE,
                Protocol::Saml,
                &external_id,
                &format!(
                    "Firebase-managed SP certificate(s) expire(d) at: {}. After cutover to WorkOS, customer must register WorkOS's SP signing certificate at the IdP.",
                    expiring.join(", ")
                ),
            ));
        }
        self.handoff.saml.push(row);
    }

    fn oidc(&mut self, scope: &ScopeInfo, cfg: &Value) {
        let id = config_id(&json_str(Some(cfg), "name")).to_string();
        let external_id = scope.external_id(&id);
        let client_id = json_str(Some(cfg), "clientId").into_owned();
        let issuer = json_str(Some(cfg), "issuer").into_owned();
        let secret = json_str(Some(cfg), "clientSecret").into_owned();
        let mut missing = Vec::new();
        if id.is_empty() {
            missing.push("name");
        }
        if client_id.is_empty() {
            missing.push("clientId");
        }
        if issuer.is_empty() {
            missing.push("issuer");
        }
        if !missing.is_empty() {
            return self.skip(Protocol::Oidc, &external_id, &missing);
        }
        let client_secret = if secret.is_empty() {
            String::new()
        } else if self.include_secrets {
            self.secrets_written += 1;
            secret
        } else {
            self.secrets_withheld += 1;
            self.mapping_warnings.push(secrets_redacted(
                FIREBASE,
                Protocol::Oidc,
                &external_id,
                OIDC_FILE,
                &["clientSecret"],
            ));
            String::new()
        };
        let row = OidcConnectionRow {
            organization_name: scope.organization_name(),
            organization_external_id: scope.organization_external_id(),
            client_id,
            client_secret,
            discovery_endpoint: normalize_discovery_endpoint(&issuer),
            external_id: external_id.clone(),
            ..Default::default()
        };
        if row.domains.is_empty() {
            self.mapping_warnings
                .push(missing_domains(FIREBASE, Protocol::Oidc, &external_id));
        }
        self.handoff.oidc.push(row);
    }

    /// The hand-off: fetch warnings, then mapping warnings; notes and
    /// redaction metadata from what was actually seen.
    pub fn finish(self) -> SsoHandoff {
        let Self {
            mut handoff,
            mapping_warnings,
            ..
        } = self;
        handoff.warnings.extend(mapping_warnings);
        handoff.notes = HandoffNotes::FirebaseWithSso {
            fetched: self.fetched,
            saml: handoff.saml.len() as u64,
            oidc: handoff.oidc.len() as u64,
            skipped: self.skipped,
            scopes: self.scopes,
            secrets_included: self.secrets_written > 0,
        };
        handoff.secret_redaction = if self.secrets_withheld > 0 {
            SecretRedaction {
                mode: "redacted".into(),
                redacted: true,
                redacted_fields: Some(vec!["clientSecret".into()]),
                files: Some(vec![OIDC_FILE.into()]),
                notes: Some(vec![
                    "Firebase OIDC client secrets are intentionally redacted from sso/oidc_connections.csv.".into(),
                    "The customer must re-enter the client secret in the WorkOS dashboard.".into(),
                ]),
            }
        } else if self.secrets_written > 0 {
            SecretRedaction {
                mode: "included".into(),
                redacted: false,
                redacted_fields: None,
                files: Some(vec![OIDC_FILE.into()]),
                notes: Some(vec![
                    "Firebase OIDC client secrets were included in sso/oidc_connections.csv because --include-secrets was set.".into(),
                ]),
            }
        } else {
            let mut r = no_sso_secret_redaction();
            if let Some(n) = r.notes.as_mut() {
                n.push("No exported Identity Platform OIDC config carried a client secret.".into());
            }
            r
        };
        handoff.secrets_redacted = handoff.secret_redaction.redacted;
        handoff
    }
}

/// `secretRedaction` of a Firebase package without SSO export (§1.7).
pub fn no_sso_secret_redaction() -> SecretRedaction {
    SecretRedaction {
        mode: "not-applicable".into(),
        redacted: true,
        redacted_fields: None,
        files: None,
        notes: Some(vec![
            "Firebase Auth export does not include connection secrets.".into(),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn saml_cfg(id: &str) -> Value {
        json!({
            "name": format!("projects/p/inboundSamlConfigs/{id}"),
            "displayName": "Okta",
            "enabled": false,
            "idpConfig": {
                "idpEntityId": "http://www.okta.com/exk1",
                "ssoUrl": "https://acme.okta.com/sso",
                "idpCertificates": [{"x509Certificate": "  "}, {"x509Certificate": " MIIC-B "}]
            },
            "spConfig": {"spEntityId": "https://p.firebaseapp.com", "callbackUri": "https://p.firebaseapp.com/__/auth/handler"}
        })
    }

    fn oidc_cfg(id: &str, secret: &str) -> Value {
        json!({"name": format!("projects/p/oauthIdpConfigs/{id}"), "clientId": "cid", "issuer": "https://idp.example.com/", "clientSecret": secret})
    }

    fn messages(h: &SsoHandoff) -> Vec<String> {
        h.warnings
            .iter()
            .map(|w| w.get("message").unwrap().as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn project_and_tenant_saml_rows() {
        let mut m = FirebaseSsoMapper::new(false, Utc::now());
        m.scope(&ScopeInfo::project(), &[saml_cfg("saml.okta")], &[]);
        m.scope(
            &ScopeInfo::tenant("t1", Some("Tenant One")),
            &[saml_cfg("saml.okta")],
            &[],
        );
        let h = m.finish();
        assert_eq!(h.saml.len(), 2);
        let p = &h.saml[0];
        assert_eq!(p.external_id, "firebase:saml.okta");
        assert_eq!(
            (
                p.organization_name.as_str(),
                p.organization_external_id.as_str()
            ),
            ("", "")
        );
        assert_eq!(p.x509_cert, "MIIC-B");
        assert_eq!(
            p.custom_acs_url,
            "https://p.firebaseapp.com/__/auth/handler"
        );
        let t = &h.saml[1];
        assert_eq!(t.external_id, "firebase:t1:saml.okta");
        assert_eq!(
            (
                t.organization_name.as_str(),
                t.organization_external_id.as_str()
            ),
            ("Tenant One", "t1")
        );
        assert_eq!(h.warning_codes(), ["missing_domains", "missing_domains"]);
        assert_eq!(h.secret_redaction.mode, "not-applicable");
        let HandoffNotes::FirebaseWithSso {
            fetched,
            saml,
            skipped,
            scopes,
            ..
        } = &h.notes
        else {
            panic!()
        };
        assert_eq!((*fetched, *saml, *skipped, scopes.len()), (2, 2, 0, 2));
    }

    #[test]
    fn incomplete_sign_request_and_cert_expiry() {
        let now = Utc::now();
        let soon = (now + Duration::days(30)).to_rfc3339();
        let late = (now + Duration::days(365)).to_rfc3339();
        let mut broken = saml_cfg("saml.broken");
        broken["idpConfig"] = json!({"idpCertificates": []});
        let mut signed = saml_cfg("saml.signed");
        signed["idpConfig"]["signRequest"] = json!(true);
        signed["spConfig"]["spCertificates"] =
            json!([{"expiresAt": soon}, {"expiresAt": late}, {"expiresAt": "never"}]);
        let mut fine = saml_cfg("saml.fine");
        fine["spConfig"]["spCertificates"] = json!([{"expiresAt": late}]);
        let mut m = FirebaseSsoMapper::new(false, now);
        m.scope(&ScopeInfo::project(), &[broken, signed, fine], &[]);
        let h = m.finish();
        assert_eq!(h.saml.len(), 2);
        assert_eq!(
            h.warning_codes(),
            [
                "incomplete_connection_configuration",
                "missing_domains",
                "incomplete_connection_configuration",
                "incomplete_connection_configuration",
                "missing_domains"
            ]
        );
        let msg = messages(&h);
        assert!(msg[0].contains("firebase saml connection firebase:saml.broken was skipped"));
        assert!(msg[0].ends_with(
            "Missing: idpConfig.idpEntityId, idpConfig.ssoUrl, idpConfig.idpCertificates."
        ));
        assert!(
            msg[2].contains("firebase:saml.signed was exported but needs attention")
                && msg[2].contains("signRequest=true")
        );
        assert!(msg[3].contains(&format!("expire(d) at: {soon}.")) && !msg[3].contains(&late));
        assert!(!msg[2].contains("skipped") && !msg[3].contains("skipped"));
    }

    #[test]
    fn oidc_redaction_and_inclusion() {
        let mut m = FirebaseSsoMapper::new(false, Utc::now());
        m.scope(
            &ScopeInfo::project(),
            &[],
            &[
                oidc_cfg("oidc.a", "s3cr3t"),
                oidc_cfg("oidc.b", ""),
                json!({"name": "x/oidc.c"}),
            ],
        );
        let h = m.finish();
        assert_eq!(h.oidc.len(), 2);
        assert_eq!(h.oidc[0].client_secret, "");
        assert_eq!(
            h.oidc[0].discovery_endpoint,
            "https://idp.example.com/.well-known/openid-configuration"
        );
        assert_eq!(
            h.warning_codes(),
            [
                "secrets_redacted",
                "missing_domains",
                "missing_domains",
                "incomplete_connection_configuration"
            ]
        );
        assert!(messages(&h)[3].ends_with("Missing: clientId, issuer."));
        assert!(!messages(&h).concat().contains("s3cr3t"));
        assert_eq!(h.secret_redaction.mode, "redacted");
        assert!(h.secrets_redacted);

        let mut m = FirebaseSsoMapper::new(true, Utc::now());
        m.scope(&ScopeInfo::project(), &[], &[oidc_cfg("oidc.a", "s3cr3t")]);
        let h = m.finish();
        assert_eq!(h.oidc[0].client_secret, "s3cr3t");
        assert_eq!(h.warning_codes(), ["missing_domains"]);
        assert_eq!(
            (
                h.secret_redaction.mode.as_str(),
                h.secret_redaction.redacted,
                h.secrets_redacted
            ),
            ("included", false, false)
        );

        let mut m = FirebaseSsoMapper::new(true, Utc::now());
        m.scope(&ScopeInfo::project(), &[], &[oidc_cfg("oidc.b", "")]);
        assert_eq!(m.finish().secret_redaction.mode, "not-applicable");
    }

    #[test]
    fn discovery_normalisation() {
        assert_eq!(
            normalize_discovery_endpoint("https://a/.well-known/openid-configuration/"),
            "https://a/.well-known/openid-configuration"
        );
        assert_eq!(
            normalize_discovery_endpoint("https://a//"),
            "https://a/.well-known/openid-configuration"
        );
        assert_eq!(normalize_discovery_endpoint(" "), "");
        assert_eq!(
            config_id("projects/p/tenants/t/oauthIdpConfigs/oidc.x"),
            "oidc.x"
        );
    }
}
