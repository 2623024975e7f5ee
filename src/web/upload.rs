//! `files_upload_v2`: [`FileUpload`] and the three-step upload.

use std::fmt;

use serde_json::{json, Map, Value};

use super::{SlackResponse, WebClient};
use crate::error::Error;

/// A file to upload with [`WebClient::files_upload_v2`]: a name and its bytes, and where to
/// share it.
///
/// ```
/// # use slack_rtm::FileUpload;
/// let report = FileUpload::new("report.csv", b"a,b\n1,2\n".to_vec())
///     .channel("C0123456789")
///     .title("Weekly report")
///     .initial_comment("Here it is")
///     .thread_ts("1700000000.000100");
/// assert_eq!(report.filename(), "report.csv");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a file does nothing until it is uploaded"]
pub struct FileUpload {
    filename: String,
    bytes: Vec<u8>,
    channel: Option<String>,
    title: Option<String>,
    initial_comment: Option<String>,
    thread_ts: Option<String>,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("filename", &self.filename)
            .field("len", &self.bytes.len())
            .field("channel", &self.channel)
            .field("title", &self.title)
            .field("initial_comment", &self.initial_comment)
            .field("thread_ts", &self.thread_ts)
            .finish()
    }
}

impl FileUpload {
    /// The file `filename` with contents `bytes`, not shared anywhere yet (it stays private
    /// to the bot until shared).
    pub fn new(filename: impl Into<String>, bytes: impl Into<Vec<u8>>) -> FileUpload {
        FileUpload {
            filename: filename.into(),
            bytes: bytes.into(),
            channel: None,
            title: None,
            initial_comment: None,
            thread_ts: None,
        }
    }

    /// Share the file in this channel. Defaults to none.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// The file's title. Defaults to the filename.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// A message posted with the file (needs a channel). Defaults to none.
    pub fn initial_comment(mut self, text: impl Into<String>) -> Self {
        self.initial_comment = Some(text.into());
        self
    }

    /// Share the file as a reply in this thread (needs a channel). Defaults to none.
    pub fn thread_ts(mut self, ts: impl Into<String>) -> Self {
        self.thread_ts = Some(ts.into());
        self
    }

    /// The filename.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The contents.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl WebClient {
    /// Uploads a file the way Slack's Python `files_upload_v2` does (`files.upload` is
    /// retired):
    ///
    /// 1. `files.getUploadURLExternal` with the filename and length gives an `upload_url`
    ///    (on another host) and a `file_id`;
    /// 2. the bytes are POSTed to `upload_url`, **without** the token or any custom header
    ///    (the upload host is not the Web API);
    /// 3. `files.completeUploadExternal` with the file id and title shares it in the channel
    ///    (and thread) with the initial comment.
    ///
    /// Returns the answer of the last step (its `files` array describes the file). Each step
    /// has the client's retries. Fails with [`Error::Config`] when the file is empty or
    /// `initial_comment`/`thread_ts` is set without a channel, with [`Error::Api`] (code
    /// `invalid_response`) when step 1 answers without `upload_url` or `file_id`, and like
    /// [`api_call`](WebClient::api_call) otherwise.
    pub fn files_upload_v2(&self, file: &FileUpload) -> Result<SlackResponse, Error> {
        if file.bytes.is_empty() {
            return Err(Error::Config(format!(
                "the file {:?} is empty; Slack refuses empty uploads",
                file.filename
            )));
        }
        if file.channel.is_none() && (file.initial_comment.is_some() || file.thread_ts.is_some()) {
            return Err(Error::Config(
                "initial_comment and thread_ts need a channel to share the file in".into(),
            ));
        }
        let method = "files.getUploadURLExternal";
        let ticket = self.api_call(
            method,
            &json!({"filename": file.filename, "length": file.bytes.len()}),
        )?;
        let field = |name: &str| ticket.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(upload_url), Some(file_id)) = (field("upload_url"), field("file_id")) else {
            return Err(Error::Api {
                method: method.into(),
                status: ticket.status(),
                code: "invalid_response".into(),
                body: ticket.into_data(),
                retry_after: None,
            });
        };
        if !(upload_url.starts_with("https://") || upload_url.starts_with("http://")) {
            return Err(Error::Url(format!(
                "{method} answered an upload_url that is not http(s)"
            )));
        }
        self.with_retries("file upload", None, self.inner.policy, || {
            self.send_upload(&upload_url, &file.bytes)
        })?;

        let title = file.title.as_deref().unwrap_or(&file.filename);
        let mut params = Map::new();
        params.insert("files".into(), json!([{"id": file_id, "title": title}]));
        if let Some(channel) = &file.channel {
            params.insert("channel_id".into(), channel.as_str().into());
        }
        if let Some(comment) = &file.initial_comment {
            params.insert("initial_comment".into(), comment.as_str().into());
        }
        if let Some(ts) = &file.thread_ts {
            params.insert("thread_ts".into(), ts.as_str().into());
        }
        self.api_call("files.completeUploadExternal", &params)
    }
}
