//! `bottega:shop/catalog`: read-only access to the calling business's
//! products. Its view holds the database and the business's id, nothing of the
//! conversation or the customer.

use wasmtime::component::{HasData, Linker};

use super::fault;
use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::catalog::Host;
use crate::plugin::bindings::{Money, Product};
use crate::plugin::state::PluginState;
use crate::store::{Db, products};

/// The most products one call returns.
const MAX_PAGE: u32 = 100;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::catalog::add_to_linker::<PluginState, CatalogInterface>(linker, view)
}

/// What the catalog interface reaches: one business's products.
struct ShopCatalog<'a> {
    db: &'a Db,
    business_id: &'a str,
}

struct CatalogInterface;

impl HasData for CatalogInterface {
    type Data<'a> = ShopCatalog<'a>;
}

fn view(state: &mut PluginState) -> ShopCatalog<'_> {
    ShopCatalog { db: &state.scope.db, business_id: &state.scope.business_id }
}

pub(crate) fn to_wit(p: products::Product) -> Product {
    Product {
        id: p.id,
        name: p.name,
        description: p.description,
        photo_url: p.photo_url,
        price: Money { amount_minor: p.price_minor, currency: p.currency },
        stock: u32::try_from(p.stock.max(0)).unwrap_or(u32::MAX),
        section: p.section,
        available: p.available,
    }
}

impl Host for ShopCatalog<'_> {
    async fn get_product(&mut self, id: String) -> wasmtime::Result<Option<Product>> {
        if !crate::store::storable(&id) {
            return Ok(None);
        }
        let product = products::get(self.db, self.business_id, &id).await.map_err(fault("catalog.get-product"))?;
        Ok(product.map(to_wit))
    }

    async fn list_sections(&mut self) -> wasmtime::Result<Vec<String>> {
        products::sections(self.db, self.business_id).await.map_err(fault("catalog.list-sections"))
    }

    async fn list_products(
        &mut self,
        section: Option<String>,
        offset: u32,
        limit: u32,
    ) -> wasmtime::Result<Vec<Product>> {
        if section.as_deref().is_some_and(|s| !crate::store::storable(s)) {
            return Ok(Vec::new());
        }
        let found = products::list(self.db, self.business_id, section.as_deref(), offset, limit.min(MAX_PAGE))
            .await
            .map_err(fault("catalog.list-products"))?;
        Ok(found.into_iter().map(to_wit).collect())
    }

    async fn search_products(&mut self, query: String, limit: u32) -> wasmtime::Result<Vec<Product>> {
        if !crate::store::storable(&query) {
            return Ok(Vec::new());
        }
        let found = products::search(self.db, self.business_id, &query, limit.min(MAX_PAGE))
            .await
            .map_err(fault("catalog.search-products"))?;
        Ok(found.into_iter().map(to_wit).collect())
    }
}
