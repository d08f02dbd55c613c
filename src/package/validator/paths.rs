//! Step 4 of §2.2: the paths in `manifest.files`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::Issue;
use crate::package::schema;

/// Checks every `files` entry in manifest order. Returns the issues and the
/// paths later steps may open: non-blank strings that stay inside the package
/// (noncanonical but safe paths are kept, as in the original tool).
pub(super) fn check_file_paths(
    files: &Map<String, Value>,
) -> (Vec<Issue>, HashMap<String, String>) {
    let mut issues = Vec::new();
    let mut usable = HashMap::new();
    for (key, value) in files {
        let field = format!("files.{key}");
        let path = match value.as_str() {
            Some(p) if !super::manifest::js_trim(p).is_empty() => p,
            _ => {
                issues.push(
                    Issue::error(
                        "invalid_file_path",
                        format!("manifest.files.{key} must be a non-empty relative path"),
                    )
                    .with_field(field),
                );
                continue;
            }
        };

        let unsafe_path = is_unsafe_relative_path(path);
        if unsafe_path {
            issues.push(
                Issue::error(
                    "unsafe_file_path",
                    format!("manifest.files.{key} must stay inside the package directory"),
                )
                .with_file(path)
                .with_field(field.clone()),
            );
        } else {
            usable.insert(key.clone(), path.to_string());
        }

        match schema::file_by_key(key) {
            None => issues.push(
                Issue::warning(
                    "unknown_file_key",
                    format!("manifest.files.{key} is not a canonical package file key"),
                )
                .with_file(path)
                .with_field(field),
            ),
            Some(canonical) if canonical.path != path => issues.push(
                Issue::error(
                    "noncanonical_file_path",
                    format!("manifest.files.{key} must be \"{}\"", canonical.path),
                )
                .with_file(path)
                .with_field(field),
            ),
            Some(_) => {}
        }
    }
    (issues, usable)
}

/// True for absolute paths (POSIX `/x`, Windows `\x`, `C:\x`, `C:x`, UNC
/// `\\host\share`) and for paths that normalise (with `\` read as `/`) to `..`
/// or `../…`.
pub(super) fn is_unsafe_relative_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    if matches!(bytes.first(), Some(b'/' | b'\\')) {
        return true;
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return true;
    }
    let mut depth: usize = 0;
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsafe_paths() {
        for p in [
            "/etc/passwd",
            "..",
            "../x",
            "a/../../x",
            "./../x",
            "C:\\x",
            "c:/x",
            "C:x",
            "\\\\host\\share\\x",
            "\\x",
            "a\\..\\..\\x",
        ] {
            assert!(is_unsafe_relative_path(p), "{p}");
        }
        for p in [
            "users.csv",
            "sso/x.csv",
            "a/../b.csv",
            "a/..",
            "./users.csv",
            "a..b",
            "..a/b",
        ] {
            assert!(!is_unsafe_relative_path(p), "{p}");
        }
    }

    #[test]
    fn unsafe_canonical_key_is_also_noncanonical_and_not_usable() {
        let files = json!({"users": "../users.csv", "extra": "x.csv", "bad": 3, "blank": "  "});
        let (issues, usable) = check_file_paths(files.as_object().unwrap());
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [
                "unsafe_file_path",
                "noncanonical_file_path",
                "unknown_file_key",
                "invalid_file_path",
                "invalid_file_path"
            ]
        );
        assert!(!usable.contains_key("users"));
        assert_eq!(usable.get("extra").map(String::as_str), Some("x.csv"));
        assert_eq!(issues[0].file.as_deref(), Some("../users.csv"));
        assert_eq!(issues[0].field.as_deref(), Some("files.users"));
    }
}
