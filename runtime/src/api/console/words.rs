//! The console's words in the languages of the shops' markets (English,
//! Italian, Spanish, Indonesian, Hindi), keyed by stable ids ([`Word`]),
//! chosen by the shop's locale ([`Lang::of`]). Every page a signed-in person
//! sees takes its words from here; money is formatted for the same locale
//! (`money::format_localized`) and times by the shop's clock (`clock.rs`).
//! The pages before signing in (sign-in, accepting an invitation) know no
//! shop yet and speak English.
//!
//! A word is one line of `words!`: its id and its five texts, in the
//! order English, Italian, Spanish, Indonesian, Hindi, so a word cannot be
//! added without every language. A text with `{}` takes arguments
//! ([`Word::fill`]), the same number in every language (a unit test checks).

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
    /// Every language, in the order of a word's texts.
    #[cfg(test)]
    pub const ALL: [Lang; 5] = [Lang::En, Lang::It, Lang::Es, Lang::Id, Lang::Hi];

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

    /// The position of this language's text in a word's texts.
    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::It => 1,
            Lang::Es => 2,
            Lang::Id => 3,
            Lang::Hi => 4,
        }
    }
}

/// Declares [`Word`]: each id with its texts in English, Italian, Spanish,
/// Indonesian and Hindi.
macro_rules! words {
    ($($id:ident => [$en:expr, $it:expr, $es:expr, $ind:expr, $hi:expr $(,)?],)*) => {
        /// A word (or phrase) of the console, by its stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Word {
            $($id,)*
        }

        impl Word {
            /// Every word, for the test that each has a text in each language.
            #[cfg(test)]
            pub const ALL: &[Word] = &[$(Word::$id,)*];

            /// The word's texts: English, Italian, Spanish, Indonesian, Hindi.
            fn texts(self) -> [&'static str; 5] {
                match self {
                    $(Word::$id => [$en, $it, $es, $ind, $hi],)*
                }
            }
        }
    };
}

