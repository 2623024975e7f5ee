//! Typed events: every common RTM event type and message subtype decodes from a realistic frame,
//! `channel`/`user` decode as an id or an object, and unknown or malformed frames keep their
//! JSON — no event is ever dropped.

mod common;

use common::*;
use serde_json::{json, Value};
use slack_rtm::event::{IdOrObject, Message, MessageSubtype};
use slack_rtm::{Event, Payload};

fn decode(v: &Value) -> Event {
    Event::from_value(v)
}

fn message(v: Value) -> Message {
    match decode(&v) {
        Event::Message(m) => *m,
        other => panic!("expected a message from {v}, got {other:?}"),
    }
}

// ----- §3.1: the typed core -----

#[test]
fn lifecycle_frames() {
    assert_eq!(decode(&json!({"type": "hello"})), Event::Hello);
    assert_eq!(decode(&json!({"type": "goodbye"})), Event::Goodbye);
    assert_eq!(
        decode(&json!({"type": "team_migration_started"})),
        Event::TeamMigrationStarted
    );
    let Event::Error(e) = decode(&json!({
        "type": "error",
        "error": {"code": 1, "msg": "Socket URL has expired"}
    })) else {
        panic!("an error frame")
    };
    assert_eq!((e.code, e.msg.as_str()), (1, "Socket URL has expired"));
    assert_eq!(e.to_string(), "Socket URL has expired (code 1)");

    let Event::ReconnectUrl(r) = decode(&json!({
        "type": "reconnect_url",
        "url": "wss://cerberus-xxxx.lb.slack-msgs.com/websocket/ABC123"
    })) else {
        panic!("reconnect_url")
    };
    assert_eq!(
        r.url.as_deref(),
        Some("wss://cerberus-xxxx.lb.slack-msgs.com/websocket/ABC123")
    );
    // Documented only as `{"type":"reconnect_url"}`.
    assert!(matches!(
        decode(&json!({"type": "reconnect_url"})),
        Event::ReconnectUrl(r) if r.url.is_none()
    ));
}

#[test]
fn pong_keeps_the_echoed_fields() {
    let Event::Pong(p) = decode(&json!({
        "type": "pong", "reply_to": 1234, "time": 1403299273342u64, "note": "x"
    })) else {
        panic!("a pong")
    };
    assert_eq!(p.reply_to, 1234);
    assert_eq!(p.extra["time"], 1403299273342u64);
    assert_eq!(p.extra["note"], "x");
}

#[test]
fn replies_success_and_failure() {
    let Event::Reply(ok) = decode(&json!({
        "ok": true, "reply_to": 1, "ts": "1355517523.000005", "text": "Hello world"
    })) else {
        panic!("a reply")
    };
    assert!(ok.ok);
    assert_eq!(ok.reply_to, 1);
    assert_eq!(ok.ts.as_deref(), Some("1355517523.000005"));
    assert_eq!(ok.text.as_deref(), Some("Hello world"));
    assert!(ok.error.is_none());

    let Event::Reply(bad) = decode(&json!({
        "ok": false, "reply_to": 2,
        "error": {"code": 2, "msg": "message text is missing"}
    })) else {
        panic!("a reply")
    };
    assert!(!bad.ok);
    let err = bad.error.expect("an error object");
    assert_eq!((err.code, err.msg.as_str()), (2, "message text is missing"));

    let Event::Reply(slow) = decode(&json!({
        "ok": false, "reply_to": 3, "error": {"code": -1, "msg": "slow down, too many messages..."}
    })) else {
        panic!("a reply")
    };
    assert_eq!(slow.error.unwrap().code, -1);
}

#[test]
fn plain_message_with_every_common_field() {
    let raw = json!({
        "type": "message",
        "channel": "C2147483705",
        "user": "U2147483697",
        "text": "Hello <@U0G9QF9C6>, see <https://example.com|this>",
        "ts": "1355517523.000005",
        "thread_ts": "1355517500.000001",
        "parent_user_id": "U0G9QF9C6",
        "team": "T061EG9R6",
        "source_team": "T061EG9R6",
        "user_team": "T061EG9R6",
        "event_ts": "1355517523.000005",
        "client_msg_id": "9c1d4f5e-7c1b-4a39-9d0f-0c7a7a8c4c11",
        "edited": {"user": "U2147483697", "ts": "1355517536.000001"},
        "blocks": [{"type": "rich_text", "block_id": "abc", "elements": []}],
        "attachments": [{"fallback": "x", "text": "y"}],
        "reactions": [{"name": "+1", "users": ["U1"], "count": 1}],
        "is_starred": true,
        "pinned_to": ["C2147483705"]
    });
    let m = message(raw.clone());
    assert_eq!(m.subtype, None);
    assert_eq!(m.channel_id(), Some("C2147483705"));
    assert_eq!(m.user_id(), Some("U2147483697"));
    assert_eq!(
        m.text.as_deref(),
        Some("Hello <@U0G9QF9C6>, see <https://example.com|this>")
    );
    assert_eq!(m.ts.as_deref(), Some("1355517523.000005"));
    assert_eq!(m.thread_ts.as_deref(), Some("1355517500.000001"));
    assert_eq!(m.parent_user_id.as_deref(), Some("U0G9QF9C6"));
    assert_eq!(m.team.as_deref(), Some("T061EG9R6"));
    assert_eq!(m.source_team.as_deref(), Some("T061EG9R6"));
    assert_eq!(m.user_team.as_deref(), Some("T061EG9R6"));
    assert_eq!(m.event_ts.as_deref(), Some("1355517523.000005"));
    assert_eq!(
        m.client_msg_id.as_deref(),
        Some("9c1d4f5e-7c1b-4a39-9d0f-0c7a7a8c4c11")
    );
    let edited = m.edited.as_ref().unwrap();
    assert_eq!(
        edited.user.as_ref().map(IdOrObject::id),
        Some("U2147483697")
    );
    assert_eq!(edited.ts.as_deref(), Some("1355517536.000001"));
    assert!(!m.hidden);
    // What the struct does not name is kept, `type` included.
    assert_eq!(m.extra["type"], "message");
    assert_eq!(m.extra["blocks"], raw["blocks"]);
    assert_eq!(m.extra["attachments"], raw["attachments"]);
    assert_eq!(m.extra["reactions"], raw["reactions"]);
    assert_eq!(m.extra["is_starred"], true);
    assert_eq!(m.extra["pinned_to"], raw["pinned_to"]);
    assert!(
        !m.extra.contains_key("text"),
        "named fields are not repeated"
    );
    // Serializing gives the frame back.
    assert_eq!(serde_json::to_value(&m).unwrap(), raw);
}

