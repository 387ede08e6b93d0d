//! `bottega plugin …`: the developer loop's subcommands, their flags, and what
//! each prints. `upload` is a typed client of the HTTP API (`POST /v1/plugins`,
//! then `GET /v1/plugins/{id}` until the background compile is over).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::PluginHostConfig;

/// A plugin developer's loop: what production will enforce, before upload.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Start a shop plugin in a new folder NAME, in Rust, Python, JavaScript
    /// or C: a working starter that builds with one command.
    New {
        /// rust, python, js or c.
        #[arg(long)]
        lang: super::new::Language,
        /// The folder to create; its name is the plugin's.
        name: PathBuf,
    },
    /// Validate a component against the contract versions this host serves,
    /// list the capabilities it imports, and compile it as an upload would.
    Check {
        /// The component (`.wasm`).
        file: PathBuf,
    },
    /// Chat with a plugin locally (no server, no database to set up): each
    /// line you type is a customer message; `/tap ID`, `/product ID`,
    /// `/browse [QUERY]` and `/cart ID:QTY…` send the other kinds. After each
    /// turn: time, memory and output against production's limits.
    Chat {
        file: PathBuf,
        /// Products for the shop: a JSON array, as `POST /v1/products/import` takes.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// The shop's currency (ISO 4217).
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Replay recorded conversations (as `GET /v1/conversations/{id}/export`
    /// gives them) against a plugin and show where its replies differ; exits 1
    /// if any do.
    Test {
        file: PathBuf,
        /// Recorded conversations (JSON files).
        #[arg(required = true)]
        cases: Vec<PathBuf>,
    },
    /// Upload a component to a running runtime as the business whose API key is given.
    Upload {
        file: PathBuf,
        /// The runtime's address.
        #[arg(long, env = "BOTTEGA_URL", default_value_t = format!("http://{}", crate::config::defaults::LISTEN))]
        url: String,
        /// The business's API key.
        #[arg(long, env = "BOTTEGA_API_KEY", hide_env_values = true)]
        key: String,
        /// Keep the current version answering; activate this one later.
        #[arg(long)]
        stage: bool,
    },
}

impl PluginCommand {
    /// Runs the subcommand; a refused check or a differing replay exits 1.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            PluginCommand::New { lang, name } => new_starter(lang, &name),
            PluginCommand::Check { file } => check(&file).await,
            PluginCommand::Chat { file, catalog, currency } => chat(&file, catalog.as_deref(), &currency).await,
            PluginCommand::Test { file, cases } => test(&file, &cases).await,
            PluginCommand::Upload { file, url, key, stage } => upload(&file, Runtime::new(&url, key), stage).await,
        }
    }
}

fn new_starter(lang: super::new::Language, name: &Path) -> anyhow::Result<ExitCode> {
    let (_, output) = super::new::create(name, lang)?;
    println!("Created {} ({lang:?}). Build it with:", name.display());
    println!();
    println!("    cd {} && {}", name.display(), lang.build_command());
    println!();
    println!("then try it: bottega plugin chat {} --catalog {}", output.display(), name.join("catalog.json").display());
    Ok(ExitCode::SUCCESS)
}

