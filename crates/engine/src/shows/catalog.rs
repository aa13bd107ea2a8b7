//! The show catalog in Redis: create, update, import, export and read shows (each change a compare-and-set
//! on the show's version, written with its audit entry by one script), and the demo shows.

use super::*;

/// The demo shows of the local sandbox (`seatwise demo`, the console's sandbox).
pub const DEMO_SHOWS: &str = include_str!("../../demo-shows.json");

impl Engine {
    /// Imports the demo shows and sets each to OPEN (through DRAFT if its status cannot open directly),
    /// so the sandbox has queues whatever state a previous run left. Returns the shows.
    pub async fn open_demo_shows(&self, actor: &Actor) -> Result<Vec<Show>> {
        self.open_demo_shows_claiming(actor, false).await
    }

    /// [`Engine::open_demo_shows`]; `claim` = the Redis is the sandbox's own, where a show with a demo id
    /// left by an older version may be marked as a demo show. Elsewhere an existing show with a demo id that
    /// is not a demo show is never edited: the call is refused.
    pub(crate) async fn open_demo_shows_claiming(&self, actor: &Actor, claim: bool) -> Result<Vec<Show>> {
        let mut shows = parse_shows_file("demo-shows.json", DEMO_SHOWS)?;
        for s in &mut shows {
            s.demo = true;
        }
        let existing: BTreeMap<ShowId, Show> =
            self.list_shows().await?.into_iter().map(|s| (s.id.clone(), s)).collect();
        for s in &shows {
            match existing.get(&s.id) {
                Some(cur) if !cur.demo && !claim => {
                    return Err(rejected(
                        &cur.id,
                        "a show with this id exists and is not a demo show: the demo never edits it (choose another Redis for the demo)".into(),
                    ));
                }
                Some(cur) => {
                    let same = cur.name == s.name && cur.venue == s.venue && cur.schedules == s.schedules;
                    if !same || !cur.demo {
                        self.write_show(s, cur, actor).await?;
                    }
                }
                None => {
                    self.insert_show(s, actor).await?;
                }
            }
        }
        for s in &shows {
            let id = s.id.clone();
            let cur = self.get_show(&id).await?;
            if cur.status != Open {
                if !cur.status.can_become(Open) {
                    self.update_show_status(&id, Draft, actor, None).await?;
                }
                self.update_show_status(&id, Open, actor, None).await?;
            }
        }
        Ok(shows)
    }

