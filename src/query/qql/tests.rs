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