#[test]
fn message_from_the_fake_send_message_shape() {
    // The shape `FakeSlack::send_message` uses, so typed tests and the fake agree.
    let m = message(json!({
        "type": "message", "channel": "C1", "user": "U1", "text": "hi",
        "ts": "1700000000.000123", "team": "T1", "event_ts": "1700000000.000123",
        "client_msg_id": "0f6c2c36-5c8a-4f0e-9a55-0d6f6c3d1b2a"
    }));
    assert_eq!(
        (m.channel_id(), m.user_id(), m.text.as_deref()),
        (Some("C1"), Some("U1"), Some("hi"))
    );
}

#[test]
fn user_typing() {
    let Event::UserTyping(t) = decode(&json!({
        "type": "user_typing", "channel": "C02ELGNBH", "user": "U024BE7LH"
    })) else {
        panic!("user_typing")
    };
    assert_eq!((t.channel.id(), t.user.id()), ("C02ELGNBH", "U024BE7LH"));
    assert_eq!(t.thread_ts, None);
    let Event::UserTyping(t) = decode(&json!({
        "type": "user_typing", "channel": "C02ELGNBH", "user": "U024BE7LH",
        "thread_ts": "1360782400.498405"
    })) else {
        panic!("user_typing")
    };
    assert_eq!(t.thread_ts.as_deref(), Some("1360782400.498405"));
}

#[test]
fn presence_single_and_batch_forms() {
    let Event::PresenceChange(one) = decode(&json!({
        "type": "presence_change", "user": "U024BE7LH", "presence": "away"
    })) else {
        panic!("presence_change")
    };
    assert_eq!(one.presence, "away");
    assert_eq!(one.user_ids(), ["U024BE7LH"]);

    let Event::PresenceChange(batch) = decode(&json!({
        "type": "presence_change", "users": ["U024BE7LH", "W012EA2U1"], "presence": "active"
    })) else {
        panic!("presence_change")
    };
    assert!(batch.user.is_none());
    assert_eq!(batch.user_ids(), ["U024BE7LH", "W012EA2U1"]);

    let Event::ManualPresenceChange(m) =
        decode(&json!({"type": "manual_presence_change", "presence": "away"}))
    else {
        panic!("manual_presence_change")
    };
    assert_eq!(m.presence, "away");
}

#[test]
fn reactions_on_messages_files_and_file_comments() {
    let Event::ReactionAdded(r) = decode(&json!({
        "type": "reaction_added",
        "user": "U024BE7LH",
        "reaction": "thumbsup",
        "item_user": "U0G9QF9C6",
        "item": {"type": "message", "channel": "C0G9QF9GZ", "ts": "1360782400.498405"},
        "event_ts": "1360782804.083113"
    })) else {
        panic!("reaction_added")
    };
    assert_eq!(r.user.id(), "U024BE7LH");
    assert_eq!(r.reaction, "thumbsup");
    assert_eq!(r.item_user.as_deref(), Some("U0G9QF9C6"));
    assert_eq!(r.item.kind, "message");
    assert_eq!(
        r.item.channel.as_ref().map(IdOrObject::id),
        Some("C0G9QF9GZ")
    );
    assert_eq!(r.item.ts.as_deref(), Some("1360782400.498405"));
    assert_eq!(r.event_ts.as_deref(), Some("1360782804.083113"));

    let Event::ReactionRemoved(r) = decode(&json!({
        "type": "reaction_removed", "user": "U024BE7LH", "reaction": "+1::skin-tone-2",
        "item_user": "U0G9QF9C6", "item": {"type": "file", "file": "F0HS27V1Z"},
        "event_ts": "1360782804.083113"
    })) else {
        panic!("reaction_removed")
    };
    assert_eq!(r.reaction, "+1::skin-tone-2");
    assert_eq!(r.item.kind, "file");
    assert_eq!(r.item.file.as_ref().map(IdOrObject::id), Some("F0HS27V1Z"));

    let Event::ReactionAdded(r) = decode(&json!({
        "type": "reaction_added", "user": "U024BE7LH", "reaction": "eyes",
        "item": {"type": "file_comment", "file_comment": "Fc0HS2KBEZ", "file": "F0HS27V1Z"},
        "event_ts": "1360782804.083113"
    })) else {
        panic!("reaction_added")
    };
    assert_eq!(r.item.kind, "file_comment");
    assert_eq!(
        r.item.file_comment.as_ref().map(IdOrObject::id),
        Some("Fc0HS2KBEZ")
    );
}

