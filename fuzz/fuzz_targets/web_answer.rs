//! Any bytes as a Web API answer (two bytes of HTTP status, one byte of `Retry-After` length,
//! the `Retry-After` value, then the body): reading it as an API or `response_url` answer, the
//! retry decision, the rate limiter's penalty, the cursor and the messages never panic, and a
//! success is always a 2xx answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slack_rtm::__fuzz_web_answer(data);
});
