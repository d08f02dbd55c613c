//! Auth0 user and organization mapping (§4.4, §4.5, §4.9).

use serde_json::{Map, Value};

/// An Auth0 organization as the exporter keeps it (§4.2: only id, name,
/// display_name and metadata are kept; branding is not needed by the package).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Auth0Org {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

impl Auth0Org {
    /// An organization from an `/api/v2/organizations` item; `None` without
    /// a string `id`.
    pub fn from_json(v: &Value) -> Option<Self> {
        let id = v.get("id")?.as_str()?.to_string();
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            id,
            name: text("name").unwrap_or_default(),
            display_name: text("display_name"),
            metadata: v.get("metadata").and_then(Value::as_object).cloned(),
        })
    }

    /// The `org_name` of package rows: `display_name` ‖ `name`.
    pub fn label(&self) -> &str {
        match self.display_name.as_deref() {
            Some(d) if !d.is_empty() => d,
            _ => &self.name,
        }
    }
}
