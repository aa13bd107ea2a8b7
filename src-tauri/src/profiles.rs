//! Connection profiles: what the setup screen saves. A profile's secrets (the Redis URL with its password,
//! the cluster's seed list, the Upstash REST token, the Ably key) go to the OS keyring and nowhere else;
//! the preferences keep only hints (`scheme://host:port`, `appId.keyId:••••`). Part of `impl AppState`,
//! which is spread over this module (profiles) and `state.rs` (the session and everything it does).

use std::sync::Arc;

use seatwise_ably::{AblyRest, ApiKey, Endpoint};
use seatwise_engine::connect::{AblyOptions, ConnectionCheck, check_connection};
use seatwise_engine::redis_conn::{parse_seed_list, url_host};
use seatwise_engine::{ConnectOptions, ErrorCode, Redis, Target};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{UiError, UiResult};
use crate::secrets::{self, Kind, Secret};
use crate::state::AppState;

/// The console's `Ably-Agent` product token.
pub(crate) fn agent() -> String {
    format!("seatwise-console/{}", env!("CARGO_PKG_VERSION"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// One Redis server: redis:// or rediss://.
    Redis,
    /// A Redis Cluster: seed nodes.
    Cluster,
    /// Upstash over its REST API: the REST URL, and the REST token (kept in the keyring).
    Upstash,
}

/// Which kind of system a profile reaches, shown as a coloured band across the window. Production asks
/// for the show id before closing or cancelling a show. Profiles saved before this existed are production
/// (the careful default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    Staging,
    Sandbox,
}

/// A connection profile as the UI sees it: hints only, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    pub kind: ProfileKind,
    /// `scheme://host:port` of each node: no password.
    pub redis_hint: String,
    pub ably_hint: Option<String>,
    pub ably_endpoint: Option<String>,
    /// The REST URL of an Upstash profile (not a secret: the token is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_url: Option<String>,
    /// Watch only: the saved credentials are a Redis ACL user limited to reads (or Upstash's read-only
    /// token). The monitor, shows and audit log work; every change is disabled, and Redis refuses it.
    #[serde(default)]
    pub watch_only: bool,
    #[serde(default)]
    pub environment: Environment,
    /// PEM of the CA(s) to trust for this connection instead of the system's trust store (not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    /// PEM of the TLS client certificate (not a secret; its key is in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_cert: Option<String>,
}

/// What the setup screen sends. Empty secret fields on an existing profile keep the saved secret.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    pub name: String,
    pub kind: Option<ProfileKind>,
    #[serde(default)]
    pub redis_url: String,
    #[serde(default)]
    pub cluster_nodes: String,
    #[serde(default)]
    pub rest_url: String,
    #[serde(default)]
    pub rest_token: String,
    #[serde(default)]
    pub ably_key: String,
    #[serde(default)]
    pub ably_endpoint: String,
    #[serde(default)]
    pub watch_only: bool,
    #[serde(default)]
    pub environment: Environment,
    /// The CA certificate: PEM text, or the path of a PEM file. Empty keeps the saved one; `-` removes it.
    #[serde(default)]
    pub tls_ca: String,
    /// The client certificate: PEM text or a file path. Empty keeps the saved one; `-` removes it (and its key).
    #[serde(default)]
    pub tls_client_cert: String,
    /// The client certificate's private key (a secret, kept in the keyring): PEM text or a file path.
    #[serde(default)]
    pub tls_client_key: String,
}

/// PEM given as text or as the path of a file holding it.
fn pem_or_file(what: &str, text: &str) -> UiResult<String> {
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return Ok(t.to_string());
    }
    std::fs::read_to_string(t).map_err(|e| {
        UiError::new(
            ErrorCode::Invalid,
            format!("{what}: paste the PEM text, or give the path of a PEM file ({t}: {e})"),
        )
    })
}

