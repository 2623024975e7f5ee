//! Chat messages over the websocket with receipts: [`Receipt`], [`MessageAck`] and [`MessageError`]
//! (the message itself is a [`ChatMessage`]).

use std::fmt;
use std::time::Duration;

use crossbeam_channel::Receiver;
use serde_json::Value;

use crate::chat::ChatMessage;

/// Slack's limit on a chat message's text, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 4000;

/// An older name for [`ChatMessage`], kept so existing code compiles.
#[doc(hidden)]
pub type OutgoingMessage<'a> = ChatMessage<'a>;

/// Slack's acknowledgement of a sent message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageAck {
    /// The id of the message acknowledged.
    pub reply_to: u64,
    /// The message's timestamp as stored by Slack (its id within the channel).
    pub ts: Option<String>,
    /// The text as stored (Slack may rewrite links).
    pub text: Option<String>,
    /// The whole reply frame.
    pub data: Value,
}

/// The older name of [`MessageAck`], kept so existing code compiles.
#[doc(hidden)]
pub type Ack = MessageAck;

/// Why a message has no successful ack.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageError {
    /// Slack refused the message (`{"ok": false, "error": {"code", "msg"}}`).
    Slack {
        /// Slack's error code.
        code: i64,
        /// Slack's message.
        msg: String,
    },
    /// Slack said to slow down (error code -1); the message was not posted.
    RateLimited {
        /// Slack's message.
        msg: String,
    },
    /// The connection ended after the message was written and before its ack arrived. The
    /// message may or may not have been posted; it is not sent again.
    ConnectionLost,
    /// The client stopped before the message was sent or acknowledged.
    Stopped,
    /// [`Receipt::wait`] gave up; the ack may still come later.
    Timeout,
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Slack { code, msg } => {
                write!(f, "slack refused the message ({code}): {msg}")
            }
            MessageError::RateLimited { msg } => write!(f, "rate limited: {msg}"),
            MessageError::ConnectionLost => f.write_str("the connection ended before the ack"),
            MessageError::Stopped => f.write_str("the client stopped"),
            MessageError::Timeout => f.write_str("no ack in time"),
        }
    }
}

impl std::error::Error for MessageError {}

/// The pending outcome of a sent message, from [`RtmHandle::send_message`].
///
/// [`RtmHandle::send_message`]: crate::RtmHandle::send_message
#[derive(Debug)]
#[must_use = "a `Receipt` is how you learn whether Slack accepted the message"]
pub struct Receipt {
    id: u64,
    rx: Receiver<Result<MessageAck, MessageError>>,
}

impl Receipt {
    pub(crate) fn new(id: u64, rx: Receiver<Result<MessageAck, MessageError>>) -> Receipt {
        Receipt { id, rx }
    }

    /// The message id (the `reply_to` of its ack).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits up to `timeout` for the ack (or the failure).
    ///
    /// Acks are read and resolved on the dispatcher thread, the one that runs handlers: waiting
    /// **inside a handler** blocks that thread, so the ack cannot arrive and the wait times out
    /// (and every event waits meanwhile). In a handler, keep the receipt and check it later with
    /// [`try_result`](Receipt::try_result), hand it to another thread, or handle the `reply`
    /// event whose `reply_to` is [`id`](Receipt::id).
    pub fn wait(&self, timeout: Duration) -> Result<MessageAck, MessageError> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(MessageError::Timeout),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(MessageError::Stopped),
        }
    }

    /// The outcome if it is known already.
    pub fn try_result(&self) -> Option<Result<MessageAck, MessageError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(crossbeam_channel::TryRecvError::Empty) => None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some(Err(MessageError::Stopped)),
        }
    }
}

/// Reads an ack frame (`{"ok", "reply_to", ...}`).
pub(crate) fn ack_result(reply_to: u64, data: &Value) -> Result<MessageAck, MessageError> {
    if data["ok"].as_bool() == Some(true) {
        return Ok(MessageAck {
            reply_to,
            ts: data["ts"].as_str().map(str::to_string),
            text: data["text"].as_str().map(str::to_string),
            data: data.clone(),
        });
    }
    let code = data["error"]["code"].as_i64().unwrap_or(0);
    let msg = data["error"]["msg"]
        .as_str()
        .unwrap_or("no reason given")
        .to_string();
    if code == -1 {
        Err(MessageError::RateLimited { msg })
    } else {
        Err(MessageError::Slack { code, msg })
    }
}

/// The bytes `c` takes inside a JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Splits `text` into pieces of at most `max` characters whose JSON-escaped form takes at most
/// `max_bytes`, preferring a line break, then a space, in the second half of each piece.
pub(crate) fn split_text(text: &str, max: usize, max_bytes: usize) -> Vec<&str> {
    let max = max.max(1);
    let max_bytes = max_bytes.max(6);
    let mut pieces = Vec::new();
    let mut rest = text;
    loop {
        // The end of the longest prefix within both limits.
        let mut bytes = 0;
        let mut hard = rest.len();
        for (n, (i, c)) in rest.char_indices().enumerate() {
            bytes += escaped_len(c);
            if n == max || bytes > max_bytes {
                hard = i;
                break;
            }
        }
        if hard == rest.len() {
            break;
        }
        let window = &rest[..hard];
        let chars = window.chars().count();
        let half = window.char_indices().nth(chars / 2).map_or(0, |(i, _)| i);
        let cut = window[half..]
            .rfind('\n')
            .or_else(|| window[half..].rfind(' '))
            .map_or(hard, |i| half + i + 1);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn acks_and_errors_are_read() {
        let ok = ack_result(
            3,
            &json!({"ok": true, "reply_to": 3, "ts": "1.2", "text": "hi"}),
        )
        .unwrap();
        assert_eq!(
            (ok.ts.as_deref(), ok.text.as_deref()),
            (Some("1.2"), Some("hi"))
        );
        assert_eq!(
            ack_result(
                3,
                &json!({"ok": false, "error": {"code": 2, "msg": "message text is missing"}})
            ),
            Err(MessageError::Slack {
                code: 2,
                msg: "message text is missing".into()
            })
        );
        assert!(matches!(
            ack_result(
                3,
                &json!({"ok": false, "error": {"code": -1, "msg": "slow down"}})
            ),
            Err(MessageError::RateLimited { .. })
        ));
    }

    #[test]
    fn control_characters_split_within_the_frame_limit() {
        let text = "\u{1}".repeat(9000);
        let parts = split_text(&text, MAX_TEXT_CHARS, 16_000);
        assert_eq!(parts.concat(), text);
        for p in &parts {
            let json = serde_json::to_string(p).unwrap();
            assert!(json.len() <= 16_002, "{}", json.len());
        }
        assert!(parts.len() >= 4);
    }

    #[test]
    fn long_text_splits_on_boundaries_within_the_limit() {
        let text = format!("{} {}\n{}", "a".repeat(30), "b".repeat(30), "c".repeat(30));
        let pieces = split_text(&text, 40, usize::MAX);
        assert!(pieces.iter().all(|p| p.chars().count() <= 40), "{pieces:?}");
        assert_eq!(pieces.concat(), text, "nothing lost");
        assert!(pieces[0].ends_with(' '));
        // Multi-byte characters count as one and are never cut.
        let emoji = "😀".repeat(10);
        let pieces = split_text(&emoji, 4, usize::MAX);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), emoji);
        assert_eq!(split_text("", 4, usize::MAX), [""]);
    }
}
