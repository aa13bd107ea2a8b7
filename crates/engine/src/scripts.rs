//! The Lua scripts and how they are called. One file per operation under `lua/`, each starting with a
//! header that lists its KEYS, ARGV and results; queue scripts are prefixed with what they use of `lua/lib/`. Scripts are
//! sent by EVALSHA and reloaded (EVAL) on NOSCRIPT. Replies are decoded, and result codes become errors, in `replies.rs`.

use std::sync::LazyLock;

use redis::{ErrorKind, ServerErrorKind, Value};

use crate::error::{Error, Result};
use crate::redis_conn::Redis;

pub(crate) struct Lua {
    pub name: &'static str,
    source: String,
    sha: String,
    /// Only reads (`*-ro.lua`): sent by EVALSHA_RO / EVAL_RO, so a read-only Redis user or token may run it.
    read_only: bool,
}

impl Lua {
    fn new(name: &'static str, source: String) -> Lua {
        let sha = redis::Script::new(&source).get_hash().to_string();
        Lua { name, source, sha, read_only: name.ends_with("-ro.lua") }
    }

    /// The verbs that run it: by hash, and with its source.
    fn verbs(&self) -> (&'static str, &'static str) {
        if self.read_only { ("EVALSHA_RO", "EVAL_RO") } else { ("EVALSHA", "EVAL") }
    }
}

/// The shared Lua, by concern, in the order their functions are defined (each defined before its first
/// use): one text, from which [`link`] takes what each script uses.
const LIB: &str = concat!(
    include_str!("../lua/lib/core.lua"),
    include_str!("../lua/lib/draw.lua"),
    include_str!("../lua/lib/tickets.lua"),
    include_str!("../lua/lib/estimate.lua"),
    include_str!("../lua/lib/admission.lua"),
    include_str!("../lua/lib/calls.lua"),
);

/// Links a queue script: the lib's header (everything before its first `local function`), the result codes
/// it uses, then only the
/// lib functions the script uses, directly or through other lib functions, in lib order (which defines
/// every function before its first use). Redis runs a script's whole body on each call, so defining
/// functions a script never calls would cost every call time (measured: ~2.4 µs of a ~5.5 µs join).
fn link(name: &str, body: &str) -> String {
    let first = LIB.find("\nlocal function ").expect("lua/lib defines functions") + 1;
    let (header, rest) = LIB.split_at(first);
    // Blocks: each `local function NAME` up to the next one (comments above a function belong to it).
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    let mut pending_comments: Vec<&str> = Vec::new();
    for line in rest.lines() {
        if let Some(def) = line.strip_prefix("local function ") {
            let fname = def.split('(').next().unwrap_or("").trim().to_string();
            if let Some((_, text)) = blocks.last_mut() {
                *text = lines.join("\n");
            }
            lines = std::mem::take(&mut pending_comments);
            lines.push(line);
            blocks.push((fname, String::new()));
        } else if line.starts_with("--") {
            pending_comments.push(line);
        } else {
            lines.append(&mut pending_comments);
            lines.push(line);
        }
    }
    if let Some((_, text)) = blocks.last_mut() {
        *text = lines.join("\n");
    }
    let mut needed: Vec<bool> = blocks.iter().map(|(f, _)| uses(body, f)).collect();
    // Dependencies only point backwards, so one pass from the end closes the set.
    for i in (0..blocks.len()).rev() {
        if needed[i] {
            for j in 0..i {
                if uses(&blocks[i].1, &blocks[j].0) {
                    needed[j] = true;
                }
            }
        }
    }
    let mut code = String::new();
    for ((_, text), keep) in blocks.iter().zip(&needed) {
        if *keep {
            code.push_str(text);
            code.push('\n');
        }
    }
    code.push_str(&format!("-- {name}\n{body}"));
    format!("{header}{}{code}", code_prelude(&code))
}

