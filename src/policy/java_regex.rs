//! Translation of Java regex syntax (`java.util.regex.Pattern`, what MM2 compiles filter lists
//! with) to `fancy_regex` syntax, so the patterns users already have mean the same in Strait.
//!
//! The two syntaxes agree on the everyday constructs (`.*`, classes, alternation, groups,
//! look-arounds, back-references, atomic groups, possessive quantifiers). Where they differ,
//! [`translate`] rewrites the Java form, or refuses it with a reason when Java itself would
//! refuse it or no faithful rewrite exists. A silent change of meaning is the outcome avoided
//! above all: a filter that quietly matches other topics replicates data nobody asked for.
//!
//! Rewritten:
//! - `\Q…\E` quoting (Rust has none) → each character escaped.
//! - A backslash before any non-alphabetic character is that character in Java; several such
//!   escapes mean something else to `fancy_regex` (`\<`, `\>` are word boundaries, `` \` `` and
//!   `\'` are text anchors), so every one becomes a hex escape.
//! - `\d \w \s` and their negations are ASCII-only in Java, Unicode in Rust → explicit ASCII
//!   classes. `\h \H \v \V` are horizontal/vertical whitespace in Java (`fancy_regex` reads `\h`
//!   as a hex digit, `\v` as one character) → explicit classes.
//! - POSIX classes `\p{Lower}`, `\p{Alpha}`, … are ASCII-only in Java → ASCII classes.
//! - `\cX`, octal `\0nnn` and `\uXXXX` (with surrogate pairs) → hex escapes.
//! - `\1`…`\9` → back-reference to that single group: Java reads more digits only when that
//!   many groups exist, which is rare, so `\12` is group 1 then `2`.
//! - Inline flags: `i m s x` are kept; `d` (UNIX_LINES) and `u` (UNICODE_CASE) are dropped.
//!   `U` (UNICODE_CHARACTER_CLASS; Rust's `U` means "swap greed") is applied by the
//!   translation, scoped like any flag: under it `\d \w \s` stay Rust's Unicode classes and
//!   the POSIX classes become Unicode properties (`Graph`, `Print`, `Blank`, `Cntrl`, `XDigit`
//!   under `U` are refused: no exact counterpart).
//! - Group names follow Java's rule (ASCII letters and digits, a letter first); Rust's wider
//!   rule would accept names Java refuses.
//! - `#` comments in `(?x)` mode are removed, so a trailing comment cannot swallow the
//!   whole-name anchoring added around the pattern.
//! - In character classes, `~` is escaped (Rust's `~~` is symmetric difference), `[:` is not
//!   read as a POSIX class (Java reads `[[:alpha:]]` as the characters `:alph`), and a `]`
//!   first in a class is a literal, as in Java.
//!
//! Refused (Java refuses them too): a `{` that does not start a valid repetition `{n}`,
//! `{n,}`, `{n,m}` with `n <= m` (Rust would read it as a literal), a backslash before a letter
//! that is no Java escape, a trailing backslash, bad octal/hex/unicode escapes, unbalanced
//! groups or classes.
//!
//! Refused because no faithful rewrite exists: `\N{name}`, `\p{javaXxx}` classes, Unicode
//! blocks `\p{InXxx}` (the Rust engine has none), and `--` inside a class (a range ending in `-`
//! in Java, set difference in Rust).
//!
//! Known differences left as they are (none matters for Kafka topic names, which are ASCII
//! `[a-zA-Z0-9._-]`; group names can be any text):
//! - `.` excludes only `\n` in Rust, also `\r`, `\u0085`, `\u2028`, `\u2029` in Java; `$`
//!   matches only at the very end in Rust, also before a final line terminator in Java.
//! - `(?i)` folds Unicode case in Rust, only ASCII in Java (unless `u`).
//! - `\b` uses Unicode word characters in Rust, Java's own mix in Java.
//! - In a class, Java's `[^a[b]]` negates only `a`; Rust negates the union.
//! - Multi-digit back-references, see above; named back-references pass through unchanged.
//! - Anything else only one engine knows (`\K`, `\O`, `(?~…)`, recursion, …) is left to
//!   `fancy_regex`, which accepts some constructs Java would refuse.