    /// The queues of live demo shows (of those in `only`, when given): the only queues simulated buyers
    /// may use. Naming a show that is not a demo show is an error that says why.
    pub async fn demo_scopes(&self, only: &[ShowId]) -> Result<Vec<Scope>> {
        let shows = self.list_shows().await?;
        if let Some(real) = shows.iter().find(|s| !s.demo && only.contains(&s.id)) {
            return Err(rejected(
                &real.id,
                "simulated buyers only ever use demo shows (made by `seatwise demo` or the console's local sandbox): they would book real seats here".into(),
            ));
        }
        Ok(shows
            .iter()
            .filter(|s| s.demo && s.status.has_live_queues() && (only.is_empty() || only.contains(&s.id)))
            .flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc))
            .collect())
    }

    /// The queues of every show whose queues may hold buyers (OPEN, ON_GOING, POSTPONED), or of the shows
    /// in `only` among them.
    pub async fn live_scopes(&self, only: &[ShowId]) -> Result<Vec<Scope>> {
        Ok(self
            .list_shows()
            .await?
            .iter()
            .filter(|s| s.status.has_live_queues() && (only.is_empty() || only.contains(&s.id)))
            .flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc))
            .collect())
    }

    pub async fn list_shows(&self) -> Result<Vec<Show>> {
        let all: BTreeMap<String, String> = self.redis().query(redis::cmd("HGETALL").arg(keys::CATALOG)).await?;
        all.into_values().map(|j| decode_show(&j)).collect()
    }

    pub async fn get_show(&self, id: &ShowId) -> Result<Show> {
        let j: Option<String> = self.redis().query(redis::cmd("HGET").arg(keys::CATALOG).arg(id.as_str())).await?;
        decode_show(&j.ok_or_else(|| Error::ShowNotFound(id.to_string()))?)
    }

    /// Stamps `show` as the next version after `expected` (0: it must not exist yet), changed now by `actor`,
    /// and writes it with the audit record `event` makes of it, if the stored version is still `expected`.
    pub(crate) async fn commit(
        &self,
        mut show: Show,
        expected: u64,
        actor: &Actor,
        event: impl FnOnce(&Show) -> AuditEvent,
    ) -> Result<Show> {
        show.version = expected + 1;
        show.updated_at = now_text();
        show.updated_by = actor.label();
        self.cas(&show, expected, actor, event(&show)).await?;
        Ok(show)
    }

    /// Writes `show` if its version is still `expected` (0: it must not exist yet), with its audit record,
    /// in one script.
    async fn cas(&self, show: &Show, expected: u64, actor: &Actor, event: AuditEvent) -> Result<()> {
        let mut args =
            vec![show.id.to_string(), expected.to_string(), serde_json::to_string(show).expect("a show serialises")];
        for (k, v) in AuditRecord::new(actor, &show.updated_at, event).fields() {
            args.push(k.to_string());
            args.push(v);
        }
        let r =
            self.redis().eval(&SCRIPTS.show_cas, &[keys::CATALOG.to_string(), keys::AUDIT.to_string()], &args).await?;
        crate::replies::show_written(show, r)
    }

    /// Creates a show at version 1. A new show starts as DRAFT or UPCOMING (opening it is a status change).
    pub async fn create_show(&self, show: &Show, actor: &Actor) -> Result<Show> {
        if show.demo {
            return Err(rejected(&show.id, "demo shows are made only by the local sandbox".into()));
        }
        self.insert_show(show, actor).await
    }

    pub(crate) async fn insert_show(&self, show: &Show, actor: &Actor) -> Result<Show> {
        show.validate()?;
        if !matches!(show.status, Draft | Upcoming) {
            return Err(rejected(
                &show.id,
                format!(
                    "a new show starts as DRAFT or UPCOMING, not {}; create it, then change its status",
                    show.status
                ),
            ));
        }
        self.commit(show.clone(), 0, actor, |s| AuditEvent::Create { show: s.id.clone(), version: 1, status: s.status })
            .await
    }

    /// Updates a show's name, venue and schedules (not its status), if its version is still `expected`.
    /// While its queues may hold buyers (OPEN, ON_GOING, POSTPONED) no schedule may be removed.
    pub async fn update_show(&self, show: &Show, expected: u64, actor: &Actor) -> Result<Show> {
        show.validate()?;
        let cur = self.get_show(&show.id).await?;
        if cur.version != expected {
            return Err(Error::Conflict { show: cur.id.to_string(), current: cur.status, version: cur.version });
        }
        // Whether a show is a demo show is never changed by an edit.
        let mut show = show.clone();
        show.demo = cur.demo;
        self.write_show(&show, &cur, actor).await
    }

    /// Writes `show` over `cur` (its name, venue, schedules and demo flag; never its status), if `cur` is
    /// still the stored version.
    pub(crate) async fn write_show(&self, show: &Show, cur: &Show, actor: &Actor) -> Result<Show> {
        show.validate()?;
        let expected = cur.version;
        let kept: HashSet<&str> = show.schedules.iter().map(|s| s.id.as_str()).collect();
        let removed: Vec<(Scope, &Schedule)> =
            cur.scopes().into_iter().filter(|(_, s)| !kept.contains(s.id.as_str())).collect();
        if let Some((_, gone)) = removed.first().filter(|_| cur.status.has_live_queues()) {
            return Err(rejected(
                &cur.id,
                format!(
                    "schedule {} has a live queue while the show is {}: close the show before removing it",
                    gone.id, cur.status
                ),
            ));
        }
        // A closed schedule keeps its outbox until every buyer was told (the worker reads the outboxes of
        // the show's schedules): it cannot go before that.
        for (scope, sched) in &removed {
            let pending: u64 = self.redis().query(redis::cmd("XLEN").arg(keys::outbox(scope))).await?;
            if pending > 0 {
                return Err(rejected(
                    &cur.id,
                    format!(
                        "schedule {} still has {pending} notifications to send to its buyers: remove it once they went out (a running worker sends them)",
                        sched.id
                    ),
                ));
            }
        }
        let mut s = show.clone();
        s.status = cur.status;
        let update = |s: &Show| AuditEvent::Update { show: s.id.clone(), version: s.version, status: s.status };
        let s = self.commit(s, expected, actor, update).await?;
        // A schedule added while the show is on sale gets its queue at once.
        if matches!(cur.status, Open | OnGoing) {
            let before: HashSet<&str> = cur.schedules.iter().map(|x| x.id.as_str()).collect();
            for (scope, sched) in s.scopes().into_iter().filter(|(_, x)| !before.contains(x.id.as_str())) {
                self.open_queue_at_version(&scope, &sched.settings(), Some(s.version)).await?;
            }
        }
        Ok(s)
    }

    /// Imports shows: new ones are created (as DRAFT, or UPCOMING if the file says so), existing ones get
    /// the file's name, venue and schedules. Statuses are never changed by an import.
    pub async fn import_shows(&self, shows: &[Show], actor: &Actor) -> Result<Vec<ImportOutcome>> {
        let existing: BTreeMap<ShowId, Show> =
            self.list_shows().await?.into_iter().map(|s| (s.id.clone(), s)).collect();
        let mut out = Vec::new();
        for show in shows {
            let action = match existing.get(&show.id) {
                Some(cur) => {
                    let same = cur.name == show.name && cur.venue == show.venue && cur.schedules == show.schedules;
                    if same {
                        "unchanged".to_string()
                    } else {
                        self.update_show(show, cur.version, actor).await?;
                        "updated".to_string()
                    }
                }
                None => {
                    let mut s = show.clone();
                    let note = if matches!(s.status, Draft | Upcoming) {
                        String::new()
                    } else {
                        let n = format!(" as DRAFT (the file says {}: set the status to open its queues)", s.status);
                        s.status = Draft;
                        n
                    };
                    self.create_show(&s, actor).await?;
                    format!("created{note}")
                }
            };
            out.push(ImportOutcome { show: show.id.to_string(), action });
        }
        Ok(out)
    }

    /// The shows file of every show, as import reads it.
    pub async fn export_shows(&self) -> Result<String> {
        let shows = self.list_shows().await?;
        Ok(serde_json::to_string_pretty(&serde_json::json!({ "shows": shows })).expect("shows serialise"))
    }
}

pub(crate) fn decode_show(json: &str) -> Result<Show> {
    serde_json::from_str(json).map_err(|e| Error::Redis(format!("a stored show record is not valid: {e}")))
}
