//! The application: configuration, database, plugin host and chat service,
//! wired once at start-up and shared by every request; and the node's
//! background workers, every one started through its [`Supervisor`] and
//! stopped by [`App::shutdown`].

use std::sync::Arc;
use std::time::Duration;

use crate::api::rate_limits::RateLimits;
use crate::billing::Billing;
use crate::chat::ChatService;
use crate::commerce::Commerce;
use crate::commerce::payments::PaymentProvider;
use crate::commerce::payments::sandbox::SandboxProcessor;
use crate::config::Config;
use crate::plugin::PluginHost;
use crate::store::Db;
use crate::supervisor::{ShutdownReport, Supervisor};
use crate::transport::inbox::Inbox;
use crate::transport::outbox::Sender;
use crate::webhooks::DeliveryWorker;

/// Everything a request handler may need. Cheap to clone (`Arc` inside).
#[derive(Debug, Clone)]
pub struct App(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub plugins: Arc<PluginHost>,
    pub chat: Arc<ChatService>,
    /// Inbound transport events, processed after the webhook is answered.
    pub inbox: Inbox,
    /// The outbound queue's sender.
    pub outbox: Sender,
    /// Signed events to businesses' endpoints.
    pub webhooks: DeliveryWorker,
    /// Orders, payments and refunds: the one owner of their lifecycles (its
    /// provider is the built-in sandbox until a real connector is configured).
    pub commerce: Arc<Commerce>,
    /// Starts, tracks and stops this node's background workers.
    pub supervisor: Supervisor,
    /// The public endpoints' rate limits, in memory on this node.
    pub limits: RateLimits,
    /// Fees for businesses: the meter every hook calls, drafts and invoices.
    pub billing: Billing,
}

impl std::ops::Deref for App {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Connects to the database (migrating it), starts the plugin host and
    /// the background workers.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        // Owner-only: the database, its WAL, the key file and the compiled
        // cache live here (see `privacy::files`).
        crate::privacy::files::create_private_dir_all(&config.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data directory {}: {e}", config.data_dir.display()))?;
        let db = Db::connect_with(
            config.database_url.as_deref(),
            &config.data_dir,
            &config.key,
            config.previous_key.as_ref(),
        )
        .await?;
        let supervisor = Supervisor::new();
        let plugins = Arc::new(PluginHost::new(config.plugins.clone(), &config.data_dir)?);
        let outbox = Sender::new(db.clone(), config.transport.retry_base, config.egress.clone())
            .with_failpoints(config.commerce.failpoints.clone());
        let billing = Billing::new(db.clone(), config.billing.clone()).map_err(|e| anyhow::anyhow!("billing: {e}"))?;
        let meter = billing.meter();
        let chat = Arc::new(ChatService::new(db.clone(), plugins.clone(), config.commerce.clone(), meter));
        let at_once = config.transport.run_workers;
        chat.register_outbound(Arc::new(crate::transport::outbox::WhatsAppReplies { sender: outbox.clone(), at_once }));
        chat.feed().relay_channel(crate::transport::web::CHANNEL);
        let payments: Arc<dyn PaymentProvider> = Arc::new(SandboxProcessor::new(db.clone()));
        let commerce = Arc::new(Commerce::new(db.clone(), payments, config.commerce.clone(), chat.clone(), meter));
        // As many conversations answered at once as the node runs plugin calls.
        let parallel = usize::try_from(config.plugins.max_concurrent_calls).unwrap_or(1);
        let inbox = Inbox::new(db.clone(), chat.clone(), config.transport.retry_base, parallel, supervisor.stopping())
            .answering(config.transport.run_workers);
        let webhooks = DeliveryWorker::new(db.clone(), config.egress.clone());
        let limits = RateLimits::new(&config.http.rate_limits);
        let app = App(Arc::new(AppInner {
            config,
            db,
            plugins,
            chat,
            inbox,
            outbox,
            webhooks,
            commerce,
            supervisor,
            limits,
            billing,
        }));
        app.start_workers();
        Ok(app)
    }

    /// Releases the stock of unpaid orders whose reservation expired (one
    /// pass of the commerce sweep, which also resolves what crashes left).
    pub async fn expire_reservations(&self) -> Result<usize, crate::store::StoreError> {
        Ok(self.commerce.sweep(crate::ids::now_ms()).await?.reservations_expired)
    }