#[test]
fn member_joined_and_left_channel() {
    let Event::MemberJoinedChannel(j) = decode(&json!({
        "type": "member_joined_channel", "user": "W06GH7XHN", "channel": "C0698JE0H",
        "channel_type": "C", "team": "T024BE7LD", "inviter": "U123456789",
        "event_ts": "1610000000.000100"
    })) else {
        panic!("member_joined_channel")
    };
    assert_eq!((j.user.id(), j.channel.id()), ("W06GH7XHN", "C0698JE0H"));
    assert_eq!(j.channel_type.as_deref(), Some("C"));
    assert_eq!(j.team.as_deref(), Some("T024BE7LD"));
    assert_eq!(j.inviter.as_deref(), Some("U123456789"));

    let Event::MemberLeftChannel(l) = decode(&json!({
        "type": "member_left_channel", "user": "W06GH7XHN", "channel": "G0698JE0H",
        "channel_type": "G", "team": "T024BE7LD"
    })) else {
        panic!("member_left_channel")
    };
    assert_eq!(l.channel.id(), "G0698JE0H");
    assert_eq!(l.inviter, None);
}

#[test]
fn channel_group_and_im_families() {
    let object = |id: &str, name: &str| json!({"id": id, "name": name, "created": 1360782804, "creator": "U024BE7LH"});
    // (frame, a check that it decoded to the right variant); every channel is C024BE91L.
    type IsVariant = fn(&Event) -> bool;
    let cases: Vec<(Value, IsVariant)> = vec![
        (
            json!({"type": "channel_joined", "channel": object("C024BE91L", "fun")}),
            |e| matches!(e, Event::ChannelJoined(_)),
        ),
        (
            json!({"type": "channel_left", "channel": "C024BE91L"}),
            |e| matches!(e, Event::ChannelLeft(_)),
        ),
        (
            json!({"type": "channel_created", "channel": object("C024BE91L", "fun")}),
            |e| matches!(e, Event::ChannelCreated(_)),
        ),
        (
            json!({"type": "channel_deleted", "channel": "C024BE91L"}),
            |e| matches!(e, Event::ChannelDeleted(_)),
        ),
        (
            json!({"type": "channel_archive", "channel": "C024BE91L", "user": "U024BE7LH"}),
            |e| matches!(e, Event::ChannelArchive(_)),
        ),
        (
            json!({"type": "channel_unarchive", "channel": "C024BE91L", "user": "U024BE7LH"}),
            |e| matches!(e, Event::ChannelUnarchive(_)),
        ),
        (
            json!({"type": "channel_rename", "channel": {"id": "C024BE91L", "name": "fun", "created": 1360782804}}),
            |e| matches!(e, Event::ChannelRename(_)),
        ),
        (
            json!({"type": "channel_marked", "channel": "C024BE91L", "ts": "1401383885.000061"}),
            |e| matches!(e, Event::ChannelMarked(_)),
        ),
        (
            json!({"type": "group_joined", "channel": object("C024BE91L", "fun")}),
            |e| matches!(e, Event::GroupJoined(_)),
        ),
        (json!({"type": "group_left", "channel": "C024BE91L"}), |e| {
            matches!(e, Event::GroupLeft(_))
        }),
        (
            json!({"type": "group_open", "user": "U024BE7LH", "channel": "C024BE91L"}),
            |e| matches!(e, Event::GroupOpen(_)),
        ),
        (
            json!({"type": "group_close", "user": "U024BE7LH", "channel": "C024BE91L"}),
            |e| matches!(e, Event::GroupClose(_)),
        ),
        (
            json!({"type": "group_deleted", "channel": "C024BE91L"}),
            |e| matches!(e, Event::GroupDeleted(_)),
        ),
        (
            json!({"type": "group_rename", "channel": {"id": "C024BE91L", "name": "fun", "created": 1360782804}}),
            |e| matches!(e, Event::GroupRename(_)),
        ),
        (
            json!({"type": "group_archive", "channel": "C024BE91L"}),
            |e| matches!(e, Event::GroupArchive(_)),
        ),
        (
            json!({"type": "group_unarchive", "channel": "C024BE91L"}),
            |e| matches!(e, Event::GroupUnarchive(_)),
        ),
        (
            json!({"type": "group_marked", "channel": "C024BE91L", "ts": "1401383885.000061"}),
            |e| matches!(e, Event::GroupMarked(_)),
        ),
        (
            json!({"type": "im_created", "user": "U024BE7LH",
                   "channel": {"id": "C024BE91L", "is_im": true, "user": "U024BE7LH", "created": 1360782804}}),
            |e| matches!(e, Event::ImCreated(_)),
        ),
        (
            json!({"type": "im_open", "user": "U024BE7LH", "channel": "C024BE91L"}),
            |e| matches!(e, Event::ImOpen(_)),
        ),
        (
            json!({"type": "im_close", "user": "U024BE7LH", "channel": "C024BE91L"}),
            |e| matches!(e, Event::ImClose(_)),
        ),
        (
            json!({"type": "im_marked", "channel": "C024BE91L", "ts": "1401383885.000061"}),
            |e| matches!(e, Event::ImMarked(_)),
        ),
    ];
    for (frame, is_variant) in &cases {
        let event = decode(frame);
        assert!(is_variant(&event), "{frame} decoded to {event:?}");
        let c = channel_event(&event).unwrap_or_else(|| panic!("{frame}: {event:?}"));
        assert_eq!(c.channel.id(), "C024BE91L", "{frame}");
        assert_eq!(
            c.channel.object().is_some(),
            frame["channel"].is_object(),
            "{frame}"
        );
        assert_eq!(
            c.user.as_ref().map(IdOrObject::id),
            frame["user"].as_str(),
            "{frame}"
        );
        assert_eq!(c.ts.as_deref(), frame["ts"].as_str(), "{frame}");
    }

    let Event::ChannelCreated(c) = decode(&cases[2].0) else {
        unreachable!()
    };
    assert_eq!(c.channel.name(), Some("fun"));
    assert_eq!(c.channel.get("creator"), Some(&json!("U024BE7LH")));
}

