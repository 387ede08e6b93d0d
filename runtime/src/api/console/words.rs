//! The console's words in the languages of the shops' markets (English,
//! Italian, Spanish, Indonesian, Hindi), keyed by stable ids ([`Word`]),
//! chosen by the shop's locale ([`Lang::of`]). Money is formatted for the
//! same locale (`money::format_localized`). So far the frame of every page
//! (navigation, signing out) and the home page are localised; the other
//! pages' words are still English.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    It,
    Es,
    Id,
    Hi,
}

impl Lang {
    /// The language of a BCP 47 locale (`it-IT` is Italian); English for any other.
    pub fn of(locale: &str) -> Lang {
        let primary = locale.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "it" => Lang::It,
            "es" => Lang::Es,
            "id" => Lang::Id,
            "hi" => Lang::Hi,
            _ => Lang::En,
        }
    }

    /// The page's `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::It => "it",
            Lang::Es => "es",
            Lang::Id => "id",
            Lang::Hi => "hi",
        }
    }
}

/// A word (or phrase) of the console, by its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Home,
    Inbox,
    Orders,
    Catalog,
    Bot,
    Team,
    Account,
    SignOut,
    SignOutEverywhere,
    Today,
    OrdersToday,
    SalesToday,
    WaitingForAPerson,
    LongestWait,
    NobodyWaits,
    FailuresLastHour,
    NoBot,
}

impl Word {
    /// Every word, for the test that each has a text in each language.
    #[cfg(test)]
    pub const ALL: &[Word] = &[
        Word::Home,
        Word::Inbox,
        Word::Orders,
        Word::Catalog,
        Word::Bot,
        Word::Team,
        Word::Account,
        Word::SignOut,
        Word::SignOutEverywhere,
        Word::Today,
        Word::OrdersToday,
        Word::SalesToday,
        Word::WaitingForAPerson,
        Word::LongestWait,
        Word::NobodyWaits,
        Word::FailuresLastHour,
        Word::NoBot,
    ];

    /// The word in `lang`.
    pub fn in_(self, lang: Lang) -> &'static str {
        use Lang::*;
        match self {
            Word::Home => match lang {
                En => "Home",
                It => "Home",
                Es => "Inicio",
                Id => "Beranda",
                Hi => "होम",
            },
            Word::Inbox => match lang {
                En => "Inbox",
                It => "Conversazioni",
                Es => "Bandeja",
                Id => "Kotak masuk",
                Hi => "इनबॉक्स",
            },
            Word::Orders => match lang {
                En => "Orders",
                It => "Ordini",
                Es => "Pedidos",
                Id => "Pesanan",
                Hi => "ऑर्डर",
            },
            Word::Catalog => match lang {
                En => "Catalog",
                It => "Catalogo",
                Es => "Catálogo",
                Id => "Katalog",
                Hi => "कैटलॉग",
            },
            Word::Bot => match lang {
                En => "Bot",
                It => "Bot",
                Es => "Bot",
                Id => "Bot",
                Hi => "बॉट",
            },
            Word::Team => match lang {
                En => "Team",
                It => "Squadra",
                Es => "Equipo",
                Id => "Tim",
                Hi => "टीम",
            },
            Word::Account => match lang {
                En => "Account",
                It => "Account",
                Es => "Cuenta",
                Id => "Akun",
                Hi => "खाता",
            },
            Word::SignOut => match lang {
                En => "Sign out",
                It => "Esci",
                Es => "Cerrar sesión",
                Id => "Keluar",
                Hi => "साइन आउट",
            },
            Word::SignOutEverywhere => match lang {
                En => "Sign out everywhere",
                It => "Esci ovunque",
                Es => "Cerrar sesión en todas partes",
                Id => "Keluar dari semua perangkat",
                Hi => "हर जगह से साइन आउट",
            },
            Word::Today => match lang {
                En => "Today",
                It => "Oggi",
                Es => "Hoy",
                Id => "Hari ini",
                Hi => "आज",
            },
            Word::OrdersToday => match lang {
                En => "Orders today",
                It => "Ordini di oggi",
                Es => "Pedidos de hoy",
                Id => "Pesanan hari ini",
                Hi => "आज के ऑर्डर",
            },
            Word::SalesToday => match lang {
                En => "Sales today",
                It => "Vendite di oggi",
                Es => "Ventas de hoy",
                Id => "Penjualan hari ini",
                Hi => "आज की बिक्री",
            },
            Word::WaitingForAPerson => match lang {
                En => "Waiting for a person",
                It => "In attesa di una persona",
                Es => "Esperando a una persona",
                Id => "Menunggu petugas",
                Hi => "किसी व्यक्ति की प्रतीक्षा में",
            },
            Word::LongestWait => match lang {
                En => "Longest wait",
                It => "Attesa più lunga",
                Es => "Espera más larga",
                Id => "Tunggu terlama",
                Hi => "सबसे लंबी प्रतीक्षा",
            },
            Word::NobodyWaits => match lang {
                En => "nobody waits",
                It => "nessuno in attesa",
                Es => "nadie espera",
                Id => "tidak ada yang menunggu",
                Hi => "कोई प्रतीक्षा नहीं कर रहा",
            },
            Word::FailuresLastHour => match lang {
                En => "failures in the last hour",
                It => "errori nell'ultima ora",
                Es => "fallos en la última hora",
                Id => "kegagalan dalam satu jam terakhir",
                Hi => "पिछले घंटे में विफलताएँ",
            },
            Word::NoBot => match lang {
                En => "none",
                It => "nessuno",
                Es => "ninguno",
                Id => "tidak ada",
                Hi => "कोई नहीं",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_said_in_every_language() {
        for lang in [Lang::En, Lang::It, Lang::Es, Lang::Id, Lang::Hi] {
            for word in Word::ALL {
                assert!(!word.in_(lang).trim().is_empty(), "{word:?} in {lang:?}");
            }
        }
        assert_eq!(Lang::of("it-IT"), Lang::It);
        assert_eq!(Lang::of("hi_IN"), Lang::Hi);
        assert_eq!(Lang::of("pt-BR"), Lang::En);
        assert_eq!(Word::OrdersToday.in_(Lang::Es), "Pedidos de hoy");
    }
}
