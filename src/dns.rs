//! The email domain check (`EMAIL_DOMAIN_CHECK=dns`): a domain that can receive mail has MX
//! records, or at least an A/AAAA record (RFC 5321 §5.1 implicit MX). The resolver is a trait so
//! tests decide what "the internet" answers.
//!
//! Decision: when the lookup itself fails (timeout, SERVFAIL, no resolver reachable) the address
//! is accepted and a warning logged: a DNS outage must not stop every registration, and the
//! verification mail proves the address anyway. Only a definite "no such domain / no records"
//! refuses the address.

use async_trait::async_trait;
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainStatus {
    AcceptsMail,
    NoMailHost,
    Unknown,
}

#[async_trait]
pub trait DomainResolver: Send + Sync + 'static {
    async fn check(&self, domain: &str) -> DomainStatus;
}

/// Uses the system's resolver configuration (`/etc/resolv.conf`).
pub struct SystemResolver {
    resolver: TokioResolver,
}

impl SystemResolver {
    pub fn new() -> anyhow::Result<Self> {
        let resolver = TokioResolver::builder(TokioConnectionProvider::default())
            .map_err(|e| anyhow::anyhow!("could not read the system DNS configuration: {e}"))?
            .build();
        Ok(Self { resolver })
    }
}

fn is_no_records(e: &hickory_resolver::ResolveError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

#[async_trait]
impl DomainResolver for SystemResolver {
    async fn check(&self, domain: &str) -> DomainStatus {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(mx) if mx.iter().next().is_some() => return DomainStatus::AcceptsMail,
            Ok(_) => {}
            Err(e) if is_no_records(&e) => {}
            Err(e) => {
                tracing::warn!(%domain, error = %e, "MX lookup failed; accepting the address");
                return DomainStatus::Unknown;
            }
        }
        match self.resolver.lookup_ip(fqdn.as_str()).await {
            Ok(ips) if ips.iter().next().is_some() => DomainStatus::AcceptsMail,
            Ok(_) => DomainStatus::NoMailHost,
            Err(e) if is_no_records(&e) => DomainStatus::NoMailHost,
            Err(e) => {
                tracing::warn!(%domain, error = %e, "A/AAAA lookup failed; accepting the address");
                DomainStatus::Unknown
            }
        }
    }
}

/// A resolver with fixed answers, for tests and for `EMAIL_DOMAIN_CHECK=off`.
#[derive(Default, Clone)]
pub struct StaticResolver {
    pub accepting: Vec<String>,
}

#[async_trait]
impl DomainResolver for StaticResolver {
    async fn check(&self, domain: &str) -> DomainStatus {
        if self.accepting.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            DomainStatus::AcceptsMail
        } else {
            DomainStatus::NoMailHost
        }
    }
}
