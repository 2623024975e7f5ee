//! [`Payload`], what an RTM handler receives.

use serde_json::Value;

use crate::rtm::handle::RtmHandle;
use crate::web::WebClient;

/// What a handler receives: the dispatched event name, its data, and the clients to answer with.
///
/// ```no_run
/// # let client = slack_rtm::RtmClient::builder("xoxb-...").build().unwrap();
/// client.on("message", |p: &slack_rtm::Payload| {
///     if let Some(text) = p.data["text"].as_str() {
///         println!("{} said {text}", p.data["user"]);
///     }
/// });
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Payload<'a> {
    /// The name the event was dispatched under: the frame's `type`, `reply` for an
    /// acknowledgement, `unknown` for an object with neither, or a pseudo-event (`open`,
    /// `close`, `error`).
    pub event: &'a str,
    /// The event's data: the whole JSON object as received (including `type`), or the
    /// pseudo-event's data (see the crate docs).
    pub data: &'a Value,
    /// A handle on the RTM client, to send over the websocket or stop it.
    pub rtm_client: &'a RtmHandle,
    /// The client's Web API client.
    pub web_client: &'a WebClient,
    pub(crate) raw: Option<&'a str>,
}

impl<'a> Payload<'a> {
    /// The frame's text exactly as Slack sent it, for events that came from a server frame
    /// (including frames that were not valid JSON, dispatched as `error`); `None` for
    /// pseudo-events the client made (`open`, `close`, other `error`s).
    pub fn raw(&self) -> Option<&'a str> {
        self.raw
    }

    /// The event, typed: [`Event::Message`](crate::Event::Message) for a `message`,
    /// [`Event::Open`](crate::Event::Open) for the `open` pseudo-event, and so on. Never fails:
    /// a type this crate does not model is [`Event::Unknown`](crate::Event::Unknown) and a
    /// known type that does not decode is [`Event::Malformed`](crate::Event::Malformed), both
    /// with the JSON kept. Decodes [`data`](Payload::data) on each call. See
    /// [`event`](crate::event) for the rules.
    pub fn as_event(&self) -> crate::Event {
        crate::event::from_dispatched(self.event, self.data, self.raw.is_some())
    }
}

/// A registered RTM handler.
pub(crate) type RtmHandler = dyn Fn(&Payload<'_>) + Send + Sync + 'static;
