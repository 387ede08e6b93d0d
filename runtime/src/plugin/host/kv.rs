//! `bottega:shop/kv`: the business's key-value store, within its quotas.

use super::fault;
use crate::plugin::bindings::bottega::shop::kv::{Host, KvError};
use crate::plugin::state::PluginState;
use crate::store::kv;

/// The most keys one `list-keys` call returns.
const MAX_KEYS: u32 = 100;

impl Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        let s = &self.scope;
        kv::get(&s.db, &s.business_id, &key).await.map_err(fault("kv.get"))
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), KvError>> {
        let s = &self.scope;
        let limits = &s.limits;
        if key.len() > limits.kv_max_key_bytes as usize {
            return Ok(Err(KvError::KeyTooLong(limits.kv_max_key_bytes)));
        }
        if value.len() > limits.kv_max_value_bytes as usize {
            return Ok(Err(KvError::ValueTooLarge(limits.kv_max_value_bytes)));
        }
        let stored =
            kv::set(&s.db, &s.business_id, &key, &value, limits.kv_quota_bytes).await.map_err(fault("kv.set"))?;
        Ok(stored.map_err(|kv::KvRefusal::QuotaExceeded| KvError::QuotaExceeded(limits.kv_quota_bytes)))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &self.scope;
        kv::delete(&s.db, &s.business_id, &key).await.map_err(fault("kv.delete"))
    }

    async fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        let s = &self.scope;
        kv::keys(&s.db, &s.business_id, &prefix, MAX_KEYS).await.map_err(fault("kv.list-keys"))
    }
}
