//! The queue primitives staff actions and status effects use: open (and the pre-queue), pause, resume,
//! close, admit now, capacity, outflow, announcements.

use super::*;

impl Engine {
    /// Sets the outflow limit (admissions per minute; 0 = none), live. Returns the previous one.
    pub async fn set_outflow(&self, scope: &Scope, per_minute: u32) -> Result<u32> {
        let allowed = || format!("0 (no limit) to {MAX_OUTFLOW_PER_MIN} admissions per minute");
        self.set_number(scope, &SCRIPTS.outflow, ("outflow limit", per_minute, MAX_OUTFLOW_PER_MIN), allowed).await
    }

    /// Sets one live number of a queue (`what`, `value`, at most `max`) through its script, after checking
    /// its range (`allowed` says the range when it is out). Returns the previous value.
    pub(crate) async fn set_number(
        &self,
        scope: &Scope,
        script: &scripts::Lua,
        (what, value, max): (&'static str, u32, u32),
        allowed: impl FnOnce() -> String,
    ) -> Result<u32> {
        if value > max {
            return Err(Error::invalid(what, &value.to_string(), allowed()));
        }
        let r = self.run(script, scope, vec![value.to_string()]).await?;
        Ok(Context::queue(scope).number(r)? as u32)
    }

    /// The OPEN effect: initialise (or resume) the queue. Idempotent.
    pub async fn open_queue(&self, scope: &Scope, s: &QueueSettings) -> Result<QueueEffect> {
        self.open_queue_at_version(scope, s, None).await
    }

    /// The OPEN effect of the show's status change `version`: refused if a newer change already reached
    /// this queue.
    pub async fn open_queue_at_version(
        &self,
        scope: &Scope,
        s: &QueueSettings,
        version: Option<u64>,
    ) -> Result<QueueEffect> {
        self.init(scope, s, version, None).await
    }

    /// Opens a pre-queue (docs/PROTOCOL.md, "Pre-queue"): buyers join and wait, nobody is admitted; the
    /// draw's seed is chosen now and only its SHA-256 commitment is published. The next OPEN effect draws
    /// the order. A queue already open or in a pre-queue is left alone.
    pub async fn open_prequeue(&self, scope: &Scope, s: &QueueSettings, version: Option<u64>) -> Result<QueueEffect> {
        self.init(scope, s, version, Some(crate::draw::new_seed())).await
    }

    async fn init(
        &self,
        scope: &Scope,
        s: &QueueSettings,
        version: Option<u64>,
        prequeue: Option<(String, String)>,
    ) -> Result<QueueEffect> {
        let mut secret = [0u8; 16];
        rand::rng().fill_bytes(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let args = vec![
            secret,
            s.capacity.to_string(),
            s.session_ms.to_string(),
            s.abandon_ms.to_string(),
            s.max_seats.to_string(),
            version.map(|v| v.to_string()).unwrap_or_default(),
            s.seats_total.to_string(),
            s.outflow_per_min.to_string(),
        ];
        let mut args = args;
        let flag = if prequeue.is_some() { "prequeue" } else { "" };
        let (seed, commit) = prequeue.unwrap_or_default();
        args.extend([flag.to_string(), seed, commit]);
        match &s.seat_map {
            Some(map) => args.extend([map.rows.join(" "), map.seats_per_row.to_string()]),
            None => args.extend([String::new(), String::new()]),
        }
        args.push(s.grace_ms.to_string());
        Context::queue(scope).opened(self.run(&SCRIPTS.init, scope, args).await?)
    }

    /// Pauses the queue (a staff action, or the POSTPONED effect).
    pub async fn pause_queue(&self, scope: &Scope) -> Result<QueueEffect> {
        self.pause_queue_at_version(scope, None).await
    }

    pub async fn pause_queue_at_version(&self, scope: &Scope, version: Option<u64>) -> Result<QueueEffect> {
        let r = self.run(&SCRIPTS.pause, scope, vec![version.map(|v| v.to_string()).unwrap_or_default()]).await?;
        Context::queue(scope).paused(r)
    }

    /// Resumes a paused queue.
    pub async fn resume_queue(&self, scope: &Scope) -> Result<QueueEffect> {
        Context::queue(scope).resumed(self.run(&SCRIPTS.resume, scope, vec![]).await?)
    }

    /// The CLOSED / CANCELLED effect. Never blocks Redis, whatever the queue's size; the buyers to be told
    /// stay recorded (a drain key) until the outbox worker has told them.
    pub async fn close_queue(&self, scope: &Scope, reason: CloseReason) -> Result<QueueEffect> {
        self.close_queue_at_version(scope, reason, None).await
    }

    pub async fn close_queue_at_version(
        &self,
        scope: &Scope,
        reason: CloseReason,
        version: Option<u64>,
    ) -> Result<QueueEffect> {
        let meta = &keys::queue_keys(scope)[0];
        for _ in 0..3 {
            let generation: Option<u64> = self.redis.query(redis::cmd("HGET").arg(meta).arg("gen")).await?;
            let Some(generation) = generation else {
                return Ok(QueueEffect::NoQueue);
            };
            let mut ks = keys::queue_keys(scope).to_vec();
            ks.push(keys::closing(scope, generation));
            let args = [
                reason.as_str().to_string(),
                generation.to_string(),
                version.map(|v| v.to_string()).unwrap_or_default(),
            ];
            let r = self.redis.eval(&SCRIPTS.close, &ks, &args).await?;
            if let Some(effect) = Context::queue(scope).closed(r)? {
                return Ok(effect);
            }
        }
        Err(Error::Redis(format!("the queue for {scope} kept changing generation while closing; try again")))
    }

    /// Admits up to `n` buyers from the head now, even beyond capacity. Returns how many were admitted.
    /// One script call admits at most a few hundred (so Redis never blocks); larger counts take several.
    pub async fn admit(&self, scope: &Scope, n: u32) -> Result<u64> {
        if n == 0 || n > 10_000 {
            return Err(Error::invalid("admit count", &n.to_string(), "admit between 1 and 10000 buyers at a time"));
        }
        let mut done = 0u64;
        // Each call is bounded (it may also skip abandoned tickets at the head); go on while it says more
        // buyers are waiting, within a bound of calls.
        for _ in 0..1000 {
            if done >= n as u64 {
                break;
            }
            let want = (n as u64 - done).to_string();
            let (admitted, more) =
                Context::queue(scope).admitted(self.run(&SCRIPTS.admit, scope, vec![want]).await?)?;
            done += admitted;
            if admitted == 0 && !more {
                break;
            }
        }
        Ok(done)
    }

    /// Sets the number of concurrent sessions. Returns how many buyers that admitted.
    pub async fn set_capacity(&self, scope: &Scope, capacity: u32) -> Result<u64> {
        if capacity > 100_000 {
            return Err(Error::invalid(
                "capacity",
                &capacity.to_string(),
                "a capacity is between 0 and 100000 sessions",
            ));
        }
        Context::queue(scope).number(self.run(&SCRIPTS.capacity, scope, vec![capacity.to_string()]).await?)
    }

    /// A message from the box office to everyone waiting in this queue.
    pub async fn announce(&self, scope: &Scope, message: &str) -> Result<()> {
        let text = message.trim();
        if text.is_empty()
            || text.chars().count() > MAX_ANNOUNCEMENT
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Error::invalid(
                "announcement",
                message,
                format!("write 1 to {MAX_ANNOUNCEMENT} characters of text (no control characters other than newlines)"),
            ));
        }
        Context::queue(scope).ok(self.run(&SCRIPTS.announce, scope, vec![text.to_string()]).await?)?;
        Ok(())
    }
}
