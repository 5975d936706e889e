//! Values shared by key without being kept alive by the sharing: the map
//! holds each value weakly, its users strongly. Client states and
//! credential caches live here, so that a rebuilt registry finds the ones
//! its predecessor used, and one that no registry uses any more is dropped
//! as soon as the last in-flight call on an old registry lets go of it.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

/// Dead entries are swept when the map grows past twice its live size,
/// and never below this many entries.
const MIN_SWEEP: usize = 64;

pub struct WeakMap<K, V> {
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, Weak<V>>,
    /// The size at which dead entries are swept next.
    sweep_at: usize,
}

impl<K, V> Default for WeakMap<K, V> {
    fn default() -> Self {
        WeakMap {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }
}

/// Keys may hold credentials (client options): only the size is shown.
impl<K, V> fmt::Debug for WeakMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("WeakMap")
            .field("entries", &inner.entries.len())
            .finish()
    }
}

impl<K: Eq + Hash, V> WeakMap<K, V> {
    /// The live value under `key`, or a new one from `make`, kept weakly.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> Arc<V> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = inner.entries.get(&key).and_then(Weak::upgrade) {
            return value;
        }
        let value = Arc::new(make());
        inner.entries.insert(key, Arc::downgrade(&value));
        if inner.entries.len() > inner.sweep_at {
            inner.entries.retain(|_, v| v.strong_count() > 0);
            inner.sweep_at = MIN_SWEEP.max(2 * inner.entries.len());
        }
        value
    }

    /// How many values are still in use.
    pub fn live(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .values()
            .filter(|v| v.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_shares_one_value_while_it_is_used_and_dead_entries_are_swept() {
        let map: WeakMap<u32, String> = WeakMap::default();
        let a = map.get_or_insert_with(1, || "a".into());
        let again = map.get_or_insert_with(1, || "not made".into());
        assert!(Arc::ptr_eq(&a, &again));
        drop((a, again));
        assert_eq!(map.live(), 0);
        // Dropped everywhere: the next user gets a new value.
        assert_eq!(*map.get_or_insert_with(1, || "new".into()), "new");

        let kept: Vec<_> = (0..10)
            .map(|i| map.get_or_insert_with(i, String::new))
            .collect();
        for i in 100..10_000 {
            map.get_or_insert_with(i, String::new);
        }
        let size = map.inner.lock().unwrap().entries.len();
        assert!(size <= 2 * MIN_SWEEP + 1, "{size} entries kept");
        assert_eq!(map.live(), kept.len());
    }
}
