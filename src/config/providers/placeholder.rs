//! Kafka's `${provider:[path:]key}` syntax: where the references in a value are and what they
//! name. Resolution lives in [`super::Providers`].

use std::sync::LazyLock;

use regex::Regex;

/// Kafka's pattern, lazy in every part: the provider ends at the first `:`, the path at the
/// next one, and the key is the rest (so a key may contain `:`); no part may contain `}`.
static PLACEHOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}").ok());

/// One `${...}` reference found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// The whole reference, e.g. `${cfmap:ns/name:key}`.
    pub text: &'a str,
    /// Byte range of `text` in the value.
    pub range: std::ops::Range<usize>,
    /// The provider name.
    pub provider: &'a str,
    /// The path; empty when the reference has none (`${env:HOME}`).
    pub path: &'a str,
    /// The key.
    pub key: &'a str,
}

/// Every reference in `value`, left to right, not overlapping.
pub fn find_placeholders(value: &str) -> Vec<Placeholder<'_>> {
    let Some(re) = PLACEHOLDER.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(value)
        .filter_map(|c| {
            let whole = c.get(0)?;
            Some(Placeholder {
                text: whole.as_str(),
                range: whole.range(),
                provider: c.get(1)?.as_str(),
                path: c.get(3).map_or("", |m| m.as_str()),
                key: c.get(4)?.as_str(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(v: &str) -> Vec<(&str, &str, &str)> {
        find_placeholders(v)
            .into_iter()
            .map(|p| (p.provider, p.path, p.key))
            .collect()
    }

    #[test]
    fn kafka_split_rules() {
        assert_eq!(parts("${env:HOME}"), vec![("env", "", "HOME")]);
        assert_eq!(
            parts("${cfmap:ns/n:alias}"),
            vec![("cfmap", "ns/n", "alias")]
        );
        // The key keeps every further colon.
        assert_eq!(parts("${p:a:b:c}"), vec![("p", "a", "b:c")]);
        assert_eq!(
            parts("${file:/tmp/strimzi-connect.properties:bootstrap.servers}"),
            vec![(
                "file",
                "/tmp/strimzi-connect.properties",
                "bootstrap.servers"
            )]
        );
        assert_eq!(
            parts("x=${a:k1},y=${b:p:k2}"),
            vec![("a", "", "k1"), ("b", "p", "k2")]
        );
        assert!(parts("${nocolon} $notref {x:y}").is_empty());
    }

    #[test]
    fn ranges_point_at_the_reference() {
        let v = "pre ${a:b} post";
        let p = &find_placeholders(v)[0];
        assert_eq!(&v[p.range.clone()], "${a:b}");
        assert_eq!(p.text, "${a:b}");
    }
}
