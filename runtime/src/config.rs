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
    /// Card form submits one order may take per minute (a stolen-card tester
    /// trying cards against one checkout).
    pub const PAY_SUBMITS_PER_ORDER_PER_MINUTE: u32 = 10;
    /// Card form submits one client address may make per minute, over every order.
    pub const PAY_SUBMITS_PER_ADDRESS_PER_MINUTE: u32 = 30;
    /// Web chat connections one client address may open per minute (reloads,
    /// tabs, reconnects; a shop's customers may share an address behind NAT).
    pub const WEB_CHAT_CONNECTS_PER_ADDRESS_PER_MINUTE: u32 = 60;
    /// Signed WhatsApp deliveries one business's number may bring per minute
    /// (Meta batches; at the default send rate of 80 a second this is plenty).
    pub const WHATSAPP_DELIVERIES_PER_BUSINESS_PER_MINUTE: u32 = 3000;
    /// Console sign-in attempts per account per minute: after this many (wrong
    /// passwords, say) the account waits before another is checked.
    pub const SIGN_INS_PER_ACCOUNT_PER_MINUTE: u32 = 5;
    /// Console sign-in attempts one client address may make per minute, over every account.
    pub const SIGN_INS_PER_ADDRESS_PER_MINUTE: u32 = 30;
    /// Who may frame the web chat page (`frame-ancestors`): anyone, since a
    /// shop embeds its chat in its own site. The payment page is never framed.
    pub const WEB_CHAT_FRAME_ANCESTORS: &str = "*";
    /// The time zone whose calendar months are billing periods.
    pub const BILLING_TIME_ZONE: &str = "UTC";
    /// How long after a period ends late usage may still land in it before its
    /// invoice is finalised.
    pub const BILLING_GRACE: Duration = Duration::from_secs(60 * 60);
    /// How often the invoice finaliser looks for periods to close.
    pub const BILLING_FINALIZE_EVERY: Duration = Duration::from_secs(60);
    /// The name invoices are issued by.
    pub const OPERATOR_NAME: &str = "Bottega";
    /// How often the retention sweeper erases message bodies past their
    /// business's retention.
    pub const RETENTION_SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
    /// Hours after a declined charge of an invoice that it is charged again;
    /// after the last retry is declined the invoice is past due.
    pub const BILLING_RETRY_HOURS: [u64; 3] = [1, 24, 72];
    /// The same, as the `--billing-retry-hours` flag's default.
    pub const BILLING_RETRY_HOURS_FLAG: &str = "1,24,72";
    /// How often the invoice collector looks for invoices to charge.
    pub const BILLING_COLLECT_EVERY: Duration = Duration::from_secs(60);
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
    /// The public HTTP endpoints' rate limits and page headers.
    pub http: HttpConfig,
    /// Fees for businesses: metering, periods, finalising (see the `billing` module).
    pub billing: BillingConfig,
    /// Where the key-encryption key is (see [`crate::privacy::kek`]): by
    /// default generated in the data directory for the embedded database;
    /// PostgreSQL needs one named.
    pub key: crate::privacy::KeySource,
    /// An earlier key-encryption key still read while `bottega keys rotate`
    /// re-wraps the data keys it wrapped.
    pub previous_key: Option<crate::privacy::KeySource>,
}

/// How businesses are billed.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Meter usage. Off, no hook writes a ledger row (no statement at all)
    /// and no invoice is finalised; what was metered before stays.
    pub enabled: bool,
    /// The IANA time zone whose calendar months are the periods (`Europe/Rome`).
    pub time_zone: String,
    /// How long after a period's end its invoice waits for late usage.
    pub grace: Duration,
    /// How often the finaliser runs; `None` leaves finalising to explicit
    /// calls of `billing::invoices::finalize_due` (tests).
    pub finalize_every: Option<Duration>,
    /// Who issues the invoices (printed on them).
    pub operator_name: String,
    /// How long after each declined charge of an invoice it is charged again
    /// (the first charge is made when it is finalised); after the last retry
    /// is declined, the invoice is past due.
    pub collect_retries: Vec<Duration>,
    /// How often the invoice collector runs; `None` leaves collecting to
    /// explicit calls of `commerce::payments::collection::collect_due` (tests).
    pub collect_every: Option<Duration>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            enabled: true,
            time_zone: defaults::BILLING_TIME_ZONE.to_string(),
            grace: defaults::BILLING_GRACE,
            finalize_every: Some(defaults::BILLING_FINALIZE_EVERY),
            operator_name: defaults::OPERATOR_NAME.to_string(),
            collect_retries: defaults::BILLING_RETRY_HOURS.iter().map(|h| Duration::from_secs(h * 3600)).collect(),
            collect_every: Some(defaults::BILLING_COLLECT_EVERY),
        }
    }
}