words! {
    // The frame of every page.
    Home => ["Home", "Home", "Inicio", "Beranda", "होम"],
    Inbox => ["Inbox", "Conversazioni", "Bandeja", "Kotak masuk", "इनबॉक्स"],
    Orders => ["Orders", "Ordini", "Pedidos", "Pesanan", "ऑर्डर"],
    Catalog => ["Catalog", "Catalogo", "Catálogo", "Katalog", "कैटलॉग"],
    Bot => ["Bot", "Bot", "Bot", "Bot", "बॉट"],
    Team => ["Team", "Squadra", "Equipo", "Tim", "टीम"],
    Account => ["Account", "Account", "Cuenta", "Akun", "खाता"],
    Billing => ["Billing", "Fatturazione", "Facturación", "Penagihan", "बिलिंग"],
    Privacy => ["Privacy", "Privacy", "Privacidad", "Privasi", "गोपनीयता"],
    SignOut => ["Sign out", "Esci", "Cerrar sesión", "Keluar", "साइन आउट"],
    SignOutEverywhere => ["Sign out everywhere", "Esci ovunque", "Cerrar sesión en todas partes", "Keluar dari semua perangkat", "हर जगह से साइन आउट"],
    // Home.
    Today => ["Today", "Oggi", "Hoy", "Hari ini", "आज"],
    OrdersToday => ["Orders today", "Ordini di oggi", "Pedidos de hoy", "Pesanan hari ini", "आज के ऑर्डर"],
    SalesToday => ["Sales today", "Vendite di oggi", "Ventas de hoy", "Penjualan hari ini", "आज की बिक्री"],
    WaitingForAPerson => ["Waiting for a person", "In attesa di una persona", "Esperando a una persona", "Menunggu petugas", "किसी व्यक्ति की प्रतीक्षा में"],
    LongestWait => ["Longest wait", "Attesa più lunga", "Espera más larga", "Tunggu terlama", "सबसे लंबी प्रतीक्षा"],
    NobodyWaits => ["nobody waits", "nessuno in attesa", "nadie espera", "tidak ada yang menunggu", "कोई प्रतीक्षा नहीं कर रहा"],
    FailuresLastHour => ["failures in the last hour", "errori nell'ultima ora", "fallos en la última hora", "kegagalan dalam satu jam terakhir", "पिछले घंटे में विफलताएँ"],
    NoBot => ["none", "nessuno", "ninguno", "tidak ada", "कोई नहीं"],
    BotSwitchedOff => ["The bot is switched off: {}", "Il bot è spento: {}", "El bot está apagado: {}", "Bot dimatikan: {}", "बॉट बंद है: {}"],
    // The inbox's list.
    NoConversations => ["No conversations yet.", "Ancora nessuna conversazione.", "Aún no hay conversaciones.", "Belum ada percakapan.", "अभी कोई बातचीत नहीं।"],
    Customer => ["Customer", "Cliente", "Cliente", "Pelanggan", "ग्राहक"],
    Channel => ["Channel", "Canale", "Canal", "Kanal", "चैनल"],
    WhoAnswers => ["Who answers", "Chi risponde", "Quién responde", "Yang menjawab", "कौन जवाब देता है"],
    LastMessage => ["Last message", "Ultimo messaggio", "Último mensaje", "Pesan terakhir", "अंतिम संदेश"],
    WaitingFor => ["waiting {}", "in attesa da {}", "esperando {}", "menunggu {}", "{} से प्रतीक्षा में"],
    WithAgent => ["with {}", "con {}", "con {}", "dengan {}", "{} के साथ"],
    TheBot => ["bot", "bot", "bot", "bot", "बॉट"],
    // A thread.
    ConversationWith => ["Conversation with {}", "Conversazione con {}", "Conversación con {}", "Percakapan dengan {}", "{} के साथ बातचीत"],
    MessagesCount => ["{} messages", "{} messaggi", "{} mensajes", "{} pesan", "{} संदेश"],
    PersonAnswers => ["{} answers.", "Risponde {}.", "Responde {}.", "{} menjawab.", "{} जवाब दे रहे हैं।"],
    APersonAnswers => ["A person answers.", "Risponde una persona.", "Responde una persona.", "Seorang petugas menjawab.", "एक व्यक्ति जवाब दे रहा है।"],
    BotAnswers => ["The bot answers.", "Risponde il bot.", "Responde el bot.", "Bot yang menjawab.", "बॉट जवाब दे रहा है।"],
    Cart => ["Cart", "Carrello", "Carrito", "Keranjang", "कार्ट"],
    CartEmpty => ["The cart is empty.", "Il carrello è vuoto.", "El carrito está vacío.", "Keranjang kosong.", "कार्ट खाली है।"],
    NoOrdersYet => ["No orders yet.", "Ancora nessun ordine.", "Aún no hay pedidos.", "Belum ada pesanan.", "अभी कोई ऑर्डर नहीं।"],
    WindowOpen => ["WhatsApp's 24-hour window is open for {} more.", "La finestra di 24 ore di WhatsApp resta aperta per altri {}.", "La ventana de 24 horas de WhatsApp sigue abierta {} más.", "Jendela 24 jam WhatsApp masih terbuka {} lagi.", "WhatsApp की 24 घंटे की विंडो अभी {} और खुली है।"],
    WindowClosed => [
        "WhatsApp's 24-hour window is closed: the customer last wrote more than 24 hours ago, and WhatsApp delivers no free-form message until they write again.",
        "La finestra di 24 ore di WhatsApp è chiusa: il cliente ha scritto l'ultima volta più di 24 ore fa, e WhatsApp non consegna messaggi liberi finché non scrive di nuovo.",
        "La ventana de 24 horas de WhatsApp está cerrada: el cliente escribió por última vez hace más de 24 horas, y WhatsApp no entrega mensajes libres hasta que vuelva a escribir.",
        "Jendela 24 jam WhatsApp tertutup: pelanggan terakhir menulis lebih dari 24 jam lalu, dan WhatsApp tidak mengirim pesan bebas sampai mereka menulis lagi.",
        "WhatsApp की 24 घंटे की विंडो बंद है: ग्राहक ने आखिरी बार 24 घंटे से पहले लिखा था, और जब तक वे फिर से न लिखें WhatsApp कोई मुक्त संदेश नहीं पहुँचाता।",
    ],
    Reply => ["Reply", "Risposta", "Respuesta", "Balasan", "जवाब"],
    Send => ["Send", "Invia", "Enviar", "Kirim", "भेजें"],
    HandBack => ["Hand back to the bot", "Restituisci al bot", "Devolver al bot", "Kembalikan ke bot", "बॉट को वापस सौंपें"],
    HeldByAnother => ["Another person holds this conversation.", "Un'altra persona segue questa conversazione.", "Otra persona atiende esta conversación.", "Orang lain sedang menangani percakapan ini.", "यह बातचीत किसी और के पास है।"],
    TakeOver => ["Take over", "Prendi in carico", "Atender", "Ambil alih", "संभालें"],
    ResumeBot => ["Resume the bot", "Riattiva il bot", "Reanudar el bot", "Lanjutkan bot", "बॉट फिर से चालू करें"],
    PauseBot => ["Pause the bot for this customer", "Metti in pausa il bot per questo cliente", "Pausar el bot para este cliente", "Jeda bot untuk pelanggan ini", "इस ग्राहक के लिए बॉट रोकें"],
    QuickReplies => ["Quick replies", "Risposte rapide", "Respuestas rápidas", "Balasan cepat", "त्वरित जवाब"],
    PrivateNotes => ["Private notes", "Note private", "Notas privadas", "Catatan pribadi", "निजी नोट"],
    NotesArePrivate => ["Seen by your team only: never sent to the customer.", "Visibili solo alla tua squadra: mai inviate al cliente.", "Solo las ve tu equipo: nunca se envían al cliente.", "Hanya dilihat tim Anda: tidak pernah dikirim ke pelanggan.", "केवल आपकी टीम देखती है: ग्राहक को कभी नहीं भेजा जाता।"],
    NoNotes => ["No notes yet.", "Ancora nessuna nota.", "Aún no hay notas.", "Belum ada catatan.", "अभी कोई नोट नहीं।"],
    Note => ["Note", "Nota", "Nota", "Catatan", "नोट"],
    AddNote => ["Add note", "Aggiungi nota", "Añadir nota", "Tambah catatan", "नोट जोड़ें"],
    // Orders.
    EveryState => ["every state", "ogni stato", "todos los estados", "semua status", "हर स्थिति"],
    State => ["State", "Stato", "Estado", "Status", "स्थिति"],
    Filter => ["Filter", "Filtra", "Filtrar", "Saring", "छाँटें"],
    ExportCsv => ["Export CSV", "Esporta CSV", "Exportar CSV", "Ekspor CSV", "CSV निर्यात करें"],
    Order => ["Order", "Ordine", "Pedido", "Pesanan", "ऑर्डर"],
    Created => ["Created", "Creato", "Creado", "Dibuat", "बनाया गया"],
    Total => ["Total", "Totale", "Total", "Total", "कुल"],
    OrderNumber => ["Order #{}", "Ordine n. {}", "Pedido n.º {}", "Pesanan #{}", "ऑर्डर #{}"],
    MarkShipped => ["Mark shipped", "Segna come spedito", "Marcar como enviado", "Tandai dikirim", "भेजा गया चिह्नित करें"],
    MarkDelivered => ["Mark delivered", "Segna come consegnato", "Marcar como entregado", "Tandai diterima", "पहुँचाया गया चिह्नित करें"],
    Cancel => ["Cancel", "Annulla", "Cancelar", "Batalkan", "रद्द करें"],
    RefundLabel => ["Refund", "Rimborso", "Reembolso", "Pengembalian dana", "रिफ़ंड"],
    RefundButton => ["Refund…", "Rimborsa…", "Reembolsar…", "Kembalikan dana…", "रिफ़ंड करें…"],
    CapturedRefunded => ["Captured {} · refunded {}", "Incassati {} · rimborsati {}", "Cobrado {} · reembolsado {}", "Diterima {} · dikembalikan {}", "प्राप्त {} · लौटाया {}"],
    Timeline => ["Timeline", "Cronologia", "Historial", "Riwayat", "समयरेखा"],
    RefundOrderQuestion => ["Refund order #{}?", "Rimborsare l'ordine n. {}?", "¿Reembolsar el pedido n.º {}?", "Kembalikan dana pesanan #{}?", "ऑर्डर #{} का रिफ़ंड करें?"],
    GiveBack => ["Give back {} of {} to the customer's card.", "Restituisci {} di {} sulla carta del cliente.", "Devolver {} de {} a la tarjeta del cliente.", "Kembalikan {} dari {} ke kartu pelanggan.", "ग्राहक के कार्ड पर {} में से {} लौटाएँ।"],
    CannotBeUndone => ["This cannot be undone.", "Non si può annullare.", "No se puede deshacer.", "Ini tidak dapat dibatalkan.", "इसे पलटा नहीं जा सकता।"],
    ConfirmRefund => ["Confirm the refund", "Conferma il rimborso", "Confirmar el reembolso", "Konfirmasi pengembalian dana", "रिफ़ंड की पुष्टि करें"],
    BackToOrder => ["Back to the order", "Torna all'ordine", "Volver al pedido", "Kembali ke pesanan", "ऑर्डर पर वापस जाएँ"],
    // The catalog.
    Search => ["Search", "Cerca", "Buscar", "Cari", "खोजें"],
    AddProduct => ["Add a product", "Aggiungi un prodotto", "Añadir un producto", "Tambah produk", "उत्पाद जोड़ें"],
    ImportCsvTitle => ["Import a CSV", "Importa un CSV", "Importar un CSV", "Impor CSV", "CSV आयात करें"],
    CsvFile => ["File (.csv)", "File (.csv)", "Archivo (.csv)", "Berkas (.csv)", "फ़ाइल (.csv)"],
    Import => ["Import", "Importa", "Importar", "Impor", "आयात"],
    Product => ["Product", "Prodotto", "Producto", "Produk", "उत्पाद"],
    Section => ["Section", "Reparto", "Sección", "Bagian", "विभाग"],
    Price => ["Price", "Prezzo", "Precio", "Harga", "कीमत"],
    Stock => ["Stock", "Scorte", "Existencias", "Stok", "स्टॉक"],
    Available => ["Available", "Disponibile", "Disponible", "Tersedia", "उपलब्ध"],
    Yes => ["yes", "sì", "sí", "ya", "हाँ"],
    No => ["no", "no", "no", "tidak", "नहीं"],
    IdLabel => ["Id", "Id", "Id", "Id", "आईडी"],
    Name => ["Name", "Nome", "Nombre", "Nama", "नाम"],
    Description => ["Description", "Descrizione", "Descripción", "Deskripsi", "विवरण"],
    PhotoUrl => ["Photo URL", "URL della foto", "URL de la foto", "URL foto", "फ़ोटो URL"],
    Currency => ["Currency", "Valuta", "Moneda", "Mata uang", "मुद्रा"],
    Save => ["Save", "Salva", "Guardar", "Simpan", "सहेजें"],
    Photo => ["Photo", "Foto", "Foto", "Foto", "फ़ोटो"],
    ImageUpTo => ["Image (PNG, JPEG, WebP or GIF, at most {} KiB)", "Immagine (PNG, JPEG, WebP o GIF, al massimo {} KiB)", "Imagen (PNG, JPEG, WebP o GIF, como máximo {} KiB)", "Gambar (PNG, JPEG, WebP atau GIF, paling besar {} KiB)", "छवि (PNG, JPEG, WebP या GIF, अधिकतम {} KiB)"],
    UploadPhoto => ["Upload photo", "Carica foto", "Subir foto", "Unggah foto", "फ़ोटो अपलोड करें"],
    ImportSummary => ["{} created, {} updated, {} rejected.", "{} creati, {} aggiornati, {} rifiutati.", "{} creados, {} actualizados, {} rechazados.", "{} dibuat, {} diperbarui, {} ditolak.", "{} बनाए गए, {} अपडेट किए गए, {} अस्वीकृत।"],
    Row => ["Row", "Riga", "Fila", "Baris", "पंक्ति"],
    Result => ["Result", "Esito", "Resultado", "Hasil", "परिणाम"],
    Why => ["Why", "Motivo", "Motivo", "Alasan", "कारण"],
    BackToCatalog => ["Back to the catalog", "Torna al catalogo", "Volver al catálogo", "Kembali ke katalog", "कैटलॉग पर वापस जाएँ"],
    // The bot.
    Version => ["Version", "Versione", "Versión", "Versi", "संस्करण"],
    Uploaded => ["Uploaded", "Caricata", "Subida", "Diunggah", "अपलोड किया गया"],
    Failure => ["Failure", "Errore", "Fallo", "Kegagalan", "विफलता"],
    RecentFailures => ["Recent failures", "Errori recenti", "Fallos recientes", "Kegagalan terbaru", "हाल की विफलताएँ"],
    RollBack => ["Roll back to this", "Torna a questa", "Volver a esta", "Kembali ke versi ini", "इस पर वापस जाएँ"],
    Activate => ["Activate", "Attiva", "Activar", "Aktifkan", "सक्रिय करें"],
    BreakerStopped => ["The breaker stopped the bot: {}", "L'interruttore ha fermato il bot: {}", "El disyuntor detuvo el bot: {}", "Pemutus menghentikan bot: {}", "ब्रेकर ने बॉट रोक दिया: {}"],
    CoolingUntil => ["No version can be activated until {} (the breaker tripped {} times).", "Nessuna versione può essere attivata fino a {} (l'interruttore è scattato {} volte).", "No se puede activar ninguna versión hasta {} (el disyuntor saltó {} veces).", "Tidak ada versi yang bisa diaktifkan sampai {} (pemutus terpicu {} kali).", "{} तक कोई संस्करण सक्रिय नहीं हो सकता (ब्रेकर {} बार ट्रिप हुआ)।"],
    UploadVersion => ["Upload a version", "Carica una versione", "Subir una versión", "Unggah versi", "संस्करण अपलोड करें"],
    Component => ["Component (.wasm)", "Componente (.wasm)", "Componente (.wasm)", "Komponen (.wasm)", "कंपोनेंट (.wasm)"],
    ActivateOnceCompiled => ["Activate once compiled", "Attiva appena compilata", "Activar al compilarse", "Aktifkan setelah dikompilasi", "कंपाइल होते ही सक्रिय करें"],
    Upload => ["Upload", "Carica", "Subir", "Unggah", "अपलोड करें"],
    // The team.
    You => ["you", "tu", "tú", "Anda", "आप"],
    ChangeRole => ["Change role", "Cambia ruolo", "Cambiar rol", "Ubah peran", "भूमिका बदलें"],
    Remove => ["Remove", "Rimuovi", "Quitar", "Hapus", "हटाएँ"],
    Until => ["until {}", "fino a {}", "hasta {}", "sampai {}", "{} तक"],
    Email => ["Email", "Email", "Correo", "Email", "ईमेल"],
    Role => ["Role", "Ruolo", "Rol", "Peran", "भूमिका"],
    InviteSomeone => ["Invite someone", "Invita qualcuno", "Invitar a alguien", "Undang seseorang", "किसी को आमंत्रित करें"],
    Invite => ["Invite", "Invita", "Invitar", "Undang", "आमंत्रित करें"],
    OpenInvitations => ["Open invitations", "Inviti aperti", "Invitaciones abiertas", "Undangan terbuka", "खुले निमंत्रण"],
    SendThisLink => ["Send this link to {} (it works once, for 7 days; it is not shown again):", "Invia questo link a {} (funziona una volta, per 7 giorni; non viene più mostrato):", "Envía este enlace a {} (funciona una vez, durante 7 días; no se vuelve a mostrar):", "Kirim tautan ini ke {} (berlaku sekali, selama 7 hari; tidak ditampilkan lagi):", "यह लिंक {} को भेजें (यह एक बार, 7 दिनों तक काम करता है; फिर नहीं दिखाया जाएगा):"],
    // The account.
    YourAccount => ["Your account", "Il tuo account", "Tu cuenta", "Akun Anda", "आपका खाता"],
    SecondFactor => ["Second factor", "Secondo fattore", "Segundo factor", "Faktor kedua", "दूसरा कारक"],
    TotpIsOn => ["A second factor is on: signing in asks for a code from your authenticator app.", "Il secondo fattore è attivo: l'accesso chiede un codice dalla tua app di autenticazione.", "El segundo factor está activado: al iniciar sesión se pide un código de tu app de autenticación.", "Faktor kedua aktif: masuk meminta kode dari aplikasi autentikator Anda.", "दूसरा कारक चालू है: साइन इन करते समय आपके ऑथेंटिकेटर ऐप का कोड माँगा जाता है।"],
    CurrentCode => ["Current code", "Codice attuale", "Código actual", "Kode saat ini", "वर्तमान कोड"],
    TurnOff => ["Turn it off", "Disattiva", "Desactivar", "Matikan", "बंद करें"],
    TotpIsOff => ["No second factor yet. Add this key to an authenticator app, then give the code it shows.", "Ancora nessun secondo fattore. Aggiungi questa chiave a un'app di autenticazione, poi inserisci il codice che mostra.", "Aún no hay segundo factor. Añade esta clave a una app de autenticación y escribe el código que muestra.", "Belum ada faktor kedua. Tambahkan kunci ini ke aplikasi autentikator, lalu masukkan kode yang ditampilkannya.", "अभी कोई दूसरा कारक नहीं। यह कुंजी किसी ऑथेंटिकेटर ऐप में जोड़ें, फिर उसका दिखाया कोड दें।"],
    Key => ["Key", "Chiave", "Clave", "Kunci", "कुंजी"],
    Code => ["Code", "Codice", "Código", "Kode", "कोड"],
    TurnOn => ["Turn on", "Attiva", "Activar", "Aktifkan", "चालू करें"],
    // Billing.
    UsageToDate => ["Usage this period ({})", "Utilizzo di questo periodo ({})", "Uso de este periodo ({})", "Penggunaan periode ini ({})", "इस अवधि का उपयोग ({})"],
    Metric => ["Metric", "Metrica", "Métrica", "Metrik", "मीट्रिक"],
    Events => ["Events", "Eventi", "Eventos", "Kejadian", "घटनाएँ"],
    Quantity => ["Quantity", "Quantità", "Cantidad", "Kuantitas", "मात्रा"],
    NoUsageYet => ["Nothing metered yet this period.", "Ancora nulla di misurato in questo periodo.", "Aún no se ha medido nada en este periodo.", "Belum ada yang terukur pada periode ini.", "इस अवधि में अभी तक कुछ नहीं मापा गया।"],
    UpcomingInvoice => ["Upcoming invoice", "Prossima fattura", "Próxima factura", "Faktur mendatang", "आगामी चालान"],
    NoPlan => ["No plan prices this period yet.", "Nessun piano definisce ancora i prezzi di questo periodo.", "Ningún plan fija aún los precios de este periodo.", "Belum ada paket yang menentukan harga periode ini.", "इस अवधि की कीमत अभी किसी योजना से तय नहीं है।"],
    DraftTotal => ["So far in {}: {}", "Finora in {}: {}", "Hasta ahora en {}: {}", "Sejauh ini pada {}: {}", "{} में अब तक: {}"],
    Unpriced => ["Not priced (the operator will look at it): {}", "Senza prezzo (se ne occuperà il gestore): {}", "Sin precio (el operador lo revisará): {}", "Belum berharga (operator akan memeriksanya): {}", "बिना कीमत (ऑपरेटर इसे देखेगा): {}"],
    Period => ["Period", "Periodo", "Periodo", "Periode", "अवधि"],
    Amount => ["Amount", "Importo", "Importe", "Jumlah", "राशि"],
    Subtotal => ["Subtotal", "Imponibile", "Subtotal", "Subtotal", "उप-योग"],
    YourPlan => ["Your plan", "Il tuo piano", "Tu plan", "Paket Anda", "आपकी योजना"],
    PlanVersion => ["Plan version", "Versione del piano", "Versión del plan", "Versi paket", "योजना संस्करण"],
    MonthlyFee => ["Monthly fee", "Canone mensile", "Cuota mensual", "Biaya bulanan", "मासिक शुल्क"],
    SpendingCap => ["Spending cap", "Tetto di spesa", "Límite de gasto", "Batas pengeluaran", "खर्च की सीमा"],
    NoCap => ["no cap", "nessun tetto", "sin límite", "tanpa batas", "कोई सीमा नहीं"],
    MessagesIncluded => ["Messages included", "Messaggi inclusi", "Mensajes incluidos", "Pesan yang termasuk", "शामिल संदेश"],
    BotComputeIncluded => ["Bot compute included (CPU ms)", "Calcolo del bot incluso (ms di CPU)", "Cómputo del bot incluido (ms de CPU)", "Komputasi bot yang termasuk (ms CPU)", "शामिल बॉट कंप्यूट (CPU ms)"],
    InvoicesDue => ["Invoices are due", "Le fatture scadono", "Las facturas vencen", "Faktur jatuh tempo", "चालान देय होते हैं"],
    DaysCount => ["{} days after they are issued", "{} giorni dopo l'emissione", "{} días después de emitirse", "{} hari setelah diterbitkan", "जारी होने के {} दिन बाद"],
    Invoices => ["Invoices", "Fatture", "Facturas", "Faktur", "चालान"],
    NoInvoicesYet => ["No invoices yet.", "Ancora nessuna fattura.", "Aún no hay facturas.", "Belum ada faktur.", "अभी कोई चालान नहीं।"],
    Number => ["Number", "Numero", "Número", "Nomor", "संख्या"],
    InvoiceNumber => ["Invoice #{}", "Fattura n. {}", "Factura n.º {}", "Faktur #{}", "चालान #{}"],
    Due => ["Due", "Scadenza", "Vencimiento", "Jatuh tempo", "देय तिथि"],
    PaidOn => ["Paid", "Pagata", "Pagada", "Dibayar", "भुगतान हुआ"],
    DownloadPdf => ["Download the PDF", "Scarica il PDF", "Descargar el PDF", "Unduh PDF", "PDF डाउनलोड करें"],
    DownloadCsv => ["Download the CSV", "Scarica il CSV", "Descargar el CSV", "Unduh CSV", "CSV डाउनलोड करें"],
    BackToBilling => ["Back to billing", "Torna alla fatturazione", "Volver a facturación", "Kembali ke penagihan", "बिलिंग पर वापस जाएँ"],
    // Privacy.
    Retention => ["Retention", "Conservazione", "Conservación", "Retensi", "डेटा रखने की अवधि"],
    RetentionDays => ["Message texts are erased after {} days.", "I testi dei messaggi vengono cancellati dopo {} giorni.", "Los textos de los mensajes se borran a los {} días.", "Teks pesan dihapus setelah {} hari.", "संदेशों के पाठ {} दिनों के बाद मिटा दिए जाते हैं।"],
    RetentionOff => ["Message texts are kept until the customer is erased.", "I testi dei messaggi sono conservati finché il cliente non viene cancellato.", "Los textos de los mensajes se guardan hasta que se borra al cliente.", "Teks pesan disimpan sampai pelanggan dihapus.", "संदेशों के पाठ तब तक रखे जाते हैं जब तक ग्राहक को मिटाया न जाए।"],
    OldestKept => ["The oldest text kept is {} days old.", "Il testo più vecchio conservato ha {} giorni.", "El texto más antiguo guardado tiene {} días.", "Teks tertua yang disimpan berumur {} hari.", "रखा गया सबसे पुराना पाठ {} दिन पुराना है।"],
    NothingKept => ["No message text is kept.", "Nessun testo di messaggio è conservato.", "No se guarda ningún texto de mensaje.", "Tidak ada teks pesan yang disimpan.", "कोई संदेश पाठ नहीं रखा गया है।"],
    KeepDays => ["Erase message texts after (days; empty: keep them)", "Cancella i testi dei messaggi dopo (giorni; vuoto: conservali)", "Borrar los textos de los mensajes a los (días; vacío: guardarlos)", "Hapus teks pesan setelah (hari; kosong: simpan)", "संदेशों के पाठ इतने दिनों बाद मिटाएँ (खाली: रखें)"],
    CustomerData => ["A customer's data", "I dati di un cliente", "Los datos de un cliente", "Data seorang pelanggan", "किसी ग्राहक का डेटा"],
    CustomerReference => ["Customer (pseudonym, phone number or user id)", "Cliente (pseudonimo, numero di telefono o id utente)", "Cliente (seudónimo, número de teléfono o id de usuario)", "Pelanggan (pseudonim, nomor telepon, atau id pengguna)", "ग्राहक (छद्मनाम, फ़ोन नंबर या यूज़र आईडी)"],
    ExportJson => ["Export JSON", "Esporta JSON", "Exportar JSON", "Ekspor JSON", "JSON निर्यात करें"],
    EraseButton => ["Erase…", "Cancella…", "Borrar…", "Hapus…", "मिटाएँ…"],
    EraseQuestion => ["Erase customer {}?", "Cancellare il cliente {}?", "¿Borrar al cliente {}?", "Hapus pelanggan {}?", "ग्राहक {} को मिटाएँ?"],
    EraseExplained => [
        "Their key is destroyed: their handles, messages, queued sends, the bot's entries about them and their web chat sessions go; their orders stay for the law, under a pseudonym that leads to no one. Your webhook is told.",
        "La sua chiave viene distrutta: i suoi recapiti, i messaggi, gli invii in coda, le voci del bot che lo riguardano e le sessioni di chat web spariscono; i suoi ordini restano per legge, sotto uno pseudonimo che non porta a nessuno. Il tuo webhook viene avvisato.",
        "Su clave se destruye: sus identificadores, mensajes, envíos en cola, las entradas del bot sobre él y sus sesiones de chat web desaparecen; sus pedidos se quedan por ley, bajo un seudónimo que no lleva a nadie. Se avisa a tu webhook.",
        "Kuncinya dimusnahkan: identitas kontak, pesan, kiriman dalam antrean, entri bot tentang dia, dan sesi obrolan webnya hilang; pesanannya tetap disimpan sesuai hukum, dengan pseudonim yang tidak mengarah ke siapa pun. Webhook Anda diberi tahu.",
        "उनकी कुंजी नष्ट कर दी जाती है: उनके पहचानकर्ता, संदेश, कतार में भेजे जाने वाले संदेश, उनके बारे में बॉट की प्रविष्टियाँ और उनके वेब चैट सत्र हट जाते हैं; उनके ऑर्डर कानून के लिए एक ऐसे छद्मनाम के तहत रहते हैं जो किसी तक नहीं ले जाता। आपके वेबहुक को सूचित किया जाता है।",
    ],
    ConfirmErase => ["Confirm the erasure", "Conferma la cancellazione", "Confirmar el borrado", "Konfirmasi penghapusan", "मिटाने की पुष्टि करें"],
    BackToPrivacy => ["Back to privacy", "Torna alla privacy", "Volver a privacidad", "Kembali ke privasi", "गोपनीयता पर वापस जाएँ"],
    Erased => ["Customer {} was erased: {} messages erased, {} orders kept without a person.", "Il cliente {} è stato cancellato: {} messaggi cancellati, {} ordini conservati senza persona.", "Se borró al cliente {}: {} mensajes borrados, {} pedidos guardados sin persona.", "Pelanggan {} telah dihapus: {} pesan dihapus, {} pesanan disimpan tanpa identitas.", "ग्राहक {} को मिटा दिया गया: {} संदेश मिटाए गए, {} ऑर्डर बिना व्यक्ति के रखे गए।"],
    AuditTrail => ["Audit trail", "Registro di controllo", "Registro de auditoría", "Jejak audit", "ऑडिट ट्रेल"],
    When => ["When", "Quando", "Cuándo", "Kapan", "कब"],
    Who => ["Who", "Chi", "Quién", "Siapa", "कौन"],
    What => ["What", "Cosa", "Qué", "Apa", "क्या"],
    Subject => ["Subject", "Oggetto", "Objeto", "Subjek", "विषय"],
}

