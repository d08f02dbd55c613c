//! The `domains` cell of Cognito SSO rows (§10.6, fix of §17.7): a pool's
//! identity provider lists `IdpIdentifiers`, which customers usually set to
//! the e-mail domains that route to that IdP. The original fetched them and
//! never used them; we keep the identifiers that are domain names.
//!
//! An identifier counts as a domain when, trimmed, lower-cased and without a
//! leading `@` or trailing `.`, it has at least two dot-separated labels, each
//! 1–63 characters of letters, digits or `-` (not at either end), at most 253
//! characters in all, and a top-level label that is not all digits (so IPv4
//! addresses are not domains). Anything else (`AcmeCorp`, `okta-prod`) is an
//! IdP nickname and is left out. The survivors are de-duplicated in
//! first-seen order and joined with the shared
//! [`crate::sources::sso::DOMAIN_SEPARATOR`] (`;`).

use crate::sources::sso::join_domains;

/// Longest domain name accepted, in characters.
const MAX_DOMAIN: usize = 253;
/// Longest label accepted, in characters.
const MAX_LABEL: usize = 63;

/// The domain an IdP identifier names, normalised, or `None` when it is not
/// a domain name (see the module documentation).
pub fn as_domain(identifier: &str) -> Option<String> {
    let d = identifier
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_lowercase();
    if d.chars().count() > MAX_DOMAIN {
        return None;
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| is_label(l)) {
        return None;
    }
    let tld = labels.last()?;
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(d)
}

fn is_label(label: &str) -> bool {
    let n = label.chars().count();
    (1..=MAX_LABEL).contains(&n)
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
}

/// The domains among `identifiers`, normalised and de-duplicated in order.
pub fn identifier_domains(identifiers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in identifiers.iter().filter_map(|i| as_domain(i)) {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// The `domains` cell: [`identifier_domains`] joined with
/// [`crate::sources::sso::DOMAIN_SEPARATOR`].
pub fn domains_cell(identifiers: &[String]) -> String {
    join_domains(identifier_domains(identifiers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::sso::DOMAIN_SEPARATOR;

    #[test]
    fn domain_names_are_recognised() {
        for (id, want) in [
            ("acme.com", Some("acme.com")),
            (" @Acme.COM. ", Some("acme.com")),
            ("login.acme.co.uk", Some("login.acme.co.uk")),
            ("xn--bcher-kva.example", Some("xn--bcher-kva.example")),
            ("bücher.de", Some("bücher.de")),
            ("AcmeCorp", None),
            ("okta-prod", None),
            ("10.0.0.1", None),
            ("-acme.com", None),
            ("acme-.com", None),
            ("acme..com", None),
            ("a cme.com", None),
            ("acme.com/path", None),
            ("user@acme.com", None),
            ("", None),
            (".", None),
        ] {
            assert_eq!(as_domain(id).as_deref(), want, "{id:?}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert_eq!(as_domain(&long_label), None);
        let ok_label = format!("{}.com", "a".repeat(63));
        assert!(as_domain(&ok_label).is_some());
        let too_long = format!("{}com", "abcdefghi.".repeat(26));
        assert!(too_long.len() > MAX_DOMAIN);
        assert_eq!(as_domain(&too_long), None);
    }

    #[test]
    fn cell_keeps_domains_in_first_seen_order() {
        let ids = ["b.com", "AcmeCorp", "a.com", "B.COM", "@a.com"].map(String::from);
        assert_eq!(identifier_domains(&ids), ["b.com", "a.com"]);
        assert_eq!(domains_cell(&ids), format!("b.com{DOMAIN_SEPARATOR}a.com"));
        assert_eq!(domains_cell(&[]), "");
    }
}
