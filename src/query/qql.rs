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
mod tests {
    use super::*;

    fn tree(q: &str) -> String {
        match parse(q) {
            Ok(f) => f.outline(),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Parse trees with the span of every token.
    #[test]
    fn trees_with_spans() {
        let queries = [
            "status:DEPRECATED",
            "script.name:Script test for subscribed modules",
            "activity: CREATE ",
            "job.id:80507",
            "",
            "title:colour AND colour:red",
            "status:[APPROVED, REJECTED] and not (severity > 3 OR name:`Exact Name`)",
            "severity:[1 .. 3]",
            "created:(2022-01-01...now-2w)",
            "title:\"a \\\"b\\\" c\" OR id >= 7",
            "NOT NOT x:1",
            "((a:1) AND (b:2 OR c:3))",
            "name:caf\u{e9} AND id:2",
        ];
        let out: Vec<String> = queries
            .iter()
            .map(|q| format!("{q}\n  => {}", tree(q)))
            .collect();
        insta::assert_snapshot!("qql_trees", out.join("\n"));
    }

    #[test]
    fn error_texts() {
        insta::assert_snapshot!(tree("status:"), @"error: expected a value, found the end of the query (at position 7)");
        insta::assert_snapshot!(tree("(status:A"), @"error: expected ')' (at position 9)");
        insta::assert_snapshot!(tree("status:A)"), @"error: unmatched ')' (at position 8)");
        insta::assert_snapshot!(tree("status"), @"error: expected ':' or a comparison after 'status' (at position 6)");
        insta::assert_snapshot!(tree("status:\"open"), @"error: unterminated quoted value (at position 7)");
        insta::assert_snapshot!(tree("id:[1, 2"), @"error: expected ',' or ']' in a list (at position 8)");
        insta::assert_snapshot!(tree("id:(1, 2)"), @"error: expected '..' in a range (at position 5)");
        insta::assert_snapshot!(tree("AND x:1"), @"error: expected ':' or a comparison after 'AND' (at position 4)");
        insta::assert_snapshot!(tree("a:1 AND"), @"error: expected a field name, found the end of the query (at position 7)");
        insta::assert_snapshot!(tree("3:1"), @"error: expected a field name, found '3' (at position 0)");
    }

    #[test]
    fn depth_is_bounded() {
        let parens = |n: usize| format!("{}a:1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&parens(MAX_DEPTH)).is_ok());
        insta::assert_snapshot!(tree(&parens(MAX_DEPTH + 1)), @"error: query nests deeper than 64 levels (at position 65)");
        let nots = |n: usize| format!("{}a:1", "NOT ".repeat(n));
        assert!(parse(&nots(MAX_DEPTH)).is_ok());
        insta::assert_snapshot!(tree(&nots(MAX_DEPTH + 1)), @"error: query nests deeper than 64 levels (at position 259)");
        // Far past the bound: an error, not a stack overflow.
        assert!(parse(&parens(200_000)).is_err());
        assert!(parse(&"NOT (".repeat(200_000)).is_err());
    }

    #[test]
    fn text_is_bounded() {
        let long = format!("title:{}", "a".repeat(MAX_FILTER_BYTES));
        insta::assert_snapshot!(tree(&long), @"error: the filter is longer than 1048576 bytes (at position 0)");
    }

    mod props {
        use super::super::{MAX_DEPTH, parse};
        use crate::query::ast::{Filter, Op, Token};
        use crate::query::catalog::{self, Catalog};
        use crate::query::sql::compile;
        use crate::query::validate::Dialect;
        use proptest::prelude::*;

        fn catalogs() -> [&'static Catalog; 10] {
            [
                &catalog::CAR_SCRIPT,
                &catalog::CAR_ASSET,
                &catalog::CAR_ASSET_TAG,
                &catalog::CAR_JOB,
                &catalog::CAR_ASSET_JOB,
                &catalog::CAR_ACTIVITY,
                &catalog::CM_ALERT,
                &catalog::CM_PROFILE,
                &catalog::CM_RULE,
                &catalog::CM_RULESET,
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9]{1,8}",
                "[a-z]{1,5} [a-z]{1,5}",
                Just("AND".to_owned()),
                Just("or".to_owned()),
                "[a-z]{1,4}\\(x\\)",
            ]
        }

        fn leaf() -> impl Strategy<Value = Filter> {
            let field = prop_oneof![Just("status"), Just("script.name"), Just("id")];
            let op = prop_oneof![
                Just(Op::Matches),
                Just(Op::Exact),
                Just(Op::Equals),
                Just(Op::Greater),
                Just(Op::Lesser),
                Just(Op::GreaterOrEqual),
                Just(Op::LesserOrEqual),
                Just(Op::In),
                Just(Op::Between { inclusive: true }),
                Just(Op::Between { inclusive: false }),
            ];
            (
                field,
                op,
                prop::collection::vec("[a-z0-9]{1,6}", 1..4),
                value(),
            )
                .prop_map(|(field, op, list, single)| {
                    let values = match op {
                        Op::In => list,
                        Op::Between { .. } => vec![list[0].clone(), single.replace(' ', "")],
                        Op::Matches => vec![single],
                        _ => vec![list[0].clone()],
                    };
                    Filter::cond(field, op, values)
                })
        }

        fn tree() -> impl Strategy<Value = Filter> {
            leaf().prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
                    inner.prop_map(|f| Filter::Not(Box::new(f))),
                ]
            })
        }

