//! `oauth.v2.access`: the one Web API method authenticated with the app's client id and secret
//! (HTTP Basic) instead of a token.

use base64::Engine as _;
use serde::Serialize;

use super::{to_params, SlackResponse, WebClient};
use crate::error::Error;

impl WebClient {
    /// `oauth.v2.access`: exchanges the `code` of an OAuth redirect for tokens
    /// (`{"code": …, "redirect_uri": …}`), or refreshes a rotating token
    /// (`{"grant_type": "refresh_token", "refresh_token": …}`).
    ///
    /// Authenticated with the app's `client_id` and `client_secret` in an HTTP Basic
    /// `Authorization` header, as Slack's SDKs send them; this client's own token (if any) is
    /// not sent. The parameters go as a form. Made with the client's retries; the answer (it
    /// holds tokens) is never logged.
    ///
    /// Fails like [`api_call`](WebClient::api_call): Slack's `invalid_code`,
    /// `invalid_client_id`, `bad_client_secret`, `invalid_refresh_token`, … as [`Error::Api`].
    pub fn oauth_v2_access(
        &self,
        client_id: &str,
        client_secret: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        let params = to_params("oauth.v2.access", params)?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        self.call_as(
            "oauth.v2.access",
            &params,
            self.policy(),
            &format!("Basic {basic}"),
        )
    }
}
