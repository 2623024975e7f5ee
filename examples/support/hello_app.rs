//! Bolt's getting-started app, as listeners on an `App`: shared by `examples/app.rs` and
//! `slack-rtm demo` (both include this file with `#[path]`), so the demo runs exactly the app
//! the example shows.

use serde_json::json;
use slack_rtm::app::{Ack, App};
use slack_rtm::ChatMessage;

/// "hello" → a greeting with a button; the button → who clicked; `/hello` → an answer in the
/// ack; the `open_modal` shortcut → a modal; its submission → a direct message.
pub fn hello_app(app: &App) {
    app.message("hello", |ctx| {
        let greeting = format!("Hey there <@{}>!", ctx.user_id().unwrap_or_default());
        let blocks = json!([{
            "type": "section",
            "text": {"type": "mrkdwn", "text": greeting},
            "accessory": {"type": "button", "action_id": "button_click",
                          "text": {"type": "plain_text", "text": "Click Me"}},
        }]);
        ctx.say_with(ChatMessage::new("", &greeting).blocks(&blocks))?;
        Ok(())
    });

    app.action("button_click", |ctx| {
        ctx.ack()?;
        ctx.say(&format!(
            "<@{}> clicked the button",
            ctx.user_id().unwrap_or_default()
        ))?;
        Ok(())
    });

    app.command("/hello", |ctx| {
        let who = ctx.user_id().unwrap_or_default().to_owned();
        ctx.ack_with(Ack::text(&format!("Hello <@{who}>, from a slash command!")))?;
        Ok(())
    });

    app.shortcut("open_modal", |ctx| {
        ctx.ack()?;
        let trigger = ctx.body()["trigger_id"].as_str().unwrap_or_default();
        ctx.client().views_open(
            trigger,
            &json!({
                "type": "modal", "callback_id": "modal_view",
                "title": {"type": "plain_text", "text": "My App"},
                "submit": {"type": "plain_text", "text": "Submit"},
                "blocks": [{"type": "input", "block_id": "input_c",
                    "label": {"type": "plain_text", "text": "What are your hopes and dreams?"},
                    "element": {"type": "plain_text_input", "action_id": "dreamy_input",
                                "multiline": true}}],
            }),
        )?;
        Ok(())
    });

    app.view("modal_view", |ctx| {
        ctx.ack()?;
        let dream = ctx
            .view()
            .and_then(|v| v.value("input_c", "dreamy_input"))
            .unwrap_or("");
        let user = ctx.user_id().unwrap_or_default();
        ctx.client()
            .chat_post_message(user, &format!("Your dream: {dream}"))?;
        Ok(())
    });
}
