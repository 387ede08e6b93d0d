//! A business's people and how they get in: invitations by a single-use link
//! with an expiry, accepting one (a name and a password), signing in and out,
//! console sessions with their CSRF token, role changes and removal, and
//! naming the staff member an API call acts as ([`resolve_agent`]). Who may do
//! what is [`crate::domain::staff`]'s one check; rows are [`crate::store::staff`]'s.
//!
//! Secrets: invitation and session tokens are random ([`ids::new_secret`]) and
//! kept only as [`ids::hash_secret`]; passwords as argon2id with the web chat's
//! parameters (its hashing, off the async threads, is reused). A session's
//! CSRF token is derived from its secret token (an HMAC under it), so it is
//! never stored and is compared in constant time ([`signing`]).

pub mod totp;

use crate::domain::staff::{Action, Role};
use crate::store::staff::{self as rows, Invitation, StaffMember};
use crate::store::{Db, StoreError};
use crate::transport::web::session::{LockError, check_new_lock, hash_off_thread, verify_off_thread};
use crate::{ids, signing};

/// How long an invitation link stays open.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 60 * 60_000;
/// How long a console session lasts after signing in.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 60 * 60_000;
/// The longest email and name, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("an email has a name, one `@` and a domain, at most {MAX_EMAIL_CHARS} characters without spaces")]
    InvalidEmail,
    #[error("a name has 1 to {MAX_NAME_CHARS} characters without control characters")]
    InvalidName,
    #[error("a password has 8 to 128 characters")]
    WeakPassword,
    #[error("this invitation link is not valid any more (used, expired or never made)")]
    InvitationNotOpen,
    #[error("the email or the password is not right")]
    WrongCredentials,
    #[error("your role does not allow this")]
    NotAllowed,
    #[error("no one on the team is `{0}` (give a staff id or email)")]
    UnknownStaff(String),
    #[error("you cannot change your own role or remove yourself")]
    OwnAccount,
    #[error("this account has a second factor: give the code from your authenticator app")]
    CodeRequired,
    #[error("the code is not right (or was used already); give the current one from your authenticator app")]
    WrongCode,
    #[error("the second factor is on already; turn it off first to set up another")]
    TotpAlreadyOn,
    #[error("the second factor is not on")]
    TotpOff,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LockError> for StaffError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::WeakPassword | LockError::BadIdleTime => StaffError::WeakPassword,
            LockError::Hash(reason) => StaffError::Hash(reason),
        }
    }
}

/// An email as kept: trimmed and lowercased, checked.
pub fn normalize_email(email: &str) -> Result<String, StaffError> {
    let email = email.trim().to_lowercase();
    let well_formed = email.split_once('@').is_some_and(|(name, domain)| {
        !name.is_empty() && !domain.is_empty() && !domain.contains('@') && !domain.starts_with('.')
    });
    if !well_formed
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(StaffError::InvalidEmail);
    }
    Ok(email)
}

/// A person's name as kept: trimmed, checked.
pub fn check_name(name: &str) -> Result<&str, StaffError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(StaffError::InvalidName);
    }
    Ok(name)
}

/// Invites `email` to `business_id` with `role`; returns the invitation and
/// its secret token (shown once, in the link).
pub async fn invite(db: &Db, business_id: &str, email: &str, role: Role) -> Result<(Invitation, String), StaffError> {
    let email = normalize_email(email)?;
    let now = ids::now_ms();
    let token = ids::new_secret("inv");
    let invitation = Invitation {
        id: ids::new_id("sinv"),
        business_id: business_id.to_string(),
        email,
        role,
        expires_at: now + INVITATION_TTL_MS,
        created_at: now,
    };
    rows::invite(db, &invitation, &ids::hash_secret(&token)).await?;
    Ok((invitation, token))
}

/// The link that accepts an invitation, under the node's public URL.
pub fn invitation_link(public_url: &str, token: &str) -> String {
    // The token rides in the query: request spans name the path only.
    format!("{}/console/accept?token={token}", public_url.trim_end_matches('/'))
}

/// [`invite`], by a signed-in member: their role must allow it.
pub async fn invite_as(
    db: &Db,
    inviter: &StaffMember,
    email: &str,
    role: Role,
) -> Result<(Invitation, String), StaffError> {
    if !inviter.role.may_invite(role) {
        return Err(StaffError::NotAllowed);
    }
    invite(db, &inviter.business_id, email, role).await
}

