//! Who the client is, by address: the socket's peer, or — only when that peer is one of
//! `TRUSTED_PROXIES` — the address the proxies recorded in `X-Forwarded-For`. Trusting the
//! header from anyone would let every client pick its own address and walk past each limit.
//!
//! The resolved address is put in the request's extensions for [`super::extract::ClientInfo`]
//! (audit trail, sessions, lockout), and the overall per-IP rate limit is applied here.

use crate::app::AppState;
use crate::client::limit_subject;
use crate::ratelimit::Limit;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client address as resolved for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Walks `X-Forwarded-For` from the right (the hop nearest to us) past trusted proxies; the
/// first address that is not a trusted proxy is the client. A malformed entry ends the walk
/// at the last trusted hop: what lies beyond it cannot be believed.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    return client;
                }
            }
            Err(_) => return client,
        }
    }
    client
}

/// `::ffff:203.0.113.9` is the IPv4 client it wraps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Operational and static routes that are not counted in the per-IP limit: health probes,
/// scrapes, public keys fetched by resource servers, and the API docs (Swagger UI and ReDoc).
fn exempt(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics" | "/openapi.json")
        || path.starts_with("/.well-known/")
        || path.starts_with("/docs")
        || path.starts_with("/redoc")
}

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let ip = resolve(peer, req.headers(), &state.config.trusted_proxies);
        req.extensions_mut().insert(ClientIp(ip));
        if req.method() != Method::OPTIONS && !exempt(req.uri().path()) {
            if let Err(e) = state.limits.check(Limit::PerIp, &limit_subject(ip)).await {
                return e.into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let h = headers("198.51.100.7");
        assert_eq!(resolve(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        assert_eq!(
            resolve(ip("203.0.113.9"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
        assert_eq!(resolve(ip("10.1.2.3"), &h, &nets(&["10.0.0.0/8"])), ip("198.51.100.7"));
    }

    #[test]
    fn the_walk_stops_at_the_first_untrusted_hop_from_the_right() {
        // The client forged the first entry; our proxies appended the real one.
        let h = headers("1.2.3.4, 198.51.100.7, 10.0.0.5");
        assert_eq!(resolve(ip("10.0.0.9"), &h, &nets(&["10.0.0.0/8"])), ip("198.51.100.7"));
    }

    #[test]
    fn a_malformed_hop_ends_the_walk_at_the_last_trusted_one() {
        let h = headers("198.51.100.7, garbage");
        assert_eq!(resolve(ip("10.0.0.9"), &h, &nets(&["10.0.0.0/8"])), ip("10.0.0.9"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4_and_ipv6_counts_by_slash_64() {
        assert_eq!(
            resolve(ip("::ffff:203.0.113.9"), &HeaderMap::new(), &[]),
            ip("203.0.113.9")
        );
        assert_eq!(limit_subject(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(limit_subject(ip("203.0.113.9")), "203.0.113.9");
    }
}
