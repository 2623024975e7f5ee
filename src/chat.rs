//! [`ChatMessage`]: one chat message builder for both paths, the websocket
//! ([`RtmHandle::send_message_with`](crate::RtmHandle::send_message_with)) and the Web API
//! ([`WebClient::chat_post_message_with`](crate::WebClient::chat_post_message_with)).

use serde_json::{json, Map, Value};

/// A chat message: channel, text, and the options both paths share.
///
/// Over the Web API every field is sent. Over the RTM websocket messages are plain text with
/// Slack's default formatting (mention users as `<@U123>`): a message with `blocks` is refused
/// there with [`SendErrorKind::InvalidPayload`](crate::SendErrorKind::InvalidPayload).
///
/// It is the one message type of the crate: the App's
/// [`Ctx::say_with`](crate::app::Ctx::say_with), the Web API and the RTM websocket all take it
/// (`PostMessage` and `OutgoingMessage`, its older names, still compile).
///
/// ```
/// # use slack_rtm::ChatMessage;
/// let msg = ChatMessage::new("C0123456789", "a reply")
///     .thread_ts("1700000000.000100")
///     .reply_broadcast(true);
/// assert_eq!(msg.thread_ts, Some("1700000000.000100"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "a message does nothing until it is sent or posted"]
pub struct ChatMessage<'a> {
    /// The channel (`C…`, `G…`) or DM (`D…`) id (the Web API also takes a name).
    pub channel: &'a str,
    /// The text, at most 4,000 characters on the websocket (see
    /// [`RtmHandle::send_long_message`](crate::RtmHandle::send_long_message)); the fallback
    /// text when `blocks` are given.
    pub text: &'a str,
    /// Reply in the thread of this message `ts`. Defaults to none.
    pub thread_ts: Option<&'a str>,
    /// With `thread_ts`: also show the reply in the channel. Defaults to `false`.
    pub reply_broadcast: bool,
    /// Block Kit blocks (a JSON array), Web API only. Defaults to none.
    pub blocks: Option<&'a Value>,
}

impl<'a> ChatMessage<'a> {
    /// A plain message to `channel`: no thread, no broadcast, no blocks.
    pub fn new(channel: &'a str, text: &'a str) -> ChatMessage<'a> {
        ChatMessage {
            channel,
            text,
            ..ChatMessage::default()
        }
    }

    /// Replies in the thread of `ts`. Defaults to none (a top-level message).
    pub fn thread_ts(mut self, ts: &'a str) -> Self {
        self.thread_ts = Some(ts);
        self
    }

    /// Shows a thread reply in the channel too. Defaults to `false`.
    pub fn reply_broadcast(mut self, yes: bool) -> Self {
        self.reply_broadcast = yes;
        self
    }

    /// Block Kit blocks (a JSON array), for the Web API. Defaults to none.
    pub fn blocks(mut self, blocks: &'a Value) -> Self {
        self.blocks = Some(blocks);
        self
    }

    /// The RTM `message` frame with `text` (the whole text, or one part of a split one).
    /// `blocks` are carried over so the send guard refuses them with a clear error instead of
    /// Slack dropping them silently.
    pub(crate) fn to_payload(self, text: &str) -> Value {
        let mut v = json!({"type": "message", "channel": self.channel, "text": text});
        if let Some(ts) = self.thread_ts {
            v["thread_ts"] = json!(ts);
            if self.reply_broadcast {
                v["reply_broadcast"] = json!(true);
            }
        }
        if let Some(blocks) = self.blocks {
            v["blocks"] = blocks.clone();
        }
        v
    }

    /// The `chat.postMessage` parameters.
    pub(crate) fn params(&self) -> Value {
        let mut p = Map::new();
        p.insert("channel".into(), self.channel.into());
        p.insert("text".into(), self.text.into());
        if let Some(ts) = self.thread_ts {
            p.insert("thread_ts".into(), ts.into());
        }
        if self.reply_broadcast {
            p.insert("reply_broadcast".into(), true.into());
        }
        if let Some(blocks) = self.blocks {
            p.insert("blocks".into(), blocks.clone());
        }
        Value::Object(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_params() {
        let blocks = json!([{"type": "divider"}]);
        let m = ChatMessage::new("C1", "hi")
            .thread_ts("1.2")
            .reply_broadcast(true)
            .blocks(&blocks);
        assert_eq!(
            m.params(),
            json!({"channel": "C1", "text": "hi", "thread_ts": "1.2", "reply_broadcast": true,
                   "blocks": [{"type": "divider"}]})
        );
        assert_eq!(
            ChatMessage::new("C1", "hi").params(),
            json!({"channel": "C1", "text": "hi"})
        );
    }

    #[test]
    fn rtm_payload() {
        let m = ChatMessage::new("C1", "hi").reply_broadcast(true);
        assert_eq!(
            m.to_payload("part"),
            json!({"type": "message", "channel": "C1", "text": "part"})
        );
        let m = m.thread_ts("1.2");
        assert_eq!(
            m.to_payload("hi"),
            json!({"type": "message", "channel": "C1", "text": "hi", "thread_ts": "1.2",
                   "reply_broadcast": true})
        );
        let blocks = json!([]);
        assert_eq!(m.blocks(&blocks).to_payload("hi")["blocks"], json!([]));
    }
}
