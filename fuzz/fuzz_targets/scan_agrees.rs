//! The readers' top-level key scan (`type`, `reply_to`, `envelope_id`, ... found without a
//! parse) agrees with a full `serde_json` parse on every JSON object, and never panics on any
//! other text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // tungstenite only delivers text frames that are valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(disagreement) = slack_rtm::event::__fuzz_scan(text) {
        panic!("{disagreement}");
    }
});
