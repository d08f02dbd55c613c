//! The wizard's questions, asked with `inquire` (see docs/decisions.md,
//! "wizard"). Esc and Ctrl-C at any prompt become [`PromptError::Cancelled`],
//! the cancel path; passwords are read hidden and never echoed.

use std::path::{Path, PathBuf};

use inquire::validator::Validation;
use inquire::{Confirm, CustomType, InquireError, MultiSelect, Password, Select, Text};

/// Why a prompt returned no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Esc or Ctrl-C.
    #[error("cancelled")]
    Cancelled,
    #[error("terminal: {0}")]
    Terminal(String),
}

type Answer<T> = Result<T, PromptError>;

fn map(e: InquireError) -> PromptError {
    match e {
        InquireError::OperationCanceled | InquireError::OperationInterrupted => {
            PromptError::Cancelled
        }
        other => PromptError::Terminal(other.to_string()),
    }
}

/// One of `options` (label, value); `default` is the index preselected.
pub fn select<T: Copy>(message: &str, options: &[(T, &str)], default: usize) -> Answer<T> {
    let labels: Vec<&str> = options.iter().map(|(_, l)| *l).collect();
    let chosen = Select::new(message, labels)
        .with_starting_cursor(default)
        .prompt()
        .map_err(map)?;
    options
        .iter()
        .find(|(_, l)| *l == chosen)
        .map(|(v, _)| *v)
        .ok_or(PromptError::Cancelled)
}

/// Some of `options`, all preselected, at least one.
pub fn multiselect(message: &str, options: &[&str]) -> Answer<Vec<String>> {
    MultiSelect::new(message, options.to_vec())
        .with_all_selected_by_default()
        .with_validator(|chosen: &[inquire::list_option::ListOption<&&str>]| {
            Ok(if chosen.is_empty() {
                Validation::Invalid("Select at least one".into())
            } else {
                Validation::Valid
            })
        })
        .prompt()
        .map(|v| v.into_iter().map(str::to_string).collect())
        .map_err(map)
}

/// Yes or no.
pub fn confirm(message: &str, default: bool) -> Answer<bool> {
    Confirm::new(message)
        .with_default(default)
        .prompt()
        .map_err(map)
}

/// A non-empty answer (`Required` otherwise); Enter takes `default`.
pub fn required_text(message: &str, default: Option<&str>) -> Answer<String> {
    let mut p = Text::new(message).with_validator(|s: &str| {
        Ok(if s.trim().is_empty() {
            Validation::Invalid("Required".into())
        } else {
            Validation::Valid
        })
    });
    if let Some(d) = default.filter(|d| !d.trim().is_empty()) {
        p = p.with_default(d);
    }
    p.prompt().map(|s| s.trim().to_string()).map_err(map)
}

/// A hidden answer, checked by `check` (an error message or `None`).
pub fn password(message: &str, check: fn(&str) -> Option<&'static str>) -> Answer<String> {
    Password::new(message)
        .without_confirmation()
        .with_validator(move |s: &str| {
            Ok(match check(s) {
                Some(m) => Validation::Invalid(m.into()),
                None => Validation::Valid,
            })
        })
        .prompt()
        .map_err(map)
}

/// A whole number from `min` to `max`, `default` on Enter.
pub fn number(message: &str, default: u32, min: u32, max: u32) -> Answer<u32> {
    CustomType::<u32>::new(message)
        .with_default(default)
        .with_error_message("Enter a whole number")
        .with_validator(move |v: &u32| {
            Ok(if (min..=max).contains(v) {
                Validation::Valid
            } else {
                Validation::Invalid(format!("Must be between {min} and {max}").into())
            })
        })
        .prompt()
        .map_err(map)
}

/// The path of an existing file.
pub fn existing_file(message: &str) -> Answer<PathBuf> {
    Text::new(message)
        .with_validator(|s: &str| {
            Ok(if Path::new(s.trim()).is_file() {
                Validation::Valid
            } else {
                Validation::Invalid("File not found".into())
            })
        })
        .prompt()
        .map(|s| PathBuf::from(s.trim()))
        .map_err(map)
}

/// The path of an existing file, or nothing (empty answer).
pub fn optional_file(message: &str) -> Answer<Option<PathBuf>> {
    Text::new(message)
        .with_help_message("leave empty to skip")
        .with_validator(|s: &str| {
            let s = s.trim();
            Ok(if s.is_empty() || Path::new(s).is_file() {
                Validation::Valid
            } else {
                Validation::Invalid("File not found".into())
            })
        })
        .prompt()
        .map(|s| Some(s.trim()).filter(|s| !s.is_empty()).map(PathBuf::from))
        .map_err(map)
}

/// An optional free-text answer.
pub fn optional_text(message: &str) -> Answer<Option<String>> {
    Text::new(message)
        .with_help_message("leave empty to skip")
        .prompt()
        .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        .map_err(map)
}

/// A directory for a new package: missing or empty (an export must not mix
/// its files with anything else, and a resumed export clears it).
pub fn new_package_dir(message: &str, default: &str) -> Answer<PathBuf> {
    Text::new(message)
        .with_default(default)
        .with_validator(|s: &str| {
            Ok(match package_dir_problem(Path::new(s.trim())) {
                Some(m) => Validation::Invalid(m.into()),
                None => Validation::Valid,
            })
        })
        .prompt()
        .map(|s| PathBuf::from(s.trim()))
        .map_err(map)
}

/// Why `dir` cannot take a new package, if it cannot.
pub fn package_dir_problem(dir: &Path) -> Option<String> {
    if dir.as_os_str().is_empty() {
        return Some("Required".into());
    }
    if dir.exists() && !dir.is_dir() {
        return Some("Exists and is not a directory".into());
    }
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    non_empty.then(|| "Directory is not empty: choose a new one or remove it".into())
}

/// The directory of an existing package (it has `manifest.json`).
pub fn existing_package_dir(message: &str) -> Answer<PathBuf> {
    Text::new(message)
        .with_validator(|s: &str| {
            Ok(if Path::new(s.trim()).join("manifest.json").is_file() {
                Validation::Valid
            } else {
                Validation::Invalid("No manifest.json in that directory".into())
            })
        })
        .prompt()
        .map(|s| PathBuf::from(s.trim()))
        .map_err(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_dir_rules() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(package_dir_problem(&tmp.path().join("new")), None);
        assert_eq!(package_dir_problem(tmp.path()), None);
        std::fs::write(tmp.path().join("f"), "x").unwrap();
        assert!(package_dir_problem(tmp.path()).is_some());
        assert!(package_dir_problem(&tmp.path().join("f")).is_some());
        assert!(package_dir_problem(Path::new("")).is_some());
    }
}