fn channel_event(e: &Event) -> Option<&slack_rtm::event::ChannelEvent> {
    Some(match e {
        Event::ChannelJoined(c)
        | Event::ChannelLeft(c)
        | Event::ChannelCreated(c)
        | Event::ChannelDeleted(c)
        | Event::ChannelArchive(c)
        | Event::ChannelUnarchive(c)
        | Event::ChannelRename(c)
        | Event::ChannelMarked(c)
        | Event::GroupJoined(c)
        | Event::GroupLeft(c)
        | Event::GroupOpen(c)
        | Event::GroupClose(c)
        | Event::GroupDeleted(c)
        | Event::GroupRename(c)
        | Event::GroupArchive(c)
        | Event::GroupUnarchive(c)
        | Event::GroupMarked(c)
        | Event::ImCreated(c)
        | Event::ImOpen(c)
        | Event::ImClose(c)
        | Event::ImMarked(c) => c,
        _ => return None,
    })
}

#[test]
fn team_join_and_user_change_carry_the_user_object() {
    let user = json!({
        "id": "U023BECGF", "team_id": "T061EG9R6", "name": "bobby", "deleted": false,
        "real_name": "Bobby Tables", "tz": "America/New_York", "is_bot": false,
        "profile": {"display_name": "bobby", "email": "bobby@example.com", "status_emoji": ":coffee:"}
    });
    let Event::TeamJoin(j) = decode(&json!({"type": "team_join", "user": user})) else {
        panic!("team_join")
    };
    assert_eq!(j.user.id(), "U023BECGF");
    assert_eq!(j.user.name(), Some("bobby"));
    assert_eq!(j.user.get("profile").unwrap()["status_emoji"], ":coffee:");
    assert_eq!(j.user.object(), user.as_object());

    let Event::UserChange(c) = decode(&json!({
        "type": "user_change", "user": user, "cache_ts": 1582751350,
        "event_ts": "1582751350.007800"
    })) else {
        panic!("user_change")
    };
    assert_eq!(c.user.id(), "U023BECGF");
    assert_eq!(c.event_ts.as_deref(), Some("1582751350.007800"));
}

#[test]
fn pins_keep_the_pinned_message() {
    let Event::PinAdded(p) = decode(&json!({
        "type": "pin_added",
        "user": "U024BE7LH",
        "channel_id": "C02ELGNBH",
        "item": {
            "type": "message",
            "channel": "C02ELGNBH",
            "message": {"type": "message", "user": "U0G9QF9C6", "text": "pin me", "ts": "1360782400.498405"},
            "created": 1360782804,
            "created_by": "U024BE7LH"
        },
        "event_ts": "1360782804.083113"
    })) else {
        panic!("pin_added")
    };
    assert_eq!(p.user.as_ref().map(IdOrObject::id), Some("U024BE7LH"));
    assert_eq!(p.channel_id.as_deref(), Some("C02ELGNBH"));
    assert_eq!(p.item.kind, "message");
    let pinned = p.item.message.as_ref().unwrap();
    assert_eq!(pinned.text.as_deref(), Some("pin me"));
    assert_eq!(p.has_pins, None);

    let Event::PinRemoved(p) = decode(&json!({
        "type": "pin_removed", "user": "U024BE7LH", "channel_id": "C02ELGNBH",
        "item": {"type": "file", "file": {"id": "F0HS27V1Z", "name": "report.pdf"}},
        "has_pins": false, "event_ts": "1360782804.083113"
    })) else {
        panic!("pin_removed")
    };
    assert_eq!(p.has_pins, Some(false));
    let file = p.item.file.as_ref().unwrap();
    assert_eq!((file.id(), file.name()), ("F0HS27V1Z", Some("report.pdf")));
}

#[test]
fn emoji_added_removed_renamed() {
    let Event::EmojiChanged(add) = decode(&json!({
        "type": "emoji_changed", "subtype": "add", "name": "picard_facepalm",
        "value": "https://my.slack.com/emoji/picard_facepalm/db8e287430eaa459.gif",
        "event_ts": "1361482916.000004"
    })) else {
        panic!("emoji_changed")
    };
    assert_eq!(add.subtype.as_deref(), Some("add"));
    assert_eq!(add.name.as_deref(), Some("picard_facepalm"));
    assert!(add.value.as_deref().unwrap().ends_with(".gif"));

    let Event::EmojiChanged(rm) = decode(&json!({
        "type": "emoji_changed", "subtype": "remove",
        "names": ["picard_facepalm", "picard_facepalm2"], "event_ts": "1361482916.000004"
    })) else {
        panic!("emoji_changed")
    };
    assert_eq!(rm.names, ["picard_facepalm", "picard_facepalm2"]);

    let Event::EmojiChanged(rn) = decode(&json!({
        "type": "emoji_changed", "subtype": "rename", "old_name": "a", "new_name": "b",
        "value": "https://x/b.png", "event_ts": "1361482916.000004"
    })) else {
        panic!("emoji_changed")
    };
    assert_eq!(
        (rn.old_name.as_deref(), rn.new_name.as_deref()),
        (Some("a"), Some("b"))
    );
}

