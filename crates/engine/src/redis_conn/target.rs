//! Where Redis is: [`Target`], the connection options, URLs (redaction, the host a secret is bound to,
//! the cluster seed list) and the watch-only ACL.

use super::*;

/// Where Redis is.
#[derive(Clone)]
pub enum Target {
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
    Url(String),
    /// One or more seed nodes of a Redis Cluster (each a `redis://` or `rediss://` URL).
    Cluster(Vec<String>),
    /// Upstash's REST API: the database's REST URL and its token (a secret).
    Rest { url: String, token: String },
}

impl std::fmt::Debug for Target {
    // Debug never shows a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Url(u) => write!(f, "Url({})", redact(u)),
            Target::Cluster(n) => write!(f, "Cluster({})", n.iter().map(|u| redact(u)).collect::<Vec<_>>().join(",")),
            Target::Rest { url, .. } => write!(f, "Rest({}, token <redacted>)", redact(url)),
        }
    }
}

impl Target {
    /// Checks the target offline (no network): each URL parses as redis:// or rediss://.
    pub fn validate(&self) -> Result<()> {
        let urls: Vec<&String> = match self {
            Target::Rest { url, token } => {
                let ok_url = (url.starts_with("https://") || url.starts_with("http://"))
                    && !redact(url).ends_with("://")
                    && !url.contains(['@', '?', '#']);
                if !ok_url {
                    return Err(Error::invalid(
                        "REST URL",
                        &redact(url),
                        "use the database's REST URL as the Upstash console shows it: https://... (no credentials, query or fragment in it)",
                    ));
                }
                if url.starts_with("http://") && !seatwise_ably::is_loopback_host(&url_host(url)) {
                    return Err(Error::invalid(
                        "REST URL",
                        &redact(url),
                        "plain http:// is allowed only for a server on this machine (localhost, 127.0.0.1, [::1]): use https://",
                    ));
                }
                if token.trim().is_empty() || token.chars().any(char::is_whitespace) {
                    return Err(Error::invalid(
                        "REST token",
                        "",
                        "paste the database's REST token (one word, no spaces)",
                    ));
                }
                return Ok(());
            }
            Target::Url(u) => vec![u],
            Target::Cluster(n) if n.is_empty() => {
                return Err(Error::Cluster("name at least one seed node, e.g. redis://10.0.0.5:6379".into()));
            }
            Target::Cluster(n) => n.iter().collect(),
        };
        for u in urls {
            let ok = (u.starts_with("redis://") || u.starts_with("rediss://"))
                && redis::Client::open(u.as_str()).is_ok()
                && !redact(u).ends_with("://");
            if !ok {
                return Err(Error::invalid("Redis URL", &redact(u), URL_RULE));
            }
        }
        Ok(())
    }
}

/// The rules of the Redis ACL user for a watch-only profile (docs/PROTOCOL.md, "Watch-only access"): read
/// seatwise keys and run read-only scripts, nothing else. A Redis admin runs
/// `ACL SETUSER <name> >'<password>' ` followed by these.
/// What a Redis URL looks like, and the trap in it: a password pasted raw often contains a character that
/// ends the password part of a URL (the shown URL is redacted, so it looks fine).
pub(crate) const URL_RULE: &str = "use redis://[user:password@]host[:port][/db], or rediss:// for TLS. In a URL, the characters / ? # @ : % in a user name or password must be percent-encoded (/ is %2F, ? is %3F, # is %23, @ is %40, : is %3A, % is %25); the console's password field does it for you";

pub const WATCH_ONLY_ACL: &[&str] = &[
    "on",
    "resetkeys",
    "%R~seatwise:*",
    "resetchannels",
    "-@all",
    "+@read",
    "+@connection",
    "+evalsha_ro",
    "+eval_ro",
];

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub target: Target,
    /// CA and client certificate for `rediss://` servers and HTTPS REST URLs.
    pub tls: TlsOptions,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// A watch-only connection (a Redis ACL user limited to reads, Upstash's read-only token): the monitor
    /// uses the read-only stats script (EVALSHA_RO); any change is refused by Redis (`Error::ReadOnly`).
    pub watch_only: bool,
}

impl ConnectOptions {
    pub fn new(target: Target) -> Self {
        ConnectOptions {
            target,
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            watch_only: false,
        }
    }
}

/// `scheme://host:port` of a Redis URL: what error messages and logs may show.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    // Everything up to the last '@' is credentials, even when an unencoded password holds '/' or '?'.
    let after = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = after.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// The password of a Redis URL, if any, so that it can be scrubbed from any message that might echo it.
pub(crate) fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    (!pw.is_empty()).then(|| pw.to_string())
}

/// A Redis Cluster's seed list as typed: URLs separated by commas, spaces or new lines. A comma splits only
/// where the next URL starts (`,redis://` or `,rediss://`), so a password holding a comma stays whole (and
/// no error ever shows a fragment of one).
pub fn parse_seed_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut rest = word;
        loop {
            let next = ["redis://", "rediss://"]
                .iter()
                .filter_map(|s| rest.get(1..).and_then(|r| r.find(&format!(",{s}"))).map(|i| i + 1))
                .min();
            match next {
                Some(i) => {
                    out.push(rest[..i].to_string());
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(rest.to_string());
                    break;
                }
            }
        }
    }
    out.into_iter().map(|u| u.trim_matches(',').to_string()).filter(|u| !u.is_empty()).collect()
}

/// The host of a URL (`scheme://[user@]host[:port]/...`), lower-cased, without port or brackets' contents
/// changed: what a saved secret is bound to.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    host.to_ascii_lowercase()
}
