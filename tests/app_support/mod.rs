//! Helpers shared by the App's scenario tests (`tests/app_*.rs`): a fake Slack, an App pointed
//! at it, dispatching what the fake builds, and a log capture.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use slack_rtm::app::{App, AppBuilder, AppRequest, AppResponse};
use slack_rtm::testing::{Delivered, Delivery, FakeSlack};

pub const BOT_TOKEN: &str = "xoxb-app-tests";
pub const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-app-tests";
/// The deadline for anything that should happen "soon".
pub const SOON: Duration = Duration::from_secs(10);

pub struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.target().starts_with("slack_rtm") {
            let line = format!("{}", record.args());
            self.0.lock().unwrap().push((record.level(), line));
        }
    }
    fn flush(&self) {}
}

/// Every log line of the crate so far (all tests of the file share it).
pub fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        let _ = log::set_logger(capture);
        log::set_max_level(log::LevelFilter::Debug);
        capture
    })
}

/// The lines at `level` that contain `needle`.
pub fn lines(level: log::Level, needle: &str) -> Vec<String> {
    logs()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, line)| *l == level && line.contains(needle))
        .map(|(_, line)| line.clone())
        .collect()
}

pub fn fake() -> FakeSlack {
    logs();
    FakeSlack::builder()
        .token(BOT_TOKEN)
        .app_token(APP_TOKEN)
        .start()
        .expect("start the fake Slack")
}

/// An App with the bot token, pointed at `fake`.
pub fn app_builder(fake: &FakeSlack) -> AppBuilder {
    App::builder()
        .bot_token(BOT_TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .timeout(Duration::from_secs(5))
}

pub fn app(fake: &FakeSlack) -> App {
    app_builder(fake).build().expect("build the app")
}

/// Builds `delivery` on the fake and dispatches it to `app` as Slack would POST it.
pub fn dispatch(app: &App, fake: &FakeSlack, delivery: &Delivery) -> (AppResponse, Delivered) {
    let delivered = fake.payload(delivery);
    let (headers, body) = delivered.http_parts();
    let response = app.dispatch(AppRequest::post("/slack/events", headers, body));
    (response, delivered)
}

/// The response body as text.
pub fn body(r: &AppResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The response body as JSON.
pub fn json(r: &AppResponse) -> serde_json::Value {
    serde_json::from_slice(&r.body).expect("a JSON body")
}
