//! Shows and their schedules, `update_show_status`, import/export and the demo shows (the status and its
//! transition table are in `status.rs`, the audit log in `audit.rs`). Shows live in one Redis hash (`seatwise:{catalog}:shows`) so every console sees the same;
//! each change is a compare-and-set on the show's version, written with its audit entry by one script.
//!
//! - [`model`]: `Show`, `Schedule`, `SeatMap`, validation, the shows file;
//! - [`catalog`]: the catalog in Redis and the demo shows; [`status_change`]: `update_show_status`;
//! - [`theme`]: how the waiting page looks for the venue (checked on save).

mod catalog;
mod model;
mod status_change;
mod theme;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::audit::{Actor, AuditEvent, AuditRecord, QueueResult};
use crate::error::{Error, Result};
use crate::ids::{SchedId, Scope, ShowId};
use crate::keys;
use crate::queue::{CloseReason, Engine, QueueEffect, QueueSettings};
use crate::scripts::SCRIPTS;
use crate::status::ShowStatus::{self, *};

pub use self::catalog::DEMO_SHOWS;
use self::model::*;
pub use self::model::{
    ImportOutcome, MIN_ABANDON_SECONDS, MIN_GRACE_SECONDS, MIN_SESSION_SECONDS, PriceZone, Schedule, SeatMap, Show,
    StatusChange, parse_shows_file,
};
use self::status_change::*;
pub use self::theme::{MAX_LOGO_BYTES, Theme};