use std::fmt;
use std::fmt::Write as _;

/// Why a Java pattern was refused by [`translate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaRegexError {
    /// Character index in the Java pattern where the problem is.
    pub position: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for JavaRegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position)
    }
}

impl std::error::Error for JavaRegexError {}

/// Rewrites a Java regex as a `fancy_regex` pattern meaning the same (see the module docs for
/// what is rewritten, refused and left different).
pub fn translate(pattern: &str) -> Result<String, JavaRegexError> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        pos: 0,
        out: String::with_capacity(pattern.len() + 16),
        class_depth: 0,
        flags: Flags::default(),
        groups: Vec::new(),
    };
    t.run()?;
    Ok(t.out)
}

/// Java's `\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\h`, `\H`, `\v`, `\V` as explicit classes. Spaces
/// are hex-escaped so `(?x)` mode cannot drop them. Nested classes are valid inside a class in
/// Rust's syntax too, so these work in both places.
fn predefined_class(letter: char) -> Option<&'static str> {
    Some(match letter {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[a-zA-Z0-9_]",
        'W' => "[^a-zA-Z0-9_]",
        's' => r"[\t\n\x0B\f\r\x20]",
        'S' => r"[^\t\n\x0B\f\r\x20]",
        'h' => r"[\x20\t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]",
        'H' => r"[^\x20\t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]",
        'v' => r"[\n\x0B\f\r\x{85}\x{2028}\x{2029}]",
        'V' => r"[^\n\x0B\f\r\x{85}\x{2028}\x{2029}]",
        _ => return None,
    })
}

/// The POSIX classes under `UNICODE_CHARACTER_CLASS` (`(?U)`), where Java reads them as
/// Unicode properties; `None` for the ones with no exact Rust counterpart.
fn posix_class_unicode(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => r"\p{Lowercase}",
        "Upper" => r"\p{Uppercase}",
        "Alpha" => r"\p{Alphabetic}",
        "Digit" => r"\p{Nd}",
        "Alnum" => r"[\p{Alphabetic}\p{Nd}]",
        "Punct" => r"\p{P}",
        "Space" => r"\p{White_Space}",
        "ASCII" => r"[\x00-\x7F]",
        _ => return None,
    })
}

/// Java's POSIX character class names (ASCII-only in Java) and Rust's ASCII class names.
fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "lower",
        "Upper" => "upper",
        "ASCII" => "ascii",
        "Alpha" => "alpha",
        "Digit" => "digit",
        "Alnum" => "alnum",
        "Punct" => "punct",
        "Graph" => "graph",
        "Print" => "print",
        "Blank" => "blank",
        "Cntrl" => "cntrl",
        "XDigit" => "xdigit",
        "Space" => "space",
        _ => return None,
    })
}

/// One left-to-right pass over the Java pattern.
struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
    /// How deep inside (possibly nested) character classes the cursor is.
    class_depth: usize,
    /// The inline flags this translation acts on, where the cursor is.
    flags: Flags,
    /// For each open group, the flags in effect outside it: inline flags end with the group
    /// they appear in, in Java as in Rust.
    groups: Vec<Flags>,
}

/// The inline flags that change the translation itself (the others are passed to Rust, which
/// scopes them the same way).
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `(?x)`: `#` starts a comment.
    extended: bool,
    /// `(?U)` (UNICODE_CHARACTER_CLASS): `\w`, `\d`, `\s` and the POSIX classes are Unicode,
    /// as Rust's are by default, instead of ASCII.
    unicode_classes: bool,
}

impl Translator {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn error<T>(&self, position: usize, message: impl Into<String>) -> Result<T, JavaRegexError> {
        Err(JavaRegexError {
            position,
            message: message.into(),
        })
    }

