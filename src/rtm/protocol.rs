//! RTM's answers to the engine (see `engine::protocol`): `rtm.connect`/`rtm.start`, `hello`,
//! receipts resolved on the reader, JSON pings, and the send throttle's timer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::send::Mode;
use super::Rtm;
use crate::config::{defaults, ConnectMethod};
use crate::engine::core::Core;
use crate::engine::link::Link;
use crate::engine::protocol::{Dial, Inspect, Protocol};
use crate::error::Error;
use crate::messaging::ack_result;
use crate::session::{peek, quick_type};
use crate::transport;

impl Protocol for Rtm {
    type Note = ();

    fn core(&self) -> &Core {
        &self.core
    }

    fn dial(&self) -> Result<Dial, Error> {
        let cfg = &self.config;
        let mut params = json!({});
        if cfg.batch_presence_aware {
            params["batch_presence_aware"] = json!(true);
        }
        if cfg.presence_sub {
            params["presence_sub"] = json!(true);
        }
        let response = match cfg.connect_method {
            ConnectMethod::RtmConnect => self.web.rtm_connect(&params)?,
            ConnectMethod::RtmStart => self.web.rtm_start(&params)?,
        };
        let body = response.into_data();
        let method = cfg.connect_method.as_str();
        let url = body
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::NoUrl {
                method: method.to_string(),
            })?;
        let (conn, sock) =
            transport::open(url, &cfg.net, cfg.max_message_size, defaults::READ_TICK).map_err(
                |e| match e {
                    // The server's answer is at fault, not the configuration: retry.
                    Error::Url(reason) => Error::BadUrl {
                        method: method.to_string(),
                        reason,
                    },
                    e => e,
                },
            )?;
        Ok(Dial { conn, sock, body })
    }

    fn inspect(&self, link: &Arc<Link>, text: &str) -> Inspect {
        let mut seen = Inspect::default();
        let before_hello = !link.is_ready();
        // Cheap on the common path: a frame is read only before `hello`, or when it may be an
        // ack (acks resolve receipts here, not behind the handlers).
        // Acks have no `type`: a frame that starts with one (nearly every event) is passed
        // over with a prefix check.
        if !before_hello && (quick_type(text).is_some() || !text.contains("\"reply_to\"")) {
            return seen;
        }
        let Some(p) = peek(text) else { return seen };
        if before_hello && p.kind.as_deref() == Some("hello") {
            seen.ready = true;
        }
        if let (None, Some(id)) = (&p.kind, p.reply_to.as_ref().and_then(Value::as_u64)) {
            let reply = self.outbox().acked(id);
            if let Some(r) = reply {
                let data: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let _ = r.send(ack_result(id, &data));
            }
        }
        seen
    }

    fn on_ready(&self, link: &Arc<Link>) {
        let _ = link;
        let ids = self.presence().clone();
        if !ids.is_empty() {
            let sub = json!({"type": "presence_sub", "ids": ids});
            if let Err(e) = self.send(sub, None, Mode::Now) {
                log::warn!("presence subscription not sent again: {e}");
            }
        }
    }

    fn ping(&self, _link: &Link) {
        if let Err(e) = self.send(json!({"type": "ping"}), None, Mode::Now) {
            log::debug!("ping not sent: {e}");
        }
    }

    fn on_timer(&self, link: &Arc<Link>, now: Instant) -> Option<Duration> {
        self.release_messages(link, now)
    }
}
