//! Facts about the client a request came from (its IP and user agent), in a module of their
//! own so the rules in `auth` can record them without depending on the web layer that reads
//! them off the request (`http::extract`).

use std::net::IpAddr;

/// Where a request came from, for the audit log and session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// What per-IP rate limits count this client as (its /64 for IPv6).
    pub fn limit_subject(&self) -> String {
        match self.ip.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(ip)) => limit_subject(ip),
            _ => "unknown".into(),
        }
    }
}

/// What an address is counted as for rate limits: an IPv6 client usually holds a whole /64,
/// so counting single addresses would let it rotate through billions of them.
pub fn limit_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}