/// The open invitation a token opens.
pub async fn invitation(db: &Db, token: &str) -> Result<Invitation, StaffError> {
    rows::open_invitation(db, &ids::hash_secret(token), ids::now_ms()).await?.ok_or(StaffError::InvitationNotOpen)
}

/// Accepts an invitation: the person gives their name and a password; the
/// link works once.
pub async fn accept(db: &Db, token: &str, name: &str, password: &str) -> Result<StaffMember, StaffError> {
    let invitation = invitation(db, token).await?;
    let name = check_name(name)?;
    check_new_lock(password, None)?;
    let hash = hash_off_thread(password.to_string(), None).await?;
    rows::accept(db, &invitation, &ids::new_id("stf"), name, &hash, ids::now_ms())
        .await?
        .ok_or(StaffError::InvitationNotOpen)
}

/// A signed-in console session: who, and the secrets its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub member: StaffMember,
    /// The hidden field every state-changing form of this session carries.
    pub csrf: String,
}

impl Session {
    /// Whether the member's role allows `action`.
    pub fn may(&self, action: Action) -> bool {
        self.member.role.may(action)
    }
}

/// Checks an email and password (and, for an account with a second factor,
/// `code`); on success opens a session and returns it with its secret token
/// (for the cookie). The same error whether the email or the password was
/// wrong, after the same work.
pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    code: Option<&str>,
) -> Result<(Session, String), StaffError> {
    let found = match normalize_email(email) {
        Ok(email) => rows::by_email_with_password(db, &email).await?,
        Err(_) => None,
    };
    let Some((member, phc)) = found else {
        // As slow as a wrong password, so the answer's time tells nothing.
        let _ = hash_off_thread(ids::new_secret("x"), None).await;
        return Err(StaffError::WrongCredentials);
    };
    if !verify_off_thread(password.to_string(), phc).await {
        return Err(StaffError::WrongCredentials);
    }
    if let Some(secret) = rows::totp_secret(db, &member.business_id, &member.id).await? {
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else { return Err(StaffError::CodeRequired) };
        take_code(db, &member.id, &secret, code).await?;
    }
    let token = ids::new_secret("cs");
    let now = ids::now_ms();
    let id = ids::new_id("sess");
    rows::open_session(db, &id, &member, &ids::hash_secret(&token), now + SESSION_TTL_MS, now).await?;
    let csrf = csrf_token(&token);
    Ok((Session { id, member, csrf }, token))
}

/// The live session a token opens.
pub async fn session(db: &Db, token: &str) -> Result<Option<Session>, StaffError> {
    let found = rows::session(db, &ids::hash_secret(token), ids::now_ms()).await?;
    Ok(found.map(|(id, member)| Session { id, member, csrf: csrf_token(token) }))
}

/// The CSRF token of the session whose secret is `session_token`.
pub fn csrf_token(session_token: &str) -> String {
    signing::hmac_sha256_hex(session_token.as_bytes(), &[b"bottega console csrf"])
}

/// Whether `given` is the session's CSRF token (constant time).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    !given.is_empty() && signing::constant_time_eq(given.as_bytes(), session.csrf.as_bytes())
}

/// Ends this session.
pub async fn sign_out(db: &Db, session: &Session) -> Result<(), StaffError> {
    Ok(rows::close_session(db, &session.id).await?)
}

/// Ends every session of the member, on every device.
pub async fn sign_out_everywhere(db: &Db, session: &Session) -> Result<u64, StaffError> {
    Ok(rows::close_sessions_of(db, &session.member.id).await?)
}

/// Gives `member_id` the role `to`, by `actor` (who may manage the team and
/// is not changing themself).
pub async fn change_role(db: &Db, actor: &StaffMember, member_id: &str, to: Role) -> Result<StaffMember, StaffError> {
    if !actor.role.may(Action::ManageTeam) {
        return Err(StaffError::NotAllowed);
    }
    if actor.id == member_id {
        return Err(StaffError::OwnAccount);
    }
    let member = rows::get(db, &actor.business_id, member_id)
        .await?
        .ok_or_else(|| StaffError::UnknownStaff(member_id.to_string()))?;
    if !rows::change_role(db, &actor.business_id, member_id, member.role, to).await? {
        return Err(StoreError::Conflict("the role changed meanwhile; look again".into()).into());
    }
    Ok(StaffMember { role: to, ..member })
}

