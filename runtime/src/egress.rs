//! Egress: where the host may send requests on a tenant's behalf (a
//! business's webhook endpoint, its channel's Graph API base), one policy for
//! all of them.
//!
//! A URL must be `https`, and the address it leads to must be public: no
//! loopback, link-local (`169.254.169.254`, the cloud metadata service),
//! private, unique-local, unspecified, multicast, broadcast, documentation,
//! CGNAT (`100.64.0.0/10`) or reserved address, nor one of those embedded in an
//! IPv6 address (IPv4-mapped, NAT64, 6to4). The operator's allow-list
//! (`--allow-egress-to host[:port],...`) names hosts exempt from this, plain
//! `http` included, for tests and on-premises receivers; an entry with a port
//! allows that host on that port only.
//!
//! The policy is checked twice. When a business configures a URL
//! ([`EgressPolicy::check_configured`]: the URL, and where its name resolves
//! now), so a mistake is answered at once; and on every request, by
//! [`EgressClient`]: the URL again (an IP literal is never resolved), and every
//! address the name resolves to, filtered by the client's own DNS resolver, so
//! the connection can only be made to an address the policy allowed (DNS that
//! changes between check and use gains nothing). The client follows no
//! redirects and uses no proxy (a proxy would resolve the name itself).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long a configuration-time lookup may take before the URL is accepted
/// on what it says alone (send time checks again).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// A host the operator exempts from the policy, with the only port allowed
/// when one is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// Lowercase, without brackets or a trailing dot: `localhost`, `127.0.0.1`, `::1`.
    pub host: String,
    pub port: Option<u16>,
}

impl AllowedHost {
    /// Reads `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address
    /// (more than one colon) is a host without a port.
    pub fn parse(entry: &str) -> Result<AllowedHost, String> {
        let entry = entry.trim();
        let invalid = || format!("`{entry}` is not host[:port] (an IPv6 address in brackets: [::1]:8080)");
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(invalid)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(invalid)?)),
            }
        } else if entry.matches(':').count() == 1 {
            let (host, port) = entry.split_once(':').ok_or_else(invalid)?;
            (host, Some(port))
        } else {
            (entry, None)
        };
        let host = normalize_host(host);
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
            return Err(invalid());
        }
        if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
            return Err(invalid());
        }
        let port = port.map(|p| p.parse::<u16>().map_err(|_| invalid())).transpose()?;
        Ok(AllowedHost { host, port })
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => write!(f, "{host}"),
        }
    }
}

/// Why a URL or an address is refused (the message a business reads).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressRefused {
    #[error("`{0}` is not an absolute URL")]
    NotUrl(String),
    #[error("the URL must use https")]
    NotHttps,
    #[error("the URL must name a host")]
    NoHost,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("{host} is allowed by the operator only on port {allowed}")]
    OtherPort { host: String, allowed: String },
    #[error("{address} is not a public address ({class})")]
    Address { address: IpAddr, class: &'static str },
    #[error("{host} resolves to {address}, not a public address ({class})")]
    Resolved { host: String, address: IpAddr, class: &'static str },
}

/// Why `address` may not be reached, or `None` for a public address.
pub fn refused_class(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (CGNAT)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 0, 0) => "reserved",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        _ if ip == Ipv4Addr::BROADCAST => "broadcast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(class)
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d).
    if segments[..5] == [0; 5] && (segments[5] == 0xffff || segments[5] == 0) {
        return refused_v4(embedded_v4(segments[6], segments[7]));
    }
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return refused_v4(embedded_v4(segments[6], segments[7]));
    }
    // 6to4 (2002::/16) embeds an IPv4 address in bits 16..48.
    if segments[0] == 0x2002 {
        return refused_v4(embedded_v4(segments[1], segments[2]));
    }
    let class = match segments[0] {
        s if s & 0xffc0 == 0xfe80 => "link-local",
        s if s & 0xffc0 == 0xfec0 => "site-local",
        s if s & 0xfe00 == 0xfc00 => "unique-local",
        s if s & 0xff00 == 0xff00 => "multicast",
        0x2001 if segments[1] == 0x0db8 => "documentation",
        0x3fff if segments[1] & 0xf000 == 0 => "documentation",
        // 100::/64, the discard prefix.
        0x0100 if segments[1..4] == [0, 0, 0] => "reserved",
        _ => return None,
    };
    Some(class)
}

