//! "Did you mean ...?" for unknown keys: the known key with the smallest edit distance.

/// Levenshtein distance between `a` and `b` (in characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `key` (first one on ties), if any.
pub fn closest<'a>(key: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(key, c), c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The standard warning text for an unknown key.
pub fn unknown_key_message<'a>(
    key: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match closest(key, candidates) {
        Some(c) => format!("unknown {what} '{key}' ignored (closest known key: '{c}')"),
        None => format!("unknown {what} '{key}' ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_closest() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(
            closest(
                "refresh.topic.interval.seconds",
                ["topics", "refresh.topics.interval.seconds"]
            ),
            Some("refresh.topics.interval.seconds")
        );
        assert_eq!(closest("x", []), None);
    }
}
