//! The application: configuration, database, plugin host and chat service,
//! wired once at start-up and shared by every request.

use std::sync::Arc;

use crate::chat::ChatService;
use crate::config::Config;
use crate::plugin::PluginHost;
use crate::store::Db;

/// Everything a request handler may need. Cheap to clone (`Arc` inside).
#[derive(Debug, Clone)]
pub struct App(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub plugins: Arc<PluginHost>,
    pub chat: ChatService,
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
        let chat = ChatService::new(db.clone(), plugins.clone());
        Ok(App(Arc::new(AppInner { config, db, plugins, chat })))
    }

    /// The HTTP API over this application.
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }
}
