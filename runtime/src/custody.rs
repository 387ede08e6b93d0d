//! `bottega keys …` and `bottega audit …`: the operator's commands on the
//! keys that seal customer data and on the audit trail, run against the
//! database beside a running service. `keys rotate` wraps every data key
//! again under the node's current key-encryption key (`--key-file`), reading
//! those wrapped by `--previous-key-file`; `audit verify` fails when any row
//! of any trail was altered or removed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::defaults;
use crate::privacy::KeySource;
use crate::store::{Db, audit, data_keys};

/// Where the database and the keys are (as `bottega serve` names them).
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Directory of the embedded SQLite database (and its generated key file).
    #[arg(long, env = "BOTTEGA_DATA_DIR", default_value = defaults::DATA_DIR)]
    data_dir: PathBuf,
    /// PostgreSQL URL; without it, SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The current key-encryption key file.
    #[arg(long, env = "BOTTEGA_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// The current key-encryption key as base64 (instead of a key file).
    #[arg(long = "kek", env = "BOTTEGA_KEK", hide_env_values = true, hide = true)]
    kek: Option<String>,
    /// The key-encryption key being retired, still read.
    #[arg(long, env = "BOTTEGA_PREVIOUS_KEY_FILE")]
    previous_key_file: Option<PathBuf>,
}

impl Target {
    async fn connect(&self) -> anyhow::Result<Db> {
        let key = match (&self.key_file, &self.kek) {
            (Some(path), _) => KeySource::File(path.clone()),
            (None, Some(base64)) => KeySource::Base64(base64.clone()),
            (None, None) => KeySource::Default,
        };
        let previous = self.previous_key_file.clone().map(KeySource::File);
        Ok(Db::connect_with(self.database_url.as_deref(), &self.data_dir, &key, previous.as_ref()).await?)
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Wrap every data key again under the current key-encryption key
    /// (--key-file), reading those the previous one (--previous-key-file)
    /// wrapped. Safe while the service runs with both keys.
    Rotate {
        #[command(flatten)]
        target: Target,
        /// Only count what would be wrapped again; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check every business's audit trail: fails if a row was altered or removed.
    Verify {
        #[command(flatten)]
        target: Target,
    },
}

impl KeysCommand {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let KeysCommand::Rotate { target, dry_run } = self;
        let db = target.connect().await?;
        let rotation = data_keys::rewrap_all(&db, dry_run).await?;
        let kek = db.keyring().current_kek_id().to_string();
        if dry_run {
            println!(
                "{} data keys: {} wrapped by {kek} already, {} to wrap again, {} that cannot be",
                rotation.total,
                rotation.current,
                rotation.rewrapped,
                rotation.failed.len()
            );
        } else {
            println!(
                "{} data keys: {} wrapped by {kek} already, {} wrapped again, {} could not be",
                rotation.total,
                rotation.current,
                rotation.rewrapped,
                rotation.failed.len()
            );
            for (id, why) in &rotation.failed {
                println!("not wrapped again: {id}: {why}");
            }
            let outcome = format!("rewrapped {}, failed {}", rotation.rewrapped, rotation.failed.len());
            let entry = audit::Entry {
                business_id: audit::OPERATOR_TRAIL,
                actor: "operator",
                action: "keys.rotated",
                subject: &kek,
                outcome: &outcome,
            };
            audit::append(&db, entry).await?;
        }
        db.close().await;
        Ok(if rotation.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

impl AuditCommand {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let AuditCommand::Verify { target } = self;
        let db = target.connect().await?;
        let (rows, breaks) = audit::verify(&db).await?;
        db.close().await;
        if breaks.is_empty() {
            println!("audit trail intact: {rows} rows");
            return Ok(ExitCode::SUCCESS);
        }
        for problem in &breaks {
            println!("audit trail broken: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}
