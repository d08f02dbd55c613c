//! Clerk: `export clerk` (and the deprecated `transform-clerk --package`),
//! export-and-package.md §6, §8, §9, §11, §13.3.
//!
//! Input is the Clerk dashboard CSV export (`id`, `primary_email_address`
//! required; `first_name`, `last_name`, `username`, `primary_phone_number`,
//! `verified_email_addresses`, `unverified_email_addresses`,
//! `verified_phone_numbers`, `unverified_phone_numbers`, `totp_secret`,
//! `password_digest`, `password_hasher` optional; other columns ignored).
//!
//! Pipeline, streaming with bounded memory:
//! 1. [`reader`]: the CSV as Arrow batches through
//!    [`crate::package::csv_reader::CsvBatchReader`] (BOM stripped, CRLF,
//!    blank lines skipped, ragged rows and invalid UTF-8 are one-line errors
//!    naming the line), normalised to the fixed [`reader::CLERK_COLUMNS`]
//!    schema; the required columns are checked on the header, even when the
//!    file has no rows.
//! 2. [`mapping`]: one DataFusion SQL statement over that stream (cell trim,
//!    email lower-casing), then the per-row work on rayon: password
//!    conversion ([`hashers`]), `email_verified` from the address lists,
//!    metadata JSON.
//! 3. [`export`]: rows into a [`crate::package::MigrationPackageWriter`] with
//!    the org/role mapping rows of [`crate::sources::mapping`], TOTP secrets,
//!    warnings, skipped users, the optional SSO hand-off
//!    ([`crate::sources::sso::SsoHandoff`], fetched by [`api`] when a secret
//!    key is given) and the manifest last.
//!
//! Decisions (old → ours → why):
//! - A BOM made the `id` check fail (§17.32) → stripped — Excel writes one.
//! - Ragged rows were tolerated silently → an error naming the line — a short
//!   row shifts nothing but hides lost data; a long one means broken quoting.
//! - Cells were trimmed with JS `trim` → Unicode whitespace and U+FEFF trimmed.
//! - Email kept its case → trimmed and lower-cased — WorkOS matches emails
//!   case-insensitively and `validate --auto-fix` lower-cases too.
//! - `email_verified` was always `true` → `true` when the primary address is in
//!   `verified_email_addresses`, `false` when it is only in
//!   `unverified_email_addresses`, `true` when it is in neither (Clerk only
//!   makes a verified address primary unless an import skipped verification,
//!   and `true` was the old behaviour). Lists are split on `,` `;` `|` and
//!   whitespace (Clerk joins with `|`) and compared case-insensitively.
//! - Only `bcrypt` digests were kept → `bcrypt` (format-checked),
//!   `argon2i`/`argon2id` (as WorkOS `argon2`, `v=19` added when absent since
//!   Clerk assumes it), `pbkdf2_sha256` (Clerk's form: base64 salt),
//!   `pbkdf2_sha256_django` (Django's form: text salt) and `scrypt_firebase`
//!   (Clerk's `hash$salt$signer_key$salt_separator$rounds$memory_cost` digest,
//!   or `hash$salt` plus the `--scrypt-*` options) are converted when WorkOS's
//!   parameter ranges allow; anything else warns `unsupported_password_hasher`
//!   with the reason (never the digest) and exports the user without password.
//! - A digest with an empty `password_hasher` was dropped silently → warned.
//! - `totp_secret` was copied in plain text into metadata (§17.18) → written to
//!   `totp_secrets.csv` (`email,totp_secret,,email`) and never into metadata.
//! - Empty metadata (no id, no optional cells) → written as an empty cell
//!   rather than `{}`.
//! - `users.csv` `org_id` was always empty (§17.17) → the mapping's `org_id`
//!   when the mapping has no `org_external_id` (never both: the import CSV
//!   rule is `org_id` xor `org_external_id`).
//! - `CLERK_SECRET_KEY` in the environment silently turned SSO on (§17.24) →
//!   ignored; SSO needs an explicit `--secret-key` (and, until the Backend API
//!   client is wired in, a non-empty key is refused with a one-line error).

pub mod api;
pub mod export;
pub mod hashers;
pub mod mapping;
pub mod reader;

pub use export::{export_clerk, ClerkExportError, ClerkExportOptions, ExportSummary};
pub use hashers::{convert_password, PasswordOutcome, ScryptParams};
pub use reader::{ClerkReader, CLERK_COLUMNS};