/// Removes `member_id` from the team (and signs them out everywhere), by `actor`.
pub async fn remove(db: &Db, actor: &StaffMember, member_id: &str) -> Result<(), StaffError> {
    if !actor.role.may(Action::ManageTeam) {
        return Err(StaffError::NotAllowed);
    }
    if actor.id == member_id {
        return Err(StaffError::OwnAccount);
    }
    if !rows::remove(db, &actor.business_id, member_id).await? {
        return Err(StaffError::UnknownStaff(member_id.to_string()));
    }
    Ok(())
}

/// Whether `member` has a second factor.
pub async fn has_totp(db: &Db, member: &StaffMember) -> Result<bool, StaffError> {
    Ok(rows::totp_secret(db, &member.business_id, &member.id).await?.is_some())
}

/// Turns the second factor on with `secret` (base32, as [`totp::new_secret`]
/// made it and the person's app took it), once `code` shows the app has it.
pub async fn enable_totp(db: &Db, member: &StaffMember, secret: &str, code: &str) -> Result<(), StaffError> {
    if has_totp(db, member).await? {
        return Err(StaffError::TotpAlreadyOn);
    }
    let key = totp::base32_decode(secret).filter(|key| key.len() >= 10).ok_or(StaffError::WrongCode)?;
    let step = totp::matching_step(&key, code, ids::now_ms() / 1000).ok_or(StaffError::WrongCode)?;
    Ok(rows::set_totp(db, &member.business_id, &member.id, Some(secret.trim()), Some(step)).await?)
}

/// Turns the second factor off, with a current `code` from it.
pub async fn disable_totp(db: &Db, member: &StaffMember, code: &str) -> Result<(), StaffError> {
    let secret = rows::totp_secret(db, &member.business_id, &member.id).await?.ok_or(StaffError::TotpOff)?;
    take_code(db, &member.id, &secret, code).await?;
    Ok(rows::set_totp(db, &member.business_id, &member.id, None, None).await?)
}

/// Checks `code` against the member's `secret` and takes its step, so the
/// same code does not work twice.
async fn take_code(db: &Db, staff_id: &str, secret: &str, code: &str) -> Result<(), StaffError> {
    let key = totp::base32_decode(secret).ok_or_else(|| StoreError::Corrupt("a TOTP secret is not base32".into()))?;
    let step = totp::matching_step(&key, code, ids::now_ms() / 1000).ok_or(StaffError::WrongCode)?;
    if !rows::take_totp_step(db, staff_id, step).await? {
        return Err(StaffError::WrongCode);
    }
    Ok(())
}

/// The staff member an API call names as its agent: a staff id or an email
/// of the business's team.
pub async fn resolve_agent(db: &Db, business_id: &str, given: &str) -> Result<StaffMember, StaffError> {
    let given = given.trim();
    let found = if given.starts_with("stf_") {
        rows::get(db, business_id, given).await?
    } else {
        match normalize_email(given) {
            Ok(email) => rows::by_email(db, business_id, &email).await?,
            Err(_) => None,
        }
    };
    found.ok_or_else(|| StaffError::UnknownStaff(given.to_string()))
}

/// The name an agent's replies are signed with: the member's name, or the
/// stored holder as it is when they have left the team.
pub async fn display_name(db: &Db, business_id: &str, staff_id: &str) -> Result<String, StaffError> {
    Ok(rows::get(db, business_id, staff_id).await?.map_or_else(|| staff_id.to_string(), |m| m.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_kept_lowercase_and_checked() {
        assert_eq!(normalize_email("  Maria@Shop.Example ").ok().as_deref(), Some("maria@shop.example"));
        for bad in ["", "maria", "@shop", "maria@", "ma ria@shop", "a@b@c", "maria@.shop"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_csrf_token_belongs_to_its_session() {
        let member = StaffMember {
            id: "stf_1".into(),
            business_id: "biz_1".into(),
            email: "a@b.c".into(),
            name: "A".into(),
            role: Role::Agent,
            created_at: 0,
        };
        let session = Session { id: "s".into(), member, csrf: csrf_token("cs_one") };
        assert!(csrf_matches(&session, &csrf_token("cs_one")));
        assert!(!csrf_matches(&session, &csrf_token("cs_two")));
        assert!(!csrf_matches(&session, ""));
    }
}
