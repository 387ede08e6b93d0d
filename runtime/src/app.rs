//! The application: configuration, database, plugin host and chat service,
//! wired once at start-up and shared by every request.

use std::sync::Arc;

use crate::chat::ChatService;
use crate::commerce::Commerce;
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
    /// Orders, payments and refunds: the one owner of their lifecycles.
    pub commerce: Arc<Commerce>,
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
        let payments: Arc<dyn PaymentProvider> = Arc::new(SandboxProcessor::new(db.clone()));
        let chat = Arc::new(ChatService::new(db.clone(), plugins.clone(), config.commerce.clone(), outbox.waker()));
        chat.register_outbound(Arc::new(crate::transport::outbox::WhatsAppReplies));
        let commerce = Arc::new(Commerce::new(db.clone(), payments, config.commerce.clone(), chat.clone()));
        let inbox = Inbox::new(db.clone(), chat.clone(), outbox.clone(), config.transport.retry_base);
        if config.transport.run_workers {
            outbox.spawn(config.transport.poll_every);
            inbox.spawn(config.transport.poll_every);
        }
        chat.feed().spawn_relay(config.database_url.clone());
        spawn_commerce_sweeper(commerce.clone(), config.commerce.expiry_sweep_every);
        // Uploads whose compile was cut off (this node or another stopped).
        spawn_compile_sweeper(plugins.clone(), db.clone(), config.commerce.expiry_sweep_every);
        if let Some(every) = config.commerce.webhooks_every {
            crate::webhooks::spawn_worker(db.clone(), every);
        }
        Ok(App(Arc::new(AppInner { config, db, plugins, chat, inbox, outbox, commerce })))
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
}

/// At start and then every `every`, one pass of the commerce sweep: payments
/// and refunds a crash left in flight, expired reservations, late order
/// follow-ups, old idempotency keys. Stops when the runtime (its tokio
/// runtime) stops.
fn spawn_commerce_sweeper(commerce: Arc<Commerce>, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match commerce.sweep(crate::ids::now_ms()).await {
                Ok(swept) if swept == crate::commerce::Swept::default() => {}
                Ok(swept) => tracing::info!(?swept, "commerce sweep"),
                Err(e) => tracing::warn!("the commerce sweep failed: {e}"),
            }
        }
    });
}

/// Every `every`, takes over uploads whose compile was cut off.
fn spawn_compile_sweeper(plugins: Arc<PluginHost>, db: Db, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            plugins.sweep_stranded_compiles(&db).await;
        }
    });
}
