//! Money: integer minor units plus an ISO 4217 currency, the table of currency
//! exponents (JPY 0, EUR 2, KWD 3, ...), and display formatting.

use serde::Serialize;
use utoipa::ToSchema;

/// An amount in minor units of a currency, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Money {
    /// Integer minor units: cents for EUR, yen for JPY, fils for KWD.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// For display, e.g. "€2.50", "¥500", "KWD 1.250".
    pub formatted: String,
}

impl Money {
    /// An amount formatted the English way ("€2.50").
    pub fn new(amount_minor: i64, currency: &str) -> Money {
        Money::localized(amount_minor, currency, "en")
    }

    /// An amount formatted for a BCP 47 locale ("2,50 €" for es, "€2.50" for en).
    pub fn localized(amount_minor: i64, currency: &str, locale: &str) -> Money {
        Money {
            amount_minor,
            currency: currency.to_string(),
            formatted: format_localized(amount_minor, currency, locale),
        }
    }
}

/// How a language writes amounts: decimal mark, thousands separator, and
/// whether the symbol follows the number.
fn conventions(locale: &str) -> (char, char, bool) {
    let language = locale.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase();
    match language.as_str() {
        "es" | "de" | "it" | "pt" | "nl" | "da" | "tr" | "id" | "ro" | "hr" | "sl" | "el" => (',', '.', true),
        "fr" | "sv" | "nb" | "no" | "fi" | "pl" | "cs" | "sk" | "ru" | "uk" | "hu" | "bg" => (',', '\u{a0}', true),
        _ => ('.', ',', false),
    }
}

/// Formats an amount for a locale, with thousands grouping: "€1,234.50" (en),
/// "1.234,50 €" (es), "1\u{a0}234,50 €" (fr), "¥1,000" (ja).
pub fn format_localized(amount_minor: i64, currency: &str, locale: &str) -> String {
    let (decimal, thousands, symbol_after) = conventions(locale);
    let exponent = exponent(currency).unwrap_or(2);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let unit = 10u64.pow(exponent);
    let digits = (abs / unit).to_string();
    let mut whole = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            whole.push(thousands);
        }
        whole.push(digit);
    }
    let number = if exponent == 0 {
        whole
    } else {
        format!("{whole}{decimal}{:0width$}", abs % unit, width = exponent as usize)
    };
    match (symbol(currency), symbol_after) {
        (Some(symbol), false) => format!("{sign}{symbol}{number}"),
        (Some(symbol), true) => format!("{sign}{number}\u{a0}{symbol}"),
        (None, false) => format!("{sign}{currency} {number}"),
        (None, true) => format!("{sign}{number}\u{a0}{currency}"),
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
    fn formatting_follows_the_customers_locale() {
        for (amount, currency, locale, expected) in [
            (123_450, "EUR", "en", "€1,234.50"),
            (123_450, "EUR", "es-ES", "1.234,50\u{a0}€"),
            (123_450, "EUR", "fr", "1\u{a0}234,50\u{a0}€"),
            (100_000, "JPY", "ja", "¥100,000"),
            (1_250, "KWD", "de", "1,250\u{a0}KWD"),
            (-5, "USD", "en-US", "-$0.05"),
        ] {
            assert_eq!(format_localized(amount, currency, locale), expected, "{amount} {currency} {locale}");
        }
    }

    #[test]
    fn unknown_currencies_get_an_actionable_error() {
        let error = validate_currency("EURO").expect_err("EURO is not a code");
        assert!(error.contains("ISO 4217"), "{error}");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Every active ISO 4217 code the table knows.
    fn codes() -> Vec<&'static str> {
        EXPONENTS.iter().map(|(code, _)| *code).chain(TWO_DECIMALS.iter().copied()).collect()
    }

    /// The amount a formatted text shows, read back: its sign, and its digits
    /// (the whole part without grouping, then the minor unit, zero-padded).
    fn read_back(text: &str) -> Option<i128> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let abs: i128 = digits.parse().ok()?;
        Some(if text.starts_with('-') { -abs } else { abs })
    }

    /// The digits after the last decimal mark, up to the first non-digit.
    fn decimals(text: &str, mark: char) -> usize {
        text.rsplit_once(mark).map_or(0, |(_, after)| after.chars().take_while(char::is_ascii_digit).count())
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn every_code_formats_with_its_exponent_and_reads_back(
            code in prop::sample::select(codes()),
            amount in any::<i64>(),
        ) {
            let exponent = exponent(code).expect("a listed code has an exponent");
            prop_assert!(exponent <= 4);
            prop_assert!(validate_currency(code).is_ok());
            let text = format(amount, code);
            prop_assert_eq!(read_back(&text), Some(i128::from(amount)), "{}", text);
            prop_assert_eq!(text.starts_with('-'), amount < 0, "{}", text);
            if exponent > 0 {
                prop_assert_eq!(decimals(&text, '.'), exponent as usize, "{}", text);
            } else {
                prop_assert!(!text.contains('.'), "{}", text);
            }
        }

        #[test]
        fn localized_amounts_read_back_in_every_convention(
            code in prop::sample::select(codes()),
            amount in any::<i64>(),
            locale in prop::sample::select(vec!["en", "es-ES", "fr", "de", "ja", "pt_BR", "zz", "", "-"]),
        ) {
            let text = format_localized(amount, code, locale);
            prop_assert_eq!(read_back(&text), Some(i128::from(amount)), "{}", text);
            let (mark, _, _) = conventions(locale);
            let exponent = exponent(code).unwrap_or(2) as usize;
            if exponent > 0 {
                prop_assert_eq!(decimals(&text, mark), exponent, "{}", text);
            }
            prop_assert_eq!(Money::localized(amount, code, locale).formatted, text);
        }

        #[test]
        fn formatting_never_panics_for_any_amount_currency_or_locale(
            amount in prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), any::<i64>()],
            currency in crate::proptests::text(),
            locale in crate::proptests::text(),
        ) {
            let plain = format(amount, &currency);
            let localized = format_localized(amount, &currency, &locale);
            prop_assert!(!plain.is_empty() && !localized.is_empty());
            if exponent(&currency).is_none() {
                // Unknown codes are shown as they are, with two decimals.
                prop_assert!(validate_currency(&currency).is_err());
            }
        }
    }
}