/// The operator's egress policy: public HTTPS only, except for the hosts it
/// allows. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allowed: Arc<Vec<AllowedHost>>,
}

/// What the allow-list says of a host and port.
#[derive(Debug, PartialEq, Eq)]
enum Listed {
    Yes,
    /// Listed, but only on other ports.
    OtherPorts(String),
    No,
}

impl EgressPolicy {
    /// A policy allowing `allowed` besides public HTTPS addresses.
    pub fn allowing(allowed: Vec<AllowedHost>) -> EgressPolicy {
        EgressPolicy { allowed: Arc::new(allowed) }
    }

    /// The hosts the operator allows.
    pub fn allowed(&self) -> &[AllowedHost] {
        &self.allowed
    }

    fn listed(&self, host: &str, port: Option<u16>) -> Listed {
        let entries: Vec<&AllowedHost> = self.allowed.iter().filter(|a| a.host == host).collect();
        if entries.is_empty() {
            return Listed::No;
        }
        if entries.iter().any(|a| a.port.is_none() || a.port == port) {
            return Listed::Yes;
        }
        Listed::OtherPorts(entries.iter().filter_map(|a| a.port).map(|p| p.to_string()).collect::<Vec<_>>().join(", "))
    }

    /// True when the operator allows `host` on some port (the resolver's
    /// question: it never sees the port, which [`EgressPolicy::check_url`]
    /// already checked).
    fn names(&self, host: &str) -> bool {
        self.allowed.iter().any(|a| a.host == host)
    }

    /// Checks what a URL says: scheme, host, port, and its address when it
    /// is an IP literal (names are checked where they resolve).
    pub fn check_url(&self, url: &str) -> Result<Url, EgressRefused> {
        let parsed = Url::parse(url.trim()).map_err(|_| EgressRefused::NotUrl(url.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(EgressRefused::NotHttps);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(EgressRefused::Credentials);
        }
        let host = parsed.host_str().map(normalize_host).filter(|h| !h.is_empty()).ok_or(EgressRefused::NoHost)?;
        match self.listed(&host, parsed.port_or_known_default()) {
            Listed::Yes => return Ok(parsed),
            Listed::OtherPorts(allowed) => return Err(EgressRefused::OtherPort { host, allowed }),
            Listed::No => {}
        }
        if parsed.scheme() != "https" {
            return Err(EgressRefused::NotHttps);
        }
        if let Ok(address) = host.parse::<IpAddr>()
            && let Some(class) = refused_class(address)
        {
            return Err(EgressRefused::Address { address, class });
        }
        Ok(parsed)
    }

    /// Checks a URL a business is configuring: [`EgressPolicy::check_url`],
    /// then where its name resolves now. A name that does not resolve (yet)
    /// is accepted: every request checks again.
    pub async fn check_configured(&self, url: &str) -> Result<(), EgressRefused> {
        let parsed = self.check_url(url)?;
        let host = parsed.host_str().map(normalize_host).unwrap_or_default();
        if self.names(&host) || host.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        let lookup = tokio::net::lookup_host((host.as_str(), 443));
        let Ok(Ok(addresses)) = tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await else { return Ok(()) };
        let addresses: Vec<SocketAddr> = addresses.collect();
        first_refusal(&host, &addresses).map_or(Ok(()), Err)
    }
}

/// The refusal of a name whose addresses are all refused (`None` when one is
/// public, or there are none).
fn first_refusal(host: &str, addresses: &[SocketAddr]) -> Option<EgressRefused> {
    if addresses.iter().any(|a| refused_class(a.ip()).is_none()) {
        return None;
    }
    let address = addresses.first()?.ip();
    let class = refused_class(address)?;
    Some(EgressRefused::Resolved { host: host.to_string(), address, class })
}

fn normalize_host(host: &str) -> String {
    host.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

/// The DNS resolver of an [`EgressClient`]: the system's answer, with every
/// address the policy refuses removed, so a connection can only be opened to
/// an allowed one.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: EgressPolicy,
}

impl PolicyResolver {
    pub fn new(policy: EgressPolicy) -> PolicyResolver {
        PolicyResolver { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_allowed(self.policy.clone(), normalize_host(name.as_str())))
    }
}

/// The addresses of `host` the policy allows: all of them for a host the
/// operator allows, otherwise the public ones; an error when none is left.
async fn resolve_allowed(
    policy: EgressPolicy,
    host: String,
) -> Result<Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    if policy.names(&host) {
        return Ok(Box::new(addresses.into_iter()) as Addrs);
    }
    let allowed: Vec<SocketAddr> = addresses.iter().copied().filter(|a| refused_class(a.ip()).is_none()).collect();
    if allowed.is_empty() {
        let refusal = first_refusal(&host, &addresses)
            .map_or_else(|| format!("{host} resolves to no address"), |r| r.to_string());
        return Err(format!("egress refused: {refusal}").into());
    }
    Ok(Box::new(allowed.into_iter()) as Addrs)
}