    /// The HTTP API over this application.
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }

    /// Serves the HTTP API on `listener`, as one of the node's workers: when
    /// shutdown begins it accepts no more connections and lets the requests
    /// under way finish. Each request knows its peer's address (the rate
    /// limits per client address read it).
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let service = self.router().into_make_service_with_connect_info::<std::net::SocketAddr>();
        self.supervisor.spawn("http server", move |stop| async move {
            if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::error!("http server: {e}");
            }
        });
    }

    /// Stops this node. Its workers (and the HTTP server [`App::serve`]
    /// started) take no new work; the turns, sends and requests under way get
    /// up to `grace` to finish; then the queue rows this node claimed and did
    /// not settle are given back, so another node takes them at once rather
    /// than when their lease ends; only then is the pool closed.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        tracing::info!(?grace, "stopping: no new work, finishing what is under way");
        let finished_in_time = self.supervisor.shutdown(grace).await;
        let now = crate::ids::now_ms();
        let mut leases_released = 0;
        for (queue, released) in [
            ("inbound events", self.inbox.release_leases(now).await),
            ("outbound sends", self.outbox.release_leases(now).await),
            ("webhook deliveries", self.webhooks.release_leases(now).await),
        ] {
            match released {
                Ok(n) => leases_released += n,
                Err(e) => tracing::warn!("could not give back the leases of {queue}: {e}"),
            }
        }
        tracing::info!(leases_released, finished_in_time, "stopped; closing the database");
        self.db.close().await;
        ShutdownReport { finished_in_time, leases_released }
    }

    /// Starts every background worker of this node through its supervisor.
    fn start_workers(&self) {
        let (config, supervisor) = (&self.config, &self.supervisor);
        if config.transport.run_workers {
            let poll = config.transport.poll_every;
            let outbox = self.outbox.clone();
            supervisor.spawn("outbox sender", move |stop| outbox.run(poll, stop));
            let inbox = self.inbox.clone();
            supervisor.spawn("inbound worker", move |stop| inbox.run(poll, stop));
        }
        let (feed, database_url) = (self.chat.feed().clone(), config.database_url.clone());
        supervisor.spawn("message feed relay", move |stop| feed.relay(database_url, stop));
        let commerce = self.commerce.clone();
        supervisor.every("commerce sweeper", config.commerce.expiry_sweep_every, move || {
            let commerce = commerce.clone();
            async move { sweep_commerce(&commerce, crate::ids::now_ms()).await }
        });
        // Uploads whose compile was cut off (this node or another stopped).
        let (plugins, db) = (self.plugins.clone(), self.db.clone());
        supervisor.every("compile sweeper", config.commerce.expiry_sweep_every, move || {
            let (plugins, db) = (plugins.clone(), db.clone());
            async move { plugins.sweep_stranded_compiles(&db).await }
        });
        if let (true, Some(every)) = (config.billing.enabled, config.billing.finalize_every) {
            let billing = self.billing.clone();
            supervisor.every("invoice finaliser", every, move || {
                let billing = billing.clone();
                async move {
                    match crate::billing::invoices::finalize_due(&billing, crate::ids::now_ms()).await {
                        Ok(done) if done == crate::billing::invoices::Finalized::default() => {}
                        Ok(done) => tracing::info!(?done, "invoice finaliser"),
                        Err(e) => tracing::warn!("the invoice finaliser failed: {e}"),
                    }
                }
            });
        }
        // Message bodies past their business's retention.
        let db = self.db.clone();
        supervisor.every("retention sweeper", crate::config::defaults::RETENTION_SWEEP_EVERY, move || {
            let db = db.clone();
            async move {
                match crate::store::retention::sweep(&db, crate::ids::now_ms()).await {
                    Ok(0) => {}
                    Ok(erased) => tracing::info!(erased, "retention sweeper: message bodies erased"),
                    Err(e) => tracing::warn!("the retention sweeper failed: {e}"),
                }
            }
        });
        if let (true, Some(every)) = (config.billing.enabled, config.billing.collect_every) {
            let (commerce, billing) = (self.commerce.clone(), self.billing.clone());
            supervisor.every("invoice collector", every, move || {
                let (commerce, billing) = (commerce.clone(), billing.clone());
                async move {
                    let now = crate::ids::now_ms();
                    match crate::commerce::payments::collection::collect_due(&commerce, &billing, now).await {
                        Ok(done) if done == crate::commerce::payments::collection::Collected::default() => {}
                        Ok(done) => tracing::info!(?done, "invoice collector"),
                        Err(e) => tracing::warn!("the invoice collector failed: {e}"),
                    }
                }
            });
        }
        if let Some(every) = config.commerce.webhooks_every {
            let (webhooks, stop) = (self.webhooks.clone(), supervisor.stopping());
            supervisor.every("webhook deliveries", every, move || {
                let (webhooks, stop) = (webhooks.clone(), stop.clone());
                async move { webhooks.deliver_due(&stop).await }
            });
        }
    }
}

/// One pass of the commerce sweep: payments and refunds a crash left in
/// flight (resolved by asking the provider), expired reservations (stock
/// back), order follow-ups cut off, idempotency keys past their time.
async fn sweep_commerce(commerce: &Commerce, now: i64) {
    match commerce.sweep(now).await {
        Ok(swept) if swept == crate::commerce::Swept::default() => {}
        Ok(swept) => tracing::info!(?swept, "commerce sweep"),
        Err(e) => tracing::warn!("the commerce sweep failed: {e}"),
    }
}
