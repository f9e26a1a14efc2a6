//! From a presented key to its principal: [`KeyTable`].
//!
//! The table is a map from a *keyed* hash of each key (SipHash-1-3 under the process's random
//! `RandomState` keys) to the entries with that hash, followed by a constant-time comparison
//! of the whole key. Why not the constant-time scan over every key the layer used to do:
//!
//! * the cost of a lookup no longer grows with the number of keys (principals may hold many:
//!   one per application), yet nothing on the request path allocates;
//! * the map never compares secrets itself: it compares 64-bit hashes of them under a key the
//!   attacker does not know, so neither which bucket is probed nor how long it takes says
//!   anything about a stored key; the one comparison of secrets is constant-time
//!   ([`Secret`]'s `PartialEq` logic, done on bytes here so the presented key is not copied);
//! * a hit and a miss do take different times, but that reveals only what the answer (401 or
//!   not) says anyway.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use routewise_auth::Secret;

use super::principal::Principal;

/// Every configured key with its principal.
pub(crate) struct KeyTable {
    hasher: RandomState,
    /// Keyed hash of a key → indices into `entries` (one, bar a 64-bit collision).
    index: HashMap<u64, Vec<usize>>,
    entries: Vec<(Secret, Arc<Principal>)>,
}

impl std::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach Debug output; their count and owners may.
        f.debug_struct("KeyTable")
            .field("keys", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl KeyTable {
    /// A table of these keys (validated unique at config load; a duplicate here would simply
    /// resolve to its first principal).
    pub(crate) fn new(entries: Vec<(Secret, Arc<Principal>)>) -> Self {
        let hasher = RandomState::new();
        let mut index: HashMap<u64, Vec<usize>> = HashMap::with_capacity(entries.len());
        for (i, (key, _)) in entries.iter().enumerate() {
            index
                .entry(hasher.hash_one(key.expose().as_bytes()))
                .or_default()
                .push(i);
        }
        Self {
            hasher,
            index,
            entries,
        }
    }

    /// The principal owning `presented`, if any.
    pub(crate) fn lookup(&self, presented: &str) -> Option<&Arc<Principal>> {
        let presented = presented.as_bytes();
        let slots = self.index.get(&self.hasher.hash_one(presented))?;
        // Every candidate is compared in full, so timing does not say which one matched.
        let mut found = None;
        for &i in slots {
            let (key, principal) = &self.entries[i];
            if constant_time_eq(key.expose().as_bytes(), presented) && found.is_none() {
                found = Some(principal);
            }
        }
        found
    }

    /// How many keys the table holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Equality without an early exit on the first differing byte (lengths are not secret: every
/// comparison here follows a hash match).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    #[test]
    fn keys_resolve_to_their_principal_and_nothing_else() {
        let a = Arc::new(Principal::unrestricted("a", Role::User));
        let b = Arc::new(Principal::unrestricted("b", Role::Admin));
        let table = KeyTable::new(vec![
            (Secret::new("key-a1"), Arc::clone(&a)),
            (Secret::new("key-a2"), Arc::clone(&a)),
            (Secret::new("key-b"), Arc::clone(&b)),
        ]);
        assert_eq!(table.len(), 3);
        assert_eq!(table.lookup("key-a1").map(|p| p.name.as_str()), Some("a"));
        assert_eq!(table.lookup("key-a2").map(|p| p.name.as_str()), Some("a"));
        assert_eq!(table.lookup("key-b").map(|p| p.name.as_str()), Some("b"));
        for wrong in ["", "key-a", "key-a10", "KEY-B", "key-b "] {
            assert!(table.lookup(wrong).is_none(), "{wrong:?}");
        }
        assert!(!format!("{table:?}").contains("key-"));
    }

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
