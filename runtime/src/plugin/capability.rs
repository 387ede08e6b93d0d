//! Capabilities: the host interfaces a business's plugins may import. Deny by
//! default: a plugin importing an interface its business was not granted is
//! refused at upload and again at load, with an error naming both.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::PACKAGE as CONTRACT_PACKAGE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the business's own catalog.
    Catalog,
    /// Change the current conversation's cart.
    Cart,
    /// The per-business key-value store.
    Kv,
    /// Structured logging the business can read.
    Log,
    /// The time.
    Clock,
    /// Read the current customer's orders with the business (contract 1.1.0).
    Orders,
}

impl Capability {
    pub const ALL: [Capability; 6] =
        [Capability::Catalog, Capability::Cart, Capability::Kv, Capability::Log, Capability::Clock, Capability::Orders];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Catalog => "catalog",
            Capability::Cart => "cart",
            Capability::Kv => "kv",
            Capability::Log => "log",
            Capability::Clock => "clock",
            Capability::Orders => "orders",
        }
    }

    /// The capability behind an imported interface name such as
    /// `bottega:shop/catalog@1.0.0`, or `None` for a name that is not one.
    pub fn from_import(name: &str) -> Option<Capability> {
        let rest = name.strip_prefix(CONTRACT_PACKAGE)?.strip_prefix('/')?;
        let interface = rest.split('@').next()?;
        interface.parse().ok()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown capability `{s}` (expected one of catalog, cart, kv, log, clock, orders)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_map_to_capabilities() {
        assert_eq!(Capability::from_import("bottega:shop/catalog@1.0.0"), Some(Capability::Catalog));
        assert_eq!(Capability::from_import("bottega:shop/kv@1.0.0"), Some(Capability::Kv));
        assert_eq!(Capability::from_import("bottega:shop/orders@1.1.0"), Some(Capability::Orders));
        assert_eq!(Capability::from_import("bottega:shop/types@1.0.0"), None);
        assert_eq!(Capability::from_import("wasi:cli/environment@0.2.6"), None);
        assert_eq!("clock".parse::<Capability>(), Ok(Capability::Clock));
        assert!("network".parse::<Capability>().is_err());
    }
}