impl std::fmt::Debug for ProfileInput {
    // The secrets it carries are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

fn check_name(name: &str) -> UiResult<()> {
    let ok = !name.trim().is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ');
    if ok {
        Ok(())
    } else {
        Err(UiError::new(ErrorCode::Invalid, "A profile name is 1 to 40 letters, digits, spaces, '-' or '_'."))
    }
}

/// The target of a profile from its secret (and, for Upstash, its REST URL).
fn target_of(kind: ProfileKind, secret: &str, rest_url: Option<&str>) -> Target {
    match kind {
        ProfileKind::Redis => Target::Url(secret.to_string()),
        ProfileKind::Cluster => Target::Cluster(parse_seed_list(secret)),
        ProfileKind::Upstash => Target::Rest { url: rest_url.unwrap_or("").to_string(), token: secret.to_string() },
    }
}

fn hint_of(target: &Target) -> String {
    match target {
        Target::Url(u) => seatwise_engine::redis_conn::redact(u),
        Target::Cluster(n) => n.iter().map(|u| seatwise_engine::redis_conn::redact(u)).collect::<Vec<_>>().join(", "),
        Target::Rest { url, .. } => format!("REST {}", seatwise_engine::redis_conn::redact(url)),
    }
}

impl AppState {
    pub fn profiles(&self) -> Vec<Profile> {
        self.prefs.get("profiles").and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
    }

    fn put_profiles(&self, list: &[Profile]) -> UiResult<()> {
        self.prefs.set("profiles", json!(list)).map_err(|e| UiError::new(ErrorCode::Prefs, e))
    }

