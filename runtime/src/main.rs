//! `bottega`: the command line. `bottega serve` runs the runtime
//! ([`bottega::serve`]); `bottega plugin …` is the plugin developer's loop
//! ([`bottega::devloop::cli`]: new, check, chat, test, upload); `bottega keys
//! rotate` and `bottega audit verify` are the operator's ([`bottega::custody`]).

use std::process::ExitCode;

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
    Serve(Box<bottega::serve::ServeArgs>),
    /// A plugin developer's loop: what production will enforce, before upload.
    #[command(subcommand)]
    Plugin(bottega::devloop::cli::PluginCommand),
    /// The keys that seal customer data: rotate the key-encryption key.
    #[command(subcommand)]
    Keys(bottega::custody::KeysCommand),
    /// The audit trail: verify it.
    #[command(subcommand)]
    Audit(bottega::custody::AuditCommand),
}

use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // The developer's loop speaks for itself; the runtime's own log is noise there.
    let default_filter = match cli.command {
        Command::Serve(_) => "info,sqlx=warn,wasmtime=warn,cranelift_codegen=warn",
        Command::Plugin(_) | Command::Keys(_) | Command::Audit(_) => "error",
    };
    // No log level may ever write a web chat frame (passwords travel in them).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(bottega::transport::web::connection::without_websocket_frames(filter)),
        )
        .init();
    match cli.command {
        Command::Serve(args) => bottega::serve::run(*args).await.map(|()| ExitCode::SUCCESS),
        Command::Plugin(command) => command.run().await,
        Command::Keys(command) => command.run().await,
        Command::Audit(command) => command.run().await,
    }
}
