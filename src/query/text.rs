//! QQL's text match: tokenised, case-insensitive, phrase with a prefix on the last word.
//!
//! `name:"qual"` matches `qualys.corp.com`; `script.name:Script test for sub` matches
//! "Script test for subscribed modules". The store registers this as the SQL function
//! `qql_match(text, query)`.

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `text` matches the QQL phrase `query`.
pub fn qql_match(text: &str, query: &str) -> bool {
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
        q[..last].iter().zip(&t[i..]).all(|(a, b)| a == b) && t[i + last].starts_with(&q[last])
    })
}

#[cfg(test)]
mod tests {
    use super::qql_match;

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
}
