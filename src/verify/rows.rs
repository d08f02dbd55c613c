//! Reading the rows of a join result: typed cells by column name (string
//! columns of any Arrow string type), and the field comparisons `verify`
//! makes between a package cell and the WorkOS value.

use std::collections::BTreeSet;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use serde_json::{Map, Value};

use super::VerifyError;
use crate::import::row::{flatten_metadata, parse_bool, parse_role_slugs};

/// The columns of one result batch, looked up once.
pub struct Columns {
    strings: Vec<(String, StringArray)>,
    bools: Vec<(String, BooleanArray)>,
}

impl Columns {
    /// Every string-like column as Utf8 and every Boolean column.
    pub fn new(batch: &RecordBatch) -> Result<Self, VerifyError> {
        let mut strings = Vec::new();
        let mut bools = Vec::new();
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            match field.data_type() {
                DataType::Boolean => bools.push((field.name().clone(), array.as_boolean().clone())),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                    let utf8 = cast(array, &DataType::Utf8)?;
                    strings.push((field.name().clone(), utf8.as_string::<i32>().clone()));
                }
                _ => {
                    let utf8 = cast(array, &DataType::Utf8)?;
                    strings.push((field.name().clone(), utf8.as_string::<i32>().clone()));
                }
            }
        }
        Ok(Self { strings, bools })
    }

    fn string_array(&self, name: &str) -> Option<&StringArray> {
        self.strings.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// The raw cell (`""` when NULL or absent).
    pub fn raw(&self, name: &str, i: usize) -> &str {
        match self.string_array(name) {
            Some(a) if !a.is_null(i) => a.value(i),
            _ => "",
        }
    }

    /// The trimmed cell, `None` when NULL or blank.
    pub fn get(&self, name: &str, i: usize) -> Option<&str> {
        Some(self.raw(name, i).trim()).filter(|s| !s.is_empty())
    }

    pub fn boolean(&self, name: &str, i: usize) -> Option<bool> {
        self.bools
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, a)| (!a.is_null(i)).then(|| a.value(i)))
    }

    /// A count-like column (`occurrence`) as a number.
    pub fn number(&self, name: &str, i: usize) -> u64 {
        self.raw(name, i).parse().unwrap_or(0)
    }
}

/// A package name cell against the WorkOS value: a blank package cell is
/// not compared (the importer omits it).
pub fn text_differs(package: Option<&str>, workos: Option<&str>) -> bool {
    match package {
        Some(p) => Some(p) != workos.map(str::trim),
        None => false,
    }
}

/// `email_verified`: compared only when the package cell is a boolean.
pub fn verified_differs(package: Option<&str>, workos: Option<bool>) -> bool {
    match package.and_then(parse_bool) {
        Some(p) => p != workos.unwrap_or(false),
        None => false,
    }
}

/// Metadata: the package cell flattened as the importer sends it (string
/// values, nulls dropped) against the WorkOS object; a blank or unreadable
/// package cell is not compared.
pub fn metadata_differs(package: Option<&str>, workos: Option<&str>) -> bool {
    let Some(text) = package else {
        return false;
    };
    let Ok(sent) = flatten_metadata(text) else {
        return false;
    };
    let stored: Map<String, Value> = workos
        .and_then(|w| serde_json::from_str::<Value>(w).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    sent != stored
}

/// The domains of a package cell: split on `,`, `;` or whitespace,
/// lower-cased, de-duplicated (as `import-package` sends them).
pub fn domain_set(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|d| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// Organization domains: compared as sets when the package lists any.
pub fn domains_differ(package: Option<&str>, workos: Option<&str>) -> bool {
    match package {
        Some(p) => domain_set(p) != domain_set(workos.unwrap_or("")),
        None => false,
    }
}

/// Membership roles: every package slug must be held. Roles WorkOS holds
/// beyond them are not a difference (`user_role_assignments.csv` adds
/// roles to the same membership).
pub fn roles_missing(package: Option<&str>, workos: Option<&str>) -> bool {
    let Some(p) = package else {
        return false;
    };
    let held: BTreeSet<String> = parse_role_slugs(workos.unwrap_or("")).into_iter().collect();
    parse_role_slugs(p).iter().any(|s| !held.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_what_the_importer_sends() {
        assert!(!text_differs(None, Some("Ann")));
        assert!(text_differs(Some("Ann"), Some("Anne")));
        assert!(!text_differs(Some("Ann"), Some("Ann")));
        assert!(verified_differs(Some("yes"), None));
        assert!(!verified_differs(Some("maybe"), Some(false)));
        assert!(!metadata_differs(
            Some(r#"{"a": 1, "b": null}"#),
            Some(r#"{"a":"1"}"#)
        ));
        assert!(metadata_differs(Some(r#"{"a": 1}"#), Some("{}")));
        assert!(!domains_differ(Some("B.com; a.com"), Some("a.com,b.com")));
        assert!(domains_differ(Some("a.com"), Some("a.com,b.com")));
        assert!(roles_missing(Some("admin,member"), Some("member")));
        assert!(!roles_missing(Some("member"), Some("admin,member")));
    }
}
