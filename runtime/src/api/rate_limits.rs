//! Rate limits on the public endpoints: card form submits on the payment page
//! (per order and per client address), web chat connections (per client
//! address), signed WhatsApp deliveries (per business) and console sign-ins
//! (per account and per client address). An exceeded limit
//! answers 429 with `Retry-After`: `rate_limited` in our JSON error format,
//! or a small page on the payment page.
//!
//! Each limit is a keyed GCRA limiter (`governor`) kept in memory on this
//! node: behind a balancer over N nodes a client gets up to N times a limit.
//! A cluster-wide limit would keep its counters in PostgreSQL (not done yet).
//! Keys back to a fresh state are dropped every few thousand checks, so the
//! limiters hold only the keys seen recently.
//!
//! The client's address is the connection's peer ([`ClientAddress`]), or with
//! `--trust-forwarded-for` the last `X-Forwarded-For` entry. A request that
//! has neither (a test driving the router with `oneshot`, which has no
//! connection) is limited by its other keys only.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;
use crate::App;
use crate::config::RateLimitConfig;

/// Checks of one limiter between two sweeps of its keys back to a fresh state.
const SWEEP_EVERY: u64 = 4096;

/// The node's rate limiters, one per public endpoint and key.
pub struct RateLimits {
    pay_per_order: Limiter<String>,
    pay_per_address: Limiter<IpAddr>,
    web_chat_connects_per_address: Limiter<IpAddr>,
    whatsapp_per_business: Limiter<String>,
    sign_ins_per_account: Limiter<String>,
    sign_ins_per_address: Limiter<IpAddr>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

/// A request over its limit, and how long until one more is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> RateLimits {
        RateLimits {
            pay_per_order: Limiter::per_minute(config.pay_submits_per_order),
            pay_per_address: Limiter::per_minute(config.pay_submits_per_address),
            web_chat_connects_per_address: Limiter::per_minute(config.web_chat_connects_per_address),
            whatsapp_per_business: Limiter::per_minute(config.whatsapp_deliveries_per_business),
            sign_ins_per_account: Limiter::per_minute(config.sign_ins_per_account),
            sign_ins_per_address: Limiter::per_minute(config.sign_ins_per_address),
        }
    }

    /// A card form submit from `address` (checked before its link is opened).
    pub fn pay_submit_from(&self, address: ClientAddress) -> Result<(), Limited> {
        address.0.map_or(Ok(()), |ip| self.pay_per_address.check(&ip))
    }

    /// A card form submit for `order_id`, whose link opened.
    pub fn pay_submit_for(&self, order_id: &str) -> Result<(), Limited> {
        self.pay_per_order.check(&order_id.to_string())
    }

    /// A web chat connection from `address`.
    pub fn web_chat_connect(&self, address: ClientAddress) -> Result<(), Limited> {
        address.0.map_or(Ok(()), |ip| self.web_chat_connects_per_address.check(&ip))
    }

    /// A console sign-in attempt for `email` from `address`, checked before
    /// the password is: each attempt counts, right or wrong, so guessing a
    /// password stops at the limit (the lockout).
    pub fn sign_in(&self, email: &str, address: ClientAddress) -> Result<(), Limited> {
        if let Some(ip) = address.0 {
            self.sign_ins_per_address.check(&ip)?;
        }
        self.sign_ins_per_account.check(&email.trim().to_lowercase())
    }

    /// A signed WhatsApp delivery with entries for `business_id`.
    pub fn whatsapp_delivery(&self, business_id: &str) -> Result<(), Limited> {
        self.whatsapp_per_business.check(&business_id.to_string())
    }
}

impl Limited {
    /// Whole seconds to wait, at least 1 (what `Retry-After` says).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }

    /// Adds `Retry-After` to an answer.
    pub fn with_retry_after(&self, mut response: Response) -> Response {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after_secs()));
        response
    }
}

/// The JSON answer: 429 `rate_limited`, with `Retry-After`.
impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; try again in {} s", self.retry_after_secs()),
        );
        self.with_retry_after(error.into_response())
    }
}

/// The address a request came from, when it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The connection's peer, or with `trust_forwarded_for` the last
    /// `X-Forwarded-For` entry that is an address (the one the operator's
    /// proxy added; earlier ones are the client's to choose).
    pub fn of(parts: &Parts, trust_forwarded_for: bool) -> ClientAddress {
        if trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return ClientAddress(forwarded);
            }
        }
        ClientAddress(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip()))
    }
}

impl FromRequestParts<App> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts, app.config.http.trust_forwarded_for))
    }
}

/// One keyed limit, or none when it is configured as 0.
struct Limiter<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn per_minute(requests: u32) -> Limiter<K> {
        Limiter {
            limiter: NonZeroU32::new(requests).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), Limited> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| Limited { retry_after: not_until.wait_time_from(DefaultClock::default().now()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_takes_its_burst_then_says_how_long_to_wait() {
        let limiter: Limiter<String> = Limiter::per_minute(3);
        let key = "ord_1".to_string();
        for _ in 0..3 {
            assert_eq!(limiter.check(&key), Ok(()));
        }
        let limited = limiter.check(&key).expect_err("the fourth is over the limit");
        assert!((1..=20).contains(&limited.retry_after_secs()), "{limited:?}");
        assert_eq!(limiter.check(&"ord_2".to_string()), Ok(()), "another key has its own budget");
        let off: Limiter<String> = Limiter::per_minute(0);
        assert!((0..100).all(|_| off.check(&key).is_ok()), "0 turns a limit off");
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_proxy_is_trusted() {
        let request = axum::http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(())
            .expect("request");
        let (mut parts, ()) = request.into_parts();
        assert_eq!(ClientAddress::of(&parts, false), ClientAddress(None), "no connection, no address");
        let peer: SocketAddr = "192.0.2.1:5000".parse().expect("address");
        parts.extensions.insert(ConnectInfo(peer));
        assert_eq!(ClientAddress::of(&parts, false).0, Some(peer.ip()));
        assert_eq!(ClientAddress::of(&parts, true).0, "198.51.100.7".parse().ok(), "the proxy's entry is the last");
    }
}