async fn check(file: &Path) -> anyhow::Result<ExitCode> {
    let wasm = read(file)?;
    let config = PluginHostConfig::default();
    let report = match super::check(&wasm, &config).await {
        Ok(report) => report,
        Err(refused) => {
            eprintln!("{}: refused: {refused}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("{}: accepted", file.display());
    println!("  world         {}", report.world);
    let imports: Vec<String> = report.capabilities.iter().map(ToString::to_string).collect();
    println!("  imports       {}", if imports.is_empty() { "nothing".into() } else { imports.join(", ") });
    println!(
        "  size          {} of {} allowed for {} plugins ({:.0}%)",
        bytes(report.size_bytes as u64),
        bytes(report.max_upload_bytes as u64),
        report.language_class,
        report.size_bytes as f64 * 100.0 / report.max_upload_bytes.max(1) as f64
    );
    println!("  compiled in   {:.1?}", report.compile_time);
    println!("  sha256        {}", report.sha256);
    println!("A business must be granted every capability it imports.");
    Ok(ExitCode::SUCCESS)
}

async fn chat(file: &Path, catalog: Option<&Path>, currency: &str) -> anyhow::Result<ExitCode> {
    let wasm = read(file)?;
    let catalog = catalog.map(read).transpose()?;
    let shop = super::LocalShop::start_cached(&wasm, catalog.as_deref(), currency, user_compiled_cache()).await?;
    let limits = *shop.limits();
    println!("Chatting with {} (production's default limits). Ctrl-D ends.", file.display());
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let message = match super::parse_input(&line) {
            Ok(message) => message,
            Err(why) => {
                println!("  ! {why}");
                continue;
            }
        };
        let outcome = match shop.send(message).await {
            Ok(outcome) => outcome,
            Err(e) => {
                println!("  ! {e}");
                continue;
            }
        };
        for reply in &outcome.replies {
            for (n, text) in super::show::lines(&reply.body).into_iter().enumerate() {
                println!("{} {text}", if n == 0 { "shop>" } else { "     " });
            }
        }
        if let Some(run) = outcome.plugin_run {
            let instructions = run.usage.instructions.map(|n| format!(" · {n} instructions")).unwrap_or_default();
            println!(
                "  [{:.1?} of {} ms{instructions} · memory {} of {} · output {} of {}]",
                run.elapsed,
                limits.deadline_ms,
                bytes(run.usage.peak_memory_bytes as u64),
                bytes(limits.memory_bytes),
                bytes(run.usage.largest_output_bytes as u64),
                bytes(limits.max_output_bytes)
            );
            if let Some(fault) = run.fault {
                println!("  ! the plugin failed, so the customer got the fallback above: {fault}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn test(file: &Path, cases: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let wasm = read(file)?;
    let mut failed = 0;
    for case in cases {
        let recording =
            super::recording::parse(&read(case)?).map_err(|e| anyhow::anyhow!("{}: {e}", case.display()))?;
        let reports = super::recording::replay(&wasm, &recording, user_compiled_cache())
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", case.display()))?;
        let differing: Vec<_> = reports.iter().filter(|r| r.differs()).collect();
        if differing.is_empty() {
            println!("{}: {} turns, all replies as recorded", case.display(), reports.len());
            continue;
        }
        failed += 1;
        println!("{}: {} of {} turns differ", case.display(), differing.len(), reports.len());
        for report in differing {
            println!("  turn {} (customer sent {}):", report.number, report.customer);
            if let Some(failure) = &report.failure {
                println!("    the plugin failed: {failure}");
            }
            for difference in &report.differences {
                println!("    {difference}");
            }
        }
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// How long `upload` follows a compile before it gives up.
const COMPILE_WAIT: Duration = Duration::from_secs(600);
/// How often `upload` asks whether the compile is over.
const COMPILE_POLL: Duration = Duration::from_millis(250);

async fn upload(file: &Path, runtime: Runtime, stage: bool) -> anyhow::Result<ExitCode> {
    let uploaded = runtime.upload(read(file)?, !stage).await?;
    let id = uploaded.id;
    println!("uploaded {} as version {} ({id}); compiling…", file.display(), uploaded.version);
    // The host compiles in the background; follow the version until it is done.
    let started = Instant::now();
    let version = loop {
        let version = runtime.version(&id).await?;
        if version.state != "compiling" {
            break version;
        }
        if started.elapsed() > COMPILE_WAIT {
            anyhow::bail!("still compiling after 10 minutes; see GET /v1/plugins/{id}");
        }
        tokio::time::sleep(COMPILE_POLL).await;
    };
    if version.state != "ready" {
        anyhow::bail!(
            "version {} failed to compile: {}",
            version.version,
            version.failure.as_deref().unwrap_or("no reason given")
        );
    }
    let how = match (version.active, stage) {
        (true, _) => "it answers the shop's customers now".to_string(),
        (false, true) => format!("staged: activate it with POST /v1/plugins/{id}/activate"),
        (false, false) => "not active: a newer version was activated meanwhile".to_string(),
    };
    println!("version {} is ready ({:.1?}); {how}", version.version, started.elapsed());
    Ok(ExitCode::SUCCESS)
}

/// A running runtime, as one business (its API key) reaches it.
struct Runtime {
    http: reqwest::Client,
    /// e.g. `http://127.0.0.1:8080`, without a trailing slash.
    base: String,
    key: String,
}

/// What the API says about a plugin version (the fields `upload` reads).
#[derive(Debug, Deserialize)]
struct VersionAnswer {
    id: String,
    version: i64,
    /// `compiling`, `ready` or `failed`.
    state: String,
    #[serde(default)]
    active: bool,
    failure: Option<String>,
}

/// The API's error body: `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Runtime {
    fn new(url: &str, key: String) -> Runtime {
        Runtime { http: reqwest::Client::new(), base: url.trim_end_matches('/').to_string(), key }
    }

    /// `POST /v1/plugins`: the version accepted, compiling.
    async fn upload(&self, wasm: Vec<u8>, activate: bool) -> anyhow::Result<VersionAnswer> {
        let response = self
            .http
            .post(format!("{}/v1/plugins?activate={activate}", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/wasm")
            .body(wasm)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", self.base))?;
        answer(response, "upload refused").await
    }

    /// `GET /v1/plugins/{id}`.
    async fn version(&self, id: &str) -> anyhow::Result<VersionAnswer> {
        let response = self
            .http
            .get(format!("{}/v1/plugins/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", self.base))?;
        answer(response, &format!("cannot follow version {id}")).await
    }
}

/// A successful answer's body as `T`; an error answer as an error that says
/// `what` happened, with the API's reason and code.
async fn answer<T: DeserializeOwned>(response: reqwest::Response, what: &str) -> anyhow::Result<T> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| anyhow::anyhow!("{what}: the answer did not arrive: {e}"))?;
    if !status.is_success() {
        let reason = serde_json::from_slice::<ErrorAnswer>(&body)
            .map(|e| format!("{} ({})", e.error.message, e.error.code))
            .unwrap_or_else(|_| "no reason given".to_string());
        anyhow::bail!("{what} ({status}): {reason}");
    }
    serde_json::from_slice(&body).map_err(|e| anyhow::anyhow!("{what}: unexpected answer ({status}): {e}"))
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
}

/// Where the developer's loop keeps compiled components between runs (keyed by
/// content): `~/.cache/bottega/compiled`.
fn user_compiled_cache() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|dir| dir.join("bottega").join("compiled"))
}

/// A byte count for people (`1.5 MiB`).
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_client_reads_the_apis_answers() {
        let version: VersionAnswer = serde_json::from_str(
            r#"{"id": "plv_1", "version": 3, "sha256": "ab", "state": "ready", "failure": null, "active": true}"#,
        )
        .expect("a version");
        assert_eq!(
            (version.id.as_str(), version.version, version.state.as_str(), version.active),
            ("plv_1", 3, "ready", true)
        );
        let error: ErrorAnswer =
            serde_json::from_str(r#"{"error": {"code": "unsupported_world", "message": "not a shop"}}"#)
                .expect("an error");
        assert_eq!((error.error.code.as_str(), error.error.message.as_str()), ("unsupported_world", "not a shop"));
    }

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(10 << 20), "10.0 MiB");
    }
}
