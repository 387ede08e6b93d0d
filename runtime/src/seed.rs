//! The demo shop: on a fresh database the runtime creates "Verdura", a
//! neighbourhood grocer with a small catalog, running the example Rust plugin
//! (built from `plugins/grocery-rust` and embedded in the binary), so an
//! operator can chat with a shop one command after cloning.

use crate::App;
use crate::store::businesses::{self, Business, NewBusiness};
use crate::store::products::{self, ProductInput};

/// (id, name, description, price in cents, stock, section)
const CATALOG: &[(&str, &str, &str, i64, i64, &str)] = &[
    ("gala-apples", "Gala apples (1 kg)", "Crisp and sweet, from an orchard in Lleida.", 240, 40, "Fruit"),
    ("bananas", "Bananas (bunch of 5)", "Canary Island bananas, ripe this week.", 180, 30, "Fruit"),
    ("strawberries", "Strawberries (250 g)", "Picked yesterday in Huelva.", 290, 20, "Fruit"),
    ("lemons", "Lemons (3)", "Unwaxed, for cooking and drinks.", 120, 50, "Fruit"),
    ("avocado", "Avocado", "Ripe and ready to eat today.", 110, 25, "Fruit"),
    ("vine-tomatoes", "Vine tomatoes (500 g)", "Sweet, on the vine.", 220, 30, "Vegetables"),
    ("carrots", "Carrots (1 kg)", "Organic, with the tops on.", 130, 40, "Vegetables"),
    ("baby-spinach", "Baby spinach (200 g)", "Washed and ready for salad.", 190, 15, "Vegetables"),
    ("red-onions", "Red onions (3)", "Mild, good raw.", 100, 60, "Vegetables"),
    ("sourdough", "Sourdough loaf", "Baked this morning with a 48-hour ferment.", 450, 12, "Bakery"),
    ("croissant", "Butter croissant", "Flaky, all butter.", 140, 24, "Bakery"),
    ("rye-bread", "Rye bread", "Dense, dark and seeded.", 380, 8, "Bakery"),
    ("eggs", "Free-range eggs (6)", "From hens on a farm in Girona.", 260, 30, "Dairy"),
    ("milk", "Whole milk (1 L)", "Fresh pasteurised milk.", 115, 40, "Dairy"),
    ("manchego", "Aged manchego (200 g)", "Twelve months, nutty and sharp.", 590, 10, "Dairy"),
];

/// What the operator needs to chat with the demo shop.
#[derive(Debug)]
pub struct DemoShop {
    pub business: Business,
    pub api_key: String,
}

/// Creates the demo shop if the node has no business yet.
pub async fn seed_demo_if_empty(app: &App) -> anyhow::Result<Option<DemoShop>> {
    if businesses::count(&app.db).await? > 0 {
        return Ok(None);
    }
    let (business, api_key) = businesses::create(
        &app.db,
        NewBusiness {
            limits: app.config.plugins.default_limits,
            ..NewBusiness::with_every_capability("Verdura", "EUR")
        },
    )
    .await?;
    for (id, name, description, price, stock, section) in CATALOG {
        let input = ProductInput {
            id: (*id).into(),
            name: (*name).into(),
            description: (*description).into(),
            photo_url: Some(format!("https://cdn.example.com/verdura/{id}.jpg")),
            price_minor: *price,
            currency: "EUR".into(),
            stock: *stock,
            section: (*section).into(),
            available: true,
        };
        products::create(&app.db, &business.id, &input).await?;
    }
    app.plugins
        .publish(&app.db, &business, bottega_plugin_artifacts::GROCERY_RUST_BYTES, true)
        .await
        .map_err(|e| anyhow::anyhow!("the embedded example plugin was refused: {e}"))?
        .finished(&app.db)
        .await
        .map_err(|e| anyhow::anyhow!("the embedded example plugin was refused: {e}"))?;
    let business = businesses::get(&app.db, &business.id).await?.unwrap_or(business);
    Ok(Some(DemoShop { business, api_key }))
}
