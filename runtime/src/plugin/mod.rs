//! The plugin host: validates and compiles uploads, keeps compiled plugins
//! ready to instantiate, and starts sandboxed sessions for the chat layer.
//!
//! Invariants: a plugin reaches only what its [`CallScope`] names (one
//! business, one conversation) and the capabilities its business was granted;
//! it never receives a customer's handle or phone number; every call runs under
//! a deadline, a memory cap and an output cap; one business's calls can take at
//! most `max_concurrent_calls_per_business` of the node's slots.

pub mod bindings;
mod capability;
mod compiled_cache;
mod engine;
mod host;
mod invoke;
mod limits;
mod state;
mod stdio;
pub mod validate;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

pub use capability::Capability;
pub use host::{HostFault, cart_to_wit};
use invoke::{IdleInstance, IdleList, Recycler};
pub use invoke::{PluginFault, PluginSession, SessionLogs, SessionUsage};
pub use limits::PluginLimits;
pub use state::CallScope;
pub use validate::{Inspection, UploadError};

use bindings::ShopPre;
use compiled_cache::CompiledCache;
use state::PluginState;

use crate::config::PluginHostConfig;
use crate::store::businesses::{self, Business};
use crate::store::plugins::{NewPluginVersion, PluginVersion};
use crate::store::{Db, StoreError, plugins};

/// A plugin version compiled and linked, ready to instantiate.
pub struct LoadedPlugin {
    pub version_id: String,
    pub capabilities: Vec<Capability>,
    pre: ShopPre<PluginState>,
    /// Instances that answered a message and may answer another (same
    /// business: a version belongs to one business).
    idle: Arc<Mutex<IdleList>>,
}

impl LoadedPlugin {
    fn new(version_id: &str, capabilities: Vec<Capability>, pre: ShopPre<PluginState>) -> LoadedPlugin {
        LoadedPlugin { version_id: version_id.to_string(), capabilities, pre, idle: Arc::default() }
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin").field("version_id", &self.version_id).finish_non_exhaustive()
    }
}

/// Why a plugin could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An upload that passed validation, compiled and linked.
pub struct PreparedUpload {
    pub inspection: Inspection,
    pre: ShopPre<PluginState>,
}

