//! The console's team page (the owner's): the people and their roles, open
//! invitations, inviting someone (the single-use link is shown once), changing
//! a role and removing a person. The rules are `staff`'s.

use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::words::Word;
use super::{ConsoleError, Page, Signed, escape, layout};
use crate::App;
use crate::domain::staff::{Action, Role};
use crate::staff;
use crate::store::staff as rows;

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn role_options(selected: Role) -> String {
    Role::ALL
        .iter()
        .map(|role| {
            let chosen = if *role == selected { " selected" } else { "" };
            format!("<option value=\"{0}\"{chosen}>{0}</option>", escape(role.as_str()))
        })
        .collect()
}

fn parse_role(role: &str) -> Result<Role, ConsoleError> {
    role.parse::<Role>().map_err(|message| ConsoleError(crate::api::error::ApiError::invalid(message)))
}

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ManageTeam)?;
    Ok(layout(&signed, Page::Team, &team_body(&app, &signed, "").await?))
}

async fn team_body(app: &App, signed: &Signed, notice: &str) -> Result<String, ConsoleError> {
    let clock = signed.clock();
    let time = |ms: i64| clock.time(ms);
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business_id = &signed.business.id;
    let csrf = signed.csrf_field();
    let members = rows::list(&app.db, business_id).await?;
    let people: String = members
        .iter()
        .map(|member| {
            let id = escape(&member.id);
            let controls = if member.id == signed.session.member.id {
                format!("<td class=note>{}</td><td></td>", w(Word::You))
            } else {
                format!(
                    "<td><form method=post action=\"/console/team/{id}/role\">{csrf}<select name=role>{}</select>\
                     <button>{}</button></form></td>\
                     <td><form method=post action=\"/console/team/{id}/remove\">{csrf}<button>{}</button></form></td>",
                    role_options(member.role),
                    w(Word::ChangeRole),
                    w(Word::Remove),
                )
            };
            format!(
                "<tr data-email=\"{}\"><td>{}</td><td>{}</td><td>{}</td>{controls}</tr>",
                escape(&member.email),
                escape(&member.name),
                escape(&member.email),
                escape(member.role.as_str()),
            )
        })
        .collect();
    let invitations: String = rows::open_invitations(&app.db, business_id, crate::ids::now_ms())
        .await?
        .iter()
        .map(|invitation| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&invitation.email),
                escape(invitation.role.as_str()),
                Word::Until.fill(lang, &[escape(&time(invitation.expires_at))])
            )
        })
        .collect();
    Ok(format!(
        "<h1>{}</h1>{notice}<table id=team><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th><th></th>\
         </tr></thead><tbody>{people}</tbody></table>\
         <h2>{}</h2><form class=stack method=post action=\"/console/team/invite\">{csrf}\
         <label>{} <input type=email name=email required></label>\
         <label>{} <select name=role>{}</select></label><button>{}</button></form>\
         <h2>{}</h2><table id=invitations>{invitations}</table>",
        w(Word::Team),
        w(Word::Name),
        w(Word::Email),
        w(Word::Role),
        w(Word::InviteSomeone),
        w(Word::Email),
        w(Word::Role),
        role_options(Role::Agent),
        w(Word::Invite),
        w(Word::OpenInvitations),
    ))
}

pub async fn invite(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<InviteForm>,
) -> Result<Html<String>, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManageTeam)?;
    let role = parse_role(&form.role)?;
    let (invitation, token) = staff::invite_as(&app.db, &signed.session.member, &form.email, role).await?;
    let link = staff::invitation_link(&app.config.commerce.public_url, &token);
    let notice = format!(
        "<p class=ok>{}</p><p class=link id=invitation-link>{}</p>",
        Word::SendThisLink.fill(signed.lang(), &[escape(&invitation.email)]),
        escape(&link)
    );
    Ok(layout(&signed, Page::Team, &team_body(&app, &signed, &notice).await?))
}

pub async fn change_role(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManageTeam)?;
    let role = parse_role(&form.role)?;
    staff::change_role(&app.db, &signed.session.member, &id, role).await?;
    Ok(Redirect::to("/console/team").into_response())
}

pub async fn remove(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManageTeam)?;
    staff::remove(&app.db, &signed.session.member, &id).await?;
    Ok(Redirect::to("/console/team").into_response())
}
