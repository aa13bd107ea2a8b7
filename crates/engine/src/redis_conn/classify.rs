//! Connection errors in words: unreachable, authentication, TLS, cluster, timeout, read-only; never a
//! password or token.

use super::*;

pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "<redacted>"))
}

/// `cluster`: the connection is a cluster connection (redirects are then a failover or a resharding in
/// progress, not a misconfiguration).
pub(crate) fn classify(e: RedisError, label: &str, secrets: &[String], timeout: Duration, cluster: bool) -> Error {
    use redis::ServerErrorKind as S;
    let target = label.to_string();
    let text = scrub(&e.to_string(), secrets);
    let lower = text.to_lowercase();
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS") | Some("NOAUTH"))
        || lower.contains("wrongpass")
        || lower.contains("noauth")
    {
        return Error::Auth { target };
    }
    if e.code() == Some("NOPERM") || lower.starts_with("noperm") || lower.contains("noperm") {
        return Error::ReadOnly { target };
    }
    if e.is_timeout() {
        return Error::Timeout { target, millis: timeout.as_millis() };
    }
    if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake") || lower.contains("rustls")
    {
        return Error::Tls { detail: tls_advice(&target, &text), target };
    }
    if cluster
        && matches!(
            e.kind(),
            ErrorKind::Server(S::Moved | S::Ask | S::TryAgain | S::ClusterDown | S::BusyLoading)
                | ErrorKind::ClusterConnectionNotFound
        )
    {
        return Error::Failover { target, detail: text };
    }
    match e.kind() {
        ErrorKind::Server(S::Moved) | ErrorKind::Server(S::Ask) => {
            return Error::Cluster(format!(
                "{target} is a Redis Cluster node and answered MOVED: connect to it as a cluster (seed nodes), not as a single server"
            ));
        }
        ErrorKind::Server(S::CrossSlot) => {
            return Error::Cluster(format!(
                "a command touched keys in several slots ({text}): this is a bug, please report it"
            ));
        }
        ErrorKind::Server(S::ClusterDown) | ErrorKind::ClusterConnectionNotFound => {
            return Error::Cluster(format!("the cluster at {target} is not serving all slots: {text}"));
        }
        _ => {}
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        return Error::Unreachable { target, detail: text };
    }
    Error::Redis(text)
}

pub(crate) fn cluster_connect_error(e: RedisError, label: &str, secrets: &[String], timeout: Duration) -> Error {
    let text = scrub(&e.to_string(), secrets).to_lowercase();
    if text.contains("cluster support disabled") || text.contains("cluster mode is not enabled") {
        return Error::Cluster(format!(
            "{label}: the node given is not in cluster mode; connect to it with a single redis:// URL instead"
        ));
    }
    match classify(e, label, secrets, timeout, false) {
        Error::Redis(detail) => Error::Cluster(format!("cannot use {label} as a cluster: {detail}")),
        other => other,
    }
}