    /// Checks the profile offline (URL format, key format) and stores its secrets in the OS keyring.
    /// Needs no network.
    pub fn save_profile(&self, input: ProfileInput) -> UiResult<Profile> {
        check_name(&input.name)?;
        let name = input.name.trim().to_string();
        let mut list = self.profiles();
        let existing = list.iter().find(|p| p.name == name).cloned();
        let kind = input.kind.or(existing.as_ref().map(|p| p.kind)).unwrap_or(ProfileKind::Redis);
        let redis_text = match kind {
            ProfileKind::Redis => input.redis_url.trim().to_string(),
            ProfileKind::Cluster => parse_seed_list(&input.cluster_nodes).join("\n"),
            ProfileKind::Upstash => input.rest_token.trim().to_string(),
        };
        let rest_url = match kind {
            ProfileKind::Upstash => {
                let typed = input.rest_url.trim();
                let url = if typed.is_empty() {
                    existing.as_ref().and_then(|p| p.rest_url.clone()).unwrap_or_default()
                } else {
                    typed.to_string()
                };
                // The URL is checked even when the saved token is kept.
                Target::Rest { url: url.clone(), token: "placeholder".into() }.validate()?;
                Some(url)
            }
            _ => None,
        };
        // Validate everything before writing anything.
        let redis_secret = if redis_text.is_empty() {
            match &existing {
                Some(p) if p.kind == kind => None,
                _ => {
                    return Err(UiError::new(
                        ErrorCode::Invalid,
                        match kind {
                            ProfileKind::Redis => {
                                "Enter the Redis URL: redis://[user:password@]host[:port] or rediss:// for TLS."
                            }
                            ProfileKind::Cluster => {
                                "Enter the cluster's seed nodes: redis://host:port, separated by commas."
                            }
                            ProfileKind::Upstash => "Enter the database's REST token (with its REST URL).",
                        },
                    ));
                }
            }
        } else {
            let target = target_of(kind, &redis_text, rest_url.as_deref());
            target.validate()?;
            Some((Secret::new(redis_text), hint_of(&target)))
        };
        let ably_key = input.ably_key.trim();
        let ably = if ably_key.is_empty() {
            None
        } else {
            let key = ApiKey::parse(ably_key)?;
            Some((Secret::new(ably_key.to_string()), key.hint()))
        };
        let endpoint = input.ably_endpoint.trim();
        if !endpoint.is_empty() {
            Endpoint::parse(endpoint)?;
        }
        // A saved secret is only ever sent to the host it was saved for: moving a profile to another host
        // with the secret field left empty asks for the secret again.
        if let Some(old) = &existing {
            let host_of = |u: Option<&str>| u.map(url_host);
            if old.kind == ProfileKind::Upstash
                && kind == ProfileKind::Upstash
                && redis_secret.is_none()
                && host_of(old.rest_url.as_deref()) != host_of(rest_url.as_deref())
            {
                return Err(UiError::new(
                    ErrorCode::Invalid,
                    format!(
                        "The REST URL now points to another host ({}): enter the REST token again. A saved token is only ever sent to the host it was saved for.",
                        host_of(rest_url.as_deref()).unwrap_or_default()
                    ),
                ));
            }
            let old_endpoint = host_of(old.ably_endpoint.as_deref());
            let new_endpoint = host_of((!endpoint.is_empty()).then_some(endpoint));
            if old.ably_hint.is_some() && ably.is_none() && old_endpoint != new_endpoint {
                return Err(UiError::new(
                    ErrorCode::Invalid,
                    format!(
                        "The Ably endpoint now points to another host ({}): enter the Ably API key again. A saved key is only ever sent to the host it was saved for.",
                        new_endpoint.unwrap_or_else(|| "Ably's production hosts".into())
                    ),
                ));
            }
        }
        // TLS: a CA and a client certificate are kept with the profile, the client key in the keyring.
        // Empty keeps what is saved, `-` removes it, anything else is PEM text or a file path.
        let pem_field = |what: &str, v: &str, old: Option<&String>| -> UiResult<Option<String>> {
            Ok(match v.trim() {
                "" => old.cloned(),
                "-" => None,
                t => Some(pem_or_file(what, t)?),
            })
        };
        let tls_ca = pem_field("CA certificate", &input.tls_ca, existing.as_ref().and_then(|p| p.tls_ca.as_ref()))?;
        let tls_client_cert = pem_field(
            "client certificate",
            &input.tls_client_cert,
            existing.as_ref().and_then(|p| p.tls_client_cert.as_ref()),
        )?;
        let tls_key = match input.tls_client_key.trim() {
            "" => None,
            t => Some(Secret::new(pem_or_file("client key", t)?)),
        };
        // The key checked with the certificate: the one given now, or the one saved with the profile.
        let saved_key =
            if tls_key.is_none() && existing.is_some() { secrets::load(&name, Kind::TlsKey)? } else { None };
        let check = seatwise_engine::redis_conn::TlsOptions {
            ca_pem: tls_ca.clone().map(String::into_bytes),
            client_cert_pem: tls_client_cert.clone().map(String::into_bytes),
            client_key_pem: tls_key
                .as_ref()
                .or(saved_key.as_ref().filter(|_| tls_client_cert.is_some()))
                .map(|k| k.expose().as_bytes().to_vec()),
        };
        check.validate()?;
        // Write the secrets, remembering what they replace, so a failure further on puts the keyring back
        // as it was: a profile and its secrets change together or not at all.
        let mut written: Vec<(Kind, Option<Secret>)> = Vec::new();
        let result = (|| -> UiResult<Profile> {
            for (kind, secret) in [
                (Kind::Redis, redis_secret.as_ref().map(|(s, _)| s)),
                (Kind::Ably, ably.as_ref().map(|(s, _)| s)),
                (Kind::TlsKey, tls_key.as_ref()),
            ] {
                if let Some(secret) = secret {
                    let before = secrets::load(&name, kind)?;
                    secrets::save(&name, kind, secret)?;
                    written.push((kind, before));
                }
            }
            let profile = Profile {
                name: name.clone(),
                kind,
                redis_hint: match (&redis_secret, &rest_url) {
                    (_, Some(u)) => format!("REST {}", seatwise_engine::redis_conn::redact(u)),
                    (Some((_, h)), None) => h.clone(),
                    (None, None) => existing.as_ref().map(|p| p.redis_hint.clone()).unwrap_or_default(),
                },
                ably_hint: ably
                    .as_ref()
                    .map(|(_, h)| h.clone())
                    .or(existing.as_ref().and_then(|p| p.ably_hint.clone())),
                ably_endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
                rest_url: rest_url.clone(),
                watch_only: input.watch_only,
                environment: input.environment,
                tls_ca: tls_ca.clone(),
                tls_client_cert: tls_client_cert.clone(),
            };
            list.retain(|p| p.name != name);
            list.push(profile.clone());
            list.sort_by(|a, b| a.name.cmp(&b.name));
            self.put_profiles(&list)?;
            Ok(profile)
        })();
        if result.is_err() {
            for (kind, before) in written {
                let _ = match before {
                    Some(old) => secrets::save(&name, kind, &old),
                    None => secrets::delete(&name, kind),
                };
            }
        }
        let profile = result?;
        Ok(profile)
    }

