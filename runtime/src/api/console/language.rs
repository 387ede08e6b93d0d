//! Which language a console page speaks when no page chose it itself: the
//! visitor's (their browser's `Accept-Language`, [`of_visitor`]) where no
//! shop is known (before signing in, and the operator's pages), the shop's
//! once a session is known. This module owns
//! error pages ([`super::ConsoleError`]) in that language: an error's answer
//! carries the error ([`Failure`]) and [`speak`], the layer around every
//! console route, writes its page in the language of the request: the shop's
//! when the [`Signed`](super::Signed) extractor found a session (it says so
//! with [`Speaking::shop`]), else the visitor's. Messages the console knows
//! by their stable code are said in that language; any other keeps the API's
//! English message, marked `lang=en`.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::super::error::ApiError;
use super::words::{Lang, Word};
use super::{bare_in, escape};
use crate::staff::MAX_NAME_CHARS;

/// The language the visitor's browser asks for (every `Accept-Language`
/// header of the request, in order); English when it asks for none the
/// console speaks.
pub fn of_visitor(headers: &HeaderMap) -> Lang {
    let ranges: Vec<&str> =
        headers.get_all(header::ACCEPT_LANGUAGE).iter().filter_map(|value| value.to_str().ok()).collect();
    Lang::from_accept_language(&ranges.join(","))
}

/// The shop's language a request's handler learned (from its session), for
/// the error page [`speak`] writes after it; in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Speaking(Arc<OnceLock<Lang>>);

impl Speaking {
    /// Notes that the request is a session of a shop speaking `lang`.
    pub fn shop(parts: &Parts, lang: Lang) {
        if let Some(speaking) = parts.extensions.get::<Speaking>() {
            // Set once: a request has one session.
            let _ = speaking.0.set(lang);
        }
    }
}

/// A page's failure, carried on its answer until [`speak`] writes its page
/// in the request's language.
#[derive(Debug, Clone)]
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let ApiError { status, code, message } = error;
        Failure { status, code, message }
    }
}

impl IntoResponse for Failure {
    /// The page in English (what a route outside [`speak`] would show), with
    /// the failure for [`speak`] to write again in the request's language.
    fn into_response(self) -> Response {
        let mut answer = (self.status, Html(self.page(Lang::En))).into_response();
        answer.extensions_mut().insert(self);
        answer
    }
}

impl Failure {
    /// The error page in `lang`.
    fn page(&self, lang: Lang) -> String {
        let (message, english) = match known(self.code, lang) {
            Some(said) => (said, false),
            None => (escape(&self.message), lang != Lang::En),
        };
        let body = format!(
            "<h1>{}</h1><p class=error data-code=\"{}\"{}>{message}</p><p><a href=\"/console\">{}</a></p>",
            escape(heading(self.status).in_(lang)),
            escape(self.code),
            if english { " lang=en" } else { "" },
            escape(Word::BackToTheConsole.in_(lang)),
        );
        bare_in(lang, Word::ConsoleTitle.in_(lang), &body)
    }
}

/// An error page's heading, by its status.
fn heading(status: StatusCode) -> Word {
    match status.as_u16() {
        401 | 403 => Word::Refused,
        404 => Word::NotFound,
        409 => Word::NotPossibleNow,
        429 => Word::TooManyRequests,
        400..=499 => Word::NotAccepted,
        _ => Word::SomethingWentWrong,
    }
}

/// The message of an error the console knows by its stable code, in `lang`
/// (HTML-escaped); `None` for the others.
fn known(code: &str, lang: Lang) -> Option<String> {
    let word = match code {
        "csrf_refused" => Word::FormExpired,
        "not_allowed" => Word::RoleDoesNotAllow,
        "invitation_not_open" => Word::InvitationNotOpen,
        "business_suspended" => Word::BusinessSuspended,
        "internal" => Word::OurSideFailed,
        "not_held" => Word::TakeBeforeReplying,
        "invalid_text" => Word::NoNulCharacters,
        "wrong_credentials" => Word::WrongCredentials,
        "code_required" => Word::CodeRequired,
        "wrong_code" => Word::WrongCode,
        "weak_password" => Word::WeakPassword,
        "invalid_name" => return Some(Word::InvalidName.fill(lang, &[MAX_NAME_CHARS.to_string()])),
        _ => return None,
    };
    Some(escape(word.in_(lang)))
}

/// The layer around every console route: gives the request a [`Speaking`]
/// for its session's language, and writes a failed page's [`Failure`] in the
/// shop's language when a session was found, else the visitor's.
pub async fn speak(mut request: Request, next: Next) -> Response {
    let visitor = of_visitor(request.headers());
    let speaking = Speaking::default();
    request.extensions_mut().insert(speaking.clone());
    let mut answer = next.run(request).await;
    let Some(failure) = answer.extensions_mut().remove::<Failure>() else { return answer };
    let lang = speaking.0.get().copied().unwrap_or(visitor);
    let (mut parts, _) = answer.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(failure.page(lang)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_page_speaks_its_language_and_keeps_its_code() {
        let refused = Failure::from(ApiError::from(crate::staff::StaffError::NotAllowed));
        let page = refused.page(Lang::It);
        assert!(page.contains("<html lang=it>"), "{page}");
        assert!(page.contains("<h1>Rifiutato</h1>"), "{page}");
        assert!(page.contains("data-code=\"not_allowed\">Il tuo ruolo non lo consente.</p>"), "{page}");
        assert!(page.contains("Torna alla console"), "{page}");

        // A message the console does not know keeps the API's, marked English.
        let unknown = Failure::from(ApiError::not_found("the order"));
        let page = unknown.page(Lang::Id);
        assert!(page.contains("<h1>Tidak ditemukan</h1>"), "{page}");
        assert!(page.contains("data-code=\"not_found\" lang=en>the order was not found</p>"), "{page}");
        let english = unknown.page(Lang::En);
        assert!(english.contains("data-code=\"not_found\">the order was not found</p>"), "{english}");
    }
}
