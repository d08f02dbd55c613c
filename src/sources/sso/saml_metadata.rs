//! SAML IdP metadata XML parsing (§10.1), shared by Auth0 and Cognito.
