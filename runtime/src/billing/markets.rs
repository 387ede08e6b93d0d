//! The market of a WhatsApp recipient, as rate cards name it: the ISO 3166
//! alpha-2 country of the phone number's calling code (longest matching
//! prefix of the digits of `recipient_id`), or `*` ("other") when the number
//! is not in the table or not a number (a business-scoped user id).
//!
//! The table is deliberately small: the markets Meta prices on their own.
//! Calling code 1 is `US` (Meta prices North America as one market);
//! code 7 is `RU`. A rate card's `*` price covers every market not listed.

/// (calling code, market), longest codes tried first by [`market_of`].
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("7", "RU"),
    ("20", "EG"),
    ("27", "ZA"),
    ("30", "GR"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("36", "HU"),
    ("39", "IT"),
    ("40", "RO"),
    ("41", "CH"),
    ("43", "AT"),
    ("44", "GB"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO"),
    ("48", "PL"),
    ("49", "DE"),
    ("51", "PE"),
    ("52", "MX"),
    ("54", "AR"),
    ("55", "BR"),
    ("56", "CL"),
    ("57", "CO"),
    ("60", "MY"),
    ("61", "AU"),
    ("62", "ID"),
    ("63", "PH"),
    ("64", "NZ"),
    ("65", "SG"),
    ("66", "TH"),
    ("81", "JP"),
    ("82", "KR"),
    ("84", "VN"),
    ("86", "CN"),
    ("90", "TR"),
    ("91", "IN"),
    ("92", "PK"),
    ("212", "MA"),
    ("233", "GH"),
    ("234", "NG"),
    ("254", "KE"),
    ("351", "PT"),
    ("353", "IE"),
    ("852", "HK"),
    ("880", "BD"),
    ("966", "SA"),
    ("971", "AE"),
    ("972", "IL"),
];

/// The market of a recipient (`wa_id` digits, with or without `+`).
pub fn market_of(recipient: &str) -> &'static str {
    let digits = recipient.trim_start_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return "*";
    }
    (1..=3)
        .rev()
        .filter_map(|len| digits.get(..len))
        .find_map(|prefix| CALLING_CODES.iter().find(|(code, _)| *code == prefix).map(|(_, market)| *market))
        .unwrap_or("*")
}

#[cfg(test)]
mod tests {
    use super::market_of;

    #[test]
    fn markets_by_calling_code() {
        for (recipient, market) in [
            ("919876543210", "IN"),
            ("+5511987654321", "BR"),
            ("393331234567", "IT"),
            ("14155550123", "US"),
            ("971501234567", "AE"),
            ("2348012345678", "NG"),
            ("99912345", "*"),
            ("US.13491208655302741918", "*"),
            ("", "*"),
        ] {
            assert_eq!(market_of(recipient), market, "{recipient}");
        }
    }
}
