//! QQL text → [`Filter`], one function per grammar rule.
//!
//! ```text
//! query      = ws [ or_expr ] ws EOF
//! or_expr    = and_expr { ws "OR" ws and_expr }
//! and_expr   = not_expr { ws "AND" ws not_expr }
//! not_expr   = "NOT" ws not_expr | primary
//! primary    = "(" ws or_expr ws ")" | condition
//! condition  = field ws ( ":" ws value_expr | cmp_op ws scalar )
//! cmp_op     = ">=" | "<=" | ">" | "<" | "="
//! value_expr = range | list | backtick | quoted | bare
//! range      = ( "[" | "(" ) ws scalar ws ( ".." | "..." ) ws scalar ws ( "]" | ")" )
//!                                       ; "[..]" inclusive, "(..)" exclusive
//! list       = "[" ws scalar { ws "," ws scalar } ws "]"
//! backtick   = "`" { any char but "`" } "`"               ; exact, case-sensitive
//! quoted     = '"' { any char but '"' or "\"; or "\" any char } '"'
//! bare       = word { " " word }      ; words up to AND / OR (any case), ")" or the end
//! scalar     = quoted | word
//! word       = 1*( any char but space, "(", ")", "[", "]", ",", '"', "`" )
//! field      = letter { letter | digit | "_" | "." }
//! ws         = { " " | "\t" | "\n" | "\r" }
//! ```
//!
//! Keywords are case-insensitive. `AND`/`OR`/`NOT` must stand alone (followed by space or a
//! parenthesis). Every field name and value keeps its [`Span`] (0-based character
//! positions), so errors found later — by `validate` against a catalog — can say
//! where. Nesting is bounded ([`MAX_DEPTH`]) and so is the text ([`MAX_FILTER_BYTES`]), so no
//! input can exhaust the stack or hold the parser long; syntax errors carry the position.

use std::fmt;

use super::ast::{Condition, Filter, Op, Span, Token};
use super::limits::{MAX_DEPTH, MAX_FILTER_BYTES};

/// A QQL syntax error at a character position (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QqlError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for QqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at position {})", self.message, self.position)
    }
}

impl std::error::Error for QqlError {}

/// Parse a QQL query. An empty or blank query is [`Filter::All`].
pub fn parse(input: &str) -> Result<Filter, QqlError> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(QqlError {
            position: 0,
            message: format!("the filter is longer than {MAX_FILTER_BYTES} bytes"),
        });
    }
    let mut p = Parser {
        chars: input.chars().collect(),
        pos: 0,
        depth: 0,
    };
    p.query()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, QqlError>;

