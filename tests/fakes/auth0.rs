//! Stateful fake of the Auth0 Management API.