// ----- §3.2: message subtypes -----

#[test]
fn every_documented_subtype_decodes() {
    let cases = [
        ("bot_message", MessageSubtype::BotMessage),
        ("me_message", MessageSubtype::MeMessage),
        ("message_changed", MessageSubtype::MessageChanged),
        ("message_deleted", MessageSubtype::MessageDeleted),
        ("message_replied", MessageSubtype::MessageReplied),
        ("thread_broadcast", MessageSubtype::ThreadBroadcast),
        ("channel_join", MessageSubtype::ChannelJoin),
        ("channel_leave", MessageSubtype::ChannelLeave),
        ("channel_topic", MessageSubtype::ChannelTopic),
        ("channel_purpose", MessageSubtype::ChannelPurpose),
        ("channel_name", MessageSubtype::ChannelName),
        ("channel_archive", MessageSubtype::ChannelArchive),
        ("channel_unarchive", MessageSubtype::ChannelUnarchive),
        (
            "channel_posting_permissions",
            MessageSubtype::ChannelPostingPermissions,
        ),
        ("group_join", MessageSubtype::GroupJoin),
        ("group_leave", MessageSubtype::GroupLeave),
        ("group_topic", MessageSubtype::GroupTopic),
        ("group_purpose", MessageSubtype::GroupPurpose),
        ("group_name", MessageSubtype::GroupName),
        ("group_archive", MessageSubtype::GroupArchive),
        ("group_unarchive", MessageSubtype::GroupUnarchive),
        ("file_share", MessageSubtype::FileShare),
        ("file_comment", MessageSubtype::FileComment),
        ("file_mention", MessageSubtype::FileMention),
        ("pinned_item", MessageSubtype::PinnedItem),
        ("unpinned_item", MessageSubtype::UnpinnedItem),
        ("ekm_access_denied", MessageSubtype::EkmAccessDenied),
    ];
    for (wire, expected) in cases {
        let m = message(json!({
            "type": "message", "subtype": wire, "channel": "C2147483705",
            "user": "U2147483697", "text": "x", "ts": "1358877455.000010"
        }));
        assert_eq!(m.subtype.as_ref(), Some(&expected), "{wire}");
        assert_eq!(expected.as_str(), wire);
        assert_eq!(expected.to_string(), wire);
        assert_eq!(MessageSubtype::from(wire), expected);
    }
}

#[test]
fn unknown_subtypes_are_kept_as_other() {
    let raw = json!({
        "type": "message", "subtype": "huddle_thread", "channel": "C1", "ts": "1.2",
        "room": {"id": "R1"}
    });
    let m = message(raw.clone());
    assert_eq!(
        m.subtype,
        Some(MessageSubtype::Other("huddle_thread".into()))
    );
    assert_eq!(m.subtype.as_ref().unwrap().as_str(), "huddle_thread");
    assert_eq!(m.extra["room"], raw["room"]);
    // `reply_broadcast` is no longer served; it is not a named subtype.
    assert_eq!(
        MessageSubtype::from("reply_broadcast"),
        MessageSubtype::Other("reply_broadcast".into())
    );
}

#[test]
fn bot_message() {
    let m = message(json!({
        "type": "message", "subtype": "bot_message", "ts": "1358877455.000010",
        "text": "Pushing is the answer", "bot_id": "BB12033", "username": "github",
        "icons": {"image_48": "https://example.com/icon.png"}, "channel": "C1"
    }));
    assert_eq!(m.subtype, Some(MessageSubtype::BotMessage));
    assert_eq!(m.bot_id.as_deref(), Some("BB12033"));
    assert_eq!(m.username.as_deref(), Some("github"));
    assert_eq!(m.user, None);
    assert_eq!(m.extra["icons"]["image_48"], "https://example.com/icon.png");
}

#[test]
fn message_changed_has_the_new_and_previous_versions() {
    let m = message(json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "channel": "C2147483705",
        "ts": "1358878755.000001",
        "event_ts": "1358878755.000001",
        "message": {
            "type": "message", "user": "U2147483697", "text": "Hello, world!",
            "ts": "1358878749.000002",
            "edited": {"user": "U2147483697", "ts": "1358878755.000001"}
        },
        "previous_message": {
            "type": "message", "user": "U2147483697", "text": "Hello world",
            "ts": "1358878749.000002"
        }
    }));
    assert_eq!(m.subtype, Some(MessageSubtype::MessageChanged));
    assert!(m.hidden);
    let new = m.message.as_ref().unwrap();
    assert_eq!(new.text.as_deref(), Some("Hello, world!"));
    assert_eq!(new.user_id(), Some("U2147483697"));
    assert_eq!(
        new.edited.as_ref().unwrap().ts.as_deref(),
        Some("1358878755.000001")
    );
    let old = m.previous_message.as_ref().unwrap();
    assert_eq!(old.text.as_deref(), Some("Hello world"));
}

