//! Key names: every key of one subject shares one cluster hash tag.
//!
//! Layout, for prefix `P` and subject tag `T`:
//! - `P{T}:s` — the subject's hash: per family `f:<family>` (`<long_term>:<created_us>`)
//!   and `r:<family>` (`<revoked_us>:<reason>`, set once).
//! - `P{T}:x` — the subject's sorted set of family ids by the server time (ms) until which
//!   each family can matter (its last token's expiry), to find dead families cheaply.
//! - `P{T}:t:<token>` — one hash per refresh token: `f` family, `i` issued, `e` expires,
//!   `c` consumed, `p` parent, `n` child (times in Unix microseconds).
//!
//! Ids are unique per subject only (the `TokenStore` contract asks no more): the same id
//! under two subjects names two unrelated records.
//!
//! Families live in their subject's hash rather than in keys of their own because `rotate`
//! is called with (subject, token id) only: a family key would have to be computed inside
//! the script from the family id stored in the token, i.e. a key not declared in `KEYS`,
//! which Redis Cluster does not guarantee to serve (a slot in migration answers for the
//! declared keys only), or a second round trip. With the subject's hash, every key each
//! script touches is known before the call and passed in `KEYS`, and `revoke_subject` is a
//! write to one key. The price is that a family's fields cannot carry a TTL of their own
//! on Redis < 7.4 (no `HEXPIRE`): the hash expires with its longest-lived family, and
//! `insert_family` drops the fields of families whose time in `P{T}:x` has passed.

use auth_core::{FamilyId, TokenId};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key names of one subject.
#[derive(Debug)]
pub(crate) struct SubjectKeys {
    /// `P{T}`: prefix and hash tag, the common start of every key of this subject.
    base: String,
}

impl SubjectKeys {
    /// The tag is base64url of the subject's bytes, behind a fixed letter: it never holds
    /// `{` or `}` (so no user name can end the tag early or make it empty), and unlike a
    /// hash of the subject it cannot collide, so two subjects never share a key.
    pub(crate) fn new(prefix: &str, subject: &str) -> Self {
        let mut base = String::with_capacity(prefix.len() + 4 + subject.len() * 4 / 3);
        base.push_str(prefix);
        base.push_str("{u");
        URL_SAFE_NO_PAD.encode_string(subject.as_bytes(), &mut base);
        base.push('}');
        SubjectKeys { base }
    }

    /// The subject's hash of family records.
    pub(crate) fn subject(&self) -> String {
        format!("{}:s", self.base)
    }

    /// The subject's families by the time until which they can matter.
    pub(crate) fn expiry(&self) -> String {
        format!("{}:x", self.base)
    }

    /// One token's record.
    pub(crate) fn token(&self, id: TokenId) -> String {
        format!("{}:t:{id}", self.base)
    }
}

/// A family id as it appears in hash field names.
pub(crate) fn family_field(id: FamilyId) -> String {
    id.to_string()
}

/// Makes a user-chosen prefix safe in front of the hash tag: a `{` in the prefix would
/// start the tag early (and `{}` would make it empty, so the whole key is hashed and a
/// script's keys would land on different slots). Percent-escaping keeps distinct prefixes
/// distinct.
pub(crate) fn escape_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash tag as Redis Cluster computes it: between the first `{` and the first `}`
    /// after it, if that is non-empty; else the whole key.
    fn hash_tag(key: &str) -> &str {
        if let Some(open) = key.find('{')
            && let Some(len) = key[open + 1..].find('}')
            && len > 0
        {
            return &key[open + 1..open + 1 + len];
        }
        key
    }

    #[test]
    fn every_key_of_a_subject_shares_one_tag() {
        for subject in ["", "alice", "{a}", "}{", "x:{}:y", "Zoë 名前 {}", "a}b{c"] {
            for prefix in ["", "auth:", "a{b", "{}", "x}"] {
                let keys = SubjectKeys::new(&escape_prefix(prefix), subject);
                let tag = hash_tag(&keys.subject()).to_owned();
                assert!(tag.starts_with('u'), "{prefix:?} {subject:?}: tag {tag:?}");
                assert_eq!(tag, hash_tag(&keys.token(TokenId::random())));
                assert_eq!(tag, hash_tag(&keys.expiry()));
            }
        }
    }

    #[test]
    fn distinct_subjects_get_distinct_keys() {
        let a = SubjectKeys::new("p:", "a:b").subject();
        let b = SubjectKeys::new("p:", "a").subject();
        let c = SubjectKeys::new("p:", "a:b ").subject();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn prefix_escaping_is_injective_on_braces() {
        assert_ne!(escape_prefix("%7B"), escape_prefix("{"));
        assert_eq!(escape_prefix("a{b}"), "a%7Bb%7D");
    }
}
