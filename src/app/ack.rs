//! Acks: the [`Ack`] builders (what a listener answers), and the per-request ack cell that
//! makes sure every request is answered exactly once — by the listener, when it returns, or
//! at the ack deadline — with the deadline kept by one timer thread per App.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde_json::{json, Map, Value};

use super::error::AppError;
use super::request::AppResponse;

/// The default ack deadline: 2.5 s after a request arrived, a listener still running is acked
/// bare (Slack gives up at 3 s).
pub const DEFAULT_ACK_DEADLINE: Duration = Duration::from_millis(2500);

/// An answer carried by the ack: a slash command's reply, a modal's `response_action`, an
/// external select's options. A bare [`Ctx::ack`](super::Ctx::ack) needs none.
///
/// ```
/// use serde_json::json;
/// use slack_rtm::app::Ack;
///
/// let reply = Ack::text("deploying…").ephemeral();
/// assert_eq!(reply.to_value(), json!({"text": "deploying…", "response_type": "ephemeral"}));
/// let errors = Ack::errors(json!({"env_block": "pick an environment"}));
/// assert_eq!(errors.to_value()["response_action"], "errors");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "an Ack does nothing until it is passed to ctx.ack_with"]
pub struct Ack {
    body: Map<String, Value>,
}

impl Ack {
    fn of(pairs: &[(&str, Value)]) -> Ack {
        Ack {
            body: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    /// A message: `{"text": text}` (a slash command's reply, visible to the user only unless
    /// [`in_channel`](Ack::in_channel)).
    pub fn text(text: &str) -> Ack {
        Ack::of(&[("text", json!(text))])
    }

    /// A Block Kit message: `{"blocks": blocks}` (a JSON array).
    pub fn blocks(blocks: Value) -> Ack {
        Ack::of(&[("blocks", blocks)])
    }

    /// Only the user who ran the command sees the reply (`response_type: ephemeral`, Slack's
    /// default).
    pub fn ephemeral(mut self) -> Ack {
        self.body.insert("response_type".into(), json!("ephemeral"));
        self
    }

    /// Everyone in the channel sees the reply (`response_type: in_channel`).
    pub fn in_channel(mut self) -> Ack {
        self.body
            .insert("response_type".into(), json!("in_channel"));
        self
    }

    /// An external select's options: `{"options": options}` (a JSON array of option objects).
    pub fn options(options: Value) -> Ack {
        Ack::of(&[("options", options)])
    }

    /// An external select's option groups: `{"option_groups": groups}`.
    pub fn option_groups(groups: Value) -> Ack {
        Ack::of(&[("option_groups", groups)])
    }

    /// A modal submission refused with errors under its input blocks:
    /// `{"response_action": "errors", "errors": {block_id: message, …}}`. The modal stays open.
    pub fn errors(errors: Value) -> Ack {
        Ack::of(&[("response_action", json!("errors")), ("errors", errors)])
    }

    /// Replaces the submitted modal with `view`: `{"response_action": "update", "view": …}`.
    pub fn update(view: Value) -> Ack {
        Ack::of(&[("response_action", json!("update")), ("view", view)])
    }

    /// Pushes `view` onto the modal stack: `{"response_action": "push", "view": …}`.
    pub fn push(view: Value) -> Ack {
        Ack::of(&[("response_action", json!("push")), ("view", view)])
    }

    /// Closes every view of the modal: `{"response_action": "clear"}`.
    pub fn clear() -> Ack {
        Ack::of(&[("response_action", json!("clear"))])
    }

    /// Any answer: a JSON object as it is; a string as `{"text": …}`; anything else as
    /// `{"text": <its JSON>}`.
    pub fn json(value: Value) -> Ack {
        match value {
            Value::Object(body) => Ack { body },
            Value::String(text) => Ack::of(&[("text", Value::String(text))]),
            other => Ack::of(&[("text", Value::String(other.to_string()))]),
        }
    }

    /// The answer as JSON.
    pub fn to_value(&self) -> Value {
        Value::Object(self.body.clone())
    }

    pub(crate) fn into_response(self) -> AppResponse {
        AppResponse::json(&Value::Object(self.body))
    }
}

/// Where a request's answer goes: the caller of `dispatch` waiting on a channel, a Socket Mode
/// envelope's ack, or nowhere (RTM). `Err` leaves the request pending (the listener may answer
/// again with less).
pub(crate) trait AckSink: Send {
    fn send(&mut self, response: AppResponse) -> Result<(), AppError>;
}

impl<F: FnMut(AppResponse) -> Result<(), AppError> + Send> AckSink for F {
    fn send(&mut self, response: AppResponse) -> Result<(), AppError> {
        self(response)
    }
}

/// Who answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckedBy {
    /// The listener, with `ack` or `ack_with`.
    Listener,
    /// The App, bare, when the listener returned (or on arrival, for events).
    App,
    /// The App, bare, at the ack deadline.
    Deadline,
}

enum Slot {
    Pending(Box<dyn AckSink>),
    Done(AckedBy),
}

/// One request's answer, exactly once.
pub(crate) struct AckCell {
    slot: Mutex<Slot>,
    /// `command /deploy`, `block_actions approve`: for the deadline warning.
    label: String,
    deadline: Duration,
}

impl AckCell {
    pub(crate) fn new(sink: Box<dyn AckSink>, label: String, deadline: Duration) -> AckCell {
        AckCell {
            slot: Mutex::new(Slot::Pending(sink)),
            label,
            deadline,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listener answers.
    pub(crate) fn ack(&self, response: AppResponse) -> Result<(), AppError> {
        let mut slot = self.lock();
        match &mut *slot {
            Slot::Done(AckedBy::Deadline) => Err(AppError::AckLate),
            Slot::Done(_) => Err(AppError::AlreadyAcked),
            Slot::Pending(sink) => {
                sink.send(response)?;
                *slot = Slot::Done(AckedBy::Listener);
                Ok(())
            }
        }
    }

    /// The App answers with `response` if nobody has; true when it did.
    pub(crate) fn settle(&self, response: AppResponse, by: AckedBy) -> bool {
        let mut slot = self.lock();
        let Slot::Pending(sink) = &mut *slot else {
            return false;
        };
        if let Err(e) = sink.send(response) {
            log::debug!("{}: the answer was not sent: {e}", self.label);
        }
        *slot = Slot::Done(by);
        true
    }

    /// Who answered, once answered.
    pub(crate) fn acked_by(&self) -> Option<AckedBy> {
        match &*self.lock() {
            Slot::Done(by) => Some(*by),
            Slot::Pending(_) => None,
        }
    }

    /// The deadline came: a bare ack if still pending, and a warning naming the request.
    pub(crate) fn on_deadline(&self) {
        if self.settle(AppResponse::ok(), AckedBy::Deadline) {
            log::warn!(
                "{}: the listener was still running at the ack deadline ({} ms): sent a bare ack; \
                 a later ack fails",
                self.label,
                self.deadline.as_millis()
            );
        }
    }
}

/// The App's one deadline thread: a heap of pending acks by deadline.
pub(crate) struct Timer {
    tx: Option<Sender<(Instant, Weak<AckCell>)>>,
    thread: Option<JoinHandle<()>>,
}

impl Timer {
    pub(crate) fn start() -> std::io::Result<Timer> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("app-timer".into())
            .spawn(move || run_timer(&rx))?;
        Ok(Timer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Watches `cell` until `at`.
    pub(crate) fn watch(&self, at: Instant, cell: &Arc<AckCell>) {
        if let Some(tx) = &self.tx {
            // The thread lives as long as the sender: the send cannot fail.
            let _ = tx.send((at, Arc::downgrade(cell)));
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

fn run_timer(rx: &Receiver<(Instant, Weak<AckCell>)>) {
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut cells: HashMap<u64, Weak<AckCell>> = HashMap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = heap.peek().copied() {
            if at > now {
                break;
            }
            heap.pop();
            if let Some(cell) = cells.remove(&id).and_then(|w| w.upgrade()) {
                cell.on_deadline();
            }
        }
        let next = heap.peek().map(|Reverse((at, _))| *at);
        let got = match next {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok((at, cell)) => {
                seq += 1;
                heap.push(Reverse((at, seq)));
                cells.insert(seq, cell);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_cell(deadline: Duration) -> (Arc<AckCell>, Receiver<AppResponse>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let sink = move |r: AppResponse| {
            let _ = tx.try_send(r);
            Ok(())
        };
        let cell = AckCell::new(Box::new(sink), "command /t".into(), deadline);
        (Arc::new(cell), rx)
    }

    #[test]
    fn builders_shape_slacks_answers() {
        assert_eq!(Ack::text("hi").to_value(), json!({"text": "hi"}));
        assert_eq!(
            Ack::text("hi").in_channel().to_value(),
            json!({"text": "hi", "response_type": "in_channel"})
        );
        assert_eq!(
            Ack::blocks(json!([])).ephemeral().to_value(),
            json!({"blocks": [], "response_type": "ephemeral"})
        );
        assert_eq!(Ack::options(json!([])).to_value(), json!({"options": []}));
        assert_eq!(
            Ack::option_groups(json!([])).to_value(),
            json!({"option_groups": []})
        );
        assert_eq!(
            Ack::errors(json!({"b": "no"})).to_value(),
            json!({"response_action": "errors", "errors": {"b": "no"}})
        );
        assert_eq!(
            Ack::update(json!({"type": "modal"})).to_value(),
            json!({"response_action": "update", "view": {"type": "modal"}})
        );
        assert_eq!(
            Ack::push(json!({"type": "modal"})).to_value()["response_action"],
            "push"
        );
        assert_eq!(Ack::clear().to_value(), json!({"response_action": "clear"}));
        assert_eq!(Ack::json(json!("x")).to_value(), json!({"text": "x"}));
        assert_eq!(Ack::json(json!({"a": 1})).to_value(), json!({"a": 1}));
        assert_eq!(Ack::json(json!(3)).to_value(), json!({"text": "3"}));
        let r = Ack::text("a").into_response();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
    }

    #[test]
    fn a_cell_answers_once() {
        let (cell, rx) = channel_cell(DEFAULT_ACK_DEADLINE);
        assert_eq!(cell.acked_by(), None);
        cell.ack(Ack::text("x").into_response()).unwrap();
        assert_eq!(rx.try_recv().unwrap().body, br#"{"text":"x"}"#);
        assert!(matches!(
            cell.ack(AppResponse::ok()),
            Err(AppError::AlreadyAcked)
        ));
        assert!(!cell.settle(AppResponse::ok(), AckedBy::App));
        assert_eq!(cell.acked_by(), Some(AckedBy::Listener));
    }

    #[test]
    fn after_the_deadline_an_ack_is_late() {
        let (cell, rx) = channel_cell(DEFAULT_ACK_DEADLINE);
        cell.on_deadline();
        assert_eq!(rx.try_recv().unwrap(), AppResponse::ok());
        assert!(matches!(
            cell.ack(AppResponse::ok()),
            Err(AppError::AckLate)
        ));
        cell.on_deadline();
        assert!(rx.try_recv().is_err(), "one answer only");
    }

    #[test]
    fn a_refused_send_leaves_the_request_pending() {
        let mut first = true;
        let sink = move |_r: AppResponse| {
            if std::mem::take(&mut first) {
                Err(AppError::AckRefused("too large".into()))
            } else {
                Ok(())
            }
        };
        let cell = AckCell::new(Box::new(sink), "x".into(), DEFAULT_ACK_DEADLINE);
        assert!(matches!(
            cell.ack(AppResponse::ok()),
            Err(AppError::AckRefused(_))
        ));
        assert_eq!(cell.acked_by(), None);
        cell.ack(AppResponse::ok()).unwrap();
    }

    #[test]
    fn the_timer_fires_in_deadline_order() {
        let timer = Timer::start().unwrap();
        let (late, late_rx) = channel_cell(Duration::from_secs(60));
        let (soon, soon_rx) = channel_cell(Duration::from_millis(10));
        let now = Instant::now();
        timer.watch(now + Duration::from_secs(60), &late);
        timer.watch(now + Duration::from_millis(10), &soon);
        let got = soon_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, AppResponse::ok());
        assert_eq!(soon.acked_by(), Some(AckedBy::Deadline));
        assert!(late_rx.try_recv().is_err());
        drop(timer);
    }
}
