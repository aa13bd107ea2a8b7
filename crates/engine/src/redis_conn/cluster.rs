//! Redis Cluster routing: the slot of a key, and sending a command where it belongs, again only when the
//! cluster said it did not run.

use super::*;

/// The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (or of the whole key), mod 16384.
pub fn hash_slot(key: &str) -> u16 {
    let b = key.as_bytes();
    let tagged = b.iter().position(|&c| c == b'{').and_then(|s| {
        b[s + 1..].iter().position(|&c| c == b'}').filter(|&len| len > 0).map(|len| &b[s + 1..s + 1 + len])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(b) {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % 16384
}

/// Sends one command to a cluster, following what says it did not run: MOVED (the slot has a new master:
/// the driver re-reads the slots; sent again), ASK (the slot is migrating: sent to the named node after
/// ASKING), TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN and LOADING (waited out, up to
/// about 3 s). Anything else, an I/O error or a timeout above all, is returned: the command may have run,
/// so it is never sent again.
pub(crate) async fn cluster_send(c: &ClusterConnection, cmd: &Cmd) -> RedisResult<Value> {
    use redis::ServerErrorKind as S;
    use redis::cluster_routing::SingleNodeRoutingInfo;
    let mut wait = Duration::from_millis(25);
    let mut waited = Duration::ZERO;
    let mut ask: Option<(String, u16)> = None;
    loop {
        let result = match ask.take() {
            None => cmd.query_async::<Value>(&mut c.clone()).await,
            Some((host, port)) => {
                let mut pipe = Pipeline::new();
                pipe.add_command(redis::cmd("ASKING")).add_command(cmd.clone());
                let route = SingleNodeRoutingInfo::ByAddress { host, port };
                c.clone().route_pipeline(pipe, 0, 2, route).await.map(|mut v| v.pop().unwrap_or(Value::Nil))
            }
        };
        let e = match result {
            Ok(Value::ServerError(e)) => RedisError::from(e),
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        match e.kind() {
            ErrorKind::Server(S::Ask) => {
                ask = e.redirect_node().and_then(|(addr, _)| {
                    let (h, p) = addr.rsplit_once(':')?;
                    Some((h.to_string(), p.parse().ok()?))
                });
                if ask.is_none() {
                    return Err(e);
                }
            }
            ErrorKind::Server(S::Moved | S::TryAgain | S::ClusterDown | S::BusyLoading) => {}
            _ => return Err(e),
        }
        if waited >= Duration::from_secs(3) {
            return Err(e);
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(Duration::from_millis(400));
    }
}
