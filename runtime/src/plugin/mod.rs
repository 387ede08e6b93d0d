//! The plugin host at run time: keeps compiled plugins loaded and ready to
//! instantiate, and starts sandboxed sessions for the chat layer, each within
//! its business's slots and limits. How an upload becomes a version that
//! answers (validation, background compile, activation) is [`publish`].
//!
//! Invariants: a plugin reaches only what its [`CallScope`] names (one
//! business, one conversation) and the capabilities its business was granted
//! (WASI's clocks included: without `clock` they tell no time); it never
//! receives a customer's handle or phone number; every call runs under a
//! deadline (of its own CPU time, see `invoke.rs`), a memory cap and one output
//! budget; one business's calls take at most `max_concurrent_calls_per_business`
//! of the node's slots and never more than the node has cores, waiting
//! businesses are served in turn, and one whose calls keep hitting their limits
//! runs one call at a time (see [`slots`]).

pub mod bindings;
mod compiled_cache;
pub mod contract;
mod cpu;
mod engine;
mod host;
mod invoke;
mod limits;
mod loaded;
pub mod publish;
mod reuse;
pub mod slots;
mod state;
mod stdio;
pub mod validate;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

pub use crate::config::UploadLimits;
pub use crate::grants::{Capability, PluginLimits};
pub use host::{HostFault, cart_to_wit};
use invoke::{IdleInstance, IdleList, Recycler};
pub use invoke::{PluginFault, PluginSession, SessionLogs, SessionUsage, WALL_LIMIT_FACTOR};
pub use publish::{Activation, ActivationError, COMPILE_LEASE, PreparedUpload, Publication, PublishError};
pub use reuse::{DEFAULT_REUSE_ABOVE, InstancePolicy};
pub use state::{CallScope, DENIED_CLOCK_STEP, WasiClocks};
pub use stdio::escape_for_log;
pub use validate::{Inspection, LanguageClass, UploadError};

use bindings::ShopPre;
use compiled_cache::CompiledCache;
use loaded::LoadedSet;
use slots::{CallSlots, SlotLimits, SlotPermit};
use state::PluginState;

use crate::config::PluginHostConfig;
use crate::grants;
use crate::store::{Db, plugins};

/// A plugin version compiled and linked, ready to instantiate.
pub struct LoadedPlugin {
    pub version_id: String,
    pub capabilities: Vec<Capability>,
    /// What a fresh instance costs over a reused one (as recorded on its version), if measured.
    pub startup: Option<Duration>,
    /// Fresh instances per message, or reused ones: chosen from `startup`.
    pub instances: InstancePolicy,
    pre: ShopPre<PluginState>,
    /// Instances that answered a message and may answer another (same
    /// business: a version belongs to one business).
    idle: Arc<Mutex<IdleList>>,
}

impl LoadedPlugin {
    fn new(
        version_id: &str,
        capabilities: Vec<Capability>,
        pre: ShopPre<PluginState>,
        startup: Option<Duration>,
        reuse_above: Duration,
    ) -> LoadedPlugin {
        LoadedPlugin {
            version_id: version_id.to_string(),
            capabilities,
            startup,
            instances: InstancePolicy::for_cost(startup, reuse_above),
            pre,
            idle: Arc::default(),
        }
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin").field("version_id", &self.version_id).finish_non_exhaustive()
    }
}

