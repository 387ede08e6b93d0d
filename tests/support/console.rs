//! The business console from a test: staff members made the way a business
//! makes them (an invitation with its key, the acceptance form), signing in,
//! and the console's pages and forms with the session's cookie.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

use crate::{Shop, TestApp};

/// A person on a shop's team.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

/// A browser signed in to the console: its cookie and its session's CSRF token.
#[derive(Debug, Clone)]
pub struct Console {
    pub cookie: String,
    pub csrf: String,
}

/// What the console answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// Where a redirect goes.
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The CSRF token a console page's forms carry.
pub fn csrf_of(page: &str) -> Option<String> {
    let start = page.find("name=csrf value=\"")? + "name=csrf value=\"".len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_string())
}

impl TestApp {
    /// Sends a request to the console and reads the answer as text.
    pub async fn console_request(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let header_text =
            |name: header::HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let location = header_text(header::LOCATION);
        let set_cookie = header_text(header::SET_COOKIE);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
        Answer { status, location, set_cookie, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// GETs a console page, signed in as `console` when given.
    pub async fn console_get(&self, console: Option<&Console>, path: &str) -> Answer {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(console) = console {
            request = request.header(header::COOKIE, &console.cookie);
        }
        self.console_request(request.body(Body::empty()).expect("request builds")).await
    }

    /// Posts a console form as it is (no CSRF token added).
    pub async fn console_post(&self, console: Option<&Console>, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(console) = console {
            request = request.header(header::COOKIE, &console.cookie);
        }
        self.console_request(request.body(Body::from(form_body(fields))).expect("request builds")).await
    }

    /// Posts a console form with the session's CSRF token, as the page would.
    pub async fn console_submit(&self, console: &Console, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut with_csrf = vec![("csrf", console.csrf.as_str())];
        with_csrf.extend_from_slice(fields);
        self.console_post(Some(console), path, &with_csrf).await
    }

    /// Posts a console form as `multipart/form-data` (as a browser sends a
    /// file upload), with the session's CSRF token; `file` is (field, name, bytes).
    pub async fn console_upload(
        &self,
        console: &Console,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Answer {
        self.console_upload_as(console, path, fields, file, "application/wasm").await
    }

    /// Like [`TestApp::console_upload`], the file declared as `file_type`
    /// (as a browser declares a photo's).
    pub async fn console_upload_as(
        &self,
        console: &Console,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
        file_type: &str,
    ) -> Answer {
        const BOUNDARY: &str = "----bottega-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in [("csrf", console.csrf.as_str())].iter().chain(fields) {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (field, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {file_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .header(header::COOKIE, &console.cookie)
            .body(Body::from(body))
            .expect("request builds");
        self.console_request(request).await
    }

    /// The business invites `email` as `role` with its API key; returns the
    /// invitation's token (from its link).
    pub async fn invite(&self, shop: &Shop, email: &str, role: &str) -> String {
        let (status, created) =
            self.post("/v1/staff/invitations", &shop.key, json!({"email": email, "role": role})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let link = created["link"].as_str().expect("invitation link");
        link.split_once("token=").expect("the link carries its token").1.to_string()
    }

    /// Accepts an invitation through the console's form.
    pub async fn accept_invitation(&self, token: &str, name: &str, password: &str) -> Answer {
        self.console_post(None, "/console/accept", &[("token", token), ("name", name), ("password", password)]).await
    }

    /// A person on `shop`'s team with `role`, named `name` (their email is
    /// `name@<shop id>.test`), invited and accepted as a business does it.
    pub async fn staff(&self, shop: &Shop, name: &str, role: &str) -> Staff {
        let email = format!("{}@{}.test", name.to_lowercase(), shop.id.replace('_', "-"));
        let password = format!("{name}'s long password");
        let token = self.invite(shop, &email, role).await;
        let accepted = self.accept_invitation(&token, name, &password).await;
        assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
        let (status, team) = self.get("/v1/staff", &shop.key).await;
        assert_eq!(status, StatusCode::OK, "{team}");
        let member = team
            .as_array()
            .expect("a list")
            .iter()
            .find(|m| m["email"] == email.as_str())
            .expect("the new member is on the team")
            .clone();
        Staff { id: member["id"].as_str().expect("id").to_string(), email, name: name.to_string(), password }
    }

    /// Posts the sign-in form.
    pub async fn sign_in_as(&self, email: &str, password: &str) -> Answer {
        self.console_post(None, "/console/sign-in", &[("email", email), ("password", password)]).await
    }

    /// Signs the operator in to `/console/operator` with the admin token, and
    /// opens its page for the session's CSRF token.
    pub async fn operator_signed_in(&self) -> Console {
        let answer = self.console_post(None, "/console/operator/sign-in", &[("token", crate::ADMIN_TOKEN)]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let set_cookie = answer.set_cookie.expect("an operator session cookie");
        let cookie = set_cookie.split(';').next().expect("name=value").to_string();
        let mut console = Console { cookie, csrf: String::new() };
        let page = self.console_get(Some(&console), "/console/operator").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        console.csrf = csrf_of(&page.body).expect("the operator's forms carry a CSRF token");
        console
    }

    /// Signs `staff` in and opens the home page for the session's CSRF token.
    pub async fn signed_in(&self, staff: &Staff) -> Console {
        let answer = self.sign_in_as(&staff.email, &staff.password).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let set_cookie = answer.set_cookie.expect("a session cookie");
        let cookie = set_cookie.split(';').next().expect("name=value").to_string();
        let mut console = Console { cookie, csrf: String::new() };
        let home = self.console_get(Some(&console), "/console").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        console.csrf = csrf_of(&home.body).expect("the page's forms carry a CSRF token");
        console
    }
}
