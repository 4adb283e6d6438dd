//! Glob patterns as Strimzi's Kubernetes config providers match keys (Java's `glob:` syntax:
//! `*`, `?`, `[...]`, `[!...]`, `{a,b}`, `\` escapes), compiled to an anchored regex.

use regex::Regex;

/// Whether `key` uses any glob syntax; a plain key is looked up exactly.
pub fn is_glob(key: &str) -> bool {
    key.contains(['*', '?', '[', '{', '\\'])
}

/// Compiles `glob` to a regex matching whole names, or explains why it is malformed.
pub fn compile(glob: &str) -> Result<Regex, String> {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    let mut in_group = false;
    while let Some(c) = chars.next() {
        match c {
            // Names have no directories, but keep Java's rule that wildcards stop at `/`.
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(e) => re.push_str(&regex::escape(&e.to_string())),
                None => return Err("ends with an escape character".to_owned()),
            },
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if matches!(c, '\\' | '[' | '&' | '~' | '^') {
                        re.push('\\');
                    }
                    re.push(c);
                }
                if !closed {
                    return Err("missing ']'".to_owned());
                }
                re.push(']');
            }
            '{' if !in_group => {
                in_group = true;
                re.push_str("(?:");
            }
            '{' => return Err("nested '{' is not allowed".to_owned()),
            ',' if in_group => re.push('|'),
            '}' if in_group => {
                in_group = false;
                re.push(')');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    if in_group {
        return Err("missing '}'".to_owned());
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, name: &str) -> bool {
        compile(glob).unwrap().is_match(name)
    }

    #[test]
    fn glob_syntax() {
        assert!(matches("*.crt", "ca.crt"));
        assert!(!matches("*.crt", "ca.crt.bak"));
        assert!(matches("ca.?rt", "ca.crt"));
        assert!(matches("[a-c]a.crt", "ca.crt"));
        assert!(!matches("[!c]a.crt", "ca.crt"));
        assert!(matches("{ca,tls}.crt", "tls.crt"));
        assert!(matches("a\\*b", "a*b"));
        assert!(!matches("a.b", "axb"));
        assert!(is_glob("*.crt") && !is_glob("sasl.jaas.config"));
        assert!(compile("[abc").is_err());
        assert!(compile("{a,b").is_err());
    }
}
