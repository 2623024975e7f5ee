//! RTM, Slack's classic real-time API: [`RtmClient`] (built by [`RtmClientBuilder`]), its
//! [`RtmHandle`], what handlers receive ([`Payload`]) and chat messages with their receipts.
//! Every item here is also at the crate root (`slack_rtm::RtmClient`); Socket Mode, the same
//! shape over the same engine, is in [`socket_mode`](crate::socket_mode).
//!
//! Inside, the same layout as Socket Mode: `builder` and `client` (the front door), `handle`
//! and `handlers` (what handlers get), the client's protocol state (`Rtm`, here), its send
//! path (`send`) and I/O-free rules (`session`: ids and frame checks; `outbox`: the throttle
//! and receipts; `messaging`: chat messages and acks), its answers to the engine (`protocol`:
//! the connect call, `hello`, acks, pings, the throttle), and its dispatcher (`dispatch`:
//! names, `Payload`, goodbye and error frames).

pub(crate) mod builder;
pub(crate) mod client;
pub(crate) mod dispatch;
pub(crate) mod handle;
pub(crate) mod handlers;
pub(crate) mod messaging;
pub(crate) mod outbox;
pub(crate) mod protocol;
pub(crate) mod send;
pub(crate) mod session;

pub use crate::config::ConnectMethod;
pub use builder::RtmClientBuilder;
pub use client::{RtmClient, Running};
pub use handle::RtmHandle;
pub use handlers::Payload;
#[doc(hidden)]
pub use messaging::Ack;
#[doc(hidden)]
pub use messaging::OutgoingMessage;
pub use messaging::{MessageAck, MessageError, Receipt, MAX_TEXT_CHARS};

use std::sync::{Mutex, MutexGuard};

use crate::config::Config;
use crate::engine::core::{Core, Names, Settings};
use crate::error::Error;
use crate::rtm::outbox::Outbox;
use crate::rtm::session::Ids;
use crate::web::WebClient;

/// The state of one RTM client, shared by its clones, its handles (weakly) and its threads.
pub(crate) struct Rtm {
    pub(crate) core: Core,
    pub(crate) config: Config,
    pub(crate) web: WebClient,
    pub(crate) ids: Ids,
    outbox: Mutex<Outbox>,
    /// The presence subscription, sent again after every `hello`.
    presence: Mutex<Vec<String>>,
}

const NAMES: Names = Names {
    reader: "rtm-reader",
    pinger: "rtm-pinger",
    dispatcher: "rtm-dispatch",
    dial: "rtm-connect",
    drain: "rtm-drain",
};

impl Rtm {
    pub(crate) fn new(config: Config) -> Result<Rtm, Error> {
        let web = WebClient::from_net(&config.net)?;
        let outbox = Outbox::new(config.send_rate, config.send_queue);
        let settings = Settings::new(
            NAMES,
            config.connect_method.as_str(),
            &config.engine,
            config.net.timeout.min(crate::transport::MAX_TIMEOUT),
            config.pong_deadline(),
            1,
            false,
        );
        Ok(Rtm {
            core: Core::new(settings),
            config,
            web,
            ids: Ids::default(),
            outbox: Mutex::new(outbox),
            presence: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn presence(&self) -> MutexGuard<'_, Vec<String>> {
        self.presence.lock().unwrap_or_else(|e| e.into_inner())
    }
}
