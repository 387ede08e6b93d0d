//! `bottega serve`: the operator's flags, resolved into a [`Config`] in one
//! step ([`ServeArgs::resolve`]), and a node's life: start, serve HTTP, and on
//! SIGTERM or Ctrl-C stop as [`App::shutdown`] describes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::App;
use crate::config::{BillingConfig, CommerceConfig, Config, HttpConfig, PluginHostConfig, RateLimitConfig, defaults};
use crate::egress::{AllowedHost, EgressPolicy};
use crate::plugin::UploadLimits;
use crate::privacy::KeySource;

/// Run the runtime: the HTTP API, the plugin host and the database.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BOTTEGA_LISTEN", default_value_t = defaults::LISTEN)]
    listen: SocketAddr,
    /// Directory for the embedded SQLite database and the compiled-plugin cache.
    #[arg(long, env = "BOTTEGA_DATA_DIR", default_value = defaults::DATA_DIR)]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user@host/db); without it, SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The key-encryption key file (one line of base64 of 32 random bytes,
    /// readable by its owner only). Without it or BOTTEGA_KEK, the embedded
    /// database uses `<data dir>/bottega.key`, generated on first start;
    /// PostgreSQL refuses to start.
    #[arg(long, env = "BOTTEGA_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// The key-encryption key itself, as base64 (a key file wins when both are
    /// given). Hidden: give it in the environment, not where `ps` shows it.
    #[arg(long = "kek", env = "BOTTEGA_KEK", hide_env_values = true, hide = true)]
    kek: Option<String>,
    /// An earlier key file, still read (never written with) while `bottega
    /// keys rotate` re-wraps the data keys it wrapped under --key-file.
    #[arg(long, env = "BOTTEGA_PREVIOUS_KEY_FILE")]
    previous_key_file: Option<PathBuf>,
    /// Bearer token for /v1/admin; a random one is generated and printed when absent.
    #[arg(long, env = "BOTTEGA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Do not create the demo shop on an empty database.
    #[arg(long, env = "BOTTEGA_NO_DEMO")]
    no_demo: bool,
    /// Largest plugin upload, in bytes.
    #[arg(long, env = "BOTTEGA_MAX_PLUGIN_BYTES", default_value_t = defaults::MAX_PLUGIN_BYTES)]
    max_plugin_bytes: usize,
    /// Largest plugin upload that embeds an interpreter (Python, JavaScript), in bytes.
    #[arg(long, env = "BOTTEGA_MAX_INTERPRETED_PLUGIN_BYTES", default_value_t = defaults::MAX_INTERPRETED_PLUGIN_BYTES)]
    max_interpreted_plugin_bytes: usize,
    /// Where compiled plugins are kept (default: `<data dir>/compiled`).
    #[arg(long, env = "BOTTEGA_COMPILED_CACHE_DIR")]
    compiled_cache_dir: Option<PathBuf>,
    /// Uploads compiled at once on this node, in the background.
    #[arg(long, env = "BOTTEGA_MAX_CONCURRENT_COMPILES", default_value_t = defaults::MAX_CONCURRENT_COMPILES)]
    max_concurrent_compiles: usize,
    /// Compiled plugins kept loaded on this node (least recently used dropped first).
    #[arg(long, env = "BOTTEGA_MAX_LOADED_PLUGINS", default_value_t = defaults::MAX_LOADED_PLUGINS)]
    max_loaded_plugins: usize,
    /// Plugin calls that may run at once on this node.
    #[arg(long, env = "BOTTEGA_MAX_CONCURRENT_CALLS", default_value_t = defaults::MAX_CONCURRENT_CALLS)]
    max_concurrent_calls: u32,
    /// Plugins that instantiate in at most this many microseconds get a fresh
    /// instance per message; slower ones (Python, JavaScript) reuse instances up
    /// to the business's max_instance_uses. 0 leaves every plugin to that setting.
    #[arg(long, env = "BOTTEGA_REUSE_INSTANCES_ABOVE_US", default_value_t = defaults::REUSE_INSTANCES_ABOVE_US)]
    reuse_instances_above_us: u64,
    /// The runtime's URL as customers reach it (for payment links); http://LISTEN when absent.
    #[arg(long, env = "BOTTEGA_PUBLIC_URL")]
    public_url: Option<String>,
    /// Minutes checkout holds stock for an unpaid order.
    #[arg(long, env = "BOTTEGA_RESERVATION_MINUTES", default_value_t = defaults::RESERVATION_MINUTES)]
    reservation_minutes: u64,
    /// Consecutive failures after which a business's plugin is disabled.
    #[arg(long, env = "BOTTEGA_FAILURES_BEFORE_DISABLE", default_value_t = defaults::FAILURES_BEFORE_DISABLE)]
    failures_before_disable: u32,
    /// Seconds a stopping node (SIGTERM, Ctrl-C) gives the turns, sends and
    /// requests under way before it gives their work back and exits.
    #[arg(long, env = "BOTTEGA_SHUTDOWN_GRACE", default_value_t = defaults::SHUTDOWN_GRACE_SECS)]
    shutdown_grace: u64,
    /// Hosts (host[:port], comma-separated) that webhooks and Graph API
    /// requests may reach besides public HTTPS addresses, plain http included:
    /// for on-premises receivers and tests. Nothing else private is reached.
    #[arg(long, env = "BOTTEGA_ALLOW_EGRESS_TO", value_delimiter = ',', value_parser = AllowedHost::parse)]
    allow_egress_to: Vec<AllowedHost>,
    /// The app secret of the operator's Meta app: turns on POST
    /// /webhooks/whatsapp, one callback for every business's number.
    #[arg(long, env = "BOTTEGA_WHATSAPP_APP_SECRET", hide_env_values = true)]
    whatsapp_app_secret: Option<String>,
    /// The verify token of that callback's GET handshake.
    #[arg(long, env = "BOTTEGA_WHATSAPP_VERIFY_TOKEN", hide_env_values = true)]
    whatsapp_verify_token: Option<String>,
    /// Payment form submits one order takes per minute (0: no limit). Limits
    /// are kept in memory per node.
    #[arg(long, env = "BOTTEGA_PAY_SUBMITS_PER_ORDER", default_value_t = defaults::PAY_SUBMITS_PER_ORDER_PER_MINUTE)]
    pay_submits_per_order: u32,
    /// Payment form submits one client address makes per minute (0: no limit).
    #[arg(long, env = "BOTTEGA_PAY_SUBMITS_PER_ADDRESS", default_value_t = defaults::PAY_SUBMITS_PER_ADDRESS_PER_MINUTE)]
    pay_submits_per_address: u32,
    /// Web chat connections one client address opens per minute (0: no limit).
    #[arg(long, env = "BOTTEGA_WEB_CHAT_CONNECTS_PER_ADDRESS", default_value_t = defaults::WEB_CHAT_CONNECTS_PER_ADDRESS_PER_MINUTE)]
    web_chat_connects_per_address: u32,
    /// Signed WhatsApp deliveries one business takes per minute (0: no limit).
    #[arg(long, env = "BOTTEGA_WHATSAPP_DELIVERIES_PER_BUSINESS", default_value_t = defaults::WHATSAPP_DELIVERIES_PER_BUSINESS_PER_MINUTE)]
    whatsapp_deliveries_per_business: u32,
    /// Take the client's address from the last X-Forwarded-For entry (the
    /// one your proxy adds) for the per-address limits. Only behind a proxy
    /// that sets it; without one, clients would choose their own address.
    #[arg(long, env = "BOTTEGA_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Who may frame the web chat page (CSP frame-ancestors sources,
    /// space-separated: *, 'self', https://shop.example). The payment page is never framed.
    #[arg(long, env = "BOTTEGA_WEB_CHAT_FRAME_ANCESTORS", default_value = defaults::WEB_CHAT_FRAME_ANCESTORS,
        value_parser = crate::config::frame_ancestors)]
    web_chat_frame_ancestors: String,
    /// Meter nothing and finalise no invoice (fees for businesses off).
    #[arg(long, env = "BOTTEGA_NO_BILLING")]
    no_billing: bool,
    /// The IANA time zone whose calendar months are billing periods.
    #[arg(long, env = "BOTTEGA_BILLING_TIME_ZONE", default_value = defaults::BILLING_TIME_ZONE)]
    billing_time_zone: String,
    /// Minutes after a period ends that its invoices wait for late usage.
    #[arg(long, env = "BOTTEGA_BILLING_GRACE_MINUTES", default_value_t = defaults::BILLING_GRACE.as_secs() / 60)]
    billing_grace_minutes: u64,
    /// The name invoices are issued by.
    #[arg(long, env = "BOTTEGA_OPERATOR_NAME", default_value = defaults::OPERATOR_NAME)]
    operator_name: String,
    /// Hours after each declined charge of an invoice to the business's card
    /// that it is charged again (comma-separated); after the last, past due.
    #[arg(long, env = "BOTTEGA_BILLING_RETRY_HOURS", value_delimiter = ',',
        default_value = defaults::BILLING_RETRY_HOURS_FLAG)]
    billing_retry_hours: Vec<u64>,
}