#[test]
fn message_deleted_has_deleted_ts() {
    let m = message(json!({
        "type": "message", "subtype": "message_deleted", "hidden": true,
        "channel": "C2147483705", "ts": "1358878755.000001",
        "deleted_ts": "1358878749.000002",
        "previous_message": {"type": "message", "user": "U1", "text": "oops", "ts": "1358878749.000002"}
    }));
    assert_eq!(m.subtype, Some(MessageSubtype::MessageDeleted));
    assert!(m.hidden);
    assert_eq!(m.deleted_ts.as_deref(), Some("1358878749.000002"));
    assert_eq!(
        m.previous_message.as_ref().unwrap().text.as_deref(),
        Some("oops")
    );
}

#[test]
fn message_replied_and_thread_broadcast() {
    let m = message(json!({
        "type": "message", "subtype": "message_replied", "hidden": true,
        "channel": "C061EG9T2", "ts": "1483037604.017506", "event_ts": "1483037604.017506",
        "message": {
            "type": "message", "user": "U061F7AUR", "text": "was there was there was there",
            "thread_ts": "1482960137.003543", "reply_count": 3,
            "replies": [{"user": "U061F7AUR", "ts": "1483037603.017503"}],
            "ts": "1482960137.003543"
        }
    }));
    assert_eq!(m.subtype, Some(MessageSubtype::MessageReplied));
    let parent = m.message.as_ref().unwrap();
    assert_eq!(parent.thread_ts.as_deref(), Some("1482960137.003543"));
    assert_eq!(parent.reply_count, Some(3));
    assert_eq!(parent.extra["replies"][0]["ts"], "1483037603.017503");

    let m = message(json!({
        "type": "message", "subtype": "thread_broadcast", "channel": "C061EG9T2",
        "user": "U061F7AUR", "text": "also to the channel", "ts": "1483037605.000001",
        "thread_ts": "1482960137.003543",
        "root": {"type": "message", "user": "U061F7AUR", "text": "the parent",
                 "thread_ts": "1482960137.003543", "reply_count": 4, "ts": "1482960137.003543"}
    }));
    assert_eq!(m.subtype, Some(MessageSubtype::ThreadBroadcast));
    let root = m.root.as_ref().unwrap();
    assert_eq!(root.text.as_deref(), Some("the parent"));
    assert_eq!(root.reply_count, Some(4));
}

#[test]
fn channel_membership_and_metadata_subtypes() {
    let m = message(json!({
        "type": "message", "subtype": "channel_join", "ts": "1358877458.000011",
        "user": "U2147483828", "text": "<@U2147483828|cal> has joined the channel",
        "inviter": "U123456789", "channel": "C1"
    }));
    assert_eq!(m.inviter.as_deref(), Some("U123456789"));

    let m = message(json!({
        "type": "message", "subtype": "channel_topic", "ts": "1358877455.000010",
        "user": "U2147483828", "topic": "hello world",
        "text": "<@U2147483828|cal> set the channel topic: hello world", "channel": "C1"
    }));
    assert_eq!(m.topic.as_deref(), Some("hello world"));

    let m = message(json!({
        "type": "message", "subtype": "group_purpose", "ts": "1358877455.000010",
        "user": "U2147483828", "purpose": "whatever",
        "text": "<@U2147483828|cal> set the group purpose: whatever", "channel": "G1"
    }));
    assert_eq!(m.purpose.as_deref(), Some("whatever"));

    let m = message(json!({
        "type": "message", "subtype": "channel_name", "ts": "1358877455.000010",
        "user": "U2147483828", "old_name": "random", "name": "watercooler",
        "text": "<@U2147483828|cal> has renamed the channel from \"random\" to \"watercooler\"",
        "channel": "C1"
    }));
    assert_eq!(
        (m.old_name.as_deref(), m.name.as_deref()),
        (Some("random"), Some("watercooler"))
    );
}

#[test]
fn file_share_keeps_the_files() {
    let raw = json!({
        "type": "message", "subtype": "file_share", "channel": "C1", "user": "U1",
        "text": "", "ts": "1.000001", "upload": true,
        "files": [{"id": "F1", "name": "a.txt", "mimetype": "text/plain"}]
    });
    let m = message(raw.clone());
    assert_eq!(m.subtype, Some(MessageSubtype::FileShare));
    assert_eq!(m.text.as_deref(), Some(""));
    assert_eq!(m.extra["files"], raw["files"]);
}

// ----- leniency: channel and user as an id or an object -----

