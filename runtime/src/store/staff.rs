//! Staff accounts, their invitations and their console sessions, as rows
//! (a second factor's secret sealed under the business's secrets key).
//! The rules (who may invite whom, passwords, expiry) are `staff`'s; this
//! module keeps the state, each one-time step (accepting an invitation) as one
//! conditional UPDATE so two acceptances of one link cannot both win.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::data_keys::KeyOwner;
use super::{Db, StoreError, StoreResult, is_unique_violation};
use crate::domain::staff::Role;
use crate::privacy::Binding;

/// A person of a business, as stored (the password hash stays in its table).
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct StaffMember {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// An invitation not yet accepted.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Invitation {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub expires_at: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

const MEMBER_COLUMNS: &str = "id, business_id, email, name, role, created_at";
const INVITATION_COLUMNS: &str = "id, business_id, email, role, expires_at, created_at";

/// Records an invitation whose token hashes to `token_hash`.
pub async fn invite(db: &Db, invitation: &Invitation, token_hash: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO staff_invitations (id, business_id, email, role, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&invitation.id)
    .bind(&invitation.business_id)
    .bind(&invitation.email)
    .bind(invitation.role.as_str())
    .bind(token_hash)
    .bind(invitation.expires_at)
    .bind(invitation.created_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The open (not accepted, not expired at `now`) invitation whose token hashes to `token_hash`.
pub async fn open_invitation(db: &Db, token_hash: &str, now: i64) -> StoreResult<Option<Invitation>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS} FROM staff_invitations \
         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Accepts an invitation and creates its member, in one transaction: the
/// invitation is taken by a conditional UPDATE (still open at `now`), so a
/// link works once. `None` when it was not open any more; a conflict when the
/// email already has an account.
pub async fn accept(
    db: &Db,
    invitation: &Invitation,
    member_id: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> StoreResult<Option<StaffMember>> {
    let mut tx = db.pool().begin().await?;
    let taken = sqlx::query(
        "UPDATE staff_invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND expires_at > $2",
    )
    .bind(&invitation.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Ok(None);
    }
    let inserted = sqlx::query(
        "INSERT INTO staff_members (id, business_id, email, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(member_id)
    .bind(&invitation.business_id)
    .bind(&invitation.email)
    .bind(name)
    .bind(invitation.role.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!("{} already has an account", invitation.email)));
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(Some(StaffMember {
        id: member_id.to_string(),
        business_id: invitation.business_id.clone(),
        email: invitation.email.clone(),
        name: name.to_string(),
        role: invitation.role,
        created_at: now,
    }))
}

/// The member with `email` (any business) and their password hash.
pub async fn by_email_with_password(db: &Db, email: &str) -> StoreResult<Option<(StaffMember, String)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        member: StaffMember,
        password_hash: String,
    }
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {MEMBER_COLUMNS}, password_hash FROM staff_members WHERE email = $1"))
            .bind(email)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|r| (r.member, r.password_hash)))
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<StaffMember>> {
    Ok(sqlx::query_as(&format!("SELECT {MEMBER_COLUMNS} FROM staff_members WHERE id = $1 AND business_id = $2"))
        .bind(id)
        .bind(business_id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn by_email(db: &Db, business_id: &str, email: &str) -> StoreResult<Option<StaffMember>> {
    Ok(sqlx::query_as(&format!("SELECT {MEMBER_COLUMNS} FROM staff_members WHERE email = $1 AND business_id = $2"))
        .bind(email)
        .bind(business_id)
        .fetch_optional(db.pool())
        .await?)
}

/// The business's people, oldest first.
pub async fn list(db: &Db, business_id: &str) -> StoreResult<Vec<StaffMember>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MEMBER_COLUMNS} FROM staff_members WHERE business_id = $1 ORDER BY created_at, id"
    ))
    .bind(business_id)
    .fetch_all(db.pool())
    .await?)
}

