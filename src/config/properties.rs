//! Java `.properties` files (`java.util.Properties` rules: `=`/`:`/whitespace separators,
//! `#`/`!` comments, escapes, line continuations, `\uXXXX`), read as UTF-8 as Kafka's
//! FileConfigProvider does, into a map that keeps the file's order.

use std::path::Path;

use super::error::{ConfigError, Origin};

/// Properties in file order; a key set twice keeps its first position and its last value, as
/// `java.util.Properties` keeps the last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses `.properties` text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut props = Self::new();
        // UTF-8, as Kafka's FileConfigProvider reads (the crate's default is ISO-8859-1, the
        // `Properties.load(InputStream)` default).
        java_properties::PropertiesIter::new_with_encoding(text.as_bytes(), encoding_rs::UTF_8)
            .read_into(|k, v| props.insert(k, v))
            .map_err(|e| ConfigError::Syntax {
                at: Box::new(Origin::file(path)),
                reason: e.to_string(),
            })?;
        Ok(props)
    }

    /// Reads and parses the `.properties` file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut props = Self::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Properties {
        Properties::parse(text, Path::new("t.properties")).unwrap()
    }

    #[test]
    fn java_rules() {
        let p = parse(
            "# comment\n! also comment\na=1\nb : 2\nc 3\n  d=x\\\n    y\ne=\\u0041\\tz\nkey\\ with\\ space = v\na=last\nempty=\n",
        );
        let got: Vec<_> = p.iter().collect();
        assert_eq!(
            got,
            vec![
                ("a", "last"),
                ("b", "2"),
                ("c", "3"),
                ("d", "xy"),
                ("e", "A\tz"),
                ("key with space", "v"),
                ("empty", ""),
            ]
        );
    }

    #[test]
    fn utf8_values() {
        let p = parse("name=caf\u{e9}\nesc=\\\u{e9}t\u{e9}\nbs=\\\\\u{e9}\n");
        assert_eq!(p.get("name"), Some("caf\u{e9}"));
        assert_eq!(p.get("esc"), Some("\u{e9}t\u{e9}"));
        assert_eq!(p.get("bs"), Some("\\\u{e9}"));
        // Beyond the Basic Multilingual Plane too, as Java reads a UTF-8 file.
        let p = parse("emoji=ok \u{1F600}\n");
        assert_eq!(p.get("emoji"), Some("ok \u{1F600}"));
        // A surrogate pair written as two `\u` escapes is a clear error naming the line (the
        // crate decodes each escape alone); written as UTF-8 the same character is fine.
        let e =
            Properties::parse("a=1\ns=\\ud83d\\ude00\n", Path::new("s.properties")).unwrap_err();
        assert!(e.to_string().contains("line_number = 2"), "{e}");
    }

    #[test]
    fn errors_name_the_file() {
        let e = Properties::parse("a=\\u00zz\n", Path::new("bad.properties")).unwrap_err();
        assert!(
            e.to_string().starts_with("bad.properties: syntax error:"),
            "{e}"
        );
        let e = Properties::read(Path::new("/nonexistent/x.properties")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/x.properties"),
            "{e}"
        );
    }
}