impl Parser {
    // --- helpers ---

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn error<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(QqlError {
            position: self.pos,
            message: message.into(),
        })
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let matches = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .zip(s.chars())
                .all(|(a, b)| *a == b);
        if matches {
            self.pos += n;
        }
        matches
    }

    /// A keyword (case-insensitive) standing alone: followed by space, `(`, or the end.
    fn keyword_at(&self, pos: usize, kw: &str) -> bool {
        let n = kw.len();
        if self.chars.len() < pos + n {
            return false;
        }
        let word: String = self.chars[pos..pos + n].iter().collect();
        word.eq_ignore_ascii_case(kw)
            && self
                .chars
                .get(pos + n)
                .is_none_or(|c| c.is_whitespace() || *c == '(')
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.keyword_at(self.pos, kw) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("query nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    // --- rules ---

    /// `query = ws [ or_expr ] ws EOF`
    fn query(&mut self) -> PResult<Filter> {
        self.ws();
        if self.at_end() {
            return Ok(Filter::All);
        }
        let filter = self.or_expr()?;
        self.ws();
        if !self.at_end() {
            return match self.peek() {
                Some(')') => self.error("unmatched ')'"),
                _ => self.error("expected AND, OR or the end of the query"),
            };
        }
        Ok(filter)
    }

    /// `or_expr = and_expr { ws "OR" ws and_expr }`
    fn or_expr(&mut self) -> PResult<Filter> {
        self.chain("OR", Parser::and_expr, Filter::Or)
    }

    /// `and_expr = not_expr { ws "AND" ws not_expr }`
    fn and_expr(&mut self) -> PResult<Filter> {
        self.chain("AND", Parser::not_expr, Filter::And)
    }

    /// `operand { ws keyword ws operand }`, one node when there is one operand.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Parser) -> PResult<Filter>,
        join: fn(Vec<Filter>) -> Filter,
    ) -> PResult<Filter> {
        let mut parts = vec![operand(self)?];
        loop {
            let save = self.pos;
            self.ws();
            if self.eat_keyword(keyword) {
                self.ws();
                parts.push(operand(self)?);
            } else {
                self.pos = save;
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            join(parts)
        })
    }

    /// `not_expr = "NOT" ws not_expr | primary`
    fn not_expr(&mut self) -> PResult<Filter> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            self.ws();
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    /// `primary = "(" ws or_expr ws ")" | condition`
    fn primary(&mut self) -> PResult<Filter> {
        if self.eat("(") {
            self.enter()?;
            self.ws();
            let inner = self.or_expr()?;
            self.ws();
            if !self.eat(")") {
                return self.error("expected ')'");
            }
            self.depth -= 1;
            return Ok(inner);
        }
        self.condition()
    }

    /// `condition = field ws ( ":" ws value_expr | cmp_op ws scalar )`
    fn condition(&mut self) -> PResult<Filter> {
        let field = self.field()?;
        self.ws();
        let (op, values) = if self.eat(":") {
            self.ws();
            self.value_expr()?
        } else {
            let Some(op) = self.cmp_op() else {
                return self.error(format!(
                    "expected ':' or a comparison after '{}'",
                    field.text
                ));
            };
            self.ws();
            (op, vec![self.scalar()?])
        };
        Ok(Filter::Cond(Condition { field, op, values }))
    }

    /// `cmp_op = ">=" | "<=" | ">" | "<" | "="`
    fn cmp_op(&mut self) -> Option<Op> {
        for (text, op) in [
            (">=", Op::GreaterOrEqual),
            ("<=", Op::LesserOrEqual),
            (">", Op::Greater),
            ("<", Op::Lesser),
            ("=", Op::Equals),
        ] {
            if self.eat(text) {
                return Some(op);
            }
        }
        None
    }

    /// `field = letter { letter | digit | "_" | "." }`
    fn field(&mut self) -> PResult<Token> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_alphabetic() => {}
            Some(c) => return self.error(format!("expected a field name, found '{c}'")),
            None => return self.error("expected a field name, found the end of the query"),
        }
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        Ok(self.token(start, self.chars[start..self.pos].iter().collect()))
    }

    /// The text from `start` to here as a token.
    fn token(&self, start: usize, text: String) -> Token {
        Token::new(text, Span::new(start, self.pos))
    }

    /// `value_expr = range | list | backtick | quoted | bare`
    fn value_expr(&mut self) -> PResult<(Op, Vec<Token>)> {
        match self.peek() {
            Some('[') | Some('(') => self.range_or_list(),
            Some('`') => Ok((Op::Exact, vec![self.backtick()?])),
            Some('"') => Ok((Op::Matches, vec![self.quoted()?])),
            Some(_) => Ok((Op::Matches, vec![self.bare()?])),
            None => self.error("expected a value, found the end of the query"),
        }
    }

    /// `range = ("[" | "(") scalar (".." | "...") scalar ("]" | ")")`,
    /// `list = "[" scalar { "," scalar } "]"`
    fn range_or_list(&mut self) -> PResult<(Op, Vec<Token>)> {
        let inclusive = self.peek() == Some('[');
        self.pos += 1;
        self.ws();
        let first = self.scalar()?;
        self.ws();
        if self.eat("...") || self.eat("..") {
            self.ws();
            let second = self.scalar()?;
            self.ws();
            let close = if inclusive { "]" } else { ")" };
            if !self.eat(close) {
                return self.error(format!("expected '{close}' to close the range"));
            }
            return Ok((Op::Between { inclusive }, vec![first, second]));
        }
        if !inclusive {
            return self.error("expected '..' in a range");
        }
        let mut values = vec![first];
        loop {
            self.ws();
            if self.eat("]") {
                return Ok((Op::In, values));
            }
            if !self.eat(",") {
                return self.error("expected ',' or ']' in a list");
            }
            self.ws();
            values.push(self.scalar()?);
        }
    }

    /// `backtick = "`" { any char but "`" } "`"`
    fn backtick(&mut self) -> PResult<Token> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '`' {
                let value = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                return Ok(self.token(open, value));
            }
            self.pos += 1;
        }
        self.pos = open;
        self.error("unterminated `exact` value")
    }

    /// `quoted = '"' { char | "\" char } '"'`
    fn quoted(&mut self) -> PResult<Token> {
        let open = self.pos;
        self.pos += 1;
        let mut value = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => return Ok(self.token(open, value)),
                '\\' => match self.peek() {
                    Some(next) => {
                        value.push(next);
                        self.pos += 1;
                    }
                    None => break,
                },
                _ => value.push(c),
            }
        }
        self.pos = open;
        self.error("unterminated quoted value")
    }

    /// `scalar = quoted | word`
    fn scalar(&mut self) -> PResult<Token> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        let word = self.word();
        if word.is_empty() {
            return match self.peek() {
                Some(c) => self.error(format!("expected a value, found '{c}'")),
                None => self.error("expected a value, found the end of the query"),
            };
        }
        Ok(self.token(start, word))
    }

    /// `word = 1*( any char but space, parentheses, brackets, ",", '"', "`" )`
    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | ',' | '"' | '`')
        }) {
            // A range's "..": stop before it ("1..10").
            if self.peek() == Some('.') && self.chars.get(self.pos + 1) == Some(&'.') {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// `bare = word { " " word }` up to AND / OR, ")" or the end.
    fn bare(&mut self) -> PResult<Token> {
        let start = self.pos;
        let mut end = start;
        let mut words = Vec::new();
        loop {
            let word = self.word();
            if word.is_empty() {
                break;
            }
            words.push(word);
            end = self.pos;
            let save = self.pos;
            self.ws();
            if self.at_end()
                || self.peek() == Some(')')
                || self.keyword_at(self.pos, "AND")
                || self.keyword_at(self.pos, "OR")
            {
                self.pos = save;
                break;
            }
        }
        if words.is_empty() {
            return match self.peek() {
                Some(c) => self.error(format!("expected a value, found '{c}'")),
                None => self.error("expected a value, found the end of the query"),
            };
        }
        Ok(Token::new(words.join(" "), Span::new(start, end)))
    }
}

#[cfg(test)]
mod tests;