    /// Emits `c` as a literal, whatever it would mean unescaped, in or out of a class.
    fn push_literal(&mut self, c: char) {
        if c.is_ascii_alphanumeric() || c == '_' {
            self.out.push(c);
        } else if c == ':' && self.class_depth > 0 {
            // `fancy_regex` hands classes to the `regex` crate with escapes resolved, so an
            // escaped `:` right after `[` would still read as a POSIX class `[:name:]`. A nested
            // class `[:]` is never one (its "name" would start with `]`).
            self.out.push_str("[:]");
        } else {
            // Writing to a String cannot fail.
            let _ = write!(self.out, "\\x{{{:X}}}", u32::from(c));
        }
    }

    fn run(&mut self) -> Result<(), JavaRegexError> {
        while let Some(c) = self.peek(0) {
            if self.class_depth > 0 {
                self.in_class(c)?;
            } else {
                self.outside_class(c)?;
            }
        }
        if self.class_depth > 0 {
            return self.error(self.chars.len(), "unclosed character class");
        }
        if !self.groups.is_empty() {
            return self.error(self.chars.len(), "unclosed group");
        }
        Ok(())
    }

    fn outside_class(&mut self, c: char) -> Result<(), JavaRegexError> {
        match c {
            '\\' => self.escape(),
            '[' => {
                self.open_class();
                Ok(())
            }
            '(' => self.open_group(),
            ')' => {
                let Some(outer) = self.groups.pop() else {
                    return self.error(self.pos, "unmatched closing ')'");
                };
                self.flags = outer;
                self.out.push(')');
                self.pos += 1;
                Ok(())
            }
            '{' => self.repetition(),
            '#' if self.flags.extended => {
                // The comment runs to the end of the line; the newline itself is whitespace,
                // which `(?x)` ignores in both engines.
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                Ok(())
            }
            _ => {
                self.out.push(c);
                self.pos += 1;
                Ok(())
            }
        }
    }

    fn in_class(&mut self, c: char) -> Result<(), JavaRegexError> {
        match c {
            '\\' => return self.escape(),
            '[' => {
                self.open_class();
                return Ok(());
            }
            ']' => {
                self.class_depth -= 1;
                self.out.push(']');
            }
            '~' => self.push_literal('~'),
            '-' if self.peek(1) == Some('-') => {
                return self.error(
                    self.pos,
                    "'--' inside a character class means a range in Java but set difference in \
                     Rust; escape the dash as \\-",
                );
            }
            _ => self.out.push(c),
        }
        self.pos += 1;
        Ok(())
    }

    /// At `[`: opens a class, handling the starts Java reads differently from Rust.
    fn open_class(&mut self) {
        self.out.push('[');
        self.pos += 1;
        self.class_depth += 1;
        if self.peek(0) == Some('^') {
            self.out.push('^');
            self.pos += 1;
        }
        if self.peek(0) == Some(']') {
            self.push_literal(']');
            self.pos += 1;
        }
        // Java has no POSIX `[:name:]` syntax. A colon starting a range (`[:-z]`) stays as
        // it is: the `regex` crate never reads `[:-…` as a POSIX class.
        if self.peek(0) == Some(':') && self.peek(1) != Some('-') {
            self.push_literal(':');
            self.pos += 1;
        }
    }

