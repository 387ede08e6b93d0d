//! Publication: the one path from an upload's bytes to a version that answers.
//!
//! [`PluginHost::publish`] inspects an upload once (refusing at once what
//! cannot be a plugin for this business, a component whose initial memory is
//! more than the business's memory limit included), stores it as the
//! business's next version in state `compiling` (at most
//! [`MAX_COMPILING_PER_BUSINESS`] at once per business), and compiles it in a
//! background task, waiting its business's turn for one of the node's compile
//! slots ([`CompileQueue`]: round-robin across businesses); the version becomes
//! `ready` (loaded, and activated if the upload asked) or `failed` with the
//! reason, and the business gets a `plugin.ready` / `plugin.failed` webhook.
//! What the inspection found (hash, world, capabilities) is stored with the
//! version, and every later compile or load reads it from there instead of
//! parsing the upload again.
//!
//! A compile's node holds a lease, renewed while it compiles;
//! [`PluginHost::sweep_stranded_compiles`] (one pass, called by the worker
//! supervisor on every node) takes over compiles whose lease ended, and gives
//! up one that stopped [`MAX_COMPILE_ATTEMPTS`] nodes.
//!
//! [`PluginHost::activate`] is the one activation: the business choosing a
//! version (activate, roll back) and an upload activating itself once compiled
//! both go through it. It refuses every version of a business whose plugin the
//! circuit breaker stopped repeatedly, for a cool-off that doubles with each
//! trip ([`cooling`]).

mod compile_queue;
pub mod cooling;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use compile_queue::{CompileQueue, CompileTurn};
pub use cooling::CoolingOff;

use super::validate::{self, Inspection, MemoryExceedsLimit, UploadError};
use super::{Capability, PluginHost};
use crate::grants;
use crate::ids;
use crate::store::businesses::{self, Business};
use crate::store::plugins::{self, NewPluginVersion, PluginVersion, TooManyCompiling};
use crate::store::{Db, StoreError, queue};

/// How long a node holds a compile it claimed; a compile whose node died is
/// taken over by another node (or this one, restarted) after it.
pub const COMPILE_LEASE: Duration = Duration::from_secs(120);
/// Claims of one compile after which it is given up: an upload whose compile
/// stopped this many nodes is reported failed instead of tried again.
pub const MAX_COMPILE_ATTEMPTS: i64 = 3;
/// Uploads of one business that may be compiling at once: one more is
/// refused ([`UploadRefused::TooManyCompiling`]) until one of them is ready or
/// failed, so a business uploading version after version queues at most this
/// many compiles on the nodes.
pub const MAX_COMPILING_PER_BUSINESS: i64 = 3;

/// Why an upload was refused at once, before anything was stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    /// It cannot be a plugin for this business (see [`UploadError`]).
    #[error(transparent)]
    Invalid(#[from] UploadError),
    /// One of its memories starts larger than the business's memory limit: it
    /// could never start.
    #[error(transparent)]
    MemoryExceedsLimit(#[from] MemoryExceedsLimit),
    /// The business already has [`MAX_COMPILING_PER_BUSINESS`] uploads compiling.
    #[error(
        "this business already has {compiling} uploads compiling, the most it may have at once; upload again once \
         one of them is ready or failed (see GET /v1/plugins)"
    )]
    TooManyCompiling { compiling: i64 },
    /// It asked to be activated while no version of the business may be.
    #[error("{0}; upload it with activate=false to store it now, and activate it then")]
    CoolingOff(CoolingOff),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a published plugin did not become a ready version (what
/// [`Publication::finished`] reports; refusals at upload are [`UploadRefused`]).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Accepted, then found not to compile or link: the reason.
    #[error("{0}")]
    CompileFailed(String),
}

/// An accepted upload: stored as `compiling`, compiled in the background.
pub struct Publication {
    pub version: PluginVersion,
    /// Ends when the compile has been recorded (ready or failed). Dropping it
    /// leaves the compile running.
    pub compiled: tokio::task::JoinHandle<()>,
}

