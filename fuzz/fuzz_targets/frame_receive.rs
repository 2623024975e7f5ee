//! The bytes of a websocket text frame go through the dispatcher's path (UTF-8, JSON, dispatch
//! name, typed decode as in `Payload::as_event`) without panicking, and the typed event agrees
//! with the name the frame is dispatched under.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slack_rtm::Event;

fuzz_target!(|data: &[u8]| {
    let Some((name, value, event)) = slack_rtm::event::__fuzz_receive(data) else {
        return;
    };
    match &event {
        Event::Unknown(raw) => assert_eq!(raw, &value),
        Event::Malformed { kind, raw, .. } => {
            assert_eq!(kind, &name);
            assert_eq!(raw, &value);
        }
        Event::Reply(_) => assert_eq!(name, "reply"),
        Event::Message(_) => assert_eq!(name, "message"),
        Event::Hello => assert_eq!(name, "hello"),
        Event::Pong(_) => assert_eq!(name, "pong"),
        // Pseudo-events never come from a server frame...
        Event::Open(_) | Event::Close(_) => panic!("{name}: {event:?}"),
        // ...except a client error, which a server frame cannot imitate: it has no `type`.
        Event::ClientError(_) => panic!("{name}: {event:?}"),
        _ => {}
    }
    if name == "unknown" {
        assert!(matches!(event, Event::Unknown(_)), "{event:?}");
    }
});
