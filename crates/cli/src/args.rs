//! The command line's arguments (clap). Parsing only: what each command does is in main.rs, over the engine.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "seatwise",
    version,
    about = "Seatwise waiting-room queues on Redis: shows, status, buyers, monitoring"
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Print results as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Args, Clone)]
pub struct ConnArgs {
    /// Redis URL: redis://[user:password@]host[:port][/db], or rediss:// for TLS. Prefer the environment
    /// variable for URLs with a password, so it stays out of shell history.
    #[arg(long, env = "SEATWISE_REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Redis Cluster seed nodes: redis:// URLs separated by commas or spaces (instead of --redis-url). A
    /// comma inside a password is kept: lists split only where the next URL starts.
    #[arg(long, env = "SEATWISE_REDIS_CLUSTER", global = true, hide_env_values = true)]
    pub cluster: Option<String>,
    /// Upstash REST URL (https://..., as the Upstash console shows it), for a Redis reached over HTTPS only. The token is
    /// read from SEATWISE_UPSTASH_TOKEN.
    #[arg(long, env = "SEATWISE_UPSTASH_URL", global = true)]
    pub upstash_url: Option<String>,
    /// TLS: a PEM file of the CA(s) to trust for rediss:// servers and the Upstash REST URL, instead of the
    /// operating system's trust store (the default).
    #[arg(long, env = "SEATWISE_TLS_CA", global = true)]
    pub tls_ca: Option<std::path::PathBuf>,
    /// TLS: a PEM client certificate, for servers that require one (with --tls-key).
    #[arg(long, env = "SEATWISE_TLS_CERT", global = true)]
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS: the PEM private key of the client certificate (a file readable by you only; never printed).
    #[arg(long, env = "SEATWISE_TLS_KEY", global = true)]
    pub tls_key: Option<std::path::PathBuf>,
    /// Watch only: the credentials are a Redis ACL user limited to reads (or Upstash's read-only token).
    /// `stats`, `monitor`, `shows list` and `audit` work; any change is refused by Redis.
    #[arg(long, env = "SEATWISE_WATCH_ONLY", global = true)]
    pub watch_only: bool,
    /// Connect timeout in milliseconds.
    #[arg(long, default_value_t = 5000, global = true)]
    pub connect_timeout_ms: u64,
    /// Command timeout in milliseconds.
    #[arg(long, default_value_t = 5000, global = true)]
    pub timeout_ms: u64,
    /// Ably REST endpoint (default: Ably's production hosts, with fallbacks). The API key itself is read
    /// only from SEATWISE_ABLY_KEY, never from a flag.
    #[arg(long, env = "SEATWISE_ABLY_ENDPOINT", global = true)]
    pub ably_endpoint: Option<String>,
    /// A PEM file of a private CA to trust for the Ably endpoint (besides the system's trust store).
    #[arg(long, env = "SEATWISE_ABLY_CA", global = true)]
    pub ably_ca: Option<std::path::PathBuf>,
    /// Ceiling on Ably HTTP requests per second (your account's limit; 50 on the free plan).
    #[arg(long, env = "SEATWISE_ABLY_MAX_RPS", default_value_t = seatwise_engine::connect::DEFAULT_ABLY_MAX_RPS, global = true)]
    pub ably_max_rps: f64,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Shows: list, show, create, import, export.
    #[command(subcommand)]
    Shows(ShowsCmd),
    /// Change a show's status (DRAFT, UPCOMING, OPEN, ON_GOING, CLOSED, CANCELLED, POSTPONED) and apply it
    /// to every schedule's queue.
    Status {
        show: String,
        status: String,
        /// Fail with a conflict unless the show is still at this version.
        #[arg(long)]
        expect_version: Option<u64>,
        /// On CLOSED / CANCELLED, do not tell the buyers now (a running worker will).
        #[arg(long)]
        no_notify: bool,
    },
    /// Queue figures of one show, or of every show with live queues.
    Stats { show: Option<String> },
    /// A live table of every open queue, refreshed every --interval seconds.
    Monitor {
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// Print the table once and exit.
        #[arg(long)]
        once: bool,
    },
    /// Staff actions on one queue (scope = <showId>:<schedId>).
    #[command(subcommand)]
    Queue(QueueCmd),
    /// What a buyer's client does (scope = <showId>:<schedId>).
    #[command(subcommand)]
    Buyer(BuyerCmd),
    /// The audit log of show changes and staff actions, newest first.
    Audit {
        #[arg(long)]
        show: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Simulated buyers against the queues of open shows (all, or --show).
    Simulate(SimArgs),
    /// Deliver the outbox to Ably (SEATWISE_ABLY_KEY), sharing the work with any other workers.
    Worker {
        /// Run until nothing is left to send, then print the report and exit.
        #[arg(long)]
        once: bool,
        /// Pause between passes when there is nothing to send, in milliseconds.
        #[arg(long, default_value_t = 250)]
        idle_ms: u64,
    },
    /// Check a queue's pre-queue draw from its published data: the revealed seed matches the commitment
    /// published at the pre-queue's opening, and the order recomputed from the seed is the order the queue
    /// admits in (docs/PROTOCOL.md, "Provably fair draw").
    VerifyDraw { scope: String },
    /// Sign an Ably token request for a buyer's live ticket (JSON, for ably-js's authUrl).
    TokenRequest {
        scope: String,
        ticket: String,
        buyer: String,
        /// Token lifetime in ms (at most 2 hours; default 1 hour).
        #[arg(long)]
        ttl_ms: Option<u64>,
        /// Sign with this timestamp (ms) instead of now.
        #[arg(long)]
        timestamp: Option<u64>,
        /// Sign with this nonce (16+ letters and digits) instead of a random one.
        #[arg(long)]
        nonce: Option<String>,
    },
    /// Test the Ably credentials: read Ably's clock and exchange a token request for a token.
    AblyCheck,
    /// Run the buyer gateway: the HTTP API of docs/PROTOCOL.md for buyers' browsers and the venue's web app.
    /// Secrets come from the environment (or a file named by the variable with _FILE), never from Redis:
    /// SEATWISE_GATEWAY_KEY (required: signs cookies and challenges; the same on every gateway),
    /// SEATWISE_PASS_KEY (signs admission passes, shared with the booking site; default: derived from the
    /// gateway key), SEATWISE_GATEWAY_KEY_PREVIOUS / SEATWISE_PASS_KEY_PREVIOUS (keys still accepted while
    /// rotating, comma-separated), SEATWISE_SERVICE_KEY (server-to-server calls), SEATWISE_ABLY_KEY.
    /// See SECURITY.md.
    Serve(ServeArgs),
    /// The embedded default: a local redis-server, demo shows opened, simulated buyers and the monitor.
    Demo {
        /// Where the local Redis keeps its data (default: the user data dir, seatwise/sandbox).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        #[arg(long, default_value_t = 10)]
        interval: u64,
        #[arg(long, default_value_t = 8.0)]
        rate: f64,
        /// With a Redis configured (SEATWISE_REDIS_URL, --cluster, --upstash-url): put the demo shows and
        /// their simulated buyers there instead of starting a local Redis. Shows that are not demo shows are
        /// never touched.
        #[arg(long)]
        on_configured_redis: bool,
    },
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SEATWISE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Guard a booking site: a JSON file naming its protected paths and their queues (docs/INTEGRATION.md);
    /// the site's reverse proxy then asks GET /v1/door for each request.
    #[arg(long, env = "SEATWISE_DOOR")]
    pub door: Option<std::path::PathBuf>,
    /// An origin (scheme://host[:port]) allowed to call from browsers; repeat for several.
    #[arg(long = "cors-origin", env = "SEATWISE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Behind a load balancer: take the client address from X-Forwarded-For, the entry appended by the
    /// outermost of N proxies (N counted from the right; entries left of it are the client's to choose).
    /// `--trust-proxy` is `--proxy-hops 1`.
    #[arg(long, env = "SEATWISE_PROXY_HOPS", default_value_t = 0)]
    pub proxy_hops: usize,
    /// The same as `--proxy-hops 1`.
    #[arg(long)]
    pub trust_proxy: bool,
    /// Serve /metrics, /healthz and /readyz for Prometheus and the operators on this address (never on the
    /// buyers' port). Default: no metrics listener.
    #[arg(long, env = "SEATWISE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Serve the venue's web app only (service key); browsers get no cookie identity.
    #[arg(long)]
    pub no_browser_direct: bool,
    /// Joins per client address per minute (0 = no limit).
    #[arg(long, default_value_t = 120)]
    pub join_per_ip: u64,
    /// Joins per buyer per minute (0 = no limit).
    #[arg(long, default_value_t = 10)]
    pub join_per_buyer: u64,
    /// Status calls per client address per minute (0 = no limit).
    #[arg(long, default_value_t = 3000)]
    pub status_per_ip: u64,
    /// Status calls per buyer per minute (0 = no limit).
    #[arg(long, default_value_t = 90)]
    pub status_per_buyer: u64,
    /// New browser identities per client address per minute (0 = no limit).
    #[arg(long, default_value_t = 60)]
    pub new_buyer_per_ip: u64,
    /// Leave, hold, release and complete calls per address / per buyer per minute (0 = no limit).
    #[arg(long, default_value_t = 600)]
    pub action_per_ip: u64,
    #[arg(long, default_value_t = 60)]
    pub action_per_buyer: u64,
    /// Ably token calls (live, ably-token) per address / per buyer per minute (0 = no limit).
    #[arg(long, default_value_t = 300)]
    pub live_per_ip: u64,
    #[arg(long, default_value_t = 12)]
    pub live_per_buyer: u64,
    /// Seat map calls per address per minute (0 = no limit).
    #[arg(long, default_value_t = 600)]
    pub seats_per_ip: u64,
    /// Pass checks per address per minute (0 = no limit).
    #[arg(long, default_value_t = 6000)]
    pub verify_per_ip: u64,
    /// Tell a waiting buyer the seats are likely gone when their rank exceeds the likely-sold-out rank
    /// times this (1.0 = as soon as the estimate says so).
    #[arg(long, default_value_t = 1.0)]
    pub sold_out_margin: f64,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    pub log: String,
}

#[derive(Subcommand)]
pub enum ShowsCmd {
    List,
    Show {
        id: String,
    },
    /// Create shows from a shows file (they start as DRAFT or UPCOMING).
    Create {
        file: PathBuf,
    },
    /// Create or update shows from a shows file (statuses are never changed by an import).
    Import {
        file: PathBuf,
    },
    /// Write every show to a shows file (or to standard output).
    Export {
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum QueueCmd {
    Pause {
        scope: String,
    },
    Resume {
        scope: String,
    },
    /// Admit up to N buyers now, even beyond capacity.
    Admit {
        scope: String,
        n: u32,
    },
    /// Set the number of concurrent sessions.
    Capacity {
        scope: String,
        capacity: u32,
    },
    /// Send a message to everyone waiting.
    Announce {
        scope: String,
        message: String,
    },
    /// Remove a ticket (the buyer is told).
    Remove {
        scope: String,
        ticket: String,
    },
    /// Ask every join through the buyer gateway for a proof of work of BITS leading zero bits (0 = off;
    /// at most 24). Each bit doubles a buyer's work: 16 bits take about 0.1 s in a browser, 20 about 2 s.
    Challenge {
        scope: String,
        bits: u32,
    },
    /// Admit at most N buyers per minute, live (0 = no limit besides the capacity).
    Outflow {
        scope: String,
        per_minute: u32,
    },
}

#[derive(Subcommand)]
pub enum BuyerCmd {
    /// Join a queue. A buyer who already holds a live ticket gets it back only by presenting it (--ticket),
    /// or with --trusted (the caller vouches for the buyer id, as the venue's web app does).
    Join {
        scope: String,
        buyer: String,
        #[arg(long)]
        ticket: Option<String>,
        #[arg(long, conflicts_with = "ticket")]
        trusted: bool,
    },
    Status {
        scope: String,
        ticket: String,
    },
    Leave {
        scope: String,
        ticket: String,
    },
    Hold {
        scope: String,
        ticket: String,
        #[arg(required = true)]
        seats: Vec<String>,
    },
    /// Release the named seats, or all when none are named.
    Release {
        scope: String,
        ticket: String,
        seats: Vec<String>,
    },
    Complete {
        scope: String,
        ticket: String,
    },
}

#[derive(Args, Clone)]
pub struct SimArgs {
    /// Only these shows (default: every show with live queues).
    #[arg(long)]
    pub show: Vec<String>,
    /// New buyers per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Share of buyers who abandon while waiting (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    pub abandon: f64,
    /// How often waiting buyers poll, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub poll_ms: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Stop creating buyers after this many.
    #[arg(long)]
    pub buyers: Option<u64>,
}
