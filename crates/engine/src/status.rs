//! A show's status: the design guide's seven, their labels and the transition table (docs/PROTOCOL.md). Its own
//! module so the error type and the shows module can both use it without an import cycle.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A show's status: the design guide's seven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShowStatus {
    #[default]
    Draft,
    Upcoming,
    Open,
    OnGoing,
    Closed,
    Cancelled,
    Postponed,
}

use ShowStatus::*;

impl ShowStatus {
    pub const ALL: [ShowStatus; 7] = [Draft, Upcoming, Open, OnGoing, Closed, Cancelled, Postponed];

    pub fn as_str(self) -> &'static str {
        match self {
            Draft => "DRAFT",
            Upcoming => "UPCOMING",
            Open => "OPEN",
            OnGoing => "ON_GOING",
            Closed => "CLOSED",
            Cancelled => "CANCELLED",
            Postponed => "POSTPONED",
        }
    }

    /// The label staff see (the design guide's option B).
    pub fn label(self) -> &'static str {
        match self {
            Draft => "Draft",
            Upcoming => "Upcoming",
            Open => "Open (Queue Active)",
            OnGoing => "On Going",
            Closed => "Closed",
            Cancelled => "Cancelled",
            Postponed => "Postponed",
        }
    }

    pub fn parse(text: &str) -> Result<ShowStatus> {
        let norm = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        ShowStatus::ALL.into_iter().find(|s| s.as_str() == norm).ok_or_else(|| {
            Error::invalid(
                "show status",
                text,
                "use one of DRAFT, UPCOMING, OPEN, ON_GOING, CLOSED, CANCELLED, POSTPONED",
            )
        })
    }

    /// The transition table (also in docs/PROTOCOL.md). Setting a show to the status it already has is
    /// allowed too: it re-applies the queue effects, which are idempotent (a repair after a crash).
    pub fn allowed_targets(self) -> &'static [ShowStatus] {
        match self {
            Draft => &[Upcoming, Open, Cancelled],
            Upcoming => &[Draft, Open, Postponed, Cancelled],
            Open => &[OnGoing, Postponed, Closed, Cancelled],
            OnGoing => &[Open, Postponed, Closed, Cancelled],
            Postponed => &[Open, Closed, Cancelled],
            Closed => &[Open, Cancelled],
            Cancelled => &[Draft],
        }
    }

    pub fn can_become(self, to: ShowStatus) -> bool {
        self == to || self.allowed_targets().contains(&to)
    }

    /// Whether queues of a show in this status may hold buyers (so schedules may not be removed).
    pub fn has_live_queues(self) -> bool {
        matches!(self, Open | OnGoing | Postponed)
    }
}

impl fmt::Display for ShowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_is_closed_and_named() {
        for s in ShowStatus::ALL {
            assert!(s.can_become(s), "re-applying {s} is allowed");
            for t in s.allowed_targets() {
                assert_ne!(*t, s);
            }
        }
        assert!(Closed.can_become(Open));
        assert!(!Draft.can_become(Closed));
        assert!(!Cancelled.can_become(Open));
        assert_eq!(ShowStatus::parse("on going").unwrap(), OnGoing);
        assert!(ShowStatus::parse("LIVE").unwrap_err().to_string().contains("ON_GOING"));
    }
}
