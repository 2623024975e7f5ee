//! [`App::http`]: the receiver with the App's dispatch as its handler.

use super::HttpReceiverBuilder;
use crate::app::App;

impl App {
    /// An HTTP receiver on `addr` (`"0.0.0.0:3000"`) serving this App: each POST to
    /// `/slack/events` (or the paths you set) goes to [`App::dispatch`], and the answer is
    /// written the moment the listener acks, while the listener goes on. The receiver's
    /// `start()` handles signals as the App's [`handle_signals`](crate::app::AppBuilder::handle_signals)
    /// says; every receiver option stays reachable on the builder.
    ///
    /// `build()` fails without a [`signing_secret`](crate::app::AppBuilder::signing_secret):
    /// a public endpoint must verify what it receives (switch
    /// [`request_verification`](crate::app::AppBuilder::request_verification) off to serve
    /// unsigned requests in tests).
    ///
    /// ```no_run
    /// use slack_rtm::app::App;
    /// let app = App::builder()
    ///     .bot_token(&std::env::var("SLACK_BOT_TOKEN").unwrap_or_default())
    ///     .signing_secret(&std::env::var("SLACK_SIGNING_SECRET").unwrap_or_default())
    ///     .build()?;
    /// app.command("/hello", |ctx| { ctx.ack()?; Ok(()) });
    /// // Behind a reverse proxy or tunnel that terminates TLS: https://your.host/slack/events
    /// app.http("0.0.0.0:3000").build()?.start()?;
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    pub fn http(&self, addr: &str) -> HttpReceiverBuilder {
        let config = &self.inner().config;
        let app = self.clone();
        let mut builder = HttpReceiverBuilder::new(addr, move |req| app.dispatch(req))
            .handle_signals(config.handle_signals);
        // With OAuth settings, the install and redirect pages are served on GET too.
        for path in self.oauth_paths() {
            builder = builder.get_path(&path);
        }
        if config.request_verification && config.signing_secret.is_none() {
            builder.refusal = Some(
                "an App served over HTTP needs a signing_secret (or request_verification(false) \
                 for tests that send unsigned requests)"
                    .to_owned(),
            );
        }
        builder
    }
}
