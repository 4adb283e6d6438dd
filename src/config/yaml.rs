//! YAML reading shared by the Kubernetes and native readers (serde-saphyr). Snippets are
//! turned off in parser errors: they would quote lines of the file, which may hold secrets.

use std::path::Path;

use serde_json::Value;

use super::error::{ConfigError, Origin};

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
    }
}

/// The non-empty documents of a YAML stream, as untyped values.
pub(crate) fn documents(text: &str, path: &Path) -> Result<Vec<Value>, ConfigError> {
    serde_saphyr::from_multiple_with_options::<Value>(text, options()).map_err(|e| {
        ConfigError::Syntax {
            at: Box::new(Origin::file(path)),
            reason: e.to_string(),
        }
    })
}

/// A YAML scalar as Kafka sees configuration values: strings as they are, numbers and
/// booleans in their usual spelling. `None` for null, sequences and mappings.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A short name of a YAML value's type, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The string at `pointer` (JSON pointer, e.g. `/metadata/name`) of `value`, if a scalar.
pub(crate) fn str_at(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(scalar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_scalars() {
        let docs = documents(
            "a: 1\nb: true\nc: -1\n---\n---\nd: x\n",
            Path::new("f.yaml"),
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(str_at(&docs[0], "/a").as_deref(), Some("1"));
        assert_eq!(str_at(&docs[0], "/b").as_deref(), Some("true"));
        assert_eq!(str_at(&docs[0], "/c").as_deref(), Some("-1"));
        assert_eq!(str_at(&docs[1], "/d").as_deref(), Some("x"));
    }

    #[test]
    fn syntax_errors_name_the_file_and_quote_nothing() {
        let e = documents("password: \"SECRET\n  : [", Path::new("s.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.yaml: syntax error:"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
    }
}