/// What the public endpoints allow: their rate limits (see
/// `api::rate_limits`), where a client's address is read, and who may frame
/// the web chat.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub rate_limits: RateLimitConfig,
    /// Read the client's address from the last `X-Forwarded-For` entry (the
    /// one the operator's proxy added) instead of the connection's peer. Only
    /// behind a proxy that sets it: otherwise any client chooses its address.
    pub trust_forwarded_for: bool,
    /// The web chat page's `frame-ancestors` sources (`*`, `'self'`, or
    /// origins such as `https://shop.example`), checked by [`frame_ancestors`].
    pub web_chat_frame_ancestors: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            rate_limits: RateLimitConfig::default(),
            trust_forwarded_for: false,
            web_chat_frame_ancestors: defaults::WEB_CHAT_FRAME_ANCESTORS.to_string(),
        }
    }
}

/// Requests per minute each public endpoint takes from one key (a burst of
/// that many at once, refilled evenly over the minute); 0 turns a limit off.
/// The limits are kept in memory per node: behind a balancer over N nodes a
/// client gets up to N times them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub pay_submits_per_order: u32,
    pub pay_submits_per_address: u32,
    pub web_chat_connects_per_address: u32,
    pub whatsapp_deliveries_per_business: u32,
    /// Console sign-in attempts per account (the lockout after wrong passwords).
    pub sign_ins_per_account: u32,
    pub sign_ins_per_address: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            pay_submits_per_order: defaults::PAY_SUBMITS_PER_ORDER_PER_MINUTE,
            pay_submits_per_address: defaults::PAY_SUBMITS_PER_ADDRESS_PER_MINUTE,
            web_chat_connects_per_address: defaults::WEB_CHAT_CONNECTS_PER_ADDRESS_PER_MINUTE,
            whatsapp_deliveries_per_business: defaults::WHATSAPP_DELIVERIES_PER_BUSINESS_PER_MINUTE,
            sign_ins_per_account: defaults::SIGN_INS_PER_ACCOUNT_PER_MINUTE,
            sign_ins_per_address: defaults::SIGN_INS_PER_ADDRESS_PER_MINUTE,
        }
    }
}

/// Checks a `frame-ancestors` source list: space-separated sources, each `*`,
/// `'self'`, `'none'`, or a scheme or host source (`https:`,
/// `https://shop.example`, `*.shop.example`), with nothing that could end the
/// directive or the header.
pub fn frame_ancestors(sources: &str) -> Result<String, String> {
    let sources: Vec<&str> = sources.split_ascii_whitespace().collect();
    if sources.is_empty() {
        return Err("expected one or more sources, e.g. * or 'self' or https://shop.example".into());
    }
    for source in &sources {
        let keyword = matches!(*source, "*" | "'self'" | "'none'");
        let plain = source.chars().all(|c| c.is_ascii_alphanumeric() || "-._:/*".contains(c));
        if !keyword && !plain {
            return Err(format!(
                "`{source}` is not a frame-ancestors source (expected *, 'self', 'none' or an origin such as https://shop.example)"
            ));
        }
    }
    if sources.len() > 1 && sources.contains(&"'none'") {
        return Err("'none' cannot be combined with other sources".into());
    }
    Ok(sources.join(" "))
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
            http: HttpConfig::default(),
            billing: BillingConfig::default(),
            key: crate::privacy::KeySource::Default,
            previous_key: None,
        }
    }

    /// The same configuration with every setting clamped to what the
    /// runtime can run (see [`PluginHostConfig::clamped`], [`CommerceConfig::clamped`]).
    pub fn clamped(self) -> Config {
        Config { plugins: self.plugins.clamped(), commerce: self.commerce.clamped(), ..self }
    }
}