impl Word {
    /// The word in `lang`.
    pub fn in_(self, lang: Lang) -> &'static str {
        self.texts()[lang.index()]
    }

    /// The word in `lang`, HTML-escaped, with each `{}` replaced in turn by
    /// one of `html` (already HTML: escaped text or markup the page made).
    pub fn fill<S: AsRef<str>>(self, lang: Lang, html: &[S]) -> String {
        let mut parts = self.in_(lang).split("{}");
        let mut out = super::escape(parts.next().unwrap_or_default());
        let mut arguments = html.iter();
        for part in parts {
            if let Some(argument) = arguments.next() {
                out.push_str(argument.as_ref());
            }
            out.push_str(&super::escape(part));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_said_in_every_language() {
        for word in Word::ALL {
            let english = word.in_(Lang::En);
            for lang in Lang::ALL {
                let text = word.in_(lang);
                assert!(!text.trim().is_empty(), "{word:?} in {lang:?}");
                assert_eq!(
                    text.matches("{}").count(),
                    english.matches("{}").count(),
                    "{word:?}'s arguments in {lang:?}"
                );
            }
        }
        assert_eq!(Lang::of("it-IT"), Lang::It);
        assert_eq!(Lang::of("hi_IN"), Lang::Hi);
        assert_eq!(Lang::of("pt-BR"), Lang::En);
        assert_eq!(Word::OrdersToday.in_(Lang::Es), "Pedidos de hoy");
    }

    #[test]
    fn arguments_take_their_places_and_the_text_is_escaped() {
        assert_eq!(Word::PersonAnswers.fill(Lang::En, &["Sofia"]), "Sofia answers.");
        assert_eq!(Word::PersonAnswers.fill(Lang::It, &["Sofia"]), "Risponde Sofia.");
        assert_eq!(Word::ImportSummary.fill(Lang::En, &["1", "0", "2"]), "1 created, 0 updated, 2 rejected.");
        assert_eq!(Word::GiveBack.fill(Lang::En, &["<strong>€1</strong>", "€2"]).matches("<strong>").count(), 1);
        assert_eq!(Word::RefundOrderQuestion.fill(Lang::It, &["7"]), "Rimborsare l&#39;ordine n. 7?");
    }
}