impl ServeArgs {
    /// The configuration these flags describe, clamped to what the runtime
    /// can run; whether the admin token was generated.
    pub fn resolve(self) -> (Config, bool) {
        let generated_token = self.admin_token.is_none();
        let base = Config::new(self.data_dir, self.admin_token.unwrap_or_else(|| crate::ids::new_secret("adm")));
        let config = Config {
            listen: self.listen,
            database_url: self.database_url,
            seed_demo: !self.no_demo,
            plugins: PluginHostConfig {
                upload_limits: UploadLimits {
                    compiled: self.max_plugin_bytes,
                    interpreted: self.max_interpreted_plugin_bytes,
                },
                max_loaded_plugins: self.max_loaded_plugins,
                compiled_cache_dir: self.compiled_cache_dir,
                max_concurrent_compiles: self.max_concurrent_compiles,
                max_concurrent_calls: self.max_concurrent_calls,
                failures_before_disable: self.failures_before_disable,
                reuse_instances_above: Duration::from_micros(self.reuse_instances_above_us),
                ..PluginHostConfig::default()
            },
            commerce: CommerceConfig {
                reservation: Duration::from_secs(self.reservation_minutes.saturating_mul(60)),
                public_url: self.public_url.unwrap_or_else(|| format!("http://{}", self.listen)),
                ..CommerceConfig::default()
            },
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            egress: EgressPolicy::allowing(self.allow_egress_to),
            whatsapp_app_secret: self.whatsapp_app_secret.filter(|s| !s.is_empty()),
            whatsapp_verify_token: self.whatsapp_verify_token.filter(|s| !s.is_empty()),
            http: HttpConfig {
                rate_limits: RateLimitConfig {
                    pay_submits_per_order: self.pay_submits_per_order,
                    pay_submits_per_address: self.pay_submits_per_address,
                    web_chat_connects_per_address: self.web_chat_connects_per_address,
                    whatsapp_deliveries_per_business: self.whatsapp_deliveries_per_business,
                    ..RateLimitConfig::default()
                },
                trust_forwarded_for: self.trust_forwarded_for,
                web_chat_frame_ancestors: self.web_chat_frame_ancestors,
            },
            billing: BillingConfig {
                enabled: !self.no_billing,
                time_zone: self.billing_time_zone,
                grace: Duration::from_secs(self.billing_grace_minutes.saturating_mul(60)),
                operator_name: self.operator_name,
                collect_retries: self
                    .billing_retry_hours
                    .iter()
                    .map(|h| Duration::from_secs(h.saturating_mul(3600)))
                    .collect(),
                ..BillingConfig::default()
            },
            key: match (self.key_file, self.kek) {
                (Some(path), _) => KeySource::File(path),
                (None, Some(base64)) => KeySource::Base64(base64),
                (None, None) => KeySource::Default,
            },
            previous_key: self.previous_key_file.map(KeySource::File),
            ..base
        };
        (config.clamped(), generated_token)
    }
}

