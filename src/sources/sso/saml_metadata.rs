//! SAML IdP metadata XML parsing (§10.1), shared by Auth0 and Cognito: the
//! IdP entity id, its SSO URL and its signing certificate, read from an
//! `EntityDescriptor` document.
//!
//! Parsing never fails: anything that is not readable metadata yields empty
//! values. Namespace prefixes are ignored (elements and attributes are
//! matched by local name). Documents with a DTD are refused as unparseable:
//! SAML metadata has none, and refusing them rules out entity-expansion
//! attacks whatever the input. So are documents nested deeper than
//! [`MAX_DEPTH`] elements: the XML parser recurses per level, and real
//! metadata is about six levels deep.

use roxmltree::{Document, Node, ParsingOptions};

/// The `Binding` preferred for [`SamlMetadata::sso_redirect_url`].
pub const HTTP_REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// Deepest element nesting accepted (see the module documentation).
pub const MAX_DEPTH: usize = 128;

/// What the hand-off needs from an IdP metadata document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamlMetadata {
    /// `entityID` of the `EntityDescriptor`.
    pub entity_id: Option<String>,
    /// `Location` of the first HTTP-Redirect `SingleSignOnService`, else of
    /// the first `SingleSignOnService`.
    pub sso_redirect_url: Option<String>,
    /// The first non-empty `KeyDescriptor/KeyInfo/X509Data/X509Certificate`
    /// text with all whitespace removed; `Some("")` when certificate
    /// elements exist but none is readable, `None` when there is none.
    pub x509_cert: Option<String>,
}

/// Parses IdP metadata (§10.1). Empty, malformed or non-`EntityDescriptor`
/// input gives all `None`.
pub fn parse_saml_metadata(xml: &str) -> SamlMetadata {
    if xml.is_empty() || nesting_exceeds(xml.as_bytes(), MAX_DEPTH) {
        return SamlMetadata::default();
    }
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let Ok(doc) = Document::parse_with_options(xml, options) else {
        return SamlMetadata::default();
    };
    let root = doc.root_element();
    if root.tag_name().name() != "EntityDescriptor" {
        return SamlMetadata::default();
    }
    let entity_id = attribute(root, "entityID");
    let Some(idp) = child_elements(root, "IDPSSODescriptor").next() else {
        return SamlMetadata {
            entity_id,
            sso_redirect_url: None,
            x509_cert: None,
        };
    };
    SamlMetadata {
        entity_id,
        sso_redirect_url: sso_url(idp),
        x509_cert: signing_cert(idp),
    }
}

/// §10.1 SSO URL rule: the first HTTP-Redirect service decides when it has
/// a `Location`; otherwise the first service's `Location`.
fn sso_url(idp: Node) -> Option<String> {
    let mut services = child_elements(idp, "SingleSignOnService").peekable();
    let first = services.peek().copied();
    let redirect = services
        .find(|s| attribute(*s, "Binding").as_deref() == Some(HTTP_REDIRECT_BINDING))
        .and_then(|s| attribute(s, "Location"))
        .filter(|l| !l.is_empty());
    redirect.or_else(|| first.and_then(|s| attribute(s, "Location")))
}

/// §10.1 certificate rule; `use` is not checked.
fn signing_cert(idp: Node) -> Option<String> {
    let mut found = None;
    for kd in child_elements(idp, "KeyDescriptor") {
        // A repeated KeyInfo or X509Data is ambiguous: skipped, as the original.
        let Some(info) = single_child(kd, "KeyInfo") else {
            continue;
        };
        let Some(data) = single_child(info, "X509Data") else {
            continue;
        };
        let mut certs = child_elements(data, "X509Certificate");
        let Some(cert) = certs.next() else {
            continue;
        };
        if certs.next().is_some() {
            // Several certificates in one X509Data: unreadable.
            found = Some(String::new());
            continue;
        }
        let text: String = cert
            .children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .flat_map(str::chars)
            .filter(|c| !is_js_whitespace(*c))
            .collect();
        if !text.is_empty() {
            return Some(text);
        }
        found = Some(String::new());
    }
    found
}

