//! Any JSON value decodes to an `Event` without panicking, and an event that is not typed keeps
//! the value unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use slack_rtm::Event;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match Event::from_value(&value) {
        Event::Unknown(raw) | Event::Malformed { raw, .. } => assert_eq!(raw, value),
        Event::Message(m) => {
            // What decoded serializes, and decodes again to the same message.
            let again = serde_json::to_value(&*m).expect("a message serializes");
            let Event::Message(m2) = Event::from_value(&again) else {
                panic!("a serialized message decodes as a message: {again}");
            };
            assert_eq!(m, m2);
        }
        _ => {}
    }
});
