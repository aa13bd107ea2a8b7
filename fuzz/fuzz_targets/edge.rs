//! Every parser a buyer's bytes reach (seatwise_gateway::edge): ids, seats, cookies, passes, challenges,
//! addresses, headers and JSON bodies. Any panic is a finding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    seatwise_gateway::edge::exercise(data);
});
