//! The HTTP receiver for the OAuth pages: [`App::oauth_http`], for apps that receive Slack's
//! requests over Socket Mode and still need a browser-facing install page.

use crate::app::http::HttpReceiverBuilder;
use crate::app::App;
use crate::error::Error;

impl App {
    /// An HTTP receiver for the OAuth pages only: `GET` of the install and redirect paths, no
    /// path for Slack's POSTs. This is how an app that receives over Socket Mode serves its
    /// install (Bolt runs its HTTP server for the OAuth paths alone); put TLS in front of it.
    ///
    /// ```no_run
    /// # use slack_rtm::app::{App, oauth::OAuthSettings};
    /// # let app = App::builder().oauth(OAuthSettings::new("1.2", "s").scopes(&["chat:write"])).build()?;
    /// let install_pages = app.oauth_http("0.0.0.0:3000")?.spawn()?;
    /// app.socket_mode(&std::env::var("SLACK_APP_TOKEN").unwrap_or_default()).build()?.start()?;
    /// install_pages.stop();
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the App was built without [`oauth`](crate::app::AppBuilder::oauth).
    pub fn oauth_http(&self, addr: &str) -> Result<HttpReceiverBuilder, Error> {
        let Some(flow) = self.oauth() else {
            return Err(Error::Config(
                "oauth_http needs an App built with oauth(OAuthSettings)".into(),
            ));
        };
        let [install, redirect] = flow.settings().paths();
        let handle_signals = self.inner().config.handle_signals;
        let app = self.clone();
        Ok(
            HttpReceiverBuilder::new(addr, move |request| app.dispatch(request))
                .paths(Vec::<String>::new())
                .get_path(install)
                .get_path(redirect)
                .handle_signals(handle_signals),
        )
    }

    /// The OAuth install and redirect paths, when the App has OAuth settings: the GET paths
    /// an HTTP receiver routes to [`App::dispatch`].
    pub fn oauth_paths(&self) -> Vec<String> {
        self.oauth()
            .map(|flow| flow.settings().paths().map(str::to_owned).to_vec())
            .unwrap_or_default()
    }
}