/// The business's invitations still open at `now`, newest first.
pub async fn open_invitations(db: &Db, business_id: &str, now: i64) -> StoreResult<Vec<Invitation>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS} FROM staff_invitations \
         WHERE business_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id"
    ))
    .bind(business_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Changes a member's role, if it is still `from`; true when changed.
pub async fn change_role(db: &Db, business_id: &str, id: &str, from: Role, to: Role) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE staff_members SET role = $4 WHERE id = $1 AND business_id = $2 AND role = $3")
        .bind(id)
        .bind(business_id)
        .bind(from.as_str())
        .bind(to.as_str())
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member and every session of theirs; true when removed.
pub async fn remove(db: &Db, business_id: &str, id: &str) -> StoreResult<bool> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1 AND business_id = $2")
        .bind(id)
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM staff_members WHERE id = $1 AND business_id = $2")
        .bind(id)
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    // What they held waits for another person, instead of for nobody.
    sqlx::query(
        "UPDATE conversations SET handling = 'pending_agent', agent = NULL WHERE business_id = $1 AND agent = $2",
    )
    .bind(business_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a session for `member` whose token hashes to `token_hash`.
pub async fn open_session(
    db: &Db,
    id: &str,
    member: &StaffMember,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO staff_sessions (id, staff_id, business_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&member.id)
    .bind(&member.business_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The session (its id) and member a live session token hashes to.
pub async fn session(db: &Db, token_hash: &str, now: i64) -> StoreResult<Option<(String, StaffMember)>> {
    #[derive(FromRow)]
    struct Row {
        session_id: String,
        #[sqlx(flatten)]
        member: StaffMember,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id AS session_id, m.id, m.business_id, m.email, m.name, m.role, m.created_at \
         FROM staff_sessions s JOIN staff_members m ON m.id = s.staff_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| (r.session_id, r.member)))
}

/// Ends one session.
pub async fn close_session(db: &Db, session_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE id = $1").bind(session_id).execute(db.pool()).await?;
    Ok(())
}

/// Ends every session of a member: sign-out everywhere.
pub async fn close_sessions_of(db: &Db, staff_id: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1").bind(staff_id).execute(db.pool()).await?;
    Ok(done.rows_affected())
}

/// Where a member's TOTP secret is kept (sealed under the business's secrets key).
fn totp_at(staff_id: &str) -> Binding<'_> {
    Binding::new("staff_members", "totp_secret", staff_id)
}

/// A member's TOTP secret (base32), opened, when they set one up.
pub async fn totp_secret(db: &Db, business_id: &str, staff_id: &str) -> StoreResult<Option<String>> {
    let stored = sqlx::query_scalar::<_, Option<String>>(
        "SELECT totp_secret FROM staff_members WHERE id = $1 AND business_id = $2",
    )
    .bind(staff_id)
    .bind(business_id)
    .fetch_optional(db.pool())
    .await?
    .flatten();
    match stored {
        Some(sealed) => Ok(Some(db.open_required(business_id, totp_at(staff_id), &sealed).await?)),
        None => Ok(None),
    }
}

/// Sets (sealed) or, with `None`, removes a member's TOTP secret; `step` is
/// the step of the code that confirmed it, taken already.
pub async fn set_totp(
    db: &Db,
    business_id: &str,
    staff_id: &str,
    secret: Option<&str>,
    step: Option<i64>,
) -> StoreResult<()> {
    let sealed = match secret {
        Some(secret) => Some(db.seal(business_id, KeyOwner::Secrets, totp_at(staff_id), secret).await?),
        None => None,
    };
    sqlx::query("UPDATE staff_members SET totp_secret = $3, totp_last_step = $4 WHERE id = $1 AND business_id = $2")
        .bind(staff_id)
        .bind(business_id)
        .bind(sealed)
        .bind(step)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Takes a code's time step for a member: true unless a code of this step
/// (or a later one) was taken already, so each code works once.
pub async fn take_totp_step(db: &Db, staff_id: &str, step: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE staff_members SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(staff_id)
    .bind(step)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
