//! The tables whose rows, once written, no one may change or remove: the
//! usage ledger and what finalised invoices say (corrections are new rows),
//! and the audit trail (its hash chain shows a change; these triggers refuse
//! one). Installed after the migrations, since trigger syntax is not
//! portable; idempotent, run at every start. Someone who owns the database
//! can still drop a trigger: `bottega audit verify` then finds what they
//! changed in the trail.

use super::{Backend, Db, StoreResult};

/// Each append-only table, with what its rows are called in the refusal.
const APPEND_ONLY: [(&str, &str); 5] = [
    ("usage_events", "billed records"),
    ("invoices", "billed records"),
    ("invoice_lines", "billed records"),
    ("invoice_usage", "billed records"),
    ("audit_events", "audit records"),
];

/// Installs the triggers that refuse changing or removing a row of the
/// append-only tables.
pub(super) async fn install(db: &Db) -> StoreResult<()> {
    match db.backend() {
        Backend::Sqlite => {
            for (table, rows) in APPEND_ONLY {
                for (event, verb) in [("UPDATE", "changed"), ("DELETE", "deleted")] {
                    let sql = format!(
                        "CREATE TRIGGER IF NOT EXISTS {table}_no_{event_lower} BEFORE {event} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{rows} cannot be {verb} ({table})'); END",
                        event_lower = event.to_lowercase()
                    );
                    sqlx::query(&sql).execute(db.pool()).await?;
                }
            }
        }
        Backend::Postgres => {
            let mut tx = db.pool().begin().await?;
            // Nodes starting together would race on CREATE OR REPLACE.
            sqlx::query("SELECT pg_advisory_xact_lock(7402114)").execute(&mut *tx).await?;
            // One function, told what its table's rows are called.
            sqlx::query(
                "CREATE OR REPLACE FUNCTION bottega_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '% cannot be changed (%)', TG_ARGV[0], TG_TABLE_NAME; END $$",
            )
            .execute(&mut *tx)
            .await?;
            for (table, rows) in APPEND_ONLY {
                sqlx::query(&format!(
                    "CREATE OR REPLACE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION bottega_append_only('{rows}')"
                ))
                .execute(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION bottega_append_only('{rows}')"
                ))
                .execute(&mut *tx)
                .await?;
            }
            // The function the invoices' triggers called before the audit
            // trail had its own (no trigger names it now).
            sqlx::query("DROP FUNCTION IF EXISTS bottega_invoice_immutable()").execute(&mut *tx).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}
