//! The node's cache of unwrapped data keys, bounded: a message does not unwrap
//! its customer's key again, and erasing a customer evicts theirs at once
//! (`store::data_keys` evicts before it deletes the wrapped key). Least
//! recently used keys leave first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::envelope::DataKey;

/// Unwrapped data keys by id, and which key holds which slot (a business's
/// key for one customer, its secrets or its index), at most `capacity`.
#[derive(Debug)]
pub struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tick: u64,
    /// Key id → (key, its slot, when last used).
    keys: HashMap<String, (Arc<DataKey>, String, u64)>,
    /// Slot → key id.
    slots: HashMap<String, String>,
}

impl KeyCache {
    pub fn new(capacity: usize) -> KeyCache {
        KeyCache { capacity: capacity.max(1), inner: Mutex::default() }
    }

    /// The key `id`, if cached.
    pub fn by_id(&self, id: &str) -> Option<Arc<DataKey>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.keys.get_mut(id)?;
        entry.2 = tick;
        Some(entry.0.clone())
    }

    /// The key holding `slot`, if cached.
    pub fn by_slot(&self, slot: &str) -> Option<Arc<DataKey>> {
        let id = self.lock().slots.get(slot).cloned()?;
        self.by_id(&id)
    }

    /// Keeps `key`, which holds `slot`, dropping the least recently used key
    /// when full.
    pub fn insert(&self, slot: &str, key: Arc<DataKey>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if inner.keys.len() >= self.capacity && !inner.keys.contains_key(key.id()) {
            let oldest = inner.keys.iter().min_by_key(|(_, entry)| entry.2).map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                remove(&mut inner, &oldest);
            }
        }
        inner.slots.insert(slot.to_string(), key.id().to_string());
        inner.keys.insert(key.id().to_string(), (key, slot.to_string(), tick));
    }

    /// Forgets the key `id` (erased, or re-wrapped elsewhere).
    pub fn evict(&self, id: &str) {
        remove(&mut self.lock(), id);
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// True when no key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves maps that are still whole.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn remove(inner: &mut Inner, id: &str) {
    if let Some((_, slot, _)) = inner.keys.remove(id)
        && inner.slots.get(&slot).is_some_and(|held| held == id)
    {
        inner.slots.remove(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Arc<DataKey> {
        Arc::new(DataKey::generate(id.to_string()).expect("random key"))
    }

    #[test]
    fn keys_are_found_by_id_and_slot_and_evicted() {
        let cache = KeyCache::new(10);
        cache.insert("biz_1/customer/cus_a", key("dk_a"));
        assert_eq!(cache.by_slot("biz_1/customer/cus_a").expect("cached").id(), "dk_a");
        assert!(cache.by_id("dk_a").is_some());
        cache.evict("dk_a");
        assert!(cache.by_id("dk_a").is_none() && cache.by_slot("biz_1/customer/cus_a").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn the_least_recently_used_key_leaves_when_full() {
        let cache = KeyCache::new(2);
        cache.insert("a", key("dk_a"));
        cache.insert("b", key("dk_b"));
        assert!(cache.by_id("dk_a").is_some(), "a is used again");
        cache.insert("c", key("dk_c"));
        assert_eq!(cache.len(), 2);
        assert!(cache.by_id("dk_b").is_none(), "b was the least recently used");
        assert!(cache.by_slot("b").is_none());
        assert!(cache.by_id("dk_a").is_some() && cache.by_id("dk_c").is_some());
    }
}