#[test]
fn channel_and_user_as_id_or_object() {
    let as_id = message(json!({"type": "message", "channel": "C1", "user": "U1", "text": "a"}));
    let as_obj = message(json!({
        "type": "message",
        "channel": {"id": "C1", "name": "general"},
        "user": {"id": "U1", "name": "ann", "profile": {"real_name": "Ann"}},
        "text": "a"
    }));
    assert_eq!(as_id.channel_id(), as_obj.channel_id());
    assert_eq!(as_id.user_id(), as_obj.user_id());
    let ch = as_obj.channel.as_ref().unwrap();
    assert_eq!(ch.name(), Some("general"));
    assert_eq!(ch.to_string(), "C1");
    assert_eq!(as_id.channel.as_ref().unwrap().object(), None);
    assert_eq!(
        as_obj.user.as_ref().unwrap().get("profile").unwrap()["real_name"],
        "Ann"
    );

    // The same leniency for required fields, e.g. a reaction by a user object.
    let Event::ReactionAdded(r) = decode(&json!({
        "type": "reaction_added", "user": {"id": "U1", "name": "ann"}, "reaction": "eyes",
        "item": {"type": "message", "channel": {"id": "C1"}, "ts": "1.2"}
    })) else {
        panic!("reaction_added")
    };
    assert_eq!(r.user.id(), "U1");
    assert_eq!(r.item.channel.as_ref().unwrap().id(), "C1");

    // Both forms serialize back as they came.
    assert_eq!(
        serde_json::to_value(&r.user).unwrap(),
        json!({"id": "U1", "name": "ann"})
    );
    assert_eq!(
        serde_json::to_value(as_id.user.as_ref().unwrap()).unwrap(),
        json!("U1")
    );
}

#[test]
fn an_object_without_an_id_is_not_an_id_or_object() {
    assert!(serde_json::from_value::<IdOrObject>(json!({"name": "general"})).is_err());
    assert!(serde_json::from_value::<IdOrObject>(json!({"id": 5})).is_err());
    assert!(serde_json::from_value::<IdOrObject>(json!(5)).is_err());
    let raw = json!({"type": "user_typing", "channel": {"name": "general"}, "user": "U1"});
    assert!(matches!(
        decode(&raw),
        Event::Malformed { kind, raw: r, .. } if kind == "user_typing" && r == raw
    ));
}

// ----- nothing is dropped: Unknown and Malformed -----

#[test]
fn unknown_types_keep_their_json() {
    let samples = [
        json!({"type": "dnd_updated_user", "user": "U1", "dnd_status": {"dnd_enabled": true}}),
        json!({"type": "user_huddle_changed", "user": {"id": "U1"}}),
        json!({"type": "brand_new_event", "x": [1, 2, {"y": null}]}),
        json!({"ok": true, "something": "else"}),
        json!({"type": 5}),
        json!({"type": null}),
        json!([1, 2, 3]),
        json!("hello"),
        json!(null),
        json!({}),
    ];
    for raw in samples {
        assert_eq!(decode(&raw), Event::Unknown(raw.clone()));
    }
}

#[test]
fn malformed_known_types_keep_their_json_and_say_why() {
    let samples = [
        (
            json!({"type": "message", "text": 5}),
            "message",
            "integer `5`",
        ),
        (
            json!({"type": "reaction_added", "item": "oops", "user": "U1", "reaction": "x"}),
            "reaction_added",
            "string \"oops\"",
        ),
        (
            json!({"type": "reaction_added"}),
            "reaction_added",
            "missing field",
        ),
        (
            json!({"type": "message", "channel": "C1", "ts": 1355517523.000005}),
            "message",
            "floating point",
        ),
        (
            json!({"ok": true, "reply_to": "7"}),
            "reply",
            "string \"7\"",
        ),
        (json!({"ok": true, "reply_to": -1}), "reply", "-1"),
        (json!({"reply_to": 1}), "reply", "missing field `ok`"),
        (json!({"type": "pong"}), "pong", "missing field `reply_to`"),
        (
            json!({"type": "error", "error": "Socket URL has expired"}),
            "error",
            "invalid type",
        ),
        (
            json!({"type": "presence_change", "user": "U1", "presence": "away", "users": "U2"}),
            "presence_change",
            "invalid type",
        ),
        (
            json!({"type": "message", "subtype": 3, "channel": "C1"}),
            "message",
            "invalid type",
        ),
        (
            json!({"type": "message", "subtype": "message_changed", "message": {"text": false}}),
            "message",
            "invalid type",
        ),
        (
            json!({"type": "channel_created", "channel": {"name": "no id"}}),
            "channel_created",
            "\"id\"",
        ),
        (
            json!({"type": "team_join"}),
            "team_join",
            "missing field `user`",
        ),
    ];
    for (raw, want_kind, want_error) in samples {
        match decode(&raw) {
            Event::Malformed {
                kind,
                error,
                raw: kept,
            } => {
                assert_eq!(kind, want_kind, "{raw}");
                assert!(error.contains(want_error), "{raw}: {error}");
                assert_eq!(kept, raw);
            }
            other => panic!("{raw} decoded to {other:?}"),
        }
    }
}

#[test]
fn missing_optional_fields_are_not_errors() {
    let m = message(json!({"type": "message"}));
    assert_eq!(m.channel, None);
    assert_eq!(m.text, None);
    assert!(m.extra.contains_key("type"));
    let m = message(json!({"type": "message", "text": null, "subtype": null, "hidden": false}));
    assert_eq!((m.text, m.subtype, m.hidden), (None, None, false));
    assert!(matches!(
        decode(&json!({"type": "error"})),
        Event::Error(e) if e.code == 0 && e.msg.is_empty()
    ));
    assert!(matches!(
        decode(&json!({"type": "emoji_changed"})),
        Event::EmojiChanged(_)
    ));
}

