//! QQL's text match: tokenised, case-insensitive, phrase with a prefix on the last word.
//!
//! `name:"qual"` matches `qualys.corp.com`; `script.name:Script test for sub` matches
//! "Script test for subscribed modules". The store registers this as the SQL function
//! `qql_match(text, query)`, and keeps the query's [`Phrase`] for the whole statement
//! (SQLite's auxiliary data on the constant argument), so the query is split once per
//! search, not once per row.

/// A QQL phrase, split into lower-case words once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Phrase {
    words: Vec<String>,
    /// Lower-cased query, for a query without words (`"*"`, punctuation): a substring.
    bare: String,
}

/// Words of `s`: runs of alphanumeric characters.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// `token` lower-cased starts with (or, when `whole`, equals) `word` (already lower-case).
/// ASCII tokens compare in place; others are lower-cased as a string (so a final sigma
/// folds as `str::to_lowercase` folds it).
fn folds_to(token: &str, word: &str, whole: bool) -> bool {
    if token.is_ascii() {
        let (t, w) = (token.as_bytes(), word.as_bytes());
        let fits = if whole {
            t.len() == w.len()
        } else {
            t.len() >= w.len()
        };
        return fits && t[..w.len()].eq_ignore_ascii_case(w);
    }
    let lower = token.to_lowercase();
    if whole {
        lower == word
    } else {
        lower.starts_with(word)
    }
}

impl Phrase {
    pub(crate) fn new(query: &str) -> Phrase {
        let query = query.trim().trim_end_matches('*');
        Phrase {
            words: words(query).map(str::to_lowercase).collect(),
            bare: query.to_lowercase(),
        }
    }

    /// Whether `text` holds the phrase: its words in a row, the last as a prefix.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let Some((last, before)) = self.words.split_last() else {
            return text.to_lowercase().contains(&self.bare);
        };
        let tokens: Vec<&str> = words(text).collect();
        tokens.windows(self.words.len()).any(|window| {
            before.iter().zip(window).all(|(w, t)| folds_to(t, w, true))
                && folds_to(window[before.len()], last, false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Phrase;

    fn qql_match(text: &str, query: &str) -> bool {
        Phrase::new(query).matches(text)
    }

    #[test]
    fn prefix_and_phrase() {
        assert!(qql_match("qualys.corp.com", "qual"));
        assert!(qql_match("qualys.corp.com", "CORP"));
        assert!(!qql_match("qualys.corp.com", "orp"));
        assert!(qql_match(
            "Script test for subscribed modules",
            "Script test for subscribed modules"
        ));
        assert!(qql_match(
            "Script test for subscribed modules",
            "test for sub"
        ));
        assert!(!qql_match("Script test for subscribed modules", "test sub"));
        assert!(qql_match("anything", "*"));
        assert!(qql_match("Data Backup", "data*"));
    }

    #[test]
    fn case_folds_like_lowercasing() {
        assert!(qql_match("ΟΔΟΣ 5", "οδος"));
        assert!(qql_match("STRASSE 5", "strasse"));
        assert!(!qql_match("ab", "abc"));
        let p = Phrase::new("Restart Print");
        assert!(p.matches("restart print spooler"));
        assert!(p.matches("Please RESTART printers"));
        assert!(!p.matches("restart the print spooler"));
        assert!(!p.matches(""));
    }

    mod props {
        use super::qql_match;
        use proptest::prelude::*;

        /// The reference: the words lower-cased into owned strings, compared as before.
        fn reference(text: &str, query: &str) -> bool {
            let tokens = |s: &str| -> Vec<String> {
                s.split(|c: char| !c.is_alphanumeric())
                    .filter(|t| !t.is_empty())
                    .map(str::to_lowercase)
                    .collect()
            };
            let query = query.trim().trim_end_matches('*');
            let q = tokens(query);
            if q.is_empty() {
                return text.to_lowercase().contains(&query.to_lowercase());
            }
            let t = tokens(text);
            if t.len() < q.len() {
                return false;
            }
            let last = q.len() - 1;
            (0..=t.len() - q.len()).any(|i| {
                q[..last].iter().zip(&t[i..]).all(|(a, b)| a == b)
                    && t[i + last].starts_with(&q[last])
            })
        }

        proptest! {
            #[test]
            fn agrees_with_the_reference(
                text in "[a-cA-CİßΣσς .*-]{0,24}",
                query in "[a-cA-CİßΣσς .*-]{0,8}",
            ) {
                prop_assert_eq!(qql_match(&text, &query), reference(&text, &query));
            }
        }
    }
}