    /// At `(`: an inline-flag group is rewritten (see module docs), any other group is passed
    /// through and remembered so `(?x)` scoping and balance are tracked.
    fn open_group(&mut self) -> Result<(), JavaRegexError> {
        if self.peek(1) == Some('?') {
            let mut end = self.pos + 2;
            while self.chars.get(end).is_some_and(|c| "idmsuxU-".contains(*c)) {
                end += 1;
            }
            let terminator = self.chars.get(end).copied();
            let has_flags = end > self.pos + 2;
            if has_flags && matches!(terminator, Some(')') | Some(':')) {
                let mut on = String::new();
                let mut off = String::new();
                let mut negate = false;
                let mut flags = self.flags;
                for &flag in &self.chars[self.pos + 2..end] {
                    match flag {
                        '-' => negate = true,
                        'U' => flags.unicode_classes = !negate,
                        'i' | 'm' | 's' | 'x' => {
                            if flag == 'x' {
                                flags.extended = !negate;
                            }
                            if negate {
                                off.push(flag);
                            } else {
                                on.push(flag);
                            }
                        }
                        // d, u: no Rust equivalent with the same meaning (module docs); U is
                        // applied by the translation itself, as Rust's `U` means "swap greed".
                        _ => {}
                    }
                }
                let is_group = terminator == Some(':');
                if on.is_empty() && off.is_empty() {
                    if is_group {
                        self.out.push_str("(?:");
                    }
                } else {
                    self.out.push_str("(?");
                    self.out.push_str(&on);
                    if !off.is_empty() {
                        self.out.push('-');
                        self.out.push_str(&off);
                    }
                    self.out.push(if is_group { ':' } else { ')' });
                }
                if is_group {
                    self.groups.push(self.flags);
                }
                self.flags = flags;
                self.pos = end + 1;
                return Ok(());
            }
        }
        if self.peek(1) == Some('?')
            && self.peek(2) == Some('<')
            && !matches!(self.peek(3), Some('=') | Some('!'))
        {
            self.check_group_name(self.pos + 3)?;
        }
        self.groups.push(self.flags);
        self.out.push('(');
        self.pos += 1;
        Ok(())
    }

