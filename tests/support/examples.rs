//! The example shops in Python, JavaScript and C, built from source with each
//! example's own one build command (the one its README gives), once per test
//! process, into `target/example-plugins/`. Their pinned toolchains are
//! installed on first use into `target/toolchains/` and kept there.
//!
//! Where a toolchain cannot be had (no Debian clang/wasi-libc for C, no
//! network for PyPI or npm) the story prints why and passes without running,
//! unless `BOTTEGA_REQUIRE_EXAMPLES=1` (set by CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// An example shop of another language than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Example {
    /// `plugins/bakery-python`: componentize-py.
    BakeryPython,
    /// `plugins/bookshop-js`: ComponentizeJS.
    BookshopJs,
    /// `plugins/florist-c`: wit-bindgen c, clang, wasm-tools.
    FloristC,
}

impl Example {
    pub fn folder(self) -> &'static str {
        match self {
            Example::BakeryPython => "bakery-python",
            Example::BookshopJs => "bookshop-js",
            Example::FloristC => "florist-c",
        }
    }

    /// The example's catalog (`catalog.json` beside its source).
    pub fn catalog(self) -> Vec<u8> {
        let path = workspace().join("plugins").join(self.folder()).join("catalog.json");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn build(self, out: &Path) -> Command {
        let folder = workspace().join("plugins").join(self.folder());
        let mut command = match self {
            Example::BakeryPython | Example::BookshopJs => {
                let mut command = Command::new(folder.join("build.sh"));
                command.arg(out);
                command
            }
            Example::FloristC => {
                let mut command = Command::new("make");
                command.arg("-C").arg(&folder).arg(format!("OUT={}", out.display()));
                command
            }
        };
        command.env("BOTTEGA_TOOLCHAINS", toolchains());
        command
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}

/// Compiled plugins shared by the stories of this and later test runs (the
/// compiled cache is keyed by content and engine, so sharing is safe): a
/// Python plugin takes the host seconds to compile, once.
pub fn shared_compiled_cache() -> PathBuf {
    target_dir().join("test-compiled-cache")
}

/// The toolchains the examples' build commands install, shared by test runs.
pub fn toolchains() -> PathBuf {
    target_dir().join("toolchains")
}

/// A cargo target folder for plugins built outside the workspace (starters).
pub fn scratch_target_dir() -> PathBuf {
    target_dir().join("starter-plugins")
}

/// Runs a build; `Err` holds its output when it fails.
pub fn run(mut command: Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `Some` for a build that worked; for one that did not, a panic where CI
/// requires the toolchains, else `None` after saying why.
pub fn required<T>(what: &str, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(why) if std::env::var("BOTTEGA_REQUIRE_EXAMPLES").as_deref() == Ok("1") => {
            panic!("{what} could not be built: {why}")
        }
        Err(why) => {
            eprintln!("skipped: {what} could not be built here: {why}");
            None
        }
    }
}

static BUILT: [OnceLock<Result<Vec<u8>, String>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// The example's component, built once per test process; `None` (after
/// saying why) where its toolchain is missing and CI does not require it.
pub fn built(example: Example) -> Option<Vec<u8>> {
    let slot = &BUILT[example as usize];
    let result = slot.get_or_init(|| {
        let out = target_dir().join("example-plugins").join(format!("{}.wasm", example.folder().replace('-', "_")));
        let started = std::time::Instant::now();
        run(example.build(&out))?;
        eprintln!("built {} in {:.1?}", example.folder(), started.elapsed());
        std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))
    });
    required(&format!("plugins/{}", example.folder()), result.clone())
}