/// The one HTTP client for requests made on a tenant's behalf: every request
/// is checked against the policy ([`EgressClient::post`], [`EgressClient::get`]), and its resolver
/// connects only to allowed addresses. No redirects, no proxy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EgressClient {
    client: reqwest::Client,
    policy: EgressPolicy,
}

impl EgressClient {
    /// A client for `policy` whose requests time out after `timeout`.
    pub fn new(policy: EgressPolicy, timeout: Duration) -> EgressClient {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(policy.clone())))
            .build()
            // Building fails only when the TLS backend cannot start; then no
            // request could be sent by any client, and each one says why.
            .unwrap_or_else(|e| {
                tracing::error!("the egress client could not be built: {e}");
                reqwest::Client::new()
            });
        EgressClient { client, policy }
    }

    /// A POST to `url`, if the policy allows it.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, EgressRefused> {
        let url = self.policy.check_url(url)?;
        Ok(self.client.post(url))
    }

    /// A GET of `url`, if the policy allows it.
    pub fn get(&self, url: &str) -> Result<reqwest::RequestBuilder, EgressRefused> {
        let url = self.policy.check_url(url)?;
        Ok(self.client.get(url))
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }
}

/// A request's failure with its causes (`reqwest` names only the URL; the
/// cause says, e.g., that the policy refused every address).
pub fn describe(error: &reqwest::Error) -> String {
    let mut described = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        described.push_str(": ");
        described.push_str(&cause.to_string());
        source = cause.source();
    }
    described
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// `expected`: `None` for a public address, or the class it is refused as.
    fn check(input: &str, expected: Option<&str>) {
        let address: IpAddr = input.parse().unwrap_or_else(|_| panic!("{input} is an address"));
        assert_eq!(refused_class(address), expected, "{input}");
    }

    #[test]
    fn addresses_are_classified() {
        check("0.0.0.0", Some("unspecified"));
        check("0.1.2.3", Some("unspecified"));
        check("127.0.0.1", Some("loopback"));
        check("127.255.0.9", Some("loopback"));
        check("10.0.0.1", Some("private"));
        check("172.16.0.1", Some("private"));
        check("172.31.255.255", Some("private"));
        check("172.32.0.1", None);
        check("192.168.1.1", Some("private"));
        check("169.254.169.254", Some("link-local"));
        check("100.64.0.1", Some("shared (CGNAT)"));
        check("100.127.255.255", Some("shared (CGNAT)"));
        check("100.128.0.1", None);
        check("192.0.2.10", Some("documentation"));
        check("198.51.100.7", Some("documentation"));
        check("203.0.113.99", Some("documentation"));
        check("198.18.0.1", Some("benchmarking"));
        check("224.0.0.1", Some("multicast"));
        check("239.255.255.250", Some("multicast"));
        check("255.255.255.255", Some("broadcast"));
        check("240.0.0.1", Some("reserved"));
        check("8.8.8.8", None);
        check("157.240.1.1", None);
        check("::", Some("unspecified"));
        check("::1", Some("loopback"));
        check("fe80::1", Some("link-local"));
        check("fc00::1", Some("unique-local"));
        check("fd12:3456::1", Some("unique-local"));
        check("fec0::1", Some("site-local"));
        check("ff02::1", Some("multicast"));
        check("2001:db8::1", Some("documentation"));
        check("::ffff:127.0.0.1", Some("loopback"));
        check("::ffff:169.254.169.254", Some("link-local"));
        check("::ffff:10.1.2.3", Some("private"));
        check("::ffff:8.8.8.8", None);
        check("::127.0.0.1", Some("loopback"));
        check("64:ff9b::a9fe:a9fe", Some("link-local"));
        check("64:ff9b::808:808", None);
        check("2002:7f00:1::", Some("loopback"));
        check("2002:808:808::", None);
        check("2a03:2880:f10c::1", None);
        check("2606:4700::1111", None);
    }

    fn policy(entries: &[&str]) -> EgressPolicy {
        EgressPolicy::allowing(entries.iter().map(|e| AllowedHost::parse(e).expect("entry parses")).collect())
    }

    /// `expected`: `Ok(())`, or the start of the refusal's message.
    fn check_url(policy: &EgressPolicy, url: &str, expected: Result<(), &str>) {
        let got = policy.check_url(url).map(|_| ()).map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{url}: {got:?} does not start with {want:?}"),
            (got, want) => panic!("{url}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn urls_must_be_https_to_a_public_address_unless_allowed() {
        let none = policy(&[]);
        check_url(&none, "https://hooks.shop.example/orders", Ok(()));
        check_url(&none, "https://8.8.8.8/", Ok(()));
        check_url(&none, "http://example.com/hooks", Err("the URL must use https"));
        check_url(&none, "ftp://example.com/", Err("the URL must use https"));
        check_url(
            &none,
            "https://169.254.169.254/latest/meta-data",
            Err("169.254.169.254 is not a public address (link-local)"),
        );
        check_url(&none, "https://10.0.0.1/", Err("10.0.0.1 is not a public address (private)"));
        check_url(&none, "https://[::1]:8443/", Err("::1 is not a public address (loopback)"));
        check_url(&none, "https://0.0.0.0/", Err("0.0.0.0 is not a public address (unspecified)"));
        check_url(&none, "https://[::ffff:7f00:1]/", Err("::ffff:127.0.0.1 is not a public address (loopback)"));
        // The URL parser reads the forms people use to hide an address.
        check_url(&none, "https://2130706433/", Err("127.0.0.1 is not a public address (loopback)"));
        check_url(&none, "https://0x7f.1/", Err("127.0.0.1 is not a public address (loopback)"));
        check_url(&none, "https://user:pw@shop.example/", Err("the URL may not carry"));
        check_url(&none, "not a url", Err("`not a url` is not an absolute URL"));

        let local = policy(&["127.0.0.1", "localhost:8080", "[::1]:9000"]);
        check_url(&local, "http://127.0.0.1:4000/hooks", Ok(()));
        check_url(&local, "http://localhost:8080/", Ok(()));
        check_url(&local, "http://LOCALHOST.:8080/", Ok(()));
        check_url(&local, "http://localhost:8081/", Err("localhost is allowed by the operator only on port 8080"));
        check_url(&local, "http://[::1]:9000/", Ok(()));
        check_url(&local, "https://[::1]/", Err("::1 is allowed by the operator only on port 9000"));
        check_url(&local, "https://10.0.0.1/", Err("10.0.0.1 is not a public address (private)"));
    }

    #[test]
    fn allow_list_entries_parse() {
        let parse = |e: &str| AllowedHost::parse(e).map(|a| a.to_string());
        assert_eq!(parse("127.0.0.1"), Ok("127.0.0.1".into()));
        assert_eq!(parse(" LocalHost:8080 "), Ok("localhost:8080".into()));
        assert_eq!(parse("[::1]:9000"), Ok("[::1]:9000".into()));
        assert_eq!(parse("::1"), Ok("[::1]".into()));
        assert!(parse("localhost:http").is_err());
        assert!(parse("").is_err());
        assert!(parse("[::1").is_err());
        assert!(parse("a b").is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_not_connected_to_unless_it_is_allowed() {
        // The allow-list names 127.0.0.1 as an address, not the name `localhost`.
        let resolver = PolicyResolver::new(policy(&["127.0.0.1"]));
        let refused = resolver.resolve(Name::from_str("localhost").expect("a name")).await;
        let error = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("egress refused: localhost resolves to"), "{error}");

        let resolver = PolicyResolver::new(policy(&["localhost"]));
        let allowed = resolver.resolve(Name::from_str("localhost").expect("a name")).await.expect("allowed");
        assert!(allowed.into_iter().all(|a| a.ip().is_loopback()));

        let none = policy(&[]);
        let refused = none.check_configured("https://localhost/hooks").await;
        assert!(matches!(refused, Err(EgressRefused::Resolved { class: "loopback", .. })), "{refused:?}");
    }
}