/// Child elements of `node` whose local name is `name`.
fn child_elements<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The only child element named `name`; `None` when there are none or several.
fn single_child<'a, 'input: 'a>(node: Node<'a, 'input>, name: &'a str) -> Option<Node<'a, 'input>> {
    let mut it = child_elements(node, name);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// The trimmed value of the first attribute with local name `name`.
fn attribute(node: Node, name: &str) -> Option<String> {
    node.attributes()
        .find(|a| a.name() == name)
        .map(|a| a.value().trim_matches(is_js_whitespace).to_string())
}

/// True when elements nest deeper than `limit`, following the XML grammar
/// closely enough that a document the parser would descend into further
/// is always caught: comments, CDATA sections, processing instructions and
/// declarations are skipped, quoted attribute values may hold `>`.
fn nesting_exceeds(xml: &[u8], limit: usize) -> bool {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = xml[i..].iter().position(|&b| b == b'<') {
        i += off;
        let rest = &xml[i..];
        let skip = if rest.starts_with(b"<!--") {
            find(rest, b"-->").map(|e| e + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            find(rest, b"]]>").map(|e| e + 3)
        } else if rest.starts_with(b"<?") {
            find(rest, b"?>").map(|e| e + 2)
        } else if rest.starts_with(b"<!") {
            find(rest, b">").map(|e| e + 1)
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            Some(2)
        } else {
            let mut quote = None;
            let end = rest.iter().enumerate().skip(1).find_map(|(j, &c)| {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => quote = Some(c),
                    None if c == b'>' => return Some(j),
                    None => {}
                }
                None
            });
            if let Some(end) = end {
                if rest[end - 1] != b'/' {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
            }
            end.map(|e| e + 1)
        };
        match skip {
            Some(n) => i += n,
            // Unterminated construct: the parser stops there too.
            None => return false,
        }
    }
    false
}

/// JavaScript's `\s` (Unicode White_Space plus U+FEFF).
fn is_js_whitespace(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

    fn full() -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/entity">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>
        MIIC
        ABCD==
      </ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="{POST}" Location="https://idp.example.com/post"/>
    <md:SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}" Location="https://idp.example.com/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn full_metadata_prefers_redirect_and_strips_cert_whitespace() {
        assert_eq!(
            parse_saml_metadata(&full()),
            SamlMetadata {
                entity_id: some("https://idp.example.com/entity"),
                sso_redirect_url: some("https://idp.example.com/redirect"),
                x509_cert: some("MIICABCD=="),
            }
        );
    }

    #[test]
    fn post_only_uses_the_first_location() {
        let xml = format!(
            r#"<EntityDescriptor entityID="urn:e"><IDPSSODescriptor>
<SingleSignOnService Binding="{POST}" Location="https://post"/>
<SingleSignOnService Binding="urn:other" Location="https://other"/>
</IDPSSODescriptor></EntityDescriptor>"#
        );
        let m = parse_saml_metadata(&xml);
        assert_eq!(m.sso_redirect_url, some("https://post"));
        assert_eq!(m.x509_cert, None);
    }

    #[test]
    fn redirect_without_location_falls_back_to_first() {
        let xml = format!(
            r#"<EntityDescriptor><IDPSSODescriptor>
<SingleSignOnService Binding="{POST}" Location="https://post"/>
<SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}"/>
<SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}" Location="https://second-redirect"/>
</IDPSSODescriptor></EntityDescriptor>"#
        );
        let m = parse_saml_metadata(&xml);
        assert_eq!(m.sso_redirect_url, some("https://post"));
        assert_eq!(m.entity_id, None);
    }

    #[test]
    fn no_idp_descriptor_gives_entity_id_only() {
        let m = parse_saml_metadata(
            r#"<EntityDescriptor entityID="urn:sp"><SPSSODescriptor/></EntityDescriptor>"#,
        );
        assert_eq!(
            m,
            SamlMetadata {
                entity_id: some("urn:sp"),
                sso_redirect_url: None,
                x509_cert: None,
            }
        );
    }

    #[test]
    fn empty_malformed_and_foreign_roots_give_nothing() {
        for xml in [
            "",
            "<not-valid-xml>",
            "hello",
            "<EntitiesDescriptor><EntityDescriptor entityID=\"x\"/></EntitiesDescriptor>",
            "<a/><b/>",
            "\u{0}\u{1}<<>>&&;",
        ] {
            assert_eq!(parse_saml_metadata(xml), SamlMetadata::default(), "{xml:?}");
        }
    }

    #[test]
    fn default_namespace_metadata_is_parsed() {
        let xml = format!(
            r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:dflt">
<IDPSSODescriptor><KeyDescriptor><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>QUJD</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}" Location="https://r"/></IDPSSODescriptor></EntityDescriptor>"#
        );
        assert_eq!(
            parse_saml_metadata(&xml),
            SamlMetadata {
                entity_id: some("urn:dflt"),
                sso_redirect_url: some("https://r"),
                x509_cert: some("QUJD"),
            }
        );
    }

    #[test]
    fn only_the_first_idp_descriptor_counts() {
        let xml = format!(
            r#"<EntityDescriptor entityID="e">
<IDPSSODescriptor><SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}" Location="https://one"/></IDPSSODescriptor>
<IDPSSODescriptor><SingleSignOnService Binding="{HTTP_REDIRECT_BINDING}" Location="https://two"/>
<KeyDescriptor><KeyInfo><X509Data><X509Certificate>TWO</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor>
</EntityDescriptor>"#
        );
        let m = parse_saml_metadata(&xml);
        assert_eq!(m.sso_redirect_url, some("https://one"));
        assert_eq!(m.x509_cert, None);
    }

    #[test]
    fn first_non_empty_certificate_wins_whatever_its_use() {
        let xml = r#"<EntityDescriptor><IDPSSODescriptor>
<KeyDescriptor use="encryption"><KeyInfo><X509Data><X509Certificate>ENC</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<KeyDescriptor use="signing"><KeyInfo><X509Data><X509Certificate>SIG</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
</IDPSSODescriptor></EntityDescriptor>"#;
        assert_eq!(parse_saml_metadata(xml).x509_cert, some("ENC"));
    }

    #[test]
    fn unreadable_certificates_are_skipped_or_empty() {
        // Two certificates in one X509Data are unreadable; the next key wins.
        let xml = r#"<EntityDescriptor><IDPSSODescriptor>
<KeyDescriptor><KeyInfo><X509Data><X509Certificate>A</X509Certificate><X509Certificate>B</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<KeyDescriptor><KeyInfo><X509Data><X509Certificate> C
D </X509Certificate></X509Data></KeyInfo></KeyDescriptor>
</IDPSSODescriptor></EntityDescriptor>"#;
        assert_eq!(parse_saml_metadata(xml).x509_cert, some("CD"));
        // Only unreadable or blank certificates: "", not None.
        let xml = r#"<EntityDescriptor><IDPSSODescriptor>
<KeyDescriptor><KeyInfo><X509Data><X509Certificate>A</X509Certificate><X509Certificate>B</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<KeyDescriptor><KeyInfo><X509Data><X509Certificate>  </X509Certificate></X509Data></KeyInfo></KeyDescriptor>
</IDPSSODescriptor></EntityDescriptor>"#;
        assert_eq!(parse_saml_metadata(xml).x509_cert, some(""));
        // A repeated KeyInfo is skipped entirely.
        let xml = r#"<EntityDescriptor><IDPSSODescriptor><KeyDescriptor>
<KeyInfo><X509Data><X509Certificate>A</X509Certificate></X509Data></KeyInfo>
<KeyInfo><X509Data><X509Certificate>B</X509Certificate></X509Data></KeyInfo>
</KeyDescriptor></IDPSSODescriptor></EntityDescriptor>"#;
        assert_eq!(parse_saml_metadata(xml).x509_cert, None);
        // CDATA and character references are text.
        let xml = r#"<EntityDescriptor><IDPSSODescriptor><KeyDescriptor><KeyInfo><X509Data><X509Certificate><![CDATA[AB]]>&#x43;D</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor></EntityDescriptor>"#;
        assert_eq!(parse_saml_metadata(xml).x509_cert, some("ABCD"));
    }

    #[test]
    fn dtds_and_entity_bombs_are_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<EntityDescriptor entityID="&lol3;"/>"#;
        assert_eq!(parse_saml_metadata(bomb), SamlMetadata::default());
        let external = r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><EntityDescriptor entityID="&xxe;"/>"#;
        assert_eq!(parse_saml_metadata(external), SamlMetadata::default());
    }

    #[test]
    fn huge_and_deep_inputs_do_not_panic() {
        let deep = format!(
            "<EntityDescriptor entityID=\"d\">{}{}</EntityDescriptor>",
            "<x>".repeat(200_000),
            "</x>".repeat(200_000)
        );
        assert_eq!(parse_saml_metadata(&deep), SamlMetadata::default());
        let nested = |n: usize| {
            format!(
                "<EntityDescriptor entityID=\"d\"><!-- <a> --><b a='>'><![CDATA[<c>]]>{}<x/>{}</b></EntityDescriptor>",
                "<x>".repeat(n),
                "</x>".repeat(n)
            )
        };
        assert_eq!(
            parse_saml_metadata(&nested(MAX_DEPTH - 2)).entity_id,
            some("d")
        );
        assert_eq!(
            parse_saml_metadata(&nested(MAX_DEPTH - 1)),
            SamlMetadata::default()
        );
        assert!(!nesting_exceeds(b"<a><b/></a><c>", 1));
        assert!(nesting_exceeds(b"<a><b></b></a>", 1));
        let wide = format!(
            "<EntityDescriptor entityID=\"w\"><IDPSSODescriptor>{}</IDPSSODescriptor></EntityDescriptor>",
            "<KeyDescriptor/>".repeat(100_000)
        );
        assert_eq!(parse_saml_metadata(&wide).entity_id, some("w"));
        let unclosed = "<EntityDescriptor>".repeat(100_000);
        assert_eq!(parse_saml_metadata(&unclosed), SamlMetadata::default());
    }

    #[test]
    fn attribute_values_are_trimmed() {
        let m = parse_saml_metadata(r#"<EntityDescriptor entityID="  urn:t  "/>"#);
        assert_eq!(m.entity_id, some("urn:t"));
    }
}
