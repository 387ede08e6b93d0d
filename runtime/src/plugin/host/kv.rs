//! `bottega:shop/kv`: the business's key-value store, within its quotas. Its
//! view holds the database, the business's id and its key-value limits.

use wasmtime::component::{HasData, Linker};

use super::{NulInKey, fault};
use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::kv::{Host, KvError};
use crate::plugin::state::PluginState;
use crate::store::{Db, kv};

/// The most keys one `list-keys` call returns.
const MAX_KEYS: u32 = 100;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::kv::add_to_linker::<PluginState, KvInterface>(linker, view)
}

/// What the kv interface reaches: one business's keys, and its quotas.
struct BusinessKv<'a> {
    db: &'a Db,
    business_id: &'a str,
    max_key_bytes: u32,
    max_value_bytes: u32,
    quota_bytes: u64,
}

struct KvInterface;

impl HasData for KvInterface {
    type Data<'a> = BusinessKv<'a>;
}

fn view(state: &mut PluginState) -> BusinessKv<'_> {
    let scope = &state.scope;
    BusinessKv {
        db: &scope.db,
        business_id: &scope.business_id,
        max_key_bytes: scope.limits.kv_max_key_bytes,
        max_value_bytes: scope.limits.kv_max_value_bytes,
        quota_bytes: scope.limits.kv_quota_bytes,
    }
}

impl Host for BusinessKv<'_> {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        if !crate::store::storable(&key) {
            return Ok(None);
        }
        kv::get(self.db, self.business_id, &key).await.map_err(fault("kv.get"))
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), KvError>> {
        if !crate::store::storable(&key) {
            return Err(wasmtime::Error::new(NulInKey { function: "kv.set" }));
        }
        if key.len() > self.max_key_bytes as usize {
            return Ok(Err(KvError::KeyTooLong(self.max_key_bytes)));
        }
        if value.len() > self.max_value_bytes as usize {
            return Ok(Err(KvError::ValueTooLarge(self.max_value_bytes)));
        }
        let quota = self.quota_bytes;
        let stored = kv::set(self.db, self.business_id, &key, &value, quota).await.map_err(fault("kv.set"))?;
        Ok(stored.map_err(|kv::KvRefusal::QuotaExceeded| KvError::QuotaExceeded(quota)))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        if !crate::store::storable(&key) {
            return Ok(());
        }
        kv::delete(self.db, self.business_id, &key).await.map_err(fault("kv.delete"))
    }

    async fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        if !crate::store::storable(&prefix) {
            return Ok(Vec::new());
        }
        kv::keys(self.db, self.business_id, &prefix, MAX_KEYS).await.map_err(fault("kv.list-keys"))
    }
}
