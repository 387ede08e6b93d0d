//! The application: configuration, database, plugin host and chat service,
//! wired once at start-up and shared by every request.

use std::sync::Arc;

use crate::chat::ChatService;
use crate::commerce::payments::PaymentProvider;
use crate::commerce::payments::sandbox::SandboxProcessor;
use crate::config::Config;
use crate::plugin::PluginHost;
use crate::store::Db;
use crate::transport::inbox::Inbox;
use crate::transport::outbox::Sender;

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
    /// The card processor (the built-in sandbox until a real connector is configured).
    pub payments: Arc<dyn PaymentProvider>,
}

impl std::ops::Deref for App {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Connects to the database (migrating it), starts the plugin host, and
    /// seeds the demo shop when configured to and the database is empty.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data directory {}: {e}", config.data_dir.display()))?;
        let db = Db::connect(config.database_url.as_deref(), &config.data_dir).await?;
        let plugins = Arc::new(PluginHost::new(config.plugins.clone(), &config.data_dir)?);
        let outbox = Sender::new(db.clone(), config.transport.retry_base);
        let chat = Arc::new(ChatService::new(db.clone(), plugins.clone(), config.commerce.clone(), outbox.waker()));
        let inbox = Inbox::new(db.clone(), chat.clone(), outbox.clone(), config.transport.retry_base);
        if config.transport.run_workers {
            outbox.spawn(config.transport.poll_every);
            inbox.spawn(config.transport.poll_every);
        }
        chat.feed().spawn_relay(config.database_url.clone());
        spawn_reservation_sweeper(db.clone(), config.commerce.expiry_sweep_every);
        // Uploads whose compile was cut off (this node or another stopped).
        plugins.spawn_compile_sweeper(db.clone(), config.commerce.expiry_sweep_every);
        if let Some(every) = config.commerce.webhooks_every {
            crate::webhooks::spawn_worker(db.clone(), every);
        }
        let payments: Arc<dyn PaymentProvider> = Arc::new(SandboxProcessor::new(db.clone()));
        Ok(App(Arc::new(AppInner { config, db, plugins, chat, inbox, outbox, payments })))
    }

    /// Releases the stock of unpaid orders whose reservation expired.
    pub async fn expire_reservations(&self) -> Result<usize, crate::store::StoreError> {
        crate::commerce::orders::expire_reservations(&self.db, crate::ids::now_ms()).await
    }

    /// The HTTP API over this application.
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }
}

/// Every `every`, gives back the stock of unpaid orders whose reservation
/// expired. Stops when the runtime (its tokio runtime) stops.
fn spawn_reservation_sweeper(db: Db, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = crate::ids::now_ms();
            match crate::commerce::orders::expire_reservations(&db, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "released the stock of expired reservations"),
                Err(e) => tracing::warn!("releasing expired reservations failed: {e}"),
            }
            if let Err(e) = crate::store::idempotency::purge_expired(&db, now).await {
                tracing::warn!("purging old idempotency keys failed: {e}");
            }
        }
    });
}
