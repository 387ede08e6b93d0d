//! The operator's configuration: where to listen, where data lives, which
//! database, the admin token, and the defaults every business's plugin starts with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::plugin::{Capability, PluginLimits, UploadLimits};

/// Everything the runtime needs to start. `bottega serve` builds it from flags
/// and environment variables; tests build it directly.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Holds the embedded SQLite database and the compiled-plugin cache.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; `None` for embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Bearer token for `/v1/admin/*`.
    pub admin_token: String,
    /// Seed a demo shop when the database has no business yet.
    pub seed_demo: bool,
    pub plugins: PluginHostConfig,
    pub commerce: CommerceConfig,
    pub transport: TransportConfig,
}

/// How the transport workers (inbound events, outbound queue) run.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// How often the workers look for due work when nothing wakes them (other
    /// nodes' work, retries coming due).
    pub poll_every: Duration,
    /// The first retry delay of an inbound event or outbound send; each retry doubles it.
    pub retry_base: Duration,
    /// Run the workers on this node. Off, the node still accepts webhooks and
    /// queues replies; other nodes (or a later start) process and send them.
    pub run_workers: bool,
    /// How often an open web chat rereads its conversation when nothing
    /// announced a new message (announcements between nodes can be missed).
    pub web_poll_every: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            poll_every: Duration::from_millis(500),
            retry_base: Duration::from_secs(1),
            run_workers: true,
            web_poll_every: Duration::from_secs(5),
        }
    }
}

/// How long checkout holds stock for an unpaid order, how often the commerce
/// sweep runs (expired holds, payments and refunds a crash left in flight,
/// order follow-ups), and how long a payment request owns what it started.
#[derive(Debug, Clone)]
pub struct CommerceConfig {
    pub reservation: Duration,
    pub expiry_sweep_every: Duration,
    /// How long a payment or refund request owns its attempt (and its
    /// idempotency key) before recovery may resolve it: longer than the
    /// provider's slowest answer.
    pub payment_lease: Duration,
    /// Failpoints on the money path (see `failpoint`): none armed unless
    /// `BOTTEGA_FAILPOINTS` names some, or a test arms them.
    pub failpoints: crate::failpoint::Failpoints,
    /// The runtime's address as customers reach it, for payment links.
    pub public_url: String,
    /// How often due webhooks are delivered; `None` leaves delivery to
    /// explicit calls of `webhooks::deliver_due` (tests).
    pub webhooks_every: Option<Duration>,
}

impl Default for CommerceConfig {
    fn default() -> Self {
        CommerceConfig {
            reservation: Duration::from_secs(15 * 60),
            expiry_sweep_every: Duration::from_secs(5),
            payment_lease: Duration::from_secs(60),
            failpoints: crate::failpoint::Failpoints::from_env(),
            public_url: "http://127.0.0.1:8080".into(),
            webhooks_every: Some(Duration::from_secs(1)),
        }
    }
}

/// How the plugin host is sized and what businesses get by default.
#[derive(Debug, Clone)]
pub struct PluginHostConfig {
    /// Largest accepted plugin uploads, in bytes, for compiled languages and
    /// for components that embed an interpreter (Python, JavaScript).
    pub upload_limits: UploadLimits,
    /// Compiled plugins a node keeps loaded (least recently used are dropped
    /// first; their compiled files stay on disk, memory-mapped again on use).
    pub max_loaded_plugins: usize,
    /// Uploads compiled at once, in the background.
    pub max_concurrent_compiles: usize,
    /// Where compiled plugins are kept (default: `<data dir>/compiled`). Nodes
    /// may share one only if they run the same build of the runtime.
    pub compiled_cache_dir: Option<PathBuf>,
    /// Plugin calls that may run at once on this node (pooling allocator slots).
    pub max_concurrent_calls: u32,
    /// Calls one business may run at once, so a busy shop cannot take every slot.
    pub max_concurrent_calls_per_business: u32,
    /// The most memory any business may be granted, in bytes.
    pub max_memory_bytes: u64,
    /// Consecutive failed calls after which a business's plugin is disabled.
    pub failures_before_disable: u32,
    /// Plugins that instantiate in at most this long get a fresh instance for
    /// every message; slower ones reuse an instance for up to the business's
    /// `max_instance_uses` messages. Zero leaves every plugin to that setting.
    pub reuse_instances_above: Duration,
    /// Count the WebAssembly instructions each call runs (wasmtime fuel), for
    /// `bottega plugin chat`. It slows every call, so a server leaves it off.
    pub count_instructions: bool,
    pub default_limits: PluginLimits,
    pub default_capabilities: Vec<Capability>,
}

impl Default for PluginHostConfig {
    fn default() -> Self {
        PluginHostConfig {
            upload_limits: UploadLimits::default(),
            max_loaded_plugins: 256,
            max_concurrent_compiles: 1,
            compiled_cache_dir: None,
            max_concurrent_calls: 128,
            max_concurrent_calls_per_business: 8,
            max_memory_bytes: 256 << 20,
            failures_before_disable: 5,
            reuse_instances_above: crate::plugin::DEFAULT_REUSE_ABOVE,
            count_instructions: false,
            default_limits: PluginLimits::default(),
            default_capabilities: Capability::ALL.to_vec(),
        }
    }
}

impl Config {
    /// A configuration for a data directory with every other setting at its default.
    pub fn new(data_dir: PathBuf, admin_token: String) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            database_url: None,
            admin_token,
            seed_demo: false,
            plugins: PluginHostConfig::default(),
            commerce: CommerceConfig::default(),
            transport: TransportConfig::default(),
        }
    }
}
