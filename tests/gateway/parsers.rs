//! Property tests of every parser a buyer reaches (ids, seats, cookies, passes, challenges, addresses,
//! JSON bodies): arbitrary input never panics, valid values round-trip, and any change to something the
//! gateway signed makes it invalid. The fuzz target (`fuzz/`) runs the same `edge::exercise`.

use proptest::prelude::*;
use seatwise_engine::gate::{Challenge, KeyRing, Pass};
use seatwise_engine::{BuyerId, SchedId, Scope, SeatId, SeatMap, ShowId, Ticket};
use seatwise_gateway::edge;
use seatwise_gateway::identity::IdentityConfig;

fn keys() -> KeyRing {
    KeyRing::from_text("k", "the property tests' key, 32+ characters", "").unwrap()
}

fn ids() -> IdentityConfig {
    IdentityConfig { service_key: None, browser_direct: true, cookie_keys: keys(), cookie_secure: true }
}

/// `s` with the character at `i` (mod its length) replaced by another printable ASCII character.
fn mutate(s: &str, i: usize, c: char) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let i = i % chars.len();
    if chars[i] == c {
        return None;
    }
    chars[i] = c;
    Some(chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_input_makes_a_parser_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        edge::exercise(&data);
    }

    #[test]
    fn no_text_makes_a_parser_panic(a in ".{0,120}", b in ".{0,60}") {
        edge::exercise(format!("{a}\0{b}").as_bytes());
    }

    #[test]
    fn valid_ids_round_trip(id in "[a-z0-9][a-z0-9-]{0,30}", seat in "[A-Z]{1,3}[1-9][0-9]{0,2}") {
        prop_assert_eq!(ShowId::new(&id).unwrap().to_string(), id.clone());
        prop_assert_eq!(SchedId::new(&id).unwrap().to_string(), id.clone());
        prop_assert_eq!(BuyerId::new(&id).unwrap().to_string(), id.clone());
        prop_assert_eq!(SeatId::new(&seat).unwrap().to_string(), seat.clone());
        let scope = Scope::parse(&format!("{id}:{id}")).unwrap();
        prop_assert_eq!(scope.to_string(), format!("{id}:{id}"));
    }

    #[test]
    fn tickets_round_trip(g in 1u64..1_000_000, s in 1u64..67_108_863, tag in "[0-9a-f]{16}") {
        let text = format!("{g}.{s}.{tag}");
        prop_assert_eq!(Ticket::parse(&text).unwrap().to_string(), text);
    }

    #[test]
    fn a_seat_is_in_the_map_exactly_when_its_row_and_number_are(row in 0usize..5, n in 0u32..30, per_row in 1u32..20) {
        let rows: Vec<String> = ["A", "B", "C", "AA"].iter().map(|r| r.to_string()).collect();
        let map = SeatMap { rows: rows.clone(), seats_per_row: per_row, zones: Vec::new() };
        let label = if row < rows.len() { rows[row].clone() } else { "Z".into() };
        let inside = row < rows.len() && (1..=per_row).contains(&n);
        prop_assert_eq!(map.contains(&format!("{label}{n}")), inside);
        prop_assert!(!map.contains(&format!("{label}0{n}")), "no leading zeros");
    }

    #[test]
    fn a_changed_cookie_is_no_identity(buyer in "web:[0-9a-f]{32}", i in 0usize..200, c in "[ -~]") {
        let now = 1_800_000_000;
        let cookie = ids().cookie_value(&BuyerId::new(&buyer).unwrap(), now);
        prop_assert_eq!(ids().check_cookie(&cookie, now).map(|b| b.to_string()), Some(buyer));
        if let Some(changed) = mutate(&cookie, i, c.chars().next().unwrap()) {
            prop_assert_eq!(ids().check_cookie(&changed, now), None, "{}", changed);
        }
    }

    #[test]
    fn a_changed_pass_is_refused(exp in 2u64..u64::MAX / 2, i in 0usize..300, c in "[ -~]") {
        let text = Pass { scope: "s1:d1".into(), ticket: "1.2.0123456789abcdef".into(), exp, kid: String::new() }.sign(&keys());
        prop_assert!(Pass::verify(&keys(), &text, 1).is_ok());
        if let Some(changed) = mutate(&text, i, c.chars().next().unwrap()) {
            prop_assert!(Pass::verify(&keys(), &changed, 1).is_err(), "{}", changed);
        }
    }

    #[test]
    fn a_changed_challenge_is_refused(i in 0usize..200, c in "[ -~]") {
        let scope = Scope::parse("s1:d1").unwrap();
        let (_, text) = Challenge::issue(&keys(), &scope, 0, 1_000);
        prop_assert!(Challenge::verify(&keys(), &text, "0", &scope, 0, 2_000).is_ok());
        if let Some(changed) = mutate(&text, i, c.chars().next().unwrap()) {
            prop_assert!(Challenge::verify(&keys(), &changed, "0", &scope, 0, 2_000).is_err(), "{}", changed);
        }
    }
}
