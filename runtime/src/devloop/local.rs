//! A shop in a sandbox: the whole runtime in a temporary directory (its own
//! embedded database, no workers sending anything anywhere), one business
//! with a catalog and a plugin, and a conversation driven one message at a
//! time. The developer's loop runs one on their machine ([`Sandbox::developer`]);
//! the console's replay runs one on the node, as the real shop's grants,
//! limits and plugin settings say ([`Sandbox::of_node`]), so nothing a turn
//! does reaches the real shop's carts, orders, messages or usage.

use std::path::PathBuf;
use std::time::Duration;

use crate::App;
use crate::chat::{ChatError, ChatOutcome, Inbound, InboundRequest};
use crate::config::{Config, PluginHostConfig, TransportConfig};
use crate::plugin::publish::UploadRefused;
use crate::plugin::{Capability, PluginLimits, PublishError};
use crate::store::StoreError;
use crate::store::businesses::{self, Business, NewBusiness};
use crate::store::products::{self, ProductInput};

/// How long a closing local shop gives its workers to stop.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Plugin calls a sandbox on a node runs at once (one conversation: one
/// call at a time, and one more measuring the plugin's start-up).
const NODE_SANDBOX_CALLS: u32 = 2;

/// What a local shop is: its business's name, grants, limits, language,
/// automations and currencies besides the one it sells in, and the settings
/// of the plugin host it runs on.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub name: String,
    /// The greeting, opening hours and handoff words the shop answers with
    /// itself (none on a developer's machine).
    pub automations: Option<crate::automations::Automations>,
    pub extra_currencies: Vec<String>,
    pub capabilities: Vec<Capability>,
    pub limits: PluginLimits,
    pub locale: String,
    pub plugins: PluginHostConfig,
}

impl Sandbox {
    /// The developer's machine: every capability, production's default
    /// limits, English, instructions counted; compiled plugins kept in
    /// `compiled_cache_dir` when given.
    pub fn developer(compiled_cache_dir: Option<PathBuf>) -> Sandbox {
        Sandbox {
            name: "Local shop".into(),
            automations: None,
            extra_currencies: Vec::new(),
            capabilities: Capability::ALL.to_vec(),
            limits: PluginLimits::default(),
            locale: "en".into(),
            // A developer sees how many instructions each turn ran.
            plugins: PluginHostConfig { compiled_cache_dir, count_instructions: true, ..PluginHostConfig::default() },
        }
    }

