//! `bottega:shop/catalog`: read-only access to the calling business's products.

use super::fault;
use crate::plugin::bindings::bottega::shop::catalog::Host;
use crate::plugin::bindings::{Money, Product};
use crate::plugin::state::PluginState;
use crate::store::products;

/// The most products one call returns.
const MAX_PAGE: u32 = 100;

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

impl Host for PluginState {
    async fn get_product(&mut self, id: String) -> wasmtime::Result<Option<Product>> {
        let s = &self.scope;
        let product = products::get(&s.db, &s.business_id, &id).await.map_err(fault("catalog.get-product"))?;
        Ok(product.map(to_wit))
    }

    async fn list_sections(&mut self) -> wasmtime::Result<Vec<String>> {
        let s = &self.scope;
        products::sections(&s.db, &s.business_id).await.map_err(fault("catalog.list-sections"))
    }

    async fn list_products(
        &mut self,
        section: Option<String>,
        offset: u32,
        limit: u32,
    ) -> wasmtime::Result<Vec<Product>> {
        let s = &self.scope;
        let found = products::list(&s.db, &s.business_id, section.as_deref(), offset, limit.min(MAX_PAGE))
            .await
            .map_err(fault("catalog.list-products"))?;
        Ok(found.into_iter().map(to_wit).collect())
    }

    async fn search_products(&mut self, query: String, limit: u32) -> wasmtime::Result<Vec<Product>> {
        let s = &self.scope;
        let found = products::search(&s.db, &s.business_id, &query, limit.min(MAX_PAGE))
            .await
            .map_err(fault("catalog.search-products"))?;
        Ok(found.into_iter().map(to_wit).collect())
    }
}