    /// Java's rule for `(?<name>…)`: ASCII letters and digits, a letter first (Rust also takes
    /// `_` and a leading digit, which would turn a pattern Java refuses into a valid one).
    fn check_group_name(&self, from: usize) -> Result<(), JavaRegexError> {
        let name: String = self.chars[from..]
            .iter()
            .take_while(|&&c| c != '>')
            .collect();
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(())
        } else {
            self.error(
                from,
                format!(
                    "group name '{name}' is not valid in Java (ASCII letters and digits, a letter \
                     first)"
                ),
            )
        }
    }

    /// At `{` outside a class: Java accepts it only as a repetition `{n}`, `{n,}`, `{n,m}`.
    fn repetition(&mut self) -> Result<(), JavaRegexError> {
        let start = self.pos;
        let mut i = self.pos + 1;
        let read_number = |i: &mut usize| -> Option<u64> {
            let from = *i;
            while self.chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            let digits: String = self.chars[from..*i].iter().collect();
            digits.parse().ok()
        };
        let bad = |this: &Self| {
            this.error(
                start,
                "'{' must start a repetition {n}, {n,} or {n,m} (Java rejects it too); note that \
                 list settings are split at every comma, so a repetition like a{1,3} cannot be \
                 written in them",
            )
        };
        let Some(min) = read_number(&mut i) else {
            return bad(self);
        };
        let mut max = Some(min);
        if self.chars.get(i) == Some(&',') {
            i += 1;
            max = read_number(&mut i);
        }
        if self.chars.get(i) != Some(&'}') {
            return bad(self);
        }
        if max.is_some_and(|max| max < min) {
            return self.error(start, "illegal repetition range: minimum above maximum");
        }
        self.out.extend(&self.chars[start..=i]);
        self.pos = i + 1;
        Ok(())
    }

    /// At `\`: translates one escape sequence.
    fn escape(&mut self) -> Result<(), JavaRegexError> {
        let at = self.pos;
        let Some(n) = self.peek(1) else {
            return self.error(at, "trailing backslash");
        };
        self.pos += 2;
        match n {
            'Q' => {
                while let Some(c) = self.peek(0) {
                    if c == '\\' && self.peek(1) == Some('E') {
                        self.pos += 2;
                        break;
                    }
                    self.push_literal(c);
                    self.pos += 1;
                }
            }
            // Outside `\Q`, Java's `\E` stands for nothing.
            'E' => {}
            't' | 'n' | 'r' | 'f' | 'a' | 'e' | 'b' | 'B' | 'A' | 'G' | 'Z' | 'z' | 'R' | 'X' => {
                self.out.push('\\');
                self.out.push(n);
            }
            // Under `(?U)` Java's classes are Unicode, as Rust's own are.
            'd' | 'D' | 'w' | 'W' | 's' | 'S' if self.flags.unicode_classes => {
                self.out.push('\\');
                self.out.push(n);
            }
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'h' | 'H' | 'v' | 'V' => {
                if let Some(class) = predefined_class(n) {
                    self.out.push_str(class);
                }
            }
            'p' | 'P' => self.property(at, n == 'P')?,
            'c' => {
                let Some(x) = self.peek(0) else {
                    return self.error(at, "\\c must be followed by a character");
                };
                self.pos += 1;
                match char::from_u32(u32::from(x) ^ 64) {
                    Some(c) => self.push_literal(c),
                    None => return self.error(at, "invalid control character escape"),
                }
            }
            '0' => self.octal(at)?,
            '1'..='9' => {
                if self.class_depth > 0 {
                    return self.error(at, "back-reference inside a character class");
                }
                // Grouped so a following digit is not read as part of the group number.
                let _ = write!(self.out, "(?:\\{n})");
            }
            'x' => self.hex(at)?,
            'u' => self.unicode(at)?,
            'k' => {
                // `\k<name>`: copied as is, so `{`-checking never sees the name.
                if self.peek(0) != Some('<') {
                    return self.error(at, "\\k must be followed by <name>");
                }
                let Some(len) = self.chars[self.pos..].iter().position(|&c| c == '>') else {
                    return self.error(at, "unclosed \\k<name>");
                };
                self.out.push_str("\\k");
                self.out.extend(&self.chars[self.pos..=self.pos + len]);
                self.pos += len + 1;
            }
            'N' => {
                return self.error(at, "\\N{name} (character by Unicode name) is not supported");
            }
            c if c.is_alphabetic() => {
                return self.error(at, format!("illegal escape sequence \\{c}"));
            }
            // Any other character after a backslash is itself in Java.
            c => self.push_literal(c),
        }
        Ok(())
    }

    /// After `\p` or `\P`: a single-letter or `{name}` property.
    fn property(&mut self, at: usize, negated: bool) -> Result<(), JavaRegexError> {
        let letter = if negated { 'P' } else { 'p' };
        match self.peek(0) {
            Some('{') => {
                let Some(len) = self.chars[self.pos..].iter().position(|&c| c == '}') else {
                    return self.error(at, format!("unclosed \\{letter}{{…}}"));
                };
                let name: String = self.chars[self.pos + 1..self.pos + len].iter().collect();
                self.pos += len + 1;
                if self.flags.unicode_classes && posix_class(&name).is_some() {
                    let Some(class) = posix_class_unicode(&name) else {
                        return self.error(
                            at,
                            format!(
                                "\\{letter}{{{name}}} under (?U) (a Unicode class in Java) is not \
                                 supported"
                            ),
                        );
                    };
                    let caret = if negated { "^" } else { "" };
                    let _ = write!(self.out, "[{caret}{class}]");
                } else if let Some(ascii) = posix_class(&name) {
                    let caret = if negated { "^" } else { "" };
                    let _ = write!(self.out, "[[:{caret}{ascii}:]]");
                } else if name.starts_with("java") {
                    return self.error(
                        at,
                        format!("Java-specific class \\{letter}{{{name}}} is not supported"),
                    );
                } else if name.starts_with("In") || name.starts_with("block=") {
                    return self.error(
                        at,
                        format!("Unicode block \\{letter}{{{name}}} is not supported"),
                    );
                } else {
                    let _ = write!(self.out, "\\{letter}{{{name}}}");
                }
            }
            Some(c) => {
                self.pos += 1;
                self.out.push('\\');
                self.out.push(letter);
                self.out.push(c);
            }
            None => return self.error(at, format!("\\{letter} must name a property")),
        }
        Ok(())
    }

    /// After `\0`: one to three octal digits, the three-digit form only up to `\0377`.
    fn octal(&mut self, at: usize) -> Result<(), JavaRegexError> {
        let mut value = 0u32;
        let mut digits = 0;
        while digits < 3 {
            let Some(d) = self.peek(0).and_then(|c| c.to_digit(8)) else {
                break;
            };
            if digits == 2 && value > 0o37 {
                break;
            }
            value = value * 8 + d;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            return self.error(
                at,
                "illegal octal escape: \\0 must be followed by octal digits",
            );
        }
        match char::from_u32(value) {
            Some(c) => {
                self.push_literal(c);
                Ok(())
            }
            None => self.error(at, "illegal octal escape"),
        }
    }

    /// After `\x`: `hh` or `{h…}`.
    fn hex(&mut self, at: usize) -> Result<(), JavaRegexError> {
        let digits: String = if self.peek(0) == Some('{') {
            let Some(len) = self.chars[self.pos..].iter().position(|&c| c == '}') else {
                return self.error(at, "unclosed \\x{…}");
            };
            let digits = self.chars[self.pos + 1..self.pos + len].iter().collect();
            self.pos += len + 1;
            digits
        } else {
            let Some(digits) = self.chars.get(self.pos..self.pos + 2) else {
                return self.error(at, "illegal hexadecimal escape: \\x needs two hex digits");
            };
            self.pos += 2;
            digits.iter().collect()
        };
        let value = u32::from_str_radix(&digits, 16).ok();
        match value.and_then(char::from_u32) {
            Some(c) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit()) => {
                self.push_literal(c);
                Ok(())
            }
            _ => self.error(at, "illegal hexadecimal escape"),
        }
    }

    /// After `\u`: four hex digits; a high surrogate followed by `\u` and a low surrogate is
    /// one character, as Java reads it.
    fn unicode(&mut self, at: usize) -> Result<(), JavaRegexError> {
        let Some(high) = self.four_hex() else {
            return self.error(at, "illegal Unicode escape: \\u needs four hex digits");
        };
        if (0xD800..0xDC00).contains(&high)
            && self.peek(0) == Some('\\')
            && self.peek(1) == Some('u')
        {
            let saved = self.pos;
            self.pos += 2;
            match self.four_hex() {
                Some(low) if (0xDC00..0xE000).contains(&low) => {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    if let Some(c) = char::from_u32(c) {
                        self.push_literal(c);
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos = saved;
        }
        match char::from_u32(high) {
            Some(c) => {
                self.push_literal(c);
                Ok(())
            }
            None => self.error(at, "lone surrogate in Unicode escape"),
        }
    }

    fn four_hex(&mut self) -> Option<u32> {
        let digits: String = self.chars.get(self.pos..self.pos + 4)?.iter().collect();
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let value = u32::from_str_radix(&digits, 16).ok()?;
        self.pos += 4;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the Java `pattern`, translated and anchored, matches the whole of `text`.
    fn matches(pattern: &str, text: &str) -> bool {
        let translated = translate(pattern).unwrap();
        let re = fancy_regex::Regex::new(&format!(r"\A(?:{translated})\z")).unwrap();
        re.is_match(text).unwrap()
    }

    fn refused(pattern: &str) -> String {
        translate(pattern).unwrap_err().to_string()
    }

    #[test]
    fn everyday_patterns_unchanged() {
        for p in [
            ".*",
            "test.*",
            "a|b",
            "(a)(?:b)",
            "[a-z0-9._-]+",
            "a{2}",
            "a{2,}",
            "a{2,3}",
        ] {
            assert_eq!(translate(p).unwrap(), p);
        }
        assert!(matches("test.*", "test"));
        assert!(matches("a{2,3}", "aaa"));
        assert!(!matches("a{2,3}", "a"));
    }

    #[test]
    fn quoting() {
        assert!(matches(r"\Qa.b\E", "a.b"));
        assert!(!matches(r"\Qa.b\E", "axb"));
        assert!(matches(r"\Qa.b\E.*", "a.bcd"));
        // Unterminated quoting runs to the end, as in Java.
        assert!(matches(r"x\Q(*", "x(*"));
        assert!(matches(r"[\Q]-\E]", "-"));
        assert!(matches(r"[\Q]-\E]", "]"));
        assert!(matches(r"a\Eb", "ab"));
    }

    #[test]
    fn punctuation_escapes_are_literals() {
        assert!(matches(r"\<\>\`\'\!\@\%\-\.\/\,\;\_", "<>`'!@%-./,;_"));
        assert!(matches(r"[\-\.]internal", "-internal"));
        assert!(matches(r".*[\-\.]internal", "mm2-offset-syncs.B.internal"));
        assert!(!matches(r"[\-\.]internal", "xinternal"));
        assert!(matches(r"a\ b", "a b"));
        assert!(matches(r"(?x)a\ b", "a b"));
        assert!(matches(r"\{\}", "{}"));
    }

    #[test]
    fn predefined_classes_are_ascii() {
        assert!(matches(r"\d+", "123"));
        assert!(!matches(r"\d", "٣"));
        assert!(matches(r"\w+", "a_Z9"));
        assert!(!matches(r"\w", "é"));
        assert!(matches(r"\W", "é"));
        assert!(matches(r"\s", "\t"));
        assert!(!matches(r"\s", "\u{2003}"));
        assert!(matches(r"[\d_]+", "1_2"));
        assert!(matches(r"[x\D]", "y"));
        assert!(!matches(r"[x\D]", "1"));
        assert!(matches(r"\h", "\u{a0}"));
        assert!(!matches(r"\h", "a"));
        assert!(matches(r"\H", "a"));
        assert!(matches(r"\v", "\n"));
        assert!(matches(r"(?x)\s", " "));
    }

    #[test]
    fn posix_and_unicode_properties() {
        assert!(matches(r"\p{Lower}+", "abc"));
        assert!(!matches(r"\p{Lower}", "é"));
        assert!(matches(r"\P{Lower}", "A"));
        assert!(matches(r"[\p{Upper}\d]+", "A1"));
        assert!(matches(r"\p{Punct}", "!"));
        assert!(matches(r"\p{L}", "é"));
        assert!(matches(r"\pL", "é"));
        assert!(matches(r"\p{IsLatin}", "é"));
        assert!(refused(r"\p{javaLowerCase}").contains("Java-specific"));
        assert!(refused(r"\p{InGreek}").contains("block"));
    }

    #[test]
    fn numeric_escapes() {
        assert!(matches(r"\x41\x{42}", "AB"));
        assert!(matches(r"\u0041", "A"));
        assert!(matches(r"\uD83D\uDE00", "😀"));
        assert!(matches(r"\0101", "A"));
        assert!(matches(r"\0400", " 0"));
        assert!(matches(r"\07", "\u{7}"));
        assert!(matches(r"\cA", "\u{1}"));
        assert!(matches(r"\t", "\t"));
        assert!(refused(r"\0").contains("octal"));
        assert!(refused(r"\xZZ").contains("hexadecimal"));
        assert!(refused(r"\x4").contains("hexadecimal"));
        assert!(refused(r"\x{}").contains("hexadecimal"));
        assert!(refused(r"\u12").contains("Unicode"));
        assert!(refused(r"\uD800").contains("surrogate"));
    }

    #[test]
    fn back_references_and_lookarounds() {
        assert!(matches(r"(a)\1", "aa"));
        assert!(!matches(r"(a)\1", "ab"));
        assert!(matches(r"(a)\12", "aa2"));
        assert!(matches(r"(?<n>a)\k<n>", "aa"));
        assert!(matches(r"(?!internal).*", "orders"));
        assert!(!matches(r"(?!internal).*", "internal-x"));
        assert!(matches(r".*(?<!\.replica)", "orders"));
        assert!(!matches(r".*(?<!\.replica)", "x.replica"));
        assert!(matches(r"a*+b", "aab"));
        assert!(matches(r"(?>a|ab)c", "ac"));
        assert!(!matches(r"(?>a|ab)c", "abc"));
    }

    #[test]
    fn inline_flags() {
        assert!(matches(r"(?i)orders", "ORDERS"));
        assert!(matches(r"(?i:o)rders", "Orders"));
        assert!(!matches(r"(?i:o)rders", "ORDERS"));
        // Java's U means Unicode classes; Rust's would swap greediness. Dropped.
        assert_eq!(translate("(?U)a").unwrap(), "a");
        assert_eq!(translate("(?iU)a").unwrap(), "(?i)a");
        assert_eq!(translate("(?d:a)").unwrap(), "(?:a)");
        assert_eq!(translate("(?i-u)a").unwrap(), "(?i)a");
        assert_eq!(translate("(?-x)a").unwrap(), "(?-x)a");
    }

    #[test]
    fn extended_mode_comments_are_removed() {
        assert_eq!(translate("(?x)a b # comment").unwrap(), "(?x)a b ");
        assert!(matches("(?x) a b # trailing comment", "ab"));
        assert!(matches("(?x) a # one\n b # two", "ab"));
        // `#` is a literal outside (?x), and again after the group that enabled it.
        assert!(matches("a#b", "a#b"));
        assert!(matches("(?x:a # c\n)#b", "a#b"));
        assert!(matches("(?x)a(?-x)#b", "a#b"));
    }

    #[test]
    fn braces_must_form_repetitions() {
        // What `a{1,3}` becomes after MM2 splits the list at the comma.
        let msg = refused("a{1|3}");
        assert!(msg.contains("repetition"), "{msg}");
        assert!(msg.contains("split"), "{msg}");
        assert!(translate("a{1").is_err());
        assert!(translate("{foo}").is_err());
        assert!(translate("x{").is_err());
        assert!(translate("x{,3}").is_err());
        assert!(refused("a{3,1}").contains("range"));
        // Inside a class, or escaped, braces are literals.
        assert!(matches("[{]x}", "{x}"));
        assert!(matches(r"\{x}", "{x}"));
        // A lone `}` is a literal in Java.
        assert!(matches("a}", "a}"));
    }

    #[test]
    fn class_edge_cases() {
        assert!(matches("[]a]", "]"));
        assert!(matches("[^]a]", "b"));
        assert!(!matches("[^]a]", "]"));
        // Java reads `[[:alpha:]]` as the characters `:alph`, not a POSIX class.
        assert!(matches("[[:alpha:]]", ":"));
        assert!(!matches("[[:alpha:]]", "b"));
        assert!(matches("[[:alpha:]]", "a"));
        assert!(matches("[x[:^alpha:]]", "^"));
        assert!(!matches("[x[:^alpha:]]", "b"));
        assert!(matches(r"[x[\Q:alpha:\E]]", ":"));
        assert!(!matches(r"[x[\Q:alpha:\E]]", "b"));
        assert!(matches(r"[\:]", ":"));
        assert!(matches("[:-<]", ";"));
        assert!(matches("[:]", ":"));
        assert!(matches("[~~a]", "~"));
        assert!(matches("[a-c[x-z]]", "y"));
        assert!(matches("[a-z&&[^b]]", "a"));
        assert!(!matches("[a-z&&[^b]]", "b"));
        assert!(refused("[+--]").contains("--"));
        assert!(matches("[(]", "("));
        assert!(matches("[#](?x)#", "#"));
    }

    #[test]
    fn structural_errors() {
        assert!(refused(r"a\").contains("trailing backslash"));
        assert!(refused("(a").contains("unclosed group"));
        assert!(refused("a)").contains("unmatched"));
        assert!(refused("[a").contains("unclosed character class"));
        assert!(refused(r"\q").contains("illegal escape"));
        assert!(refused(r"\N{LATIN SMALL LETTER A}").contains("\\N"));
        assert!(refused(r"\é").contains("illegal escape"));
        let err = translate("ab(").unwrap_err();
        assert_eq!(err.position, 3);
    }
}
