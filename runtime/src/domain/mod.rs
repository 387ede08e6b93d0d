//! The vocabulary every layer shares, as plain data: the typed states of
//! orders, payments and refunds, the priced cart an order keeps, what is
//! kept of a card, and what fees are metered and priced by (`billing`). A leaf: it imports nothing of the crate but `money`, so the
//! store decodes these types and commerce decides with them without either
//! importing the other's logic. The lifecycles that move them are in
//! `commerce/`.

pub mod billing;
pub mod card;
pub mod cart;
pub mod staff;
pub mod states;

/// Declares a state stored as a word (TEXT), decoded once at the storage
/// edge: the enum (serialized as the same snake_case words), `ALL`, `as_str`
/// (for binds), `Display`, `FromStr` (for query parameters) and
/// `TryFrom<String>` (for `#[sqlx(try_from = "String")]`), from one word list.
macro_rules! stored_state {
    ($(#[$meta:meta])* $name:ident ($what:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every state.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The word stored in SQL and shown in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(word: &str) -> Result<$name, String> {
                match word {
                    $($word => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{word}` (expected {})",
                        $what,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(word: String) -> Result<$name, String> {
                word.parse()
            }
        }
    };
}
pub(crate) use stored_state;