pub struct PluginHost {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: CompiledCache,
    /// Loaded plugins by version id; a cell per version so concurrent first
    /// messages compile it once.
    loaded: Mutex<HashMap<String, Arc<OnceCell<Arc<LoadedPlugin>>>>>,
    /// Compilation is CPU-heavy; one at a time keeps message handling responsive.
    compile_permits: Semaphore,
    call_permits: Arc<Semaphore>,
    business_permits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Idle instances kept for reuse on this node, at most `max_concurrent_calls`.
    idle_instances: Arc<std::sync::atomic::AtomicUsize>,
    config: PluginHostConfig,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("config", &self.config).finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A host whose compiled cache lives in `data_dir`.
    pub fn new(config: PluginHostConfig, data_dir: &Path) -> anyhow::Result<PluginHost> {
        let engine = engine::build(&config)?;
        engine::start_epoch_ticker(&engine)
            .map_err(|e| anyhow::anyhow!("cannot start the epoch ticker (plugin deadlines depend on it): {e}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        host::add_to_linker(&mut linker)?;
        let cache = CompiledCache::new(&engine, data_dir)?;
        Ok(PluginHost {
            engine,
            linker,
            cache,
            loaded: Mutex::new(HashMap::new()),
            compile_permits: Semaphore::new(1),
            call_permits: Arc::new(Semaphore::new(config.max_concurrent_calls as usize)),
            business_permits: Mutex::new(HashMap::new()),
            idle_instances: Arc::default(),
            config,
        })
    }

    pub fn config(&self) -> &PluginHostConfig {
        &self.config
    }

    /// Validates an upload for a business granted `granted`, compiles it (into
    /// this node's compiled cache) and links it against the contract.
    pub async fn prepare_upload(&self, wasm: &[u8], granted: &[Capability]) -> Result<PreparedUpload, UploadError> {
        let inspection = validate::inspect(wasm, self.config.max_upload_bytes, granted)?;
        let component =
            self.compile(&inspection.sha256, wasm).await.map_err(|e| UploadError::Compile(format!("{e:#}")))?;
        let pre = self.link(&component).map_err(|e| UploadError::Link(format!("{e:#}")))?;
        Ok(PreparedUpload { inspection, pre })
    }

    /// Publishes an upload for a business: validates and compiles it, stores it
    /// as the business's next version, keeps it loaded, and (if `activate`)
    /// makes it the version that answers.
    pub async fn publish(
        &self,
        db: &Db,
        business: &Business,
        wasm: &[u8],
        activate: bool,
    ) -> Result<PluginVersion, PublishError> {
        let prepared = self.prepare_upload(wasm, &business.capabilities).await?;
        let capabilities: Vec<String> = prepared.inspection.capabilities.iter().map(|c| c.to_string()).collect();
        let version = plugins::insert(
            db,
            &business.id,
            NewPluginVersion {
                sha256: &prepared.inspection.sha256,
                world: &prepared.inspection.world,
                capabilities: &capabilities,
                wasm,
            },
        )
        .await?;
        self.install(&version.id, prepared);
        if activate {
            businesses::activate_plugin(db, &business.id, &version.id).await?;
            if let Some(previous) = &business.active_plugin_version_id {
                self.retire_idle(previous);
            }
        }
        tracing::info!(business = %business.id, version = version.version, sha256 = %version.sha256, activate, "plugin published");
        Ok(version)
    }

    /// Keeps a prepared upload loaded under its new version id.
    fn install(&self, version_id: &str, prepared: PreparedUpload) {
        let plugin = Arc::new(LoadedPlugin::new(version_id, prepared.inspection.capabilities, prepared.pre));
        let cell = Arc::new(OnceCell::new_with(Some(plugin)));
        self.lock_loaded().insert(version_id.to_string(), cell);
    }

    /// The loaded plugin for a version, compiling or reading it from this
    /// node's compiled cache the first time.
    pub async fn load(&self, db: &Db, version_id: &str) -> Result<Arc<LoadedPlugin>, PluginFault> {
        let cell = self.lock_loaded().entry(version_id.to_string()).or_default().clone();
        let plugin = cell
            .get_or_try_init(|| async {
                let wasm = plugins::wasm(db, version_id)
                    .await
                    .map_err(|e| PluginFault::Host(e.to_string()))?
                    .ok_or_else(|| PluginFault::Unavailable(format!("plugin version {version_id} does not exist")))?;
                // Stored uploads passed validation; inspect again for the
                // capabilities (the grant check happens per session).
                let inspection = validate::inspect(&wasm, usize::MAX, &Capability::ALL)
                    .map_err(|e| PluginFault::Unavailable(e.to_string()))?;
                let component = self
                    .compile(&inspection.sha256, &wasm)
                    .await
                    .map_err(|e| PluginFault::Unavailable(format!("compiling failed: {e:#}")))?;
                let pre = self.link(&component).map_err(|e| PluginFault::Unavailable(format!("{e:#}")))?;
                Ok::<_, PluginFault>(Arc::new(LoadedPlugin::new(version_id, inspection.capabilities, pre)))
            })
            .await?;
        Ok(plugin.clone())
    }

    /// An instance of a plugin for one message or event, once a slot is free
    /// for its business (waiting at most its deadline): an idle instance of the
    /// same version when there is one, else a fresh one.
    pub async fn start_session(
        &self,
        plugin: &LoadedPlugin,
        scope: CallScope,
        granted: &[Capability],
    ) -> Result<PluginSession, PluginFault> {
        if let Some(missing) = plugin.capabilities.iter().find(|c| !granted.contains(c)) {
            return Err(PluginFault::CapabilityDenied(format!(
                "plugin version {} imports capability `{missing}`, which this business is no longer granted",
                plugin.version_id
            )));
        }
        let wait = Duration::from_millis(scope.limits.deadline_ms);
        let permits = self.acquire_slots(&scope.business_id, wait).await?;
        let recycle = (scope.limits.max_instance_uses > 1).then(|| Recycler {
            idle: plugin.idle.clone(),
            per_version: self.config.max_concurrent_calls_per_business as usize,
            node_idle: self.idle_instances.clone(),
            node_capacity: self.config.max_concurrent_calls as usize,
        });
        if let Some(mut idle) = recycle.as_ref().and_then(|_| self.take_idle(plugin)) {
            let same = idle.store.data().scope.business_id == scope.business_id
                && idle.store.data().scope.limits == scope.limits;
            if same {
                idle.store.data_mut().reset(scope);
                return Ok(PluginSession::new(idle, recycle, permits));
            }
        }
        let mut store = Store::new(&self.engine, PluginState::new(scope));
        PluginSession::prepare_store(&mut store);
        let limit = Duration::from_millis(store.data().scope().limits.deadline_ms);
        let instantiate = plugin.pre.instantiate_async(&mut store);
        let shop = match tokio::time::timeout(limit, instantiate).await {
            Ok(Ok(shop)) => shop,
            // Every slot of the pooling allocator is taken: load, not the plugin's fault.
            Ok(Err(error)) if error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                return Err(PluginFault::Overloaded);
            }
            Ok(Err(error)) => return Err(invoke::classify(&error, limit, &store.data().printed())),
            Err(_) => return Err(PluginFault::Deadline(limit.as_millis() as u64)),
        };
        Ok(PluginSession::new(IdleInstance { store, shop, uses: 0 }, recycle, permits))
    }

    /// Drops the idle instances of a version (e.g. when another one becomes
    /// active), freeing their slots.
    pub fn retire_idle(&self, version_id: &str) {
        let cell = self.lock_loaded().get(version_id).cloned();
        if let Some(plugin) = cell.as_ref().and_then(|cell| cell.get()) {
            let mut idle = plugin.idle.lock().unwrap_or_else(|p| p.into_inner());
            // Sessions still running return their instances to nothing.
            idle.retired = true;
            let retired = std::mem::take(&mut idle.instances);
            self.idle_instances.fetch_sub(retired.len(), std::sync::atomic::Ordering::AcqRel);
        }
    }

    fn take_idle(&self, plugin: &LoadedPlugin) -> Option<IdleInstance> {
        let instance = plugin.idle.lock().unwrap_or_else(|p| p.into_inner()).instances.pop()?;
        self.idle_instances.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        Some(instance)
    }

    async fn acquire_slots(
        &self,
        business_id: &str,
        wait: Duration,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), PluginFault> {
        let business = {
            let mut map = self.business_permits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(business_id.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.config.max_concurrent_calls_per_business as usize)))
                .clone()
        };
        let acquire = async {
            let mine = business.acquire_owned().await.map_err(|_| PluginFault::Overloaded)?;
            let node = self.call_permits.clone().acquire_owned().await.map_err(|_| PluginFault::Overloaded)?;
            Ok((mine, node))
        };
        tokio::time::timeout(wait, acquire).await.map_err(|_| PluginFault::Overloaded)?
    }

    async fn compile(&self, sha256: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
        let _permit = self.compile_permits.acquire().await?;
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let sha256 = sha256.to_string();
        let wasm = wasm.to_vec();
        tokio::task::spawn_blocking(move || cache.load_or_compile(&engine, &sha256, &wasm)).await?
    }

    fn link(&self, component: &Component) -> wasmtime::Result<ShopPre<PluginState>> {
        ShopPre::new(self.linker.instantiate_pre(component)?)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<OnceCell<Arc<LoadedPlugin>>>>> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
