//! The four snapshot tables: their Arrow schemas (the Parquet column
//! contract `query` and `verify` read) and the conversion of one list page
//! of WorkOS JSON objects into a [`RecordBatch`].
//!
//! Multi-valued fields are flattened to text so every table joins with plain
//! SQL: organization `domains` and membership/role `role_slugs` /
//! `permissions` are joined with `,`; `metadata` is the JSON object as
//! returned (`{}` when absent).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use serde_json::Value;

/// One snapshot table: its file name and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Organizations,
    Memberships,
    Roles,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Users,
        Table::Organizations,
        Table::Memberships,
        Table::Roles,
    ];

    /// Short name (part-file prefix, `snapshot.json` count key).
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Organizations => "organizations",
            Table::Memberships => "organization_memberships",
            Table::Roles => "roles",
        }
    }

    /// File name inside the snapshot directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Table::Users => "users.parquet",
            Table::Organizations => "organizations.parquet",
            Table::Memberships => "organization_memberships.parquet",
            Table::Roles => "roles.parquet",
        }
    }

    /// Column names and whether each is Boolean (else Utf8).
    fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            Table::Users => &[
                ("id", false),
                ("email", false),
                ("email_verified", true),
                ("first_name", false),
                ("last_name", false),
                ("external_id", false),
                ("metadata", false),
                ("created_at", false),
                ("updated_at", false),
            ],
            Table::Organizations => &[
                ("id", false),
                ("name", false),
                ("external_id", false),
                ("domains", false),
                ("metadata", false),
                ("created_at", false),
                ("updated_at", false),
            ],
            Table::Memberships => &[
                ("id", false),
                ("user_id", false),
                ("organization_id", false),
                ("status", false),
                ("role_slugs", false),
                ("created_at", false),
                ("updated_at", false),
            ],
            Table::Roles => &[
                ("slug", false),
                ("name", false),
                ("type", false),
                ("organization_id", false),
                ("permissions", false),
                ("id", false),
            ],
        }
    }

    /// Arrow schema (every column nullable).
    pub fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns()
                .iter()
                .map(|(name, boolean)| {
                    let t = if *boolean {
                        DataType::Boolean
                    } else {
                        DataType::Utf8
                    };
                    Field::new(*name, t, true)
                })
                .collect::<Vec<_>>(),
        ))
    }

    /// The batch of one page of objects. `organization_id` fills the
    /// column of the same name for organization roles (the role objects do
    /// not carry it).
    pub fn batch(
        self,
        objects: &[Value],
        organization_id: Option<&str>,
    ) -> Result<RecordBatch, ArrowError> {
        let cols = self.columns();
        let mut strings: Vec<StringBuilder> = cols.iter().map(|_| StringBuilder::new()).collect();
        let mut bools: Vec<BooleanBuilder> = cols.iter().map(|_| BooleanBuilder::new()).collect();
        for obj in objects {
            for (i, (name, boolean)) in cols.iter().enumerate() {
                if *boolean {
                    bools[i].append_option(obj.get(*name).and_then(Value::as_bool));
                } else {
                    strings[i].append_option(self.cell(obj, name, organization_id));
                }
            }
        }
        let arrays: Vec<ArrayRef> = cols
            .iter()
            .enumerate()
            .map(|(i, (_, boolean))| -> ArrayRef {
                if *boolean {
                    Arc::new(bools[i].finish())
                } else {
                    Arc::new(strings[i].finish())
                }
            })
            .collect();
        RecordBatch::try_new(self.schema(), arrays)
    }

    /// One text cell of an object.
    fn cell(self, obj: &Value, column: &str, organization_id: Option<&str>) -> Option<String> {
        match (self, column) {
            (_, "metadata") => Some(match obj.get("metadata") {
                Some(m @ Value::Object(_)) => m.to_string(),
                _ => "{}".to_string(),
            }),
            (Table::Organizations, "domains") => Some(join_strings(obj.get("domains"), |d| {
                d.get("domain")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
            })),
            (Table::Memberships, "role_slugs") => {
                let roles = obj
                    .get("roles")
                    .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()));
                match roles {
                    Some(list) => Some(join_strings(Some(list), |r| {
                        r.get("slug").and_then(Value::as_str).map(str::to_string)
                    })),
                    None => obj
                        .get("role")
                        .and_then(|r| r.get("slug"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| Some(String::new())),
                }
            }
            (Table::Roles, "organization_id") => organization_id.map(str::to_string),
            (Table::Roles, "permissions") => Some(join_strings(obj.get("permissions"), |p| {
                p.as_str()
                    .map(str::to_string)
                    .or_else(|| p.get("slug").and_then(Value::as_str).map(str::to_string))
            })),
            (_, name) => match obj.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            },
        }
    }
}

/// Items of a JSON array mapped to text and joined with `,`.
fn join_strings(list: Option<&Value>, f: impl Fn(&Value) -> Option<String>) -> String {
    list.and_then(Value::as_array)
        .map(|items| items.iter().filter_map(&f).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use serde_json::json;

    #[test]
    fn page_objects_become_rows_with_flattened_lists() {
        let orgs = [json!({"id": "org_1", "name": "Acme", "external_id": null,
            "domains": [{"domain": "Acme.com"}, {"domain": "acme.io"}], "metadata": {"k": "v"}})];
        let b = Table::Organizations.batch(&orgs, None).unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(3).as_string::<i32>().value(0), "acme.com,acme.io");
        assert!(b.column(2).is_null(0));
        assert_eq!(b.column(4).as_string::<i32>().value(0), r#"{"k":"v"}"#);
        let m = [json!({"id": "om_1", "user_id": "u", "organization_id": "o",
            "role": {"slug": "member"}, "roles": [{"slug": "admin"}, {"slug": "member"}]})];
        let b = Table::Memberships.batch(&m, None).unwrap();
        assert_eq!(b.column(4).as_string::<i32>().value(0), "admin,member");
        let u = [json!({"id": "user_1", "email": "a@x.com", "email_verified": true})];
        let b = Table::Users.batch(&u, None).unwrap();
        assert!(b.column(2).as_boolean().value(0));
        assert_eq!(b.column(6).as_string::<i32>().value(0), "{}");
        let r = [
            json!({"slug": "org-x", "name": "X", "type": "OrganizationRole", "permissions": ["a", "b"]}),
        ];
        let b = Table::Roles.batch(&r, Some("org_9")).unwrap();
        assert_eq!(b.column(3).as_string::<i32>().value(0), "org_9");
        assert_eq!(b.column(4).as_string::<i32>().value(0), "a,b");
    }
}
