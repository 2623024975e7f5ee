//! Any bytes as a Socket Mode text frame: the reader's quick look agrees with the full parse,
//! and the reader's handling of `hello` (the refresh time), `disconnect` and envelopes (the ack
//! and dedupe decision, the ack frame) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slack_rtm::socket_mode::__fuzz_frame(data);
});
