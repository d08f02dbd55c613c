//! Auth0 SSO row domains (§10.6): read from organization or connection
//! metadata, split, lower-cased, de-duplicated and sorted; joined with `,`
//! in the CSVs (Appendix B fixes those bytes).
//!
//! Fix of §17.14 (second half): the original took a connection's
//! `options.domain` as an e-mail domain, but for Okta/OIDC connections it
//! is the IdP's host (`acme.okta.com`). A value of `options.domain` naming
//! an IdP host — the discovery endpoint's host, `*.okta.com`,
//! `*.oktapreview.com`, `*.okta-emea.com`, `*.auth0.com` or
//! `login.microsoftonline.com`, with or without a scheme — is dropped.
//! `domain_aliases` and the other keys are kept as they are.

use serde_json::{Map, Value};

/// Keys read for domains, in order.
pub const DOMAIN_KEYS: [&str; 6] = [
    "domains",
    "domain",
    "domain_aliases",
    "domainAliases",
    "email_domains",
    "emailDomains",
];

/// Separator of the Auth0 SSO `domains` cell.
pub const AUTH0_DOMAIN_SEPARATOR: &str = ",";

/// Host suffixes of identity providers; a value under one is never an
/// e-mail domain.
const IDP_HOST_SUFFIXES: [&str; 4] = [
    ".okta.com",
    ".oktapreview.com",
    ".okta-emea.com",
    ".auth0.com",
];
const IDP_HOSTS: [&str; 1] = ["login.microsoftonline.com"];

/// Domains of an object (org or connection metadata): every [`DOMAIN_KEYS`]
/// value, strings split on `;`, `,` and whitespace, arrays flattened.
/// Not yet de-duplicated or sorted (see [`unique_sorted`]).
pub fn domains_of(source: Option<&Map<String, Value>>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(obj) = source {
        for key in DOMAIN_KEYS {
            if let Some(v) = obj.get(key) {
                push_domain_value(v, &mut out);
            }
        }
    }
    out
}

/// Domains of an unbound connection: its `metadata` and its `options`,
/// without `options.domain` values that name the IdP (`discovery_host` is
/// the host of the connection's OIDC discovery endpoint, if any).
pub fn connection_domains(conn: &Value, discovery_host: Option<&str>) -> Vec<String> {
    let mut out = domains_of(conn.get("metadata").and_then(Value::as_object));
    if let Some(opts) = conn.get("options").and_then(Value::as_object) {
        for key in DOMAIN_KEYS {
            let Some(v) = opts.get(key) else { continue };
            let start = out.len();
            push_domain_value(v, &mut out);
            if key == "domain" {
                let mut i = start;
                while i < out.len() {
                    if is_idp_host(&out[i], discovery_host) {
                        out.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
        }
    }
    out
}

/// Trimmed, lower-cased, de-duplicated, sorted by UTF-16 code units (as
/// JavaScript's default sort).
pub fn unique_sorted(domains: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = domains
        .into_iter()
        .map(|d| super::options::trim_js(&d).to_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    out.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    out.dedup();
    out
}

/// The host of a URL or bare host name: scheme, path, query, port and
/// user info removed, lower-cased.
pub fn host_of(value: &str) -> String {
    let rest = match value.find("://") {
        Some(i) => &value[i + 3..],
        None => value,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    host.trim_end_matches('.').to_lowercase()
}

fn is_idp_host(value: &str, discovery_host: Option<&str>) -> bool {
    let host = host_of(value);
    if host.is_empty() {
        return false;
    }
    discovery_host.is_some_and(|d| !d.is_empty() && d == host)
        || IDP_HOSTS.contains(&host.as_str())
        || IDP_HOST_SUFFIXES.iter().any(|s| host.ends_with(s))
}

fn push_domain_value(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|i| push_domain_value(i, out)),
        Value::String(s) => out.extend(
            s.split(|c: char| c == ';' || c == ',' || c.is_whitespace() || c == '\u{feff}')
                .filter(|d| !d.is_empty())
                .map(str::to_lowercase),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_domains_are_split_lowered_and_sorted() {
        let md = json!({
            "domains": "acme.com; Login.acme.com",
            "domain": ["B.com", ["a.com", 7], null],
            "domain_aliases": "x.com,,y.com  z.com",
            "emailDomains": ["acme.com"],
            "other": "ignored.com"
        });
        let got = unique_sorted(domains_of(md.as_object()));
        assert_eq!(
            got,
            [
                "a.com",
                "acme.com",
                "b.com",
                "login.acme.com",
                "x.com",
                "y.com",
                "z.com"
            ]
        );
        assert!(unique_sorted(domains_of(None)).is_empty());
    }

    #[test]
    fn idp_hosts_in_options_domain_are_not_email_domains() {
        let conn = json!({
            "metadata": {"domain": "acme.okta.com"},
            "options": {
                "domain": "acme.okta.com login.microsoftonline.com https://t.eu.auth0.com/ sso.acme.com acme.com dev.oktapreview.com",
                "domain_aliases": ["acme.com", "acme.okta.com", "acme.io"]
            }
        });
        let got = unique_sorted(connection_domains(&conn, Some("sso.acme.com")));
        // metadata and domain_aliases are kept as they are.
        assert_eq!(got, ["acme.com", "acme.io", "acme.okta.com"]);
        let google = json!({"options": {"domain": "acme.com"}});
        assert_eq!(connection_domains(&google, None), ["acme.com"]);
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://u@Acme.Okta.com:443/x?y"), "acme.okta.com");
        assert_eq!(host_of("acme.com"), "acme.com");
        assert_eq!(host_of(""), "");
        assert!(!is_idp_host("okta.com", None));
        assert!(is_idp_host("a.okta.com.", None));
        assert!(!is_idp_host("x.com", Some("")));
    }
}
