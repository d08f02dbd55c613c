//! The `.env` the user may ask for: the secrets typed in the wizard, written
//! into `./.env` (mode 0600) so later runs find them (`main` loads `.env`).
//! Existing lines are kept; a variable already there is replaced.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `vars` into the `.env` at `path`, mode 0600.
pub fn write_env_file(path: &Path, vars: &[(&str, &str)]) -> io::Result<()> {
    let existing = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    for line in existing.lines() {
        let key = line
            .trim_start()
            .trim_start_matches("export ")
            .split('=')
            .next()
            .unwrap_or("")
            .trim();
        if !vars.iter().any(|(k, _)| *k == key) {
            text.push_str(line);
            text.push('\n');
        }
    }
    for (k, v) in vars {
        text.push_str(&format!("{k}={}\n", quote(v)));
    }
    let tmp = path.with_extension("env.tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path)
}

/// Double-quoted when the value has characters dotenv would read otherwise.
fn quote(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+=:@".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeps_and_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(".env");
        fs::write(&p, "OTHER=1\nWORKOS_SECRET_KEY=old\n").unwrap();
        write_env_file(&p, &[("WORKOS_SECRET_KEY", "sk_new"), ("X", "a b")]).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "OTHER=1\nWORKOS_SECRET_KEY=sk_new\nX=\"a b\"\n"
        );
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded: Vec<(String, String)> = dotenvy::from_path_iter(&p)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(loaded.contains(&("X".into(), "a b".into())));
    }
}
