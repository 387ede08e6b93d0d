//! Money: integer minor units plus an ISO 4217 currency, the table of currency
//! exponents (JPY 0, EUR 2, KWD 3, ...), and display formatting.

use serde::Serialize;
use utoipa::ToSchema;

/// An amount in minor units of a currency, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Money {
    /// Integer minor units: cents for EUR, yen for JPY, fils for KWD.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// For display, e.g. "€2.50", "¥500", "KWD 1.250".
    pub formatted: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Money {
        Money { amount_minor, currency: currency.to_string(), formatted: format(amount_minor, currency) }
    }
}

/// ISO 4217 active codes whose minor unit is not 2 decimal places.
const EXPONENTS: &[(&str, u32)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// ISO 4217 active codes with 2 decimal places.
const TWO_DECIMALS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
    "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
    "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
    "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
    "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
    "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

/// The number of decimal places of an ISO 4217 currency, or `None` for a code
/// that is not an active currency.
pub fn exponent(currency: &str) -> Option<u32> {
    if let Some((_, e)) = EXPONENTS.iter().find(|(code, _)| *code == currency) {
        return Some(*e);
    }
    TWO_DECIMALS.contains(&currency).then_some(2)
}

/// Checks a currency code, with an error message a caller can act on.
pub fn validate_currency(currency: &str) -> Result<(), String> {
    match exponent(currency) {
        Some(_) => Ok(()),
        None => Err(format!("`{currency}` is not an ISO 4217 currency code (expected e.g. EUR, USD, JPY)")),
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "BRL" => "R$",
        "MXN" => "MX$",
        "KRW" => "₩",
        "NGN" => "₦",
        _ => return None,
    })
}

/// Formats an amount for display: "€2.50", "-$0.99", "¥500", "KWD 1.250".
pub fn format(amount_minor: i64, currency: &str) -> String {
    let exponent = exponent(currency).unwrap_or(2);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let number = if exponent == 0 {
        abs.to_string()
    } else {
        let unit = 10u64.pow(exponent);
        format!("{}.{:0width$}", abs / unit, abs % unit, width = exponent as usize)
    };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{currency} {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_follow_iso_4217() {
        for (currency, expected) in [("EUR", 2), ("JPY", 0), ("KWD", 3), ("INR", 2), ("COP", 2), ("IDR", 2), ("CLF", 4)]
        {
            assert_eq!(exponent(currency), Some(expected), "{currency}");
        }
        assert_eq!(exponent("XYZ"), None);
        assert_eq!(exponent("eur"), None, "codes are upper case");
    }

    #[test]
    fn formatting_respects_the_minor_unit() {
        for (amount, currency, expected) in [
            (250, "EUR", "€2.50"),
            (5, "USD", "$0.05"),
            (500, "JPY", "¥500"),
            (1250, "KWD", "KWD 1.250"),
            (-199, "GBP", "-£1.99"),
            (0, "EUR", "€0.00"),
        ] {
            assert_eq!(format(amount, currency), expected);
        }
    }

    #[test]
    fn unknown_currencies_get_an_actionable_error() {
        let error = validate_currency("EURO").expect_err("EURO is not a code");
        assert!(error.contains("ISO 4217"), "{error}");
    }
}
