//! `bottega`: the command line. `bottega serve` runs the runtime; `bottega
//! plugin …` is the plugin developer's loop (check, chat, upload).

use std::net::SocketAddr;
use std::path::PathBuf;

use bottega::config::{CommerceConfig, PluginHostConfig};
use bottega::{App, Config};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bottega", version, about = "A runtime for chat shops whose bots are WebAssembly plugins")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the runtime: the HTTP API, the plugin host and the database.
    Serve(ServeArgs),
    /// A plugin developer's loop: what production will enforce, before upload.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Start a shop plugin in a new folder NAME, in Rust, Python, JavaScript
    /// or C: a working starter that builds with one command.
    New {
        /// rust, python, js or c.
        #[arg(long)]
        lang: bottega::devloop::new::Language,
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
        #[arg(long, env = "BOTTEGA_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The business's API key.
        #[arg(long, env = "BOTTEGA_API_KEY", hide_env_values = true)]
        key: String,
        /// Keep the current version answering; activate this one later.
        #[arg(long)]
        stage: bool,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BOTTEGA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the embedded SQLite database and the compiled-plugin cache.
    #[arg(long, env = "BOTTEGA_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user@host/db); without it, SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Bearer token for /v1/admin; a random one is generated and printed when absent.
    #[arg(long, env = "BOTTEGA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Do not create the demo shop on an empty database.
    #[arg(long, env = "BOTTEGA_NO_DEMO")]
    no_demo: bool,
    /// Largest plugin upload, in bytes.
    #[arg(long, env = "BOTTEGA_MAX_PLUGIN_BYTES", default_value_t = 10 << 20)]
    max_plugin_bytes: usize,
    /// Largest plugin upload that embeds an interpreter (Python, JavaScript), in bytes.
    #[arg(long, env = "BOTTEGA_MAX_INTERPRETED_PLUGIN_BYTES", default_value_t = 40 << 20)]
    max_interpreted_plugin_bytes: usize,
    /// Where compiled plugins are kept (default: <data dir>/compiled).
    #[arg(long, env = "BOTTEGA_COMPILED_CACHE_DIR")]
    compiled_cache_dir: Option<PathBuf>,
    /// Uploads compiled at once on this node, in the background.
    #[arg(long, env = "BOTTEGA_MAX_CONCURRENT_COMPILES", default_value_t = 1)]
    max_concurrent_compiles: usize,
    /// Compiled plugins kept loaded on this node (least recently used dropped first).
    #[arg(long, env = "BOTTEGA_MAX_LOADED_PLUGINS", default_value_t = 256)]
    max_loaded_plugins: usize,
    /// Plugin calls that may run at once on this node.
    #[arg(long, env = "BOTTEGA_MAX_CONCURRENT_CALLS", default_value_t = 128)]
    max_concurrent_calls: u32,
    /// Plugins that instantiate in at most this many microseconds get a fresh
    /// instance per message; slower ones (Python, JavaScript) reuse instances up
    /// to the business's max_instance_uses. 0 leaves every plugin to that setting.
    #[arg(long, env = "BOTTEGA_REUSE_INSTANCES_ABOVE_US", default_value_t = 250)]
    reuse_instances_above_us: u64,
    /// The runtime's URL as customers reach it (for payment links); http://LISTEN when absent.
    #[arg(long, env = "BOTTEGA_PUBLIC_URL")]
    public_url: Option<String>,
    /// Minutes checkout holds stock for an unpaid order.
    #[arg(long, env = "BOTTEGA_RESERVATION_MINUTES", default_value_t = 15)]
    reservation_minutes: u64,
    /// Consecutive failures after which a business's plugin is disabled.
    #[arg(long, env = "BOTTEGA_FAILURES_BEFORE_DISABLE", default_value_t = 5)]
    failures_before_disable: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The developer's loop speaks for itself; the runtime's own log is noise there.
    let default_filter = match cli.command {
        Command::Serve(_) => "info,sqlx=warn,wasmtime=warn,cranelift_codegen=warn",
        Command::Plugin(_) => "error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Plugin(command) => plugin(command).await,
    }
}

async fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    let read = |file: &PathBuf| std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()));
    match command {
        PluginCommand::New { lang, name } => {
            let (_, output) = bottega::devloop::new::create(&name, lang)?;
            println!("Created {} ({lang:?}). Build it with:", name.display());
            println!();
            println!("    cd {} && {}", name.display(), lang.build_command());
            println!();
            println!(
                "then try it: bottega plugin chat {} --catalog {}",
                output.display(),
                name.join("catalog.json").display()
            );
            Ok(())
        }
        PluginCommand::Test { file, cases } => {
            let wasm = read(&file)?;
            let mut failed = 0;
            for case in &cases {
                let recording = bottega::devloop::recording::parse(&read(case)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", case.display()))?;
                let reports = bottega::devloop::recording::replay(&wasm, &recording, user_compiled_cache())
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", case.display()))?;
                let differing: Vec<_> = reports.iter().filter(|r| !r.differences.is_empty()).collect();
                if differing.is_empty() {
                    println!("{}: {} turns, all replies as recorded", case.display(), reports.len());
                    continue;
                }
                failed += 1;
                println!("{}: {} of {} turns differ", case.display(), differing.len(), reports.len());
                for report in differing {
                    println!("  turn {} (customer sent {}):", report.number, report.customer);
                    for difference in &report.differences {
                        println!("    {difference}");
                    }
                }
            }
            if failed > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        PluginCommand::Check { file } => {
            let wasm = read(&file)?;
            let config = PluginHostConfig::default();
            let report = match bottega::devloop::check(&wasm, &config).await {
                Ok(report) => report,
                Err(refused) => {
                    eprintln!("{}: refused: {refused}", file.display());
                    std::process::exit(1);
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
            Ok(())
        }
        PluginCommand::Chat { file, catalog, currency } => {
            let wasm = read(&file)?;
            let catalog = catalog.as_ref().map(read).transpose()?;
            let shop =
                bottega::devloop::LocalShop::start_cached(&wasm, catalog.as_deref(), &currency, user_compiled_cache())
                    .await?;
            let limits = *shop.limits();
            println!("Chatting with {} (production's default limits). Ctrl-D ends.", file.display());
            let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
            while let Some(line) = lines.next_line().await? {
                if line.trim().is_empty() {
                    continue;
                }
                let message = match bottega::devloop::parse_input(&line) {
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
                    for (n, text) in bottega::devloop::show::lines(&reply.body).into_iter().enumerate() {
                        println!("{} {text}", if n == 0 { "shop>" } else { "     " });
                    }
                }
                if let Some(run) = outcome.plugin_run {
                    let instructions =
                        run.usage.instructions.map(|n| format!(" · {n} instructions")).unwrap_or_default();
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
            Ok(())
        }
        PluginCommand::Upload { file, url, key, stage } => {
            let wasm = read(&file)?;
            let endpoint = format!("{}/v1/plugins?activate={}", url.trim_end_matches('/'), !stage);
            let response = reqwest::Client::new()
                .post(&endpoint)
                .bearer_auth(&key)
                .header("content-type", "application/wasm")
                .body(wasm)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if !status.is_success() {
                anyhow::bail!(
                    "upload refused ({status}): {} ({})",
                    body["error"]["message"].as_str().unwrap_or("no reason given"),
                    body["error"]["code"].as_str().unwrap_or("unknown")
                );
            }
            let id = body["id"].as_str().unwrap_or_default().to_string();
            println!("uploaded {} as version {} ({id}); compiling…", file.display(), body["version"]);
            // The host compiles in the background; follow the version until it is done.
            let version_url = format!("{}/v1/plugins/{id}", url.trim_end_matches('/'));
            let started = std::time::Instant::now();
            let version = loop {
                let response = reqwest::Client::new()
                    .get(&version_url)
                    .bearer_auth(&key)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
                let status = response.status();
                let version: serde_json::Value = response.json().await.unwrap_or_default();
                if !status.is_success() {
                    anyhow::bail!(
                        "cannot follow version {id} ({status}): {}",
                        version["error"]["message"].as_str().unwrap_or("no reason given")
                    );
                }
                if version["state"] != "compiling" {
                    break version;
                }
                if started.elapsed() > std::time::Duration::from_secs(600) {
                    anyhow::bail!("still compiling after 10 minutes; see GET /v1/plugins/{id}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            };
            match version["state"].as_str() {
                Some("ready") => {
                    let how = match (version["active"].as_bool(), stage) {
                        (Some(true), _) => "it answers the shop's customers now".to_string(),
                        (_, true) => format!("staged: activate it with POST /v1/plugins/{id}/activate"),
                        _ => "not active: a newer version was activated meanwhile".to_string(),
                    };
                    println!("version {} is ready ({:.1?}); {how}", version["version"], started.elapsed());
                    Ok(())
                }
                _ => anyhow::bail!(
                    "version {} failed to compile: {}",
                    version["version"],
                    version["failure"].as_str().unwrap_or("no reason given")
                ),
            }
        }
    }
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

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let generated_token = args.admin_token.is_none();
    let admin_token = args.admin_token.unwrap_or_else(|| bottega::ids::new_secret("adm"));
    let config = Config {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        admin_token: admin_token.clone(),
        seed_demo: !args.no_demo,
        plugins: PluginHostConfig {
            upload_limits: bottega::plugin::UploadLimits {
                compiled: args.max_plugin_bytes,
                interpreted: args.max_interpreted_plugin_bytes,
            },
            max_loaded_plugins: args.max_loaded_plugins.max(1),
            compiled_cache_dir: args.compiled_cache_dir,
            max_concurrent_compiles: args.max_concurrent_compiles.max(1),
            max_concurrent_calls: args.max_concurrent_calls,
            failures_before_disable: args.failures_before_disable,
            reuse_instances_above: std::time::Duration::from_micros(args.reuse_instances_above_us),
            ..PluginHostConfig::default()
        },
        commerce: CommerceConfig {
            reservation: std::time::Duration::from_secs(args.reservation_minutes.max(1) * 60),
            public_url: args
                .public_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| format!("http://{}", args.listen)),
            ..CommerceConfig::default()
        },
        transport: bottega::config::TransportConfig::default(),
    };
    let app = App::start(config).await?;
    let listener = tokio::net::TcpListener::bind(app.config.listen).await?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");

    println!("Bottega is listening on {base} (OpenAPI: {base}/openapi.json)");
    if generated_token {
        println!("Admin token for this run (set BOTTEGA_ADMIN_TOKEN to choose one): {admin_token}");
    }
    if app.config.seed_demo {
        match bottega::seed::seed_demo_if_empty(&app).await? {
            Some(demo) => {
                println!(
                    "\nCreated the demo shop \"{}\" ({}), running the example grocery plugin.",
                    demo.business.name, demo.business.id
                );
                println!("Its API key (shown once): {}", demo.api_key);
                println!("Chat with it in a browser: {base}/chat/{}", demo.business.id);
                println!("or through the API:\n");
                println!(
                    "  curl -s {base}/v1/messages -H 'Authorization: Bearer {}' -H 'content-type: application/json' \\\n       -d '{{\"customer\": \"+34600111222\", \"text\": \"hi\"}}'\n",
                    demo.api_key
                );
            }
            None => println!(
                "The database already has businesses; each one's web chat is at {base}/chat/{{id}}; to get a new API key for one: POST {base}/v1/admin/businesses/{{id}}/api-key with the admin token"
            ),
        }
    }

    axum::serve(listener, app.router()).with_graceful_shutdown(shutdown_signal()).await?;
    app.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