macro_rules! queue_scripts {
    ($($field:ident => $file:literal),* $(,)?) => {
        pub(crate) struct Scripts { $(pub $field: Lua,)* pub show_cas: Lua, pub lease: Lua, pub ratelimit: Lua }
        pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
            $($field: Lua::new($file, link($file, include_str!(concat!("../lua/", $file)))),)*
            show_cas: Lua::new("show-cas.lua", {
                let body = include_str!("../lua/show-cas.lua");
                format!("{}{body}", code_prelude(body))
            }),
            lease: Lua::new("lease.lua", {
                let body = include_str!("../lua/lease.lua");
                format!("{}{body}", code_prelude(body))
            }),
            ratelimit: Lua::new("ratelimit.lua", {
                let body = include_str!("../lua/ratelimit.lua");
                format!("{}{body}", code_prelude(body))
            }),
        });
        /// Every script's source, for tooling and tests (e.g. syntax checks, SCRIPT LOAD).
        pub fn all_sources() -> Vec<(&'static str, &'static str)> {
            let s = &*SCRIPTS;
            vec![$(( $file, s.$field.source.as_str() ),)* ("show-cas.lua", s.show_cas.source.as_str()), ("lease.lua", s.lease.source.as_str()), ("ratelimit.lua", s.ratelimit.source.as_str())]
        }
    };
}

queue_scripts! {
    join => "join.lua",
    join_many => "join-many.lua",
    status => "status.lua",
    leave => "leave.lua",
    hold => "hold.lua",
    release => "release.lua",
    complete => "complete.lua",
    init => "init.lua",
    pause => "pause.lua",
    resume => "resume.lua",
    close => "close.lua",
    admit => "admit.lua",
    capacity => "capacity.lua",
    challenge => "challenge.lua",
    outflow => "outflow.lua",
    announce => "announce.lua",
    stats => "stats.lua",
    stats_ro => "stats-ro.lua",
    history => "history.lua",
    seats_ro => "seats-ro.lua",
    draw_ro => "draw-ro.lua",
    ticket_check => "ticket-check.lua",
    admitted_ro => "admitted-ro.lua",
}

macro_rules! result_codes {
    ($($name:ident = $value:literal),* $(,)?) => {
        $(pub(crate) const $name: i64 = $value;)*
        /// Every script result code, by its Lua name: the one definition. [`link`] puts a `local` line with
        /// the codes a script uses before its body, so Lua and Rust cannot disagree.
        pub(crate) const RESULT_CODES: &[(&str, i64)] = &[$((stringify!($name), $value)),*];
    };
}

result_codes! {
    OK = 0,
    E_NO_QUEUE = -1,
    E_CLOSED = -2,
    E_PAUSED = -3,
    E_UNKNOWN_TICKET = -4,
    E_NO_SESSION = -5,
    E_SEATS_TAKEN = -6,
    E_TOO_MANY_SEATS = -7,
    E_NO_SEATS = -8,
    E_STALE = -9,
    E_NOT_HELD = -10,
    E_ALREADY = -11,
    E_CONFLICT = -12,
    E_EXISTS = -13,
    E_NOT_FOUND = -14,
    E_NOT_OWNER = -15,
    E_NOT_LIVE = -16,
    E_QUEUE_FULL = -17,
    E_SUPERSEDED = -18,
    E_NO_SUCH_SEAT = -19,
}

