//! The operator's configuration: where to listen, where data lives, which
//! database, the admin token, and the defaults every business's plugin starts with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::grants::{Capability, PluginLimits};

/// The operator's upload size limits, per language class (`plugin::LanguageClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Components of compiled languages (Rust, C...).
    pub compiled: usize,
    /// Components that carry an interpreter (Python, JavaScript).
    pub interpreted: usize,
}

impl UploadLimits {
    /// The largest body an upload may have, whatever its class.
    pub fn largest(&self) -> usize {
        self.compiled.max(self.interpreted)
    }
}

/// The operator's defaults, in one place: the `Default`s below and
/// `bottega serve`'s flags (`serve.rs`) both read them.
pub mod defaults {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::time::Duration;

    pub const LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
    pub const DATA_DIR: &str = "data";
    /// Largest plugin upload of a compiled language, in bytes.
    pub const MAX_PLUGIN_BYTES: usize = 10 << 20;
    /// Largest plugin upload that embeds an interpreter (Python, JavaScript), in bytes.
    pub const MAX_INTERPRETED_PLUGIN_BYTES: usize = 40 << 20;
    pub const MAX_CONCURRENT_COMPILES: usize = 1;
    pub const MAX_LOADED_PLUGINS: usize = 256;
    pub const MAX_CONCURRENT_CALLS: u32 = 128;
    pub const MAX_CONCURRENT_CALLS_PER_BUSINESS: u32 = 8;
    pub const MAX_MEMORY_BYTES: u64 = 256 << 20;
    pub const FAILURES_BEFORE_DISABLE: u32 = 5;
    /// Plugins instantiating within this many microseconds get a fresh instance per message.
    pub const REUSE_INSTANCES_ABOVE_US: u64 = 250;
    pub const RESERVATION_MINUTES: u64 = 15;
    /// How long a payment request owns its attempt before recovery may resolve it.
    pub const PAYMENT_LEASE: Duration = Duration::from_secs(60);
    pub const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(5);
    pub const WEBHOOKS_EVERY: Duration = Duration::from_secs(1);
    pub const POLL_EVERY: Duration = Duration::from_millis(500);
    pub const RETRY_BASE: Duration = Duration::from_secs(1);
    pub const WEB_POLL_EVERY: Duration = Duration::from_secs(5);
    /// How long a stopping node lets the work under way finish, in seconds.
    pub const SHUTDOWN_GRACE_SECS: u64 = 10;
}

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
    /// How long a stopping node gives the work under way (see [`crate::App::shutdown`]).
    pub shutdown_grace: Duration,
    /// Where requests made on a business's behalf may go (webhooks, the Graph
    /// API): public HTTPS only, except the hosts the operator allows (see
    /// [`crate::egress`]).
    pub egress: crate::egress::EgressPolicy,
    /// The app secret of the operator's own Meta app, whose one webhook
    /// (`POST /webhooks/whatsapp`) serves every business's number; `None`
    /// leaves that webhook off (each business's own URL still works).
    pub whatsapp_app_secret: Option<String>,
    /// The verify token of that webhook's GET handshake.
    pub whatsapp_verify_token: Option<String>,
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
            poll_every: defaults::POLL_EVERY,
            retry_base: defaults::RETRY_BASE,
            run_workers: true,
            web_poll_every: defaults::WEB_POLL_EVERY,
        }
    }
}

/// How long checkout holds stock for an unpaid order, and how often expired
/// holds are released.
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
            reservation: Duration::from_secs(defaults::RESERVATION_MINUTES * 60),
            expiry_sweep_every: defaults::EXPIRY_SWEEP_EVERY,
            payment_lease: defaults::PAYMENT_LEASE,
            failpoints: crate::failpoint::Failpoints::from_env(),
            public_url: format!("http://{}", defaults::LISTEN),
            webhooks_every: Some(defaults::WEBHOOKS_EVERY),
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
            upload_limits: UploadLimits {
                compiled: defaults::MAX_PLUGIN_BYTES,
                interpreted: defaults::MAX_INTERPRETED_PLUGIN_BYTES,
            },
            max_loaded_plugins: defaults::MAX_LOADED_PLUGINS,
            max_concurrent_compiles: defaults::MAX_CONCURRENT_COMPILES,
            compiled_cache_dir: None,
            max_concurrent_calls: defaults::MAX_CONCURRENT_CALLS,
            max_concurrent_calls_per_business: defaults::MAX_CONCURRENT_CALLS_PER_BUSINESS,
            max_memory_bytes: defaults::MAX_MEMORY_BYTES,
            failures_before_disable: defaults::FAILURES_BEFORE_DISABLE,
            reuse_instances_above: Duration::from_micros(defaults::REUSE_INSTANCES_ABOVE_US),
            count_instructions: false,
            default_limits: PluginLimits::default(),
            default_capabilities: Capability::ALL.to_vec(),
        }
    }
}

impl PluginHostConfig {
    /// The same settings within what the host can run: at least one plugin
    /// loaded and one compile at a time. The one place settings are clamped.
    pub fn clamped(self) -> PluginHostConfig {
        PluginHostConfig {
            max_loaded_plugins: self.max_loaded_plugins.max(1),
            max_concurrent_compiles: self.max_concurrent_compiles.max(1),
            ..self
        }
    }
}

impl CommerceConfig {
    /// The same settings within what checkout can run: a reservation of at
    /// least a minute, a public URL without a trailing slash.
    pub fn clamped(self) -> CommerceConfig {
        CommerceConfig {
            reservation: self.reservation.max(Duration::from_secs(60)),
            public_url: self.public_url.trim_end_matches('/').to_string(),
            ..self
        }
    }
}

impl Config {
    /// A configuration for a data directory with every other setting at its default.
    pub fn new(data_dir: PathBuf, admin_token: String) -> Config {
        Config {
            listen: defaults::LISTEN,
            data_dir,
            database_url: None,
            admin_token,
            seed_demo: false,
            plugins: PluginHostConfig::default(),
            commerce: CommerceConfig::default(),
            transport: TransportConfig::default(),
            shutdown_grace: Duration::from_secs(defaults::SHUTDOWN_GRACE_SECS),
            egress: crate::egress::EgressPolicy::default(),
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
        }
    }

    /// The same configuration with every setting clamped to what the
    /// runtime can run (see [`PluginHostConfig::clamped`], [`CommerceConfig::clamped`]).
    pub fn clamped(self) -> Config {
        Config { plugins: self.plugins.clamped(), commerce: self.commerce.clamped(), ..self }
    }
}
