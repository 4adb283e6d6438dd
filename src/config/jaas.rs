//! `sasl.jaas.config` values for the login modules Strait supports:
//! `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
//! and the same with `org.apache.kafka.common.security.scram.ScramLoginModule`.
//! Options may come in any order; values may be quoted (`"..."` or `'...'`, with backslash
//! escapes) or bare words. Errors describe the problem by position and option name only: the
//! text may hold a password.

use super::Secret;

/// The PLAIN login module class.
pub const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
/// The SCRAM login module class.
pub const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";

/// Which login module the configuration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginModule {
    /// `PlainLoginModule` (SASL PLAIN).
    Plain,
    /// `ScramLoginModule` (SASL SCRAM-SHA-256/512).
    Scram,
}

/// Credentials read from a JAAS configuration.
#[derive(Debug, Clone)]
pub struct JaasLogin {
    /// The login module.
    pub module: LoginModule,
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: Secret,
    /// Names of other options (e.g. SCRAM's `tokenauth`), which Strait does not use.
    pub other_options: Vec<String>,
}

/// Why a JAAS configuration cannot be used; never contains any part of the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    /// The text is empty.
    #[error("sasl.jaas.config is empty")]
    Empty,
    /// A login module other than PLAIN or SCRAM.
    #[error("unsupported login module (Strait supports {PLAIN_MODULE} and {SCRAM_MODULE})")]
    UnsupportedModule,
    /// The control flag is missing or unknown.
    #[error(
        "missing or unknown control flag after the login module (expected required, requisite, sufficient or optional)"
    )]
    BadFlag,
    /// Syntax error at a character position.
    #[error("malformed sasl.jaas.config at character {position}: {problem}")]
    Syntax {
        /// 0-based character index.
        position: usize,
        /// What was expected.
        problem: &'static str,
    },
    /// A required option is missing.
    #[error("sasl.jaas.config has no '{0}' option")]
    MissingOption(&'static str),
    /// Several login modules; Kafka clients take exactly one.
    #[error("sasl.jaas.config must contain exactly one login module")]
    SeveralModules,
}

/// Parses a JAAS configuration.
pub fn parse(text: &str) -> Result<JaasLogin, JaasError> {
    let mut lx = Lexer::new(text);
    let class = lx.word().ok_or(if lx.at_end() {
        JaasError::Empty
    } else {
        JaasError::Syntax {
            position: lx.pos,
            problem: "expected a login module class",
        }
    })?;
    let module = match class.as_str() {
        PLAIN_MODULE => LoginModule::Plain,
        SCRAM_MODULE => LoginModule::Scram,
        _ => return Err(JaasError::UnsupportedModule),
    };
    let flag = lx.word().ok_or(JaasError::BadFlag)?;
    if !matches!(
        flag.to_ascii_lowercase().as_str(),
        "required" | "requisite" | "sufficient" | "optional"
    ) {
        return Err(JaasError::BadFlag);
    }
    let mut username = None;
    let mut password = None;
    let mut other_options = Vec::new();
    loop {
        lx.skip_ws();
        if lx.eat(';') {
            break;
        }
        if lx.at_end() {
            return Err(JaasError::Syntax {
                position: lx.pos,
                problem: "missing ';' at the end",
            });
        }
        let name = lx.word().ok_or(JaasError::Syntax {
            position: lx.pos,
            problem: "expected an option name",
        })?;
        lx.skip_ws();
        if !lx.eat('=') {
            return Err(JaasError::Syntax {
                position: lx.pos,
                problem: "expected '=' after an option name",
            });
        }
        lx.skip_ws();
        let value = lx.value()?;
        match name.as_str() {
            "username" => username = Some(value),
            "password" => password = Some(Secret::new(value)),
            _ => other_options.push(name),
        }
    }
    lx.skip_ws();
    if !lx.at_end() {
        return Err(JaasError::SeveralModules);
    }
    Ok(JaasLogin {
        module,
        username: username.ok_or(JaasError::MissingOption("username"))?,
        password: password.ok_or(JaasError::MissingOption("password"))?,
        other_options,
    })
}

/// Quotes `value` for a JAAS configuration (the inverse of the parser's unquoting).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A bare word: anything up to whitespace, `=`, `;` or a quote.
    fn word(&mut self) -> Option<String> {
        self.skip_ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !matches!(c, '=' | ';' | '"' | '\''))
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    /// An option value: quoted string (with escapes) or bare word.
    fn value(&mut self) -> Result<String, JaasError> {
        let Some(quote) = self.peek().filter(|c| matches!(c, '"' | '\'')) else {
            return self.word().ok_or(JaasError::Syntax {
                position: self.pos,
                problem: "expected an option value",
            });
        };
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(JaasError::Syntax {
                    position: start,
                    problem: "unterminated quoted value",
                });
            };
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                continue;
            };
            self.pos += 1;
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "p@ss \"w\\rd\";x";

    #[test]
    fn plain_and_scram_any_order() {
        let l = parse(r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#).unwrap();
        assert_eq!(l.module, LoginModule::Plain);
        assert_eq!((l.username.as_str(), l.password.expose()), ("u", "p"));
        let l = parse(
            "  org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED\n password='x y'\n  username=bare tokenauth=\"true\" ;  ",
        )
        .unwrap();
        assert_eq!(l.module, LoginModule::Scram);
        assert_eq!((l.username.as_str(), l.password.expose()), ("bare", "x y"));
        assert_eq!(l.other_options, vec!["tokenauth"]);
    }

    #[test]
    fn quote_round_trips() {
        let text = format!(
            "{PLAIN_MODULE} required username=\"u\" password={};",
            quote(PW)
        );
        assert_eq!(parse(&text).unwrap().password.expose(), PW);
    }

    #[test]
    fn errors_never_show_the_password() {
        let cases = [
            ("", "sasl.jaas.config is empty"),
            (
                "com.sun.security.auth.module.Krb5LoginModule required password=\"SECRETpw\";",
                "unsupported login module",
            ),
            (
                &format!("{PLAIN_MODULE} maybe password=\"SECRETpw\";") as &str,
                "control flag",
            ),
            (
                &format!("{PLAIN_MODULE} required username=\"u\" password=\"SECRETpw\";"),
                "",
            ),
            (
                &format!("{PLAIN_MODULE} required username=\"u\";"),
                "no 'password' option",
            ),
            (
                &format!("{PLAIN_MODULE} required password=\"SECRETpw\";"),
                "no 'username' option",
            ),
            (
                &format!("{PLAIN_MODULE} required username=\"u\" password=\"SECRETpw"),
                "unterminated quoted value",
            ),
            (
                &format!("{PLAIN_MODULE} required username=\"u\" password=\"SECRETpw\""),
                "missing ';'",
            ),
            (
                &format!("{PLAIN_MODULE} required username=\"u\" password \"SECRETpw\";"),
                "expected '='",
            ),
            (
                &format!(
                    "{PLAIN_MODULE} required username=\"u\" password=\"SECRETpw\"; {PLAIN_MODULE} required;"
                ),
                "exactly one login module",
            ),
        ];
        for (text, expected) in cases {
            match parse(text) {
                Ok(_) => assert!(expected.is_empty(), "{text} parsed"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        !expected.is_empty() && msg.contains(expected),
                        "{msg} / {expected}"
                    );
                    assert!(!msg.contains("SECRETpw"), "{msg}");
                }
            }
        }
    }
}