impl Publication {
    /// Waits for the background compile: the version, ready, or why it is not.
    pub async fn finished(self, db: &Db) -> Result<PluginVersion, PublishError> {
        // A panicked compile task leaves the version compiling: reported below.
        let _ = self.compiled.await;
        let version = plugins::find(db, &self.version.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a published plugin version vanished".into()))?;
        match version.state.as_str() {
            plugins::READY => Ok(version),
            plugins::FAILED => Err(PublishError::CompileFailed(version.failure.unwrap_or_default())),
            _ => Err(PublishError::CompileFailed("the compile did not finish; it will be retried".into())),
        }
    }
}

/// An upload that passed validation and compiled and linked (not stored):
/// what its inspection found.
pub struct PreparedUpload {
    pub inspection: Inspection,
}

/// Who asks for a version to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The business chose it (an activation or a rollback): it must be ready,
    /// it answers from now on, and uploads still compiling no longer activate
    /// themselves when ready.
    Chosen,
    /// Its upload asked to answer once compiled (just compiled, not yet
    /// recorded ready): it does unless the business activated a newer version
    /// meanwhile.
    WhenCompiled,
}

/// Why a version cannot be activated.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("plugin version {version} failed to compile: {failure}")]
    CompileFailed { version: i64, failure: String },
    #[error("plugin version {version} is still compiling; try again when its state is ready")]
    StillCompiling { version: i64 },
    #[error("plugin version {version} imports capability `{capability}`, which this business has not been granted")]
    NotGranted { version: i64, capability: Capability },
    /// The circuit breaker stopped the business's plugin repeatedly: no
    /// version may answer until the cool-off ends.
    #[error("{0}; activate a version again then")]
    CoolingOff(CoolingOff),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PluginHost {
    /// Validates an upload for a business granted `granted`, compiles it (into
    /// this node's compiled cache) and links it against the contract, without
    /// storing it (`bottega plugin check`, benchmarks).
    pub async fn prepare_upload(&self, wasm: &[u8], granted: &[Capability]) -> Result<PreparedUpload, UploadError> {
        let inspection = validate::inspect(wasm, self.config.upload_limits, granted)?;
        self.compile_and_link(&inspection.sha256, wasm).await?;
        Ok(PreparedUpload { inspection })
    }

    /// Publishes an upload for a business: validates it (refusing it at once
    /// when it cannot be a plugin for this business, or could never start
    /// within its memory limit), stores it as the business's next version in
    /// state `compiling` (unless [`MAX_COMPILING_PER_BUSINESS`] are already),
    /// and compiles it in the background. Once ready it stays loaded and, if
    /// `activate`, becomes the version that answers (unless a newer one was
    /// activated meanwhile). An upload asking to be activated is refused while
    /// the business is cooling off ([`cooling`]): it would not be activated.
    pub async fn publish(
        self: &Arc<Self>,
        db: &Db,
        business: &Business,
        wasm: &[u8],
        activate: bool,
    ) -> Result<Publication, UploadRefused> {
        let inspection = validate::inspect(wasm, self.config.upload_limits, &business.capabilities)?;
        validate::check_initial_memory(wasm, business.limits.memory_bytes)?;
        if activate && let Some(cooling) = self.cooling_off(db, &business.id).await? {
            return Err(UploadRefused::CoolingOff(cooling));
        }
        let stored = plugins::insert(
            db,
            &business.id,
            NewPluginVersion {
                sha256: &inspection.sha256,
                world: &inspection.world,
                capabilities: &inspection.capabilities,
                language_class: &inspection.language_class.to_string(),
                wasm,
                activate_when_ready: activate,
                compile_lease_until: queue::due_after(ids::now_ms(), COMPILE_LEASE),
                max_compiling: MAX_COMPILING_PER_BUSINESS,
            },
        )
        .await?;
        let version = stored.map_err(|TooManyCompiling { compiling }| UploadRefused::TooManyCompiling { compiling })?;
        tracing::info!(business = %business.id, version = version.version, sha256 = %version.sha256,
            class = %inspection.language_class, "plugin uploaded; compiling");
        let host = self.clone();
        let (db, stored, wasm) = (db.clone(), version.clone(), wasm.to_vec());
        let compiled = tokio::spawn(async move { host.compile_version(&db, &stored, &wasm).await });
        Ok(Publication { version, compiled })
    }

    /// Makes `version` (one of `business`'s) the one that answers, if it may:
    /// every capability it imports must still be granted, a version the
    /// business chooses must be ready, and the business must not be cooling
    /// off after repeated trips of the circuit breaker (whichever version it
    /// is, a new upload too: see [`cooling`]). True when it became active (a
    /// version activating itself does not when a newer one was activated
    /// meanwhile). The previously active version's idle instances are dropped.
    pub async fn activate(
        &self,
        db: &Db,
        business: &Business,
        version: &PluginVersion,
        by: Activation,
    ) -> Result<bool, ActivationError> {
        if by == Activation::Chosen && version.state != plugins::READY {
            return Err(match &version.failure {
                Some(failure) => ActivationError::CompileFailed { version: version.version, failure: failure.clone() },
                None => ActivationError::StillCompiling { version: version.version },
            });
        }
        if let Some(capability) = grants::first_ungranted(&version.capabilities, &business.capabilities) {
            return Err(ActivationError::NotGranted { version: version.version, capability });
        }
        if let Some(cooling) = self.cooling_off(db, &business.id).await? {
            return Err(ActivationError::CoolingOff(cooling));
        }
        let activated = match by {
            Activation::Chosen => {
                businesses::activate_plugin(db, &business.id, &version.id).await?;
                // The business chose: an upload still compiling does not take over later.
                plugins::cancel_pending_activations(db, &business.id).await?;
                true
            }
            Activation::WhenCompiled => businesses::activate_plugin_unless_newer(db, &business.id, &version.id).await?,
        };
        if activated {
            if let Some(previous) = business.active_plugin_version_id.as_deref().filter(|p| *p != version.id) {
                self.retire_idle(previous);
            }
            tracing::info!(business = %business.id, version = version.version, ?by, "plugin activated");
        }
        Ok(activated)
    }

    /// The cool-off a business is in now after repeated trips of its plugin's
    /// circuit breaker, if any: until it ends no version of it may be activated.
    pub async fn cooling_off(&self, db: &Db, business_id: &str) -> Result<Option<CoolingOff>, StoreError> {
        Ok(cooling::cooling_off(businesses::plugin_trips(db, business_id).await?, ids::now_ms()))
    }

    /// One pass of the compile sweep: takes over the compiles whose lease
    /// ended (see [`Self::resume_abandoned_compiles`]), logging what went
    /// wrong. The worker supervisor calls it on every tick.
    pub async fn sweep_stranded_compiles(self: &Arc<Self>, db: &Db) {
        if let Err(e) = self.resume_abandoned_compiles(db).await {
            tracing::warn!("cannot look for abandoned compiles: {e}");
        }
    }

    /// Takes over compiles whose node died (their lease ended), one claim at
    /// a time; one that has stopped [`MAX_COMPILE_ATTEMPTS`] nodes is failed.
    /// Returns how many it took over.
    pub async fn resume_abandoned_compiles(&self, db: &Db) -> Result<usize, StoreError> {
        let mut taken = 0;
        loop {
            let now = ids::now_ms();
            let until = queue::due_after(now, COMPILE_LEASE);
            let Some((version_id, attempts)) = plugins::claim_abandoned_compile(db, now, until).await? else {
                return Ok(taken);
            };
            taken += 1;
            if attempts > MAX_COMPILE_ATTEMPTS {
                let why = format!(
                    "compiling it stopped the runtime {MAX_COMPILE_ATTEMPTS} times; it was given up (upload it again to retry)"
                );
                if plugins::finish_compile(db, &version_id, Some(&why)).await?
                    && let Some(version) = plugins::find(db, &version_id).await?
                {
                    crate::webhooks::notify_plugin(db, &version.business_id, "plugin.failed", &version).await;
                }
                continue;
            }
            tracing::info!(version = %version_id, attempts, "resuming an abandoned compile");
            match plugins::find_with_wasm(db, &version_id).await {
                Ok(Some((version, wasm))) => self.compile_version(db, &version, &wasm).await,
                Ok(None) => {}
                // The lease ends and the compile is tried again.
                Err(e) => tracing::warn!(version = %version_id, "cannot read an upload to compile: {e}"),
            }
        }
    }

    /// Compiles a stored version and records the outcome: ready (loaded, and
    /// activated if the upload asked) or failed with the reason. The business
    /// is notified either way (`plugin.ready` / `plugin.failed` webhooks).
    async fn compile_version(&self, db: &Db, stored: &PluginVersion, wasm: &[u8]) {
        let version_id = stored.id.as_str();
        let started = Instant::now();
        // The lease is kept while the compile waits for its turn and runs.
        let renewer = {
            let (db, id) = (db.clone(), version_id.to_string());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(COMPILE_LEASE / 4).await;
                    let until = queue::due_after(ids::now_ms(), COMPILE_LEASE);
                    if let Err(e) = plugins::renew_compile_lease(&db, &id, until).await {
                        tracing::warn!(version = %id, "cannot renew a compile's lease: {e}");
                    }
                }
            })
        };
        // A compile waits its business's turn for one of the node's compile
        // slots; one this node compiled before is only read, and needs none.
        let turn = if self.cache.contains(&stored.sha256) {
            None
        } else {
            Some(self.compile_queue.turn(&stored.business_id).await)
        };
        let outcome = self.compile_and_link(&stored.sha256, wasm).await;
        drop(turn);
        renewer.abort();
        // Read again: the business may have cancelled the self-activation, or
        // another node finished the compile, meanwhile.
        let version = match plugins::find(db, version_id).await {
            Ok(Some(version)) => version,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(version = %version_id, "cannot read a compiled version: {e}");
                return;
            }
        };
        if version.state != plugins::COMPILING {
            // Another node finished it (and activated it if asked) meanwhile.
            return;
        }
        // Loaded and activated before it is recorded ready, so whoever sees
        // `ready` finds it answering.
        if let Ok(pre) = &outcome {
            let startup = self.startup_cost(db, version_id, pre).await;
            self.install(version_id, version.capabilities.clone(), pre, startup);
            if version.activate_when_ready && !self.activate_compiled(db, &version).await {
                // The lease ends and the compile is tried again.
                return;
            }
        }
        let failure = outcome.as_ref().err().map(ToString::to_string);
        match plugins::finish_compile(db, version_id, failure.as_deref()).await {
            // Another node finished it first, and told the business.
            Ok(false) => {}
            Ok(true) => {
                let Ok(Some(version)) = plugins::find(db, version_id).await else { return };
                let event = match &failure {
                    None => {
                        tracing::info!(business = %version.business_id, version = version.version,
                            elapsed_ms = started.elapsed().as_millis() as u64, "plugin compiled");
                        "plugin.ready"
                    }
                    Some(failure) => {
                        tracing::warn!(business = %version.business_id, version = version.version,
                            "plugin failed to compile: {failure}");
                        "plugin.failed"
                    }
                };
                crate::webhooks::notify_plugin(db, &version.business_id, event, &version).await;
            }
            // The lease ends and the compile is tried again.
            Err(e) => tracing::warn!(version = %version_id, "cannot record a finished compile: {e}"),
        }
    }

    /// Activates a just-compiled version whose upload asked for it. False when
    /// the database failed (the compile is then recorded by a later attempt);
    /// a version that may not answer (a capability revoked while it compiled)
    /// is recorded ready and left inactive.
    async fn activate_compiled(&self, db: &Db, version: &PluginVersion) -> bool {
        let business = match businesses::get(db, &version.business_id).await {
            Ok(Some(business)) => business,
            // Its business is gone: nothing to activate it for.
            Ok(None) => return true,
            Err(e) => {
                tracing::warn!(version = %version.id, "cannot activate a compiled plugin: {e}");
                return false;
            }
        };
        match self.activate(db, &business, version, Activation::WhenCompiled).await {
            Ok(_) => true,
            Err(ActivationError::Store(e)) => {
                tracing::warn!(version = %version.id, "cannot activate a compiled plugin: {e}");
                false
            }
            Err(refused) => {
                tracing::warn!(version = %version.id, "a compiled plugin stays inactive: {refused}");
                true
            }
        }
    }
}