    /// A copy of `business` on the node `config` runs: its grants, limits,
    /// locale and currencies, the node's plugin settings (a few call slots of its own) and
    /// the node's compiled cache, so a version the node compiled loads as it
    /// does for a message rather than compiling again.
    pub fn of_node(config: &Config, business: &Business) -> Sandbox {
        let cache = config.plugins.compiled_cache_dir.clone().unwrap_or_else(|| config.data_dir.join("compiled"));
        let plugins = PluginHostConfig {
            compiled_cache_dir: Some(cache),
            max_concurrent_calls: config.plugins.max_concurrent_calls.clamp(1, NODE_SANDBOX_CALLS),
            max_concurrent_calls_per_business: config
                .plugins
                .max_concurrent_calls_per_business
                .clamp(1, NODE_SANDBOX_CALLS),
            ..config.plugins.clone()
        };
        Sandbox {
            name: business.name.clone(),
            automations: business.automations.clone(),
            extra_currencies: business.extra_currencies.clone(),
            capabilities: business.capabilities.clone(),
            limits: business.limits,
            locale: business.locale.clone(),
            plugins,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalShopError {
    #[error("the catalog is not a JSON array of products: {0}")]
    Catalog(String),
    #[error("the plugin was refused: {0}")]
    Refused(#[from] UploadRefused),
    #[error("the plugin was refused: {0}")]
    Plugin(#[from] PublishError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the local runtime did not start: {0}")]
    Start(String),
}

/// A local runtime with one shop answering through the developer's plugin.
pub struct LocalShop {
    app: App,
    business: Business,
    /// The customer on the other side of the conversation.
    customer: String,
    _data_dir: tempfile::TempDir,
}

impl std::fmt::Debug for LocalShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalShop").field("business", &self.business.id).finish_non_exhaustive()
    }
}

impl LocalShop {
    /// Starts a runtime in a temporary directory, creates a shop selling in
    /// `currency` with `catalog` (a JSON array of products, as
    /// `POST /v1/products/import` takes), and publishes `wasm` as its plugin.
    pub async fn start(wasm: &[u8], catalog: Option<&[u8]>, currency: &str) -> Result<LocalShop, LocalShopError> {
        Self::start_cached(wasm, catalog, currency, None).await
    }

    /// Like [`LocalShop::start`], keeping compiled plugins in `compiled_cache_dir`
    /// so a second chat with the same component starts at once (a Python or
    /// JavaScript plugin takes seconds to compile).
    pub async fn start_cached(
        wasm: &[u8],
        catalog: Option<&[u8]>,
        currency: &str,
        compiled_cache_dir: Option<PathBuf>,
    ) -> Result<LocalShop, LocalShopError> {
        Self::start_in(wasm, catalog, currency, Sandbox::developer(compiled_cache_dir)).await
    }

    /// Like [`LocalShop::start`], the shop and its host as `sandbox` says.
    pub async fn start_in(
        wasm: &[u8],
        catalog: Option<&[u8]>,
        currency: &str,
        sandbox: Sandbox,
    ) -> Result<LocalShop, LocalShopError> {
        let data_dir = tempfile::tempdir().map_err(|e| LocalShopError::Start(e.to_string()))?;
        let mut config = Config::new(data_dir.path().to_path_buf(), crate::ids::new_secret("adm"));
        config.plugins = sandbox.plugins;
        config.commerce.webhooks_every = None;
        config.transport = TransportConfig { run_workers: false, ..TransportConfig::default() };
        let app = App::start(config).await.map_err(|e| LocalShopError::Start(format!("{e:#}")))?;
        let automations = sandbox.automations;
        let new = NewBusiness {
            name: sandbox.name,
            currency: currency.to_string(),
            extra_currencies: sandbox.extra_currencies,
            locale: sandbox.locale,
            capabilities: sandbox.capabilities,
            limits: sandbox.limits,
        };
        match open(&app, new, automations.as_ref(), wasm, catalog).await {
            Ok(business) => Ok(LocalShop { app, business, customer: "+00 local customer".into(), _data_dir: data_dir }),
            Err(e) => {
                // Its workers stop with it: nothing of it outlives the error.
                app.shutdown(CLOSE_GRACE).await;
                Err(e)
            }
        }
    }

    /// Stops the shop's runtime (its workers, its database); its directory goes with it.
    pub async fn close(self) {
        self.app.shutdown(CLOSE_GRACE).await;
    }

    /// The limits the plugin runs under (production's defaults, on a developer's machine).
    pub fn limits(&self) -> &PluginLimits {
        &self.business.limits
    }

    /// One customer message through the shop, as production handles it.
    pub async fn send(&self, message: Inbound) -> Result<ChatOutcome, LocalShopError> {
        let request = InboundRequest {
            channel: "local".into(),
            handle: self.customer.clone(),
            locale: Some(self.business.locale.clone()),
            message,
        };
        Ok(self.app.chat.handle_inbound(&self.business, request).await?)
    }
}

/// The business `new` in `app`, selling `catalog`, answering through `wasm`.
async fn open(
    app: &App,
    new: NewBusiness,
    automations: Option<&crate::automations::Automations>,
    wasm: &[u8],
    catalog: Option<&[u8]>,
) -> Result<Business, LocalShopError> {
    let (business, _key) = businesses::create(&app.db, new).await?;
    if automations.is_some() {
        businesses::set_automations(&app.db, &business.id, automations).await?;
    }
    if let Some(catalog) = catalog {
        let inputs: Vec<ProductInput> =
            serde_json::from_slice(catalog).map_err(|e| LocalShopError::Catalog(e.to_string()))?;
        for input in &inputs {
            input.check(&business).map_err(|e| LocalShopError::Catalog(format!("product `{}`: {e}", input.id)))?;
        }
        products::upsert_all(&app.db, &business.id, &inputs).await?;
    }
    app.plugins.publish(&app.db, &business, wasm, true).await?.finished(&app.db).await?;
    businesses::get(&app.db, &business.id).await?.ok_or_else(|| LocalShopError::Start("the shop vanished".into()))
}

/// A line the developer typed, as the customer's message: plain text, or
/// `/tap ID [TITLE]` (a button or list row), `/product ID`, `/browse [QUERY]`,
/// `/cart ID:QTY ID:QTY…`.
pub fn parse_input(line: &str) -> Result<Inbound, String> {
    let line = line.trim();
    let Some(command) = line.strip_prefix('/') else { return Ok(Inbound::Text(line.to_string())) };
    let (name, rest) = command.split_once(' ').map_or((command, ""), |(n, r)| (n, r.trim()));
    match name {
        "tap" if !rest.is_empty() => {
            let (id, title) = rest.split_once(' ').map_or((rest, rest), |(id, title)| (id, title.trim()));
            Ok(Inbound::Choice { id: id.to_string(), title: title.to_string() })
        }
        "product" if !rest.is_empty() => Ok(Inbound::ProductTap(rest.to_string())),
        "browse" => Ok(Inbound::Browse { query: (!rest.is_empty()).then(|| rest.to_string()), section: None }),
        "cart" if !rest.is_empty() => rest
            .split_whitespace()
            .map(|line| {
                let (id, quantity) = line.split_once(':').ok_or(format!("`{line}`: write ID:QUANTITY"))?;
                let quantity = quantity.parse::<u32>().map_err(|_| format!("`{quantity}` is not a quantity"))?;
                Ok((id.to_string(), quantity))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Inbound::Cart),
        _ => {
            Err(format!("unknown command `/{name}`; try /tap ID [TITLE], /product ID, /browse [QUERY], /cart ID:QTY…"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_become_customer_messages() {
        assert_eq!(parse_input("hi there"), Ok(Inbound::Text("hi there".into())));
        assert_eq!(
            parse_input("/tap add:apples Add to basket"),
            Ok(Inbound::Choice { id: "add:apples".into(), title: "Add to basket".into() })
        );
        assert_eq!(parse_input("/tap browse"), Ok(Inbound::Choice { id: "browse".into(), title: "browse".into() }));
        assert_eq!(parse_input("/product apples"), Ok(Inbound::ProductTap("apples".into())));
        assert_eq!(parse_input("/browse"), Ok(Inbound::Browse { query: None, section: None }));
        assert_eq!(parse_input("/cart a:2 b:1"), Ok(Inbound::Cart(vec![("a".into(), 2), ("b".into(), 1)])));
        assert!(parse_input("/cart a").is_err());
        assert!(parse_input("/dance").is_err());
    }
}
