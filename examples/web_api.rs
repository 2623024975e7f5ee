//! The Web API a bot uses: post, react, reply in a thread, edit, upload a file, read the
//! history and page through the members, with retries and the rate limiter on.
//!
//! With `SLACK_BOT_TOKEN` (or `SLACK_API_TOKEN`) and `SLACK_CHANNEL` set, it talks to Slack (or
//! to `SLACK_API_URL`). Without a token it runs against the embedded fake Slack:
//!
//! ```text
//! cargo run --example web_api
//! ```

use serde_json::json;
use slack_rtm::testing::FakeSlack;
use slack_rtm::{ChatMessage, FileUpload, WebClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("SLACK_BOT_TOKEN")
        .or_else(|_| std::env::var("SLACK_API_TOKEN"))
        .ok()
        .filter(|t| !t.trim().is_empty());
    // Kept alive until the end of `main` when offline.
    let mut fake = None;
    let (token, channel, base_url) = match token {
        Some(token) => {
            let channel = std::env::var("SLACK_CHANNEL")
                .map_err(|_| "set SLACK_CHANNEL to the channel id to post in")?;
            (token, channel, std::env::var("SLACK_API_URL").ok())
        }
        None => {
            println!("no SLACK_BOT_TOKEN: running against the embedded fake Slack");
            let f = FakeSlack::start()?;
            let url = f.api_url();
            fake = Some(f);
            ("xoxb-offline".into(), "C0FAKE0001".into(), Some(url))
        }
    };
    let mut builder = WebClient::builder(&token).rate_limit(true);
    if let Some(url) = &base_url {
        builder = builder.base_url(url);
    }
    let web = builder.build()?;

    let me = web.auth_test()?;
    println!("I am {}", me.data()["user"]);

    let posted = web.chat_post_message(&channel, "Deploying build 42...")?;
    let ts = posted.data()["ts"].as_str().unwrap_or_default().to_string();
    web.reactions_add(&channel, &ts, "eyes")?;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*all green*"}}]);
    web.chat_post_message_with(
        &ChatMessage::new(&channel, "all green")
            .thread_ts(&ts)
            .blocks(&blocks),
    )?;
    web.chat_update(&channel, &ts, "Deployed build 42")?;
    let log = FileUpload::new("deploy.log", b"step 1 ok\nstep 2 ok\n".to_vec())
        .channel(channel.as_str())
        .title("Deploy log")
        .thread_ts(ts.as_str());
    let uploaded = web.files_upload_v2(&log)?;
    println!("uploaded {}", uploaded.data()["files"][0]["id"]);

    for page in web.conversations_history(&channel, &json!({"limit": 20})) {
        for m in page?.data()["messages"].as_array().into_iter().flatten() {
            println!("history: {} (replies: {})", m["text"], m["reply_count"]);
        }
    }
    let mut members = 0;
    for page in web.conversations_members(&channel, &json!({"limit": 2})) {
        members += page?.data()["members"].as_array().map_or(0, Vec::len);
    }
    println!("{members} members in {channel}");
    if let Some(fake) = &fake {
        println!("the fake recorded {} Web API calls", fake.api_calls().len());
    }
    Ok(())
}
