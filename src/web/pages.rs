//! Cursor pagination: [`Pages`].

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use super::response::next_cursor;
use super::{SlackResponse, WebClient};
use crate::error::Error;

/// The pages of a cursor-paginated method, from [`WebClient::paginate`] and the list helpers
/// (`conversations_list`, `conversations_history`, `users_list`, ...): an iterator of
/// `Result<SlackResponse, Error>` that ends after the last page or after the first error.
///
/// Each page is one call, with the client's retries (a rate-limited page waits its
/// `Retry-After` and is asked again).
///
/// A server that answers a `next_cursor` this iteration already sent (a cycle: A, B, A) would
/// keep it going forever: after that page the iterator yields [`Error::Api`] with code
/// `repeated_cursor` (the cursor in its body) and ends.
pub struct Pages<'a> {
    client: &'a WebClient,
    method: &'a str,
    /// The params of the first request, or why they could not be used.
    params: Result<Map<String, Value>, Option<Error>>,
    /// The cursor of the next request (`None` for the first page).
    cursor: Option<String>,
    /// Every cursor sent so far.
    sent: HashSet<String>,
    /// The error to yield next (a repeated cursor).
    pending: Option<Error>,
    done: bool,
}

impl fmt::Debug for Pages<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The params are left out: they may hold secrets.
        f.debug_struct("Pages")
            .field("method", &self.method)
            .field("cursor", &self.cursor)
            .field("done", &self.done)
            .finish()
    }
}

impl<'a> Pages<'a> {
    pub(crate) fn new(
        client: &'a WebClient,
        method: &'a str,
        params: Result<Value, Error>,
    ) -> Self {
        let params = match params {
            Ok(Value::Object(map)) => Ok(map),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(other) => Err(Some(Error::Config(format!(
                "the params of {method} must be a JSON object or null, got {}",
                super::encode::json_type(&other)
            )))),
            Err(e) => Err(Some(e)),
        };
        Pages {
            client,
            method,
            params,
            cursor: None,
            sent: HashSet::new(),
            pending: None,
            done: false,
        }
    }

    /// The cursor the next request sends: `None` before the first page. After an error, the
    /// cursor of the failed request, to resume with `paginate` and `{"cursor": ...}`.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<SlackResponse, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let params = match &mut self.params {
            Ok(params) => params,
            Err(e) => {
                self.done = true;
                return e.take().map(Err);
            }
        };
        let mut params = params.clone();
        if let Some(cursor) = &self.cursor {
            params.insert("cursor".into(), Value::String(cursor.clone()));
            self.sent.insert(cursor.clone());
        }
        let result = self.client.api_call(self.method, &Value::Object(params));
        match &result {
            Ok(page) => match next_cursor(page.data()) {
                None => self.done = true,
                Some(next) if self.sent.contains(next) => {
                    log::warn!(
                        "web api {}: the answer repeats a cursor already sent: stopped",
                        self.method
                    );
                    self.done = true;
                    self.pending = Some(repeated_cursor(self.method, page.status(), next));
                }
                Some(next) => self.cursor = Some(next.to_string()),
            },
            Err(_) => self.done = true,
        }
        Some(result)
    }
}

impl std::iter::FusedIterator for Pages<'_> {}

/// The error that ends a pagination whose server answered a cursor it was already sent.
fn repeated_cursor(method: &str, status: u16, cursor: &str) -> Error {
    Error::Api {
        method: method.to_string(),
        status,
        code: "repeated_cursor".into(),
        body: serde_json::json!({
            "ok": false,
            "error": "repeated_cursor",
            "cursor": cursor,
            "warning": "next_cursor repeats a cursor already sent: pagination stopped",
        }),
        retry_after: None,
    }
}
