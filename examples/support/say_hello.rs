//! The hello bot's handler, shared by `examples/hello_bot.rs` and `slack-rtm demo` (both
//! include this file with `#[path]`), so the demo runs exactly the bot the example shows.

use slack_rtm::{ChatMessage, Payload};

/// Answers "Hi <@user>!" in a thread to every message containing "Hello".
pub fn say_hello(p: &Payload) {
    let data = p.data;
    // Skip edits, joins and other bots (including our own replies).
    if data["subtype"].is_string() || data["bot_id"].is_string() {
        return;
    }
    let text = data["text"].as_str().unwrap_or_default();
    if !text.contains("Hello") {
        return;
    }
    let (Some(channel), Some(user), Some(ts)) = (
        data["channel"].as_str(),
        data["user"].as_str(),
        data["ts"].as_str(),
    ) else {
        return;
    };
    let reply = format!("Hi <@{user}>!");
    match p
        .web_client
        .chat_post_message_with(&ChatMessage::new(channel, &reply).thread_ts(ts))
    {
        // A closed stdout (`| head -1`) is not the bot's problem: no panic in a handler.
        Ok(_) => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stdout(),
                "replied to <@{user}> in {channel}: {reply}"
            );
        }
        Err(e) => eprintln!("could not reply: {e}"),
    }
}