#[test]
fn event_deserializes_from_text_and_never_fails_on_json() {
    let e: Event = serde_json::from_str(r#"{"type":"hello"}"#).unwrap();
    assert_eq!(e, Event::Hello);
    let e: Event = serde_json::from_str(r#"{"type":"message","text":5}"#).unwrap();
    assert!(matches!(e, Event::Malformed { .. }));
    let e: Event = serde_json::from_str("[1]").unwrap();
    assert_eq!(e, Event::Unknown(json!([1])));
    assert!(serde_json::from_str::<Event>("{not json").is_err());
}

#[test]
fn message_nesting_is_bounded_and_keeps_the_json() {
    let nest = |levels: usize| {
        let mut v = json!({"type": "message", "text": "leaf"});
        for _ in 0..levels {
            v = json!({"type": "message", "subtype": "message_changed", "message": v});
        }
        v
    };
    let Event::Message(mut m) = decode(&nest(8)) else {
        panic!("8 levels decode")
    };
    let mut depth = 0;
    while let Some(inner) = m.message.take() {
        m = inner;
        depth += 1;
    }
    assert_eq!((depth, m.text.as_deref()), (8, Some("leaf")));

    let deep = nest(9);
    match decode(&deep) {
        Event::Malformed { kind, error, raw } => {
            assert_eq!(kind, "message");
            assert!(error.contains("nested more than 8 deep"), "{error}");
            assert_eq!(raw, deep);
        }
        other => panic!("{other:?}"),
    }
    // The limit is per decode: the next one starts from zero.
    assert!(matches!(decode(&nest(8)), Event::Message(_)));
}

#[test]
fn the_deepest_json_decodes_on_a_small_stack() {
    // serde_json parses at most 128 levels. Take frames that deep — messages in messages,
    // arrays in a message's extra field, objects in a `user` object, messages in a pinned
    // item — and decode them on a 512 KiB stack (the dispatcher has the default 2 MiB).
    let wrap = |depth: usize, leaf: &str, open: &str, close: &str| {
        format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
    };
    let frames = [
        wrap(
            126,
            r#"{"type":"message"}"#,
            r#"{"type":"message","message":"#,
            "}",
        ),
        format!(
            r#"{{"type":"message","previous_message":{{"type":"message","root":{{"deep":{}}}}}}}"#,
            wrap(124, "1", "[", "]")
        ),
        format!(
            r#"{{"type":"team_join","user":{{"id":"U1","profile":{}}}}}"#,
            wrap(120, "1", r#"{"a":"#, "}")
        ),
        format!(
            r#"{{"type":"pin_added","item":{{"type":"message","message":{}}}}}"#,
            wrap(120, "{}", r#"{"message":"#, "}")
        ),
    ];
    let values: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::from_str(f).expect("within serde_json's depth limit"))
        .collect();
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            for v in &values {
                let e = Event::from_value(v);
                if let Event::Malformed { raw, .. } | Event::Unknown(raw) = &e {
                    assert_eq!(raw, v);
                }
            }
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
}

// ----- end to end: `Payload::as_event` through the fake Slack -----

#[test]
fn handlers_get_typed_events_with_the_json_kept() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let (tx, rx) = crossbeam_channel::unbounded::<(String, Event, Value)>();
    client.on("*", move |p: &Payload| {
        let _ = tx.send((p.event.to_string(), p.as_event(), p.data.clone()));
    });
    let running = client.spawn().unwrap();
    let next = |name: &str| -> (Event, Value) {
        let deadline = std::time::Instant::now() + SOON;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok((n, e, data)) if n == name => return (e, data),
                Ok(_) => continue,
                Err(_) => panic!("no {name:?} event within {SOON:?}"),
            }
        }
    };

    let (open, _) = next("open");
    let Event::Open(open) = open else {
        panic!("open decodes as Event::Open: {open:?}")
    };
    assert!(open.team.is_some());
    assert!(!open.self_user.as_ref().unwrap().id().is_empty());
    assert_eq!(next("hello").0, Event::Hello);

    fake.send_message("C1", "U1", "hello typed world");
    let (Event::Message(m), data) = next("message") else {
        panic!("a message")
    };
    assert_eq!(m.text.as_deref(), Some("hello typed world"));
    assert_eq!((m.channel_id(), m.user_id()), (Some("C1"), Some("U1")));
    assert_eq!(serde_json::to_value(&*m).unwrap(), data, "nothing lost");

    fake.send_json(&json!({"type": "reaction_added", "item": "oops"}));
    let (e, data) = next("reaction_added");
    assert!(
        matches!(e, Event::Malformed { kind, raw, .. } if kind == "reaction_added" && raw == data)
    );

    fake.send_json(&json!({"type": "brand_new_event", "x": 1}));
    assert_eq!(
        next("brand_new_event").0,
        Event::Unknown(json!({"type": "brand_new_event", "x": 1}))
    );

    fake.send_json(&json!({"ok": true, "reply_to": 7, "ts": "1.2", "text": "hi"}));
    assert!(matches!(next("reply").0, Event::Reply(r) if r.reply_to == 7 && r.ok));

    // A frame that is not JSON is a client error that keeps its text in `Payload::raw`.
    fake.send_text("this is not json");
    let (e, _) = next("error");
    assert!(
        matches!(&e, Event::ClientError(c) if c.kind == "invalid_json"),
        "{e:?}"
    );

    // A server error frame is `Event::Error`, not a client error (it also makes the client
    // reconnect, so it comes after the others).
    fake.send_error_event(1, "Socket URL has expired");
    let (e, _) = next("error");
    assert!(matches!(&e, Event::Error(err) if err.code == 1), "{e:?}");
    let (Event::Close(close), _) = next("close") else {
        panic!("close decodes as Event::Close")
    };
    assert!(close.will_reconnect);

    running.stop();
    join_within(running, SOON).0.unwrap();
}
