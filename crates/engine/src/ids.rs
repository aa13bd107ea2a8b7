//! Validated identifiers. Every Redis key is built from these types only, so no unvalidated text reaches a
//! key name (and the `{}` of a Cluster hash tag can never come from user input).

use std::fmt;

use crate::error::{Error, Result};

const ID_RULE: &str = "use 1 to 64 characters, each a letter, a digit, '-' or '_'";
const BUYER_RULE: &str = "use 1 to 128 characters, each a letter, a digit or one of - _ . @ :";
const SEAT_RULE: &str = "use 1 to 32 characters, each a letter, a digit, '-' or '_'";

fn check(what: &'static str, value: &str, max: usize, extra: &[char], rule: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(&c));
    if ok { Ok(value.to_string()) } else { Err(Error::invalid(what, value, rule)) }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $extra:expr, $rule:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self> {
                Self::new(&value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl $name {
            pub fn new(value: &str) -> Result<Self> {
                check($what, value, $max, $extra, $rule).map($name)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// A show id: letters, digits, `-`, `_`; 1–64 characters.
    ShowId, "show id", 64, &[], ID_RULE
);
id_type!(
    /// A schedule (performance) id: letters, digits, `-`, `_`; 1–64 characters.
    SchedId, "schedule id", 64, &[], ID_RULE
);
id_type!(
    /// A buyer id as the web app knows its user: 1–128 characters of letters, digits and `-_.@:`.
    BuyerId, "buyer id", 128, &['.', '@', ':'], BUYER_RULE
);
id_type!(
    /// A seat id from the seat map: 1–32 characters of letters, digits, `-`, `_`.
    SeatId, "seat id", 32, &[], SEAT_RULE
);

/// One schedule's queue: the design guide's `showScopeId`, written `<showId>:<schedId>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub show: ShowId,
    pub sched: SchedId,
}

impl Scope {
    pub fn new(show: ShowId, sched: SchedId) -> Self {
        Scope { show, sched }
    }

    /// Parses `<showId>:<schedId>`.
    pub fn parse(text: &str) -> Result<Self> {
        let (show, sched) = text.split_once(':').ok_or_else(|| {
            Error::invalid("queue scope", text, "write it as <showId>:<schedId>, e.g. hamlet:2026-03-15-eve")
        })?;
        Ok(Scope { show: ShowId::new(show)?, sched: SchedId::new(sched)? })
    }

    /// The Redis Cluster hash tag shared by every key of this queue: `{<show>:<sched>}`.
    pub fn hash_tag(&self) -> String {
        format!("{{{}:{}}}", self.show, self.sched)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.show, self.sched)
    }
}

/// A buyer's ticket id, `<generation>.<seq>.<tag>`: the queue generation, the ticket's sequence number, and 16
/// hex digits of SHA-1 over the generation's secret, so tickets cannot be guessed from their neighbours.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Ticket {
    pub generation: u64,
    pub seq: u64,
    pub tag: String,
}

impl Ticket {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "ticket",
                text,
                "a ticket id looks like 3.1042.9f2c4e1a7b3d5c60 (generation.sequence.16 hex digits)",
            )
        };
        let mut parts = text.split('.');
        let (Some(g), Some(s), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let generation: u64 = g.parse().map_err(|_| bad())?;
        let seq: u64 = s.parse().map_err(|_| bad())?;
        if tag.len() != 16 || !tag.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
            return Err(bad());
        }
        Ok(Ticket { generation, seq, tag: tag.to_string() })
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.generation, self.seq, self.tag)
    }
}

impl TryFrom<String> for Ticket {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Ticket::parse(&value)
    }
}

impl serde::Serialize for Ticket {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Ticket {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ticket::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_allowed_alphabet_only() {
        assert!(ShowId::new("hamlet-2026_A").is_ok());
        for bad in ["", "a b", "x{y}", "a:b", "é", &"x".repeat(65)] {
            let err = ShowId::new(bad).unwrap_err().to_string();
            assert!(err.contains("1 to 64 characters"), "{bad:?}: {err}");
        }
        assert!(BuyerId::new("user@example.com").is_ok());
        assert!(BuyerId::new("user name").is_err());
        assert!(SeatId::new("A-12").is_ok());
        assert!(SeatId::new("A 12").is_err());
    }

    #[test]
    fn scope_and_ticket_round_trip() {
        let scope = Scope::parse("hamlet:eve-1").unwrap();
        assert_eq!(scope.hash_tag(), "{hamlet:eve-1}");
        assert_eq!(scope.to_string(), "hamlet:eve-1");
        assert!(Scope::parse("hamlet").is_err());
        assert!(Scope::parse("ham}let:x").is_err());
        let t = Ticket::parse("3.1042.9f2c4e1a7b3d5c60").unwrap();
        assert_eq!((t.generation, t.seq), (3, 1042));
        assert_eq!(t.to_string(), "3.1042.9f2c4e1a7b3d5c60");
        for bad in ["3.1042", "3.x.9f2c4e1a7b3d5c60", "3.1.9F2C4E1A7B3D5C60", "3.1.abc", "1.2.3.4"] {
            assert!(Ticket::parse(bad).is_err(), "{bad}");
        }
    }
}