    /// Removes the profile's Ably key only (the profile stays).
    pub fn forget_ably_key(&self, name: &str) -> UiResult<Profile> {
        let mut list = self.profiles();
        let p = list
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| UiError::new(ErrorCode::NotFound, format!("No profile named {name}.")))?;
        secrets::delete(name, Kind::Ably)?;
        p.ably_hint = None;
        let out = p.clone();
        self.put_profiles(&list)?;
        Ok(out)
    }

    pub fn delete_profile(&self, name: &str) -> UiResult<()> {
        secrets::delete(name, Kind::Redis)?;
        secrets::delete(name, Kind::Ably)?;
        secrets::delete(name, Kind::TlsKey)?;
        let mut list = self.profiles();
        list.retain(|p| p.name != name);
        self.put_profiles(&list)
    }

    pub(crate) fn profile(&self, name: &str) -> UiResult<Profile> {
        self.profiles().into_iter().find(|p| p.name == name).ok_or_else(|| {
            UiError::new(ErrorCode::NotFound, format!("No profile named {name}: create it on the setup screen."))
        })
    }

    pub(crate) fn ably_for(&self, p: &Profile) -> UiResult<Option<Arc<AblyRest>>> {
        Ok(self.ably_options(p)?.map(|o| o.build()).transpose()?)
    }

    fn ably_options(&self, p: &Profile) -> UiResult<Option<AblyOptions>> {
        let Some(key) = secrets::load(&p.name, Kind::Ably)? else { return Ok(None) };
        let mut o = AblyOptions::new(key.expose(), &agent());
        o.endpoint = p.ably_endpoint.clone();
        // A private CA (a venue's proxy in front of the endpoint) is trusted for Ably too.
        o.ca_pem = p.tls_ca.clone().map(String::into_bytes);
        Ok(Some(o))
    }

    pub(crate) fn redis_options(&self, p: &Profile) -> UiResult<ConnectOptions> {
        let secret = secrets::load(&p.name, Kind::Redis)?.ok_or_else(|| {
            UiError::new(ErrorCode::NotFound, format!("Profile {} has no Redis credentials saved: edit it.", p.name))
        })?;
        let mut o = ConnectOptions::new(target_of(p.kind, secret.expose(), p.rest_url.as_deref()));
        o.watch_only = p.watch_only;
        o.tls.ca_pem = p.tls_ca.clone().map(String::into_bytes);
        if let Some(cert) = &p.tls_client_cert {
            o.tls.client_cert_pem = Some(cert.clone().into_bytes());
            o.tls.client_key_pem = secrets::load(&p.name, Kind::TlsKey)?.map(|k| k.expose().as_bytes().to_vec());
        }
        Ok(o)
    }

    pub(crate) async fn redis_for(&self, p: &Profile) -> UiResult<Redis> {
        Ok(Redis::connect(&self.redis_options(p)?).await?)
    }

    /// Redis PING, and (with an Ably key) Ably's clock and a token request exchanged for a token.
    pub async fn test_profile(&self, name: &str) -> UiResult<ConnectionCheck> {
        let p = self.profile(name)?;
        let redis = self.redis_options(&p)?;
        let ably = self.ably_options(&p)?.map(|o| o.build());
        Ok(check_connection(&redis, ably).await)
    }
}