/// Whether `name` appears in `text` as a whole identifier.
fn uses(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// `local OK, E_CLOSED = 0, -2`: the result codes `code` uses (nothing when it uses none).
fn code_prelude(code: &str) -> String {
    let used: Vec<&(&str, i64)> = RESULT_CODES.iter().filter(|(n, _)| uses(code, n)).collect();
    if used.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = used.iter().map(|(n, _)| *n).collect();
    let values: Vec<String> = used.iter().map(|(_, v)| v.to_string()).collect();
    format!("local {} = {}\n", names.join(", "), values.join(", "))
}

/// A script's reply: a flat array whose first element is the result code.
#[derive(Debug, Clone)]
pub(crate) struct Reply(Vec<Value>);

impl Reply {
    fn from_value(v: Value, script: &str) -> Result<Reply> {
        match v {
            Value::Array(items) if !items.is_empty() => Ok(Reply(items)),
            other => Err(Error::Redis(format!("{script} answered {other:?}, not a result array"))),
        }
    }

    pub fn code(&self) -> i64 {
        self.int(0)
    }

    pub fn int(&self, i: usize) -> i64 {
        match self.0.get(i) {
            Some(Value::Int(n)) => *n,
            Some(Value::BulkString(b)) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
            _ => 0,
        }
    }

    pub fn uint(&self, i: usize) -> u64 {
        self.int(i).max(0) as u64
    }

    pub fn str(&self, i: usize) -> String {
        match self.0.get(i) {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::SimpleString(s)) => s.clone(),
            Some(Value::Int(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    pub fn strings_from(&self, i: usize) -> Vec<String> {
        (i..self.0.len()).map(|j| self.str(j)).collect()
    }

    /// Maps the expected-outcome codes to errors (called by `replies.rs`, which decodes every reply).
    /// `scope` and `ticket` name what the call was about, for the message.
    pub fn into_result(self, scope: &str, ticket: &str) -> Result<Reply> {
        Err(match self.code() {
            OK => return Ok(self),
            E_NO_QUEUE => Error::NoQueue(scope.to_string()),
            E_CLOSED => Error::QueueClosed(scope.to_string()),
            E_PAUSED => Error::QueuePaused(scope.to_string()),
            E_UNKNOWN_TICKET => Error::UnknownTicket { scope: scope.to_string(), ticket: ticket.to_string() },
            E_NO_SESSION => Error::NoSession(ticket.to_string()),
            E_SEATS_TAKEN => Error::SeatsTaken(self.strings_from(1)),
            E_NO_SUCH_SEAT => Error::NoSuchSeat(self.strings_from(1)),
            E_TOO_MANY_SEATS => Error::TooManySeats(self.uint(1)),
            E_NO_SEATS => Error::NoSeats,
            E_NOT_HELD => Error::NotHeld(self.strings_from(1)),
            E_QUEUE_FULL => Error::QueueFull(scope.to_string()),
            code => Error::Redis(format!("unexpected result code {code} for {scope}")),
        })
    }
}

fn is_noscript(e: &redis::RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

fn eval_cmd(verb: &str, body: &str, keys: &[String], args: &[String]) -> redis::Cmd {
    let mut cmd = redis::cmd(verb);
    cmd.arg(body).arg(keys.len()).arg(keys).arg(args);
    cmd
}

/// One script call for [`Redis::eval_many`].
pub(crate) struct Call<'a> {
    pub script: &'a Lua,
    pub keys: Vec<String>,
    pub args: Vec<String>,
}

impl Redis {
    /// Runs one script by EVALSHA, loading it with EVAL when the server does not know it yet.
    pub(crate) async fn eval(&self, script: &Lua, keys: &[String], args: &[String]) -> Result<Reply> {
        let (by_sha, by_source) = script.verbs();
        let v = match self.raw::<Value>(&eval_cmd(by_sha, &script.sha, keys, args)).await {
            Err(e) if is_noscript(&e) => self.raw::<Value>(&eval_cmd(by_source, &script.source, keys, args)).await,
            other => other,
        };
        Reply::from_value(v.map_err(|e| self.error(e))?, script.name)
    }

    /// Runs many script calls in one pipeline (one round trip). Calls that meet NOSCRIPT (a server that
    /// restarted or flushed its script cache) are sent again with EVAL in a second pipeline.
    pub(crate) async fn eval_many(&self, calls: &[Call<'_>]) -> Result<Vec<Result<Reply>>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let slot_keys: Vec<&str> = calls.iter().map(|c| c.keys.first().map_or("", String::as_str)).collect();
        let cmds = calls.iter().map(|c| eval_cmd(c.script.verbs().0, &c.script.sha, &c.keys, &c.args)).collect();
        let values = self.pipeline(cmds, &slot_keys).await.map_err(|e| self.error(e))?;
        let mut out: Vec<Option<Result<Reply>>> = Vec::with_capacity(calls.len());
        let mut retry = Vec::new();
        for (i, v) in values.into_iter().enumerate() {
            match v {
                Value::ServerError(e) if e.kind() == Some(ServerErrorKind::NoScript) => {
                    retry.push(i);
                    out.push(None);
                }
                Value::ServerError(e) => out.push(Some(Err(self.error(e.into())))),
                v => out.push(Some(Reply::from_value(v, calls[i].script.name))),
            }
        }
        if !retry.is_empty() {
            // Load each missing script once (SCRIPT LOAD), then run the calls by EVALSHA again: sending
            // every call's full source with EVAL could pass a REST request's size limit. On a cluster the
            // script is loaded next to each call, so it reaches every node involved.
            let mut cmds = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            let mut loaded: Vec<&str> = Vec::new();
            let mut positions = Vec::with_capacity(retry.len());
            for &i in &retry {
                let c = &calls[i];
                if c.script.read_only {
                    // A read-only user may not load scripts: the source goes along (EVAL_RO), once per call.
                    positions.push(cmds.len());
                    cmds.push(eval_cmd(c.script.verbs().1, &c.script.source, &c.keys, &c.args));
                    keys.push(slot_keys[i]);
                    continue;
                }
                if self.is_cluster() || !loaded.contains(&c.script.name) {
                    let mut load = redis::cmd("SCRIPT");
                    load.arg("LOAD").arg(&c.script.source);
                    cmds.push(load);
                    keys.push(slot_keys[i]);
                    loaded.push(c.script.name);
                }
                positions.push(cmds.len());
                cmds.push(eval_cmd("EVALSHA", &c.script.sha, &c.keys, &c.args));
                keys.push(slot_keys[i]);
            }
            let values = self.pipeline(cmds, &keys).await.map_err(|e| self.error(e))?;
            // Read each EVALSHA answer at its own position (a failed SCRIPT LOAD must not shift them).
            for (&i, &at) in retry.iter().zip(&positions) {
                out[i] = Some(match values.get(at) {
                    Some(Value::ServerError(e)) => Err(self.error(e.clone().into())),
                    Some(v) => Reply::from_value(v.clone(), calls[i].script.name),
                    None => Err(Error::Redis("a retried script call got no answer".into())),
                });
            }
        }
        Ok(out.into_iter().map(|r| r.expect("every call has a result")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_carry_only_the_lib_functions_they_use() {
        let join = &SCRIPTS.join.source;
        assert!(join.contains("local function ticket_reply("));
        assert!(join.contains("local function rank_of("), "ticket_reply needs rank_of");
        assert!(!join.contains("local function expire_missed("), "join never ends grace windows");
        assert!(
            join.contains("local function come_back("),
            "a join with proof brings a buyer who missed their turn back"
        );
        assert!(!join.contains("local function maintain("));
        let status = &SCRIPTS.status.source;
        for f in [
            "maintain",
            "expire_missed",
            "come_back",
            "expire_sessions",
            "promote",
            "admit_head",
            "release_seats",
            "held_seats",
        ] {
            assert!(status.contains(&format!("local function {f}(")), "status needs {f}");
        }
        // The KEYS header is in every queue script.
        assert!(SCRIPTS.pause.source.contains("local K_META"));
    }

    #[test]
    fn result_codes_are_defined_once_and_never_written_as_numbers() {
        let mut names = std::collections::HashSet::new();
        let mut values = std::collections::HashSet::new();
        for (n, v) in RESULT_CODES {
            assert!(names.insert(*n) && values.insert(*v), "{n} = {v} is defined twice");
        }
        let files: Vec<(&str, &str)> = vec![
            ("lua/lib/*.lua", LIB),
            ("show-cas.lua", include_str!("../lua/show-cas.lua")),
            ("ticket-check.lua", include_str!("../lua/ticket-check.lua")),
        ];
        for (name, source) in all_sources().into_iter().chain(files) {
            let code: String =
                source.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            // Every E_* name a script uses has a definition (a typo would be a nil global at run time).
            for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("E_") {
                    assert!(names.contains(word), "{name} uses {word}, which RESULT_CODES does not define");
                }
            }
            // A reply's first element is a name, never a bare number: `{-13}` or `{0,` would drift.
            let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            for (i, _) in squeezed.match_indices("return{") {
                let first = squeezed[i + 7..].chars().next().unwrap_or(' ');
                assert!(
                    !(first == '-' || first.is_ascii_digit()),
                    "{name} returns a bare numeric code: {}",
                    &squeezed[i..(i + 20).min(squeezed.len())]
                );
            }
        }
        // The definitions reach the scripts: join defines the codes it returns, and no others.
        let join = &SCRIPTS.join.source;
        assert!(join.contains("local OK, E_NO_QUEUE, E_CLOSED"), "{}", &join[..join.len().min(2000)]);
        assert!(!join.contains("E_NOT_HELD"));
        assert!(
            SCRIPTS.show_cas.source.starts_with("local OK, E_CONFLICT, E_EXISTS, E_NOT_FOUND = 0, -12, -13, -14\n")
        );
    }
}
