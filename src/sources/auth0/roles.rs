//! Auth0 role catalog and member role assignments (§4.7).