        /// Every token's span covers its text: exactly for fields and bare words, with the
        /// quotes for quoted values.
        fn spans_cover_tokens(f: &Filter, chars: &[char]) -> Result<(), String> {
            let slice = |t: &Token| -> Option<String> {
                let s = t.span?;
                chars.get(s.start..s.end).map(|c| c.iter().collect())
            };
            match f {
                Filter::All => Ok(()),
                Filter::Not(inner) => spans_cover_tokens(inner, chars),
                Filter::And(parts) | Filter::Or(parts) => {
                    parts.iter().try_for_each(|p| spans_cover_tokens(p, chars))
                }
                Filter::Cond(c) => {
                    if slice(&c.field).as_deref() != Some(c.field.as_str()) {
                        return Err(format!("field {:?} at {:?}", c.field, slice(&c.field)));
                    }
                    for v in &c.values {
                        let text = slice(v).ok_or(format!("value {v:?} has no span"))?;
                        let quoted = (text.starts_with('"') && text.ends_with('"'))
                            || (text.starts_with('`') && text.ends_with('`'));
                        if text != v.text && !(quoted && text.len() >= 2) {
                            return Err(format!("value {v:?} at {text:?}"));
                        }
                    }
                    Ok(())
                }
            }
        }

        /// Parentheses, `NOT`s and `a:1 AND (` groups, nested; with the deepest nesting the
        /// parser goes through.
        fn nesting() -> impl Strategy<Value = (usize, String)> {
            prop::collection::vec(0..3u8, 0..3 * MAX_DEPTH).prop_map(|kinds| {
                let (mut open, mut close) = (String::new(), String::new());
                let (mut depth, mut deepest) = (0, 0);
                for (i, k) in kinds.iter().enumerate() {
                    match k {
                        0 => {
                            open.push('(');
                            close.push(')');
                            depth += 1;
                        }
                        1 => {
                            open.push_str("NOT ");
                            // NOTs just before `a:1 AND (` negate `a:1` only.
                            let run = kinds[i..].iter().take_while(|k| **k == 1).count();
                            if kinds.get(i + run) == Some(&2) {
                                deepest = deepest.max(depth + run);
                            } else {
                                depth += 1;
                            }
                        }
                        _ => {
                            open.push_str("a:1 AND (");
                            close.push(')');
                            depth += 1;
                        }
                    }
                    deepest = deepest.max(depth);
                }
                (deepest, format!("{open}b:2{close}"))
            })
        }

        proptest! {
            #[test]
            fn display_parses_back_to_the_same_tree(f in tree()) {
                let text = f.to_string();
                let parsed = parse(&text);
                prop_assert_eq!(&parsed, &Ok(f), "{}", text);
                let chars: Vec<char> = text.chars().collect();
                if let Ok(parsed) = parsed {
                    prop_assert_eq!(spans_cover_tokens(&parsed, &chars), Ok(()), "{}", text);
                    for catalog in catalogs() {
                        let _ = compile(&parsed, catalog, Dialect::Qql, 0);
                    }
                }
            }

            #[test]
            fn nesting_is_refused_past_the_bound_only((n, text) in nesting()) {
                match parse(&text) {
                    Ok(_) => prop_assert!(n <= MAX_DEPTH, "{} levels accepted", n),
                    Err(e) => {
                        prop_assert!(n > MAX_DEPTH, "{}: {}", text, e);
                        prop_assert!(e.message.contains("deeper than"), "{}", e);
                    }
                }
            }

            /// Whatever parses, validation and SQL never panic, on any object type.
            #[test]
            fn no_parsed_input_panics_the_compiler(
                s in "(NOT |\\(|\\)| AND | OR |id|title|status|severity|created\\.dateTime|isTest|platform|:|>=|<|=|\\[|\\]|\\.\\.|, |\"|`|now-2w|2022-05-01|-?[0-9]{1,20}|[a-zA-Z_ ]{1,6}){0,24}"
            ) {
                if let Ok(f) = parse(&s) {
                    for catalog in catalogs() {
                        for dialect in [Dialect::Qql, Dialect::Qps] {
                            let _ = compile(&f, catalog, dialect, 1_700_000_000_000);
                        }
                    }
                }
            }

            #[test]
            fn no_input_panics(s in "\\PC{0,64}") {
                let _ = parse(&s);
            }

            #[test]
            fn no_qql_like_input_panics(s in "[a-z:()\\[\\]., \"`<>=]{0,40}") {
                let _ = parse(&s);
            }
        }
    }
}
