//! The plugins a node keeps loaded (compiled, linked, ready to instantiate):
//! at most `capacity` of them, the least recently used dropped first. A dropped
//! plugin's compiled file stays in the compiled cache and is memory-mapped
//! again on its next message, so a node can serve many more shops than it
//! keeps loaded.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::LoadedPlugin;

/// A version's slot: empty until the first message (or the compile) fills it,
/// so concurrent first messages load it once.
pub(super) type Slot = Arc<OnceCell<Arc<LoadedPlugin>>>;

pub(super) struct LoadedSet {
    entries: HashMap<String, Entry>,
    capacity: usize,
    /// Increases on every use; an entry's `last_used` orders evictions.
    clock: u64,
}

struct Entry {
    slot: Slot,
    last_used: u64,
}

impl LoadedSet {
    pub fn new(capacity: usize) -> LoadedSet {
        LoadedSet { entries: HashMap::new(), capacity: capacity.max(1), clock: 0 }
    }

    /// The slot of a version, marked as just used; and the plugins dropped to
    /// make room for it.
    pub fn slot(&mut self, version_id: &str) -> (Slot, Vec<Arc<LoadedPlugin>>) {
        self.clock += 1;
        let clock = self.clock;
        let entry = self
            .entries
            .entry(version_id.to_string())
            .or_insert_with(|| Entry { slot: Slot::default(), last_used: clock });
        entry.last_used = clock;
        let slot = entry.slot.clone();
        (slot, self.evict(version_id))
    }

    /// Keeps a plugin loaded under its version id, unless that version is
    /// loaded already; returns the plugins dropped for it.
    pub fn insert(&mut self, plugin: Arc<LoadedPlugin>) -> Vec<Arc<LoadedPlugin>> {
        self.clock += 1;
        let version_id = plugin.version_id.clone();
        match self.entries.get_mut(&version_id) {
            Some(entry) if entry.slot.initialized() => entry.last_used = self.clock,
            // A first message is loading it: that load's result stays in its
            // slot, this one takes over the entry.
            _ => {
                let slot = Arc::new(OnceCell::new_with(Some(plugin)));
                self.entries.insert(version_id.clone(), Entry { slot, last_used: self.clock });
            }
        }
        self.evict(&version_id)
    }

    /// The loaded plugin of a version, without marking it used.
    pub fn get(&self, version_id: &str) -> Option<Arc<LoadedPlugin>> {
        self.entries.get(version_id).and_then(|entry| entry.slot.get().cloned())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn evict(&mut self, keep: &str) -> Vec<Arc<LoadedPlugin>> {
        let mut dropped = Vec::new();
        while self.entries.len() > self.capacity {
            let oldest = self
                .entries
                .iter()
                .filter(|(id, _)| id.as_str() != keep)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(id, _)| id.clone());
            let Some(oldest) = oldest else { break };
            if let Some(plugin) = self.entries.remove(&oldest).and_then(|entry| entry.slot.get().cloned()) {
                dropped.push(plugin);
            }
        }
        dropped
    }
}
