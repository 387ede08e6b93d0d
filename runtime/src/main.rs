//! `bottega`: the command line. `bottega serve` runs the runtime.

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
    /// Plugin calls that may run at once on this node.
    #[arg(long, env = "BOTTEGA_MAX_CONCURRENT_CALLS", default_value_t = 128)]
    max_concurrent_calls: u32,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn,cranelift_codegen=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
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
            max_upload_bytes: args.max_plugin_bytes,
            max_concurrent_calls: args.max_concurrent_calls,
            failures_before_disable: args.failures_before_disable,
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
