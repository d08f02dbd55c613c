//! Auth0 SSO hand-off mapping (§4.8, §10).
