//! A shop on the developer's machine: the whole runtime in a temporary
//! directory, one business with the developer's catalog and plugin, and a
//! conversation driven one line at a time.

use crate::App;
use crate::chat::{ChatError, ChatOutcome, Inbound, InboundRequest};
use crate::config::{Config, TransportConfig};
use crate::plugin::publish::UploadRefused;
use crate::plugin::{PluginLimits, PublishError};
use crate::store::StoreError;
use crate::store::businesses::{self, Business, NewBusiness};
use crate::store::products::{self, ProductInput};

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
        compiled_cache_dir: Option<std::path::PathBuf>,
    ) -> Result<LocalShop, LocalShopError> {
        let data_dir = tempfile::tempdir().map_err(|e| LocalShopError::Start(e.to_string()))?;
        let mut config = Config::new(data_dir.path().to_path_buf(), crate::ids::new_secret("adm"));
        config.plugins.compiled_cache_dir = compiled_cache_dir;
        // A developer sees how many instructions each turn ran.
        config.plugins.count_instructions = true;
        config.commerce.webhooks_every = None;
        config.transport = TransportConfig { run_workers: false, ..TransportConfig::default() };
        let app = App::start(config).await.map_err(|e| LocalShopError::Start(format!("{e:#}")))?;
        let new = NewBusiness::with_every_capability("Local shop", currency);
        let (business, _key) = businesses::create(&app.db, new).await?;
        if let Some(catalog) = catalog {
            let inputs: Vec<ProductInput> =
                serde_json::from_slice(catalog).map_err(|e| LocalShopError::Catalog(e.to_string()))?;
            for input in &inputs {
                input.check(&business).map_err(|e| LocalShopError::Catalog(format!("product `{}`: {e}", input.id)))?;
            }
            products::upsert_all(&app.db, &business.id, &inputs).await?;
        }
        app.plugins.publish(&app.db, &business, wasm, true).await?.finished(&app.db).await?;
        let business = businesses::get(&app.db, &business.id)
            .await?
            .ok_or_else(|| LocalShopError::Start("the shop vanished".into()))?;
        Ok(LocalShop { app, business, customer: "+00 local customer".into(), _data_dir: data_dir })
    }

    /// The limits the plugin runs under (production's defaults).
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