pub struct PluginHost {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: CompiledCache,
    /// Loaded plugins by version id, least recently used dropped first.
    loaded: Mutex<LoadedSet>,
    /// Compilation is CPU-heavy; `max_concurrent_compiles` at a time keeps
    /// message handling responsive.
    compile_permits: Semaphore,
    /// Uploads waiting to compile, served round-robin across businesses.
    compile_queue: publish::CompileQueue,
    /// The node's call slots, shared fairly between businesses.
    call_slots: CallSlots,
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
        let cache_dir = config.compiled_cache_dir.clone().unwrap_or_else(|| data_dir.join("compiled"));
        let cache = CompiledCache::new(&engine, &cache_dir)?;
        Ok(PluginHost {
            engine,
            linker,
            cache,
            loaded: Mutex::new(LoadedSet::new(config.max_loaded_plugins)),
            compile_permits: Semaphore::new(config.max_concurrent_compiles.max(1)),
            compile_queue: publish::CompileQueue::new(config.max_concurrent_compiles),
            call_slots: CallSlots::new(SlotLimits {
                node: config.max_concurrent_calls as usize,
                per_business: config.max_concurrent_calls_per_business as usize,
                cores: SlotLimits::cores_of_this_node(),
            }),
            idle_instances: Arc::default(),
            config,
        })
    }

    pub fn config(&self) -> &PluginHostConfig {
        &self.config
    }

    /// What a fresh instance of a version costs over a reused one (see
    /// [`reuse`]), in whole microseconds: the figure recorded on the version
    /// when a node measured it, so every node (and the API) makes the same
    /// choice; else measured here and recorded. Measuring holds one of the
    /// node's call slots, as each instance takes a slot of the pool. `None`
    /// when it could not be timed: the business's `max_instance_uses` then
    /// applies as set.
    async fn startup_cost(&self, db: &Db, version_id: &str, pre: &ShopPre<PluginState>) -> Option<Duration> {
        match plugins::startup_us(db, version_id).await {
            Ok(Some(micros)) => return Some(Duration::from_micros(micros.unsigned_abs())),
            Ok(None) => {}
            Err(e) => tracing::warn!(version = %version_id, "cannot read a plugin's startup cost: {e}"),
        }
        // The host's own business (no id): in turn with the others.
        let _slot = self.call_slots.acquire_eventually("").await?;
        let limits = PluginLimits { memory_bytes: self.config.max_memory_bytes, ..self.config.default_limits };
        let scope = CallScope {
            db: db.clone(),
            business_id: String::new(),
            customer_id: String::new(),
            conversation_id: String::new(),
            currency: "XXX".to_string(),
            limits,
        };
        let counted = self.config.count_instructions;
        let Some(took) = reuse::measure(&self.engine, pre, scope, counted).await else {
            tracing::warn!(version = %version_id, "cannot time a fresh instance of a plugin; its instances are reused as its business allows");
            return None;
        };
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Err(e) = plugins::record_startup(db, version_id, i64::try_from(micros).unwrap_or(i64::MAX)).await {
            tracing::warn!(version = %version_id, "cannot record a plugin's startup cost: {e}");
        }
        Some(Duration::from_micros(micros))
    }

    /// Keeps a compiled and linked version loaded under its id.
    fn install(
        &self,
        version_id: &str,
        capabilities: Vec<Capability>,
        pre: &ShopPre<PluginState>,
        startup: Option<Duration>,
    ) {
        let plugin = Arc::new(LoadedPlugin::new(
            version_id,
            capabilities,
            pre.clone(),
            startup,
            self.config.reuse_instances_above,
        ));
        let dropped = self.lock_loaded().insert(plugin);
        self.unload(dropped);
    }

    /// How many plugins this node keeps loaded now.
    pub fn loaded_count(&self) -> usize {
        self.lock_loaded().len()
    }

    /// The loaded plugin for a version, compiling or reading it from this
    /// node's compiled cache the first time (or after it was dropped to make
    /// room for others).
    pub async fn load(&self, db: &Db, version_id: &str) -> Result<Arc<LoadedPlugin>, PluginFault> {
        let (slot, dropped) = self.lock_loaded().slot(version_id);
        self.unload(dropped);
        let plugin = slot
            .get_or_try_init(|| async {
                // What the upload's inspection found is stored with it: not parsed again.
                let (version, wasm) = plugins::find_with_wasm(db, version_id)
                    .await
                    .map_err(|e| PluginFault::Host(e.to_string()))?
                    .ok_or_else(|| PluginFault::Unavailable(format!("plugin version {version_id} does not exist")))?;
                let pre = self
                    .compile_and_link(&version.sha256, &wasm)
                    .await
                    .map_err(|e| PluginFault::Unavailable(e.to_string()))?;
                let startup = self.startup_cost(db, version_id, &pre).await;
                Ok::<_, PluginFault>(Arc::new(LoadedPlugin::new(
                    version_id,
                    version.capabilities,
                    pre,
                    startup,
                    self.config.reuse_instances_above,
                )))
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
        if let Some(missing) = grants::first_ungranted(&plugin.capabilities, granted) {
            return Err(PluginFault::CapabilityDenied(format!(
                "plugin version {} imports capability `{missing}`, which this business is no longer granted",
                plugin.version_id
            )));
        }
        let wait = Duration::from_millis(scope.limits.deadline_ms);
        let slot = self.acquire_slot(&scope.business_id, wait).await?;
        let clocks = WasiClocks::for_grants(granted);
        let max_uses = plugin.instances.max_uses(scope.limits.max_instance_uses);
        let recycle = (max_uses > 1).then(|| Recycler {
            idle: plugin.idle.clone(),
            per_version: self.config.max_concurrent_calls_per_business as usize,
            node_idle: self.idle_instances.clone(),
            node_capacity: self.config.max_concurrent_calls as usize,
        });
        if let Some(mut idle) = recycle.as_ref().and_then(|_| self.take_idle(plugin)) {
            let same = idle.store.data().scope.business_id == scope.business_id
                && idle.store.data().scope.limits == scope.limits
                && idle.store.data().clocks == clocks;
            if same {
                idle.store.data_mut().reset(scope);
                return Ok(PluginSession::new(idle, recycle, slot, max_uses));
            }
        }
        let mut store = Store::new(&self.engine, PluginState::with_clocks(scope, clocks));
        PluginSession::prepare_store(&mut store, self.config.count_instructions);
        let limit = Duration::from_millis(store.data().scope().limits.deadline_ms);
        let meter = store.data().cpu.clone();
        let instantiate = plugin.pre.instantiate_async(&mut store);
        let outcome = tokio::time::timeout(invoke::wall_limit_of(limit), cpu::metered(&meter, instantiate)).await;
        let shop = match outcome {
            Ok(Ok(shop)) => shop,
            // Every slot of the pooling allocator is taken: load, not the plugin's fault.
            Ok(Err(error)) if error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                return Err(PluginFault::Overloaded);
            }
            Ok(Err(error)) => return Err(fault_of_start(&slot, invoke::classify(&error, store.data()))),
            Err(_) => return Err(fault_of_start(&slot, invoke::overrun(store.data()))),
        };
        Ok(PluginSession::new(IdleInstance { store, shop, uses: 0 }, recycle, slot, max_uses))
    }

    /// For benchmarks: wasmtime's own work for one message — a store, an
    /// instance, one `handle-message` call — without the host's slots, memory
    /// limiter, deadline, input and output checks or instance reuse. The
    /// baseline the host's overhead is measured against; returns the replies.
    #[doc(hidden)]
    pub async fn bare_instantiate_and_call(
        &self,
        plugin: &LoadedPlugin,
        scope: CallScope,
        context: &bindings::ConversationContext,
        message: &bindings::InboundMessage,
    ) -> wasmtime::Result<Vec<bindings::Reply>> {
        let mut store = Store::new(&self.engine, PluginState::new(scope));
        store.set_epoch_deadline(u64::MAX / 2);
        let shop = plugin.pre.instantiate_async(&mut store).await?;
        shop.bottega_shop_bot().call_handle_message(&mut store, context, message).await
    }

    /// Drops the idle instances of a version (e.g. when another one becomes
    /// active), freeing their slots.
    pub fn retire_idle(&self, version_id: &str) {
        let plugin = self.lock_loaded().get(version_id);
        if let Some(plugin) = plugin {
            self.retire(&plugin);
        }
    }

    fn retire(&self, plugin: &LoadedPlugin) {
        let mut idle = plugin.idle.lock().unwrap_or_else(|p| p.into_inner());
        // Sessions still running return their instances to nothing.
        idle.retired = true;
        let retired = std::mem::take(&mut idle.instances);
        self.idle_instances.fetch_sub(retired.len(), std::sync::atomic::Ordering::AcqRel);
    }

    /// Plugins dropped from the loaded set: their idle instances go too.
    fn unload(&self, dropped: Vec<Arc<LoadedPlugin>>) {
        for plugin in dropped {
            tracing::debug!(version = %plugin.version_id, "unloading the least recently used plugin");
            self.retire(&plugin);
        }
    }

    fn take_idle(&self, plugin: &LoadedPlugin) -> Option<IdleInstance> {
        let instance = plugin.idle.lock().unwrap_or_else(|p| p.into_inner()).instances.pop()?;
        self.idle_instances.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        Some(instance)
    }

    /// A call slot for `business_id` in its turn (see [`slots`]), waiting at
    /// most `wait`; past that the node is too busy for it: `Overloaded`.
    async fn acquire_slot(&self, business_id: &str, wait: Duration) -> Result<SlotPermit, PluginFault> {
        self.call_slots.acquire_within(business_id, wait).await.ok_or(PluginFault::Overloaded)
    }

    /// A component compiled (or read from this node's compiled cache) and
    /// linked against the contract, from bytes whose hash is `sha256`.
    async fn compile_and_link(&self, sha256: &str, wasm: &[u8]) -> Result<ShopPre<PluginState>, UploadError> {
        let component = self.compile(sha256, wasm).await.map_err(|e| UploadError::Compile(format!("{e:#}")))?;
        self.link(&component).map_err(|e| UploadError::Link(format!("{e:#}")))
    }

    async fn compile(&self, sha256: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
        // Loading what this node compiled before is quick: no permit, so a
        // message never waits behind another shop's compile for it.
        let _permit = if self.cache.contains(sha256) { None } else { Some(self.compile_permits.acquire().await?) };
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let sha256 = sha256.to_string();
        let wasm = wasm.to_vec();
        tokio::task::spawn_blocking(move || cache.load_or_compile(&engine, &sha256, &wasm)).await?
    }

    fn link(&self, component: &Component) -> wasmtime::Result<ShopPre<PluginState>> {
        ShopPre::new(self.linker.instantiate_pre(component)?)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, LoadedSet> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fault while instantiating, noted on the call slot as a call's would be.
fn fault_of_start(slot: &SlotPermit, fault: PluginFault) -> PluginFault {
    if fault.hits_a_limit() {
        slot.note_fault();
    }
    fault
}