/// Runs a node until SIGTERM or Ctrl-C, then stops it gracefully.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (config, generated_token) = args.resolve();
    let app = App::start(config).await?;
    let listener = tokio::net::TcpListener::bind(app.config.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    app.serve(listener);

    println!("Bottega is listening on {base} (OpenAPI: {base}/openapi.json)");
    if generated_token {
        println!("Admin token for this run (set BOTTEGA_ADMIN_TOKEN to choose one): {}", app.config.admin_token);
    }
    if app.config.seed_demo {
        welcome(&app, &base).await?;
    }

    shutdown_signal().await;
    let report = app.shutdown(app.config.shutdown_grace).await;
    if !report.finished_in_time {
        tracing::warn!("some work was cut off at the end of the grace period; its leases were given back");
    }
    Ok(())
}

/// Seeds the demo shop on an empty database and says how to reach it.
async fn welcome(app: &App, base: &str) -> anyhow::Result<()> {
    match crate::seed::seed_demo_if_empty(app).await? {
        Some(demo) => {
            println!(
                "\nCreated the demo shop \"{}\" ({}), running the example grocery plugin.",
                demo.business.name, demo.business.id
            );
            println!("Its API key (shown once): {}", demo.api_key);
            println!("Chat with it in a browser: {base}/chat/{}", demo.business.id);
            println!("or through the API:\n");
            println!(
                "  curl -s {base}/v1/messages -H 'Authorization: Bearer {}' -H 'content-type: application/json' \\\n       -d '{{\"customer\": \"+34600111222\", \"text\": \"hi\"}}'\n",
                demo.api_key
            );
        }
        None => println!(
            "The database already has businesses; each one's web chat is at {base}/chat/{{id}}; to get a new API key for one: POST {base}/v1/admin/businesses/{{id}}/api-key with the admin token"
        ),
    }
    Ok(())
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn resolve(flags: &[&str]) -> Config {
        let args = std::iter::once("bottega").chain(flags.iter().copied());
        Flags::try_parse_from(args).expect("flags parse").serve.resolve().0
    }

    #[test]
    fn flags_default_to_the_configuration_defaults_and_are_clamped_once() {
        let config = resolve(&["--admin-token", "t"]);
        let plain = Config::new(PathBuf::from(defaults::DATA_DIR), "t".into());
        assert_eq!(config.listen, plain.listen);
        assert_eq!(config.plugins.upload_limits.compiled, plain.plugins.upload_limits.compiled);
        assert_eq!(config.plugins.max_loaded_plugins, plain.plugins.max_loaded_plugins);
        assert_eq!(config.plugins.reuse_instances_above, plain.plugins.reuse_instances_above);
        assert_eq!(config.commerce.reservation, plain.commerce.reservation);
        assert_eq!(config.commerce.public_url, plain.commerce.public_url);
        assert_eq!(config.shutdown_grace, plain.shutdown_grace);
        assert_eq!(config.http.rate_limits, plain.http.rate_limits);
        assert_eq!(config.http.web_chat_frame_ancestors, plain.http.web_chat_frame_ancestors);
        assert!(!config.http.trust_forwarded_for, "X-Forwarded-For is not trusted by default");
        assert_eq!(config.billing.enabled, plain.billing.enabled);
        assert_eq!(config.billing.time_zone, plain.billing.time_zone);
        assert_eq!(config.billing.grace, plain.billing.grace);
        assert_eq!(config.billing.operator_name, plain.billing.operator_name);
        assert_eq!(config.billing.collect_retries, plain.billing.collect_retries);

        let config = resolve(&[
            "--max-concurrent-compiles",
            "0",
            "--reservation-minutes",
            "0",
            "--public-url",
            "https://shop.example/",
        ]);
        assert_eq!(config.plugins.max_concurrent_compiles, 1);
        assert_eq!(config.commerce.reservation, Duration::from_secs(60));
        assert_eq!(config.commerce.public_url, "https://shop.example");
        assert!(config.egress.allowed().is_empty(), "nothing private is reached by default");

        let config = resolve(&["--allow-egress-to", "localhost:9000,10.0.0.5"]);
        let allowed: Vec<String> = config.egress.allowed().iter().map(ToString::to_string).collect();
        assert_eq!(allowed, ["localhost:9000", "10.0.0.5"]);

        let config =
            resolve(&["--web-chat-frame-ancestors", "'self'  https://shop.example", "--pay-submits-per-order", "3"]);
        assert_eq!(config.http.web_chat_frame_ancestors, "'self' https://shop.example");
        assert_eq!(config.http.rate_limits.pay_submits_per_order, 3);
        let args = ["bottega", "--web-chat-frame-ancestors", "*; script-src *"];
        assert!(Flags::try_parse_from(args).is_err(), "a source list cannot add directives");
    }
}
