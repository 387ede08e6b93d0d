//! `/v1/messages` and `/v1/conversations`: customers' messages reach the
//! business's bot (this is the channel API a business's own front end uses),
//! and the business reads conversations and takes them over by hand; with
//! `/v1/business-messages` it starts a message to a customer itself, which its
//! plan may refuse (over its spending cap, or past due).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, OptionalJson, Query};
use crate::App;
use crate::billing::limits;
use crate::chat::handoff::{self, HandlingChange, HandoffError};
use crate::chat::{ChatOutcome, Inbound, InboundRequest};
use crate::plugin::bindings::ShopEvent;
use crate::staff;
use crate::store::businesses::Business;
use crate::store::conversations::{self, Conversation, Handling, Message};
use crate::store::staff::StaffMember;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(list_messages))
        .routes(routes!(export_conversation))
        .routes(routes!(take_conversation))
        .routes(routes!(release_conversation))
        .routes(routes!(agent_reply))
        .routes(routes!(business_message))
}

/// A customer's message. Exactly one of `text`, `choice`, `product_id`,
/// `cart` and `browse` is given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The customer's handle (phone number, user name) on your channel. The
    /// host keeps it; the plugin sees only a pseudonym.
    pub customer: String,
    /// BCP 47 language tag of the customer; the shop's locale when absent.
    pub locale: Option<String>,
    pub text: Option<String>,
    /// A reply button or list row the customer tapped.
    pub choice: Option<ChoiceInput>,
    /// A product card the customer tapped.
    pub product_id: Option<String>,
    /// A whole cart sent at once; it becomes the conversation's cart.
    pub cart: Option<Vec<CartLineInput>>,
    /// The customer opened the catalog, optionally searching or in a section.
    pub browse: Option<BrowseInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceInput {
    pub id: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLineInput {
    pub product_id: String,
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseInput {
    pub query: Option<String>,
    pub section: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    /// At most 200; 50 when absent.
    pub limit: Option<u32>,
    /// Only those handled so: `bot`, `pending_agent` (waiting for a person) or `agent`.
    pub handling: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only messages after this sequence number (a reader's cursor).
    #[serde(default)]
    pub after: i64,
    /// At most 500; 100 when absent.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    pub conversation: Conversation,
    /// What the bot said on getting the conversation back.
    pub replies: Vec<Message>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentReply {
    /// What to say; or give `quick_reply` instead.
    pub text: Option<String>,
    /// The name of one of the business's quick replies, sent as its text.
    pub quick_reply: Option<String>,
    /// Who is answering (a staff member's id or email); their name is shown
    /// in the history. The person holding the conversation when absent.
    pub agent: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeConversation {
    /// Who takes it: a staff member's id or email (422 `unknown_staff` for
    /// anyone else). Required: a conversation is always held by someone named;
    /// the conversation's `agent` is then their staff id.
    pub agent: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConversation {
    /// Who gives it back (a staff member's id or email); they must be the
    /// agent holding it. When absent, the business releases it whoever holds it.
    pub agent: Option<String>,
}

fn inbound(body: SendMessage) -> Result<InboundRequest, ApiError> {
    let mut kinds = Vec::new();
    if let Some(text) = body.text {
        kinds.push(Inbound::Text(text));
    }
    if let Some(choice) = body.choice {
        kinds.push(Inbound::Choice { id: choice.id, title: choice.title });
    }
    if let Some(product_id) = body.product_id {
        kinds.push(Inbound::ProductTap(product_id));
    }
    if let Some(cart) = body.cart {
        kinds.push(Inbound::Cart(cart.into_iter().map(|l| (l.product_id, l.quantity)).collect()));
    }
    if let Some(browse) = body.browse {
        kinds.push(Inbound::Browse { query: browse.query, section: browse.section });
    }
    if kinds.len() != 1 {
        return Err(ApiError::invalid(format!(
            "give exactly one of text, choice, product_id, cart or browse (got {})",
            kinds.len()
        )));
    }
    let message = kinds.pop().ok_or_else(|| ApiError::invalid("no message"))?;
    Ok(InboundRequest { channel: "api".into(), handle: body.customer, locale: body.locale, message })
}

/// Deliver a customer's message to the shop's bot and get its replies.
///
/// The message is stored before the bot runs; if the bot fails, the customer
/// gets a polite fallback reply and the failure is recorded for the business.
#[utoipa::path(post, path = "/v1/messages", tag = "chat", security(("business_key" = [])), request_body = SendMessage,
    responses((status = 200, body = ChatOutcome), (status = 422, body = ErrorBody)))]
async fn send_message(
    State(app): State<App>,
    Caller(business): Caller,
    Json(body): Json<SendMessage>,
) -> Result<Json<ChatOutcome>, ApiError> {
    let request = inbound(body)?;
    Ok(Json(app.chat.handle_inbound(&business, request).await?))
}

/// Conversations, most recent first.
#[utoipa::path(get, path = "/v1/conversations", tag = "chat", security(("business_key" = [])), params(ConversationParams),
    responses((status = 200, body = Vec<Conversation>)))]
async fn list_conversations(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<ConversationParams>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    let limit = params.limit.unwrap_or(50).min(200);
    let handling = params
        .handling
        .as_deref()
        .map(str::parse::<Handling>)
        .transpose()
        .map_err(|_| ApiError::invalid("handling must be bot, pending_agent or agent"))?;
    Ok(Json(conversations::list(&app.db, &business.id, handling, limit).await?))
}

/// The staff member an API call names as its agent (a staff id or an email):
/// a name that is not one is refused as before (`agent_required`,
/// `invalid_agent`), one naming nobody on the team with 422 `unknown_staff`.
async fn staff_member(app: &App, business_id: &str, given: &str) -> Result<StaffMember, ApiError> {
    let given = handoff::agent_name(given)?;
    Ok(staff::resolve_agent(&app.db, business_id, given).await?)
}

pub(super) async fn conversation(app: &App, business_id: &str, id: &str) -> Result<Conversation, ApiError> {
    conversations::get(&app.db, business_id, id).await?.ok_or_else(|| ApiError::not_found("the conversation"))
}

#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(conversation(&app, &business.id, &id).await?))
}

/// A conversation's messages in order, after a cursor.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path), HistoryParams), responses((status = 200, body = History), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<History>, ApiError> {
    let conversation = conversation(&app, &business.id, &id).await?;
    let limit = params.limit.unwrap_or(100).min(500);
    let messages = conversations::messages(&app.db, &business.id, &id, params.after, limit).await?;
    audit_read(&app, &business.id, "business", "conversation.read", &id).await?;
    Ok(Json(History { conversation, messages }))
}

