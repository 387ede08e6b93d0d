//! `bottega plugin new --lang rust|python|js|c NAME`: a starter shop in a folder
//! of its own, in the language a business knows. It greets, searches the
//! catalog, shows a product and adds it to the basket; it carries its own copy
//! of the contract (`wit/shop.wit`) and builds with one command, the same
//! build files as the example shops in `plugins/` use.

use std::path::{Path, PathBuf};

/// A language a starter shop can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    C,
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(name: &str) -> Result<Language, String> {
        match name.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Language::Rust),
            "python" | "py" => Ok(Language::Python),
            "js" | "javascript" => Ok(Language::JavaScript),
            "c" => Ok(Language::C),
            other => Err(format!("unknown language `{other}`: choose rust, python, js or c")),
        }
    }
}

impl Language {
    /// The one command that builds the starter, run in its folder.
    pub fn build_command(self) -> &'static str {
        match self {
            Language::Rust => "cargo build --release --target wasm32-wasip2",
            Language::Python | Language::JavaScript => "./build.sh",
            Language::C => "make",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error("{0} already exists and is not empty; choose another name")]
    NotEmpty(PathBuf),
    #[error("the shop's name must start with a letter and hold only letters, digits, `-` and `_` (got `{0}`)")]
    BadName(String),
    #[error("cannot write {path}: {error}")]
    Write { path: PathBuf, error: std::io::Error },
}

const CONTRACT: &str = include_str!("../../../wit/shop.wit");
const SAMPLE_CATALOG: &str = r#"[
  {"id": "espresso", "name": "Espresso beans (250 g)", "description": "Dark roast", "price_minor": 850, "currency": "EUR", "stock": 20, "section": "Coffee"},
  {"id": "filter", "name": "Filter beans (250 g)", "description": "Light roast, fruity", "price_minor": 900, "currency": "EUR", "stock": 20, "section": "Coffee"},
  {"id": "mug", "name": "Stoneware mug", "description": "Handmade", "price_minor": 1500, "currency": "EUR", "stock": 5, "section": "Kitchen"}
]
"#;

/// The files of a starter shop named `name` (the folder's last component).
fn files(language: Language, name: &str) -> Vec<(&'static str, String)> {
    let stem = name.replace('-', "_");
    let mut files = vec![("wit/shop.wit", CONTRACT.to_string()), ("catalog.json", SAMPLE_CATALOG.to_string())];
    let (output, language_files): (String, Vec<(&'static str, String)>) = match language {
        Language::Rust => (
            format!("target/wasm32-wasip2/release/{stem}.wasm"),
            vec![
                ("Cargo.toml", include_str!("../../templates/rust/Cargo.toml").replace("{{name}}", name)),
                ("src/lib.rs", include_str!("../../templates/rust/lib.rs").to_string()),
                (".gitignore", "/target/\n".to_string()),
            ],
        ),
        Language::Python => (
            format!("{stem}.wasm"),
            vec![
                ("app.py", include_str!("../../templates/python/app.py").to_string()),
                ("build.sh", include_str!("../../../plugins/bakery-python/build.sh").to_string()),
                ("requirements.txt", include_str!("../../../plugins/bakery-python/requirements.txt").to_string()),
                (".gitignore", include_str!("../../../plugins/bakery-python/.gitignore").to_string()),
            ],
        ),
        Language::JavaScript => (
            format!("{stem}.wasm"),
            vec![
                ("shop.js", include_str!("../../templates/js/shop.js").to_string()),
                ("build.sh", include_str!("../../../plugins/bookshop-js/build.sh").to_string()),
                ("build.mjs", include_str!("../../../plugins/bookshop-js/build.mjs").to_string()),
                (
                    "package.json",
                    include_str!("../../../plugins/bookshop-js/package.json")
                        .replace("\"bookshop-js\"", &format!("\"{name}\""))
                        .replace("\"bookshop.js\"", "\"shop.js\"")
                        .replace("Folio: Bottega's example bookshop plugin in JavaScript", "A Bottega shop plugin"),
                ),
                (
                    "package-lock.json",
                    include_str!("../../../plugins/bookshop-js/package-lock.json")
                        .replace("\"bookshop-js\"", &format!("\"{name}\"")),
                ),
                (".gitignore", include_str!("../../../plugins/bookshop-js/.gitignore").to_string()),
            ],
        ),
        Language::C => (
            format!("{stem}.wasm"),
            vec![
                ("shop.c", include_str!("../../templates/c/shop.c").to_string()),
                ("Makefile", include_str!("../../../plugins/florist-c/Makefile").to_string()),
                (".gitignore", include_str!("../../../plugins/florist-c/.gitignore").to_string()),
            ],
        ),
    };
    files.extend(language_files);
    files.push(("README.md", readme(language, name, &output)));
    files
}

fn readme(language: Language, name: &str, output: &str) -> String {
    format!(
        "# {name}\n\nA Bottega shop plugin, started with `bottega plugin new --lang {lang}`. It implements\n\
         the contract in `wit/shop.wit` (`bottega:shop@1.1.0`).\n\n\
         Build:\n\n    {build}\n\nThen, with the `bottega` command:\n\n\
         \x20   bottega plugin check {output}\n\
         \x20   bottega plugin chat {output} --catalog catalog.json\n\
         \x20   BOTTEGA_API_KEY=bk_… bottega plugin upload {output}\n\n\
         The contract, the type mapping for this language and the limits a plugin runs under are\n\
         explained in Bottega's `docs/plugins.md`.\n",
        lang = match language {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::C => "c",
        },
        build = language.build_command(),
    )
}

/// Writes a starter shop into `dir` (created; it must not hold anything yet);
/// returns the files written and the path the build will produce.
pub fn create(dir: &Path, language: Language) -> Result<(Vec<PathBuf>, PathBuf), NewError> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(NewError::BadName(name));
    }
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(NewError::NotEmpty(dir.to_path_buf()));
    }
    let mut written = Vec::new();
    let mut output = dir.to_path_buf();
    for (relative, contents) in files(language, &name) {
        let path = dir.join(relative);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &contents)?;
            #[cfg(unix)]
            if relative.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        };
        write().map_err(|error| NewError::Write { path: path.clone(), error })?;
        written.push(path);
    }
    let stem = name.replace('-', "_");
    output.push(match language {
        Language::Rust => format!("target/wasm32-wasip2/release/{stem}.wasm"),
        _ => format!("{stem}.wasm"),
    });
    Ok((written, output))
}