/// A conversation as a recorded test for the shop's plugin: the catalog and
/// currency now, and every turn the bot answered (what the customer sent, what
/// the shop replied). `bottega plugin test plugin.wasm recording.json` replays
/// it against a build and reports where the replies differ.
#[utoipa::path(get, path = "/v1/conversations/{id}/export", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = crate::devloop::recording::Recording),
        (status = 404, body = ErrorBody)))]
async fn export_conversation(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<crate::devloop::recording::Recording>, ApiError> {
    Ok(Json(export(&app, &business, &id, "business").await?))
}

/// A conversation of `business` as a recording (the catalog and currency now,
/// every turn the bot answered), its export noted in the audit trail as
/// `actor`'s (the business's key, or a staff member by id): what
/// `GET /v1/conversations/{id}/export` answers and the console's bot page
/// replays against a version.
pub(super) async fn export(
    app: &App,
    business: &Business,
    id: &str,
    actor: &str,
) -> Result<crate::devloop::recording::Recording, ApiError> {
    conversation(app, &business.id, id).await?;
    const PAGE: u32 = 500;
    let mut messages = Vec::new();
    loop {
        let after = messages.last().map_or(0, |m: &crate::store::conversations::Message| m.seq);
        let page = conversations::messages(&app.db, &business.id, id, after, PAGE).await?;
        let full = page.len() == PAGE as usize;
        messages.extend(page);
        if !full {
            break;
        }
    }
    let mut catalog = Vec::new();
    loop {
        let offset = u32::try_from(catalog.len()).unwrap_or(u32::MAX);
        let page = crate::store::products::list(&app.db, &business.id, None, offset, PAGE).await?;
        let full = page.len() == PAGE as usize;
        catalog.extend(page);
        if !full {
            break;
        }
    }
    audit_read(app, &business.id, actor, "conversation.exported", id).await?;
    Ok(crate::devloop::recording::record(&business.currency, &catalog, &messages))
}

/// Records that `actor` (the business's key, or a staff member by id in the
/// console) read a conversation's messages (who read what; never the text)
/// in the business's audit trail.
pub(super) async fn audit_read(
    app: &App,
    business_id: &str,
    actor: &str,
    action: &str,
    conversation_id: &str,
) -> Result<(), ApiError> {
    let entry = crate::store::audit::Entry { business_id, actor, action, subject: conversation_id, outcome: "ok" };
    Ok(crate::store::audit::append(&app.db, entry).await?)
}

/// A person takes the conversation over; the bot stays quiet until release.
///
/// The body names who takes it, a staff member (`{"agent": "maria@shop.example"}`
/// or their staff id; an empty body or no agent is refused with
/// `agent_required`, someone not on the team with `unknown_staff`). A conversation another agent
/// holds is refused with `held_by_another_agent`, naming the holder; taking
/// one's own again changes nothing.
#[utoipa::path(post, path = "/v1/conversations/{id}/take", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), request_body = TakeConversation,
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn take_conversation(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<TakeConversation>,
) -> Result<Json<Conversation>, ApiError> {
    // Another business's conversation is not found, whatever the body says.
    conversation(&app, &business.id, &id).await?;
    let agent = body.and_then(|t| t.agent).unwrap_or_default();
    let agent = staff_member(&app, &business.id, &agent).await?;
    Ok(Json(take(&app, &business, &id, &agent).await?))
}

/// `agent` takes conversation `id` of `business` (the API's take and the console's).
pub(super) async fn take(
    app: &App,
    business: &Business,
    id: &str,
    agent: &StaffMember,
) -> Result<Conversation, ApiError> {
    let taken = handoff::change_handling(&app.db, &business.id, id, HandlingChange::Take { agent: &agent.id }).await;
    with_holder_named(app, &business.id, taken).await
}

/// A handoff's outcome, with a refusal naming the holder by name (the
/// conversation keeps their staff id).
async fn with_holder_named<T>(app: &App, business_id: &str, outcome: Result<T, HandoffError>) -> Result<T, ApiError> {
    match outcome {
        Err(HandoffError::HeldByAnotherAgent { holder }) => {
            let holder = staff::display_name(&app.db, business_id, &holder).await?;
            Err(HandoffError::HeldByAnotherAgent { holder }.into())
        }
        other => Ok(other?),
    }
}

/// Hand the conversation back to the bot, which is told (`agent-released`).
///
/// A staff member named in the body (`{"agent": "maria@shop.example"}`) must be the one holding
/// it (`held_by_another_agent` otherwise); with no body the business releases
/// it, whoever holds it.
#[utoipa::path(post, path = "/v1/conversations/{id}/release", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), request_body = ReleaseConversation,
    responses((status = 200, body = Released), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn release_conversation(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReleaseConversation>,
) -> Result<Json<Released>, ApiError> {
    conversation(&app, &business.id, &id).await?;
    let body = body.unwrap_or_default();
    let agent = match &body.agent {
        Some(agent) => Some(staff_member(&app, &business.id, agent).await?),
        None => None,
    };
    Ok(Json(release(&app, &business, &id, agent.as_ref()).await?))
}

/// Hands conversation `id` back to the bot, which is told; by `agent`, who
/// must hold it, or by the business when `None` (the API's release and the console's).
pub(super) async fn release(
    app: &App,
    business: &Business,
    id: &str,
    agent: Option<&StaffMember>,
) -> Result<Released, ApiError> {
    let change = HandlingChange::Release { agent: agent.map(|a| a.id.as_str()) };
    let released = handoff::change_handling(&app.db, &business.id, id, change).await;
    let released = with_holder_named(app, &business.id, released).await?;
    let replies = app.chat.deliver_event(business, &released, ShopEvent::AgentReleased).await?;
    Ok(Released { conversation: conversation(app, &business.id, id).await?, replies })
}

/// A person answers in a conversation they hold.
#[utoipa::path(post, path = "/v1/conversations/{id}/replies", tag = "chat", security(("business_key" = [])),
    params(("id" = String, Path)), request_body = AgentReply,
    responses((status = 201, body = Message), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn agent_reply(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
    Json(body): Json<AgentReply>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let held = conversation(&app, &business.id, &id).await?;
    let agent = match &body.agent {
        Some(agent) => Some(staff_member(&app, &business.id, agent).await?.name),
        None => match &held.agent {
            Some(holder) => Some(staff::display_name(&app.db, &business.id, holder).await?),
            None => None,
        },
    };
    let message = reply(&app, &business, &held, body.text, body.quick_reply, agent).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A person's reply in `held`, which an agent must hold: `text`, or the
/// business's quick reply named `quick_reply` (exactly one), signed `agent`
/// (the API's reply and the console's).
pub(super) async fn reply(
    app: &App,
    business: &Business,
    held: &Conversation,
    text: Option<String>,
    quick_reply: Option<String>,
    agent: Option<String>,
) -> Result<Message, ApiError> {
    if held.handling != Handling::Agent {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_held",
            "take the conversation before replying as an agent",
        ));
    }
    let text = match (text, quick_reply) {
        (Some(text), None) => text,
        (None, Some(name)) => business
            .automations
            .as_ref()
            .and_then(|a| a.quick_replies.get(&name).cloned())
            .ok_or_else(|| ApiError::invalid(format!("there is no quick reply named `{name}`")))?,
        _ => return Err(ApiError::invalid("give exactly one of text or quick_reply")),
    };
    if text.trim().is_empty() || text.len() > crate::chat::MAX_INBOUND_TEXT_BYTES {
        return Err(ApiError::invalid("text must be 1 to 4096 bytes"));
    }
    Ok(app.chat.agent_reply(business, held, text, agent).await?)
}

/// A message the business starts to one of its customers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessMessage {
    /// The customer's pseudonym (a conversation's `customer_id`); the message
    /// goes to their most recent conversation.
    pub customer_id: String,
    pub text: String,
}

/// The business starts a message to a customer (a notice, an offer), sent
/// like a reply on the conversation's channel. It is a billable,
/// business-initiated send: the plan may refuse it with 402
/// (`billing_cap_reached` over the period's spending cap, `billing_past_due`
/// with an invoice past due). Replies to customers are never refused.
#[utoipa::path(post, path = "/v1/business-messages", tag = "chat", security(("business_key" = [])),
    request_body = BusinessMessage,
    responses((status = 201, body = Message), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn business_message(
    State(app): State<App>,
    Caller(business): Caller,
    Json(body): Json<BusinessMessage>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    if body.text.trim().is_empty() || body.text.len() > crate::chat::MAX_INBOUND_TEXT_BYTES {
        return Err(ApiError::invalid("text must be 1 to 4096 bytes"));
    }
    let conversation = conversations::latest_of_customer(&app.db, &business.id, &body.customer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("a conversation with that customer"))?;
    if let Err(refused) = limits::business_send_allowed(&app.billing, &business.id, crate::ids::now_ms()).await? {
        return Err(refused.into());
    }
    let message = app.chat.business_message(&business, &conversation, body.text).await?;
    Ok((StatusCode::CREATED, Json(message)))
}
