//! The fake's RTM facet: the websocket connections `rtm.connect` hands out ([`ws`]: hello,
//! `message` acks per [`RtmAckMode`](crate::testing::RtmAckMode), echoes, pings). Its
//! [`FakeSlack`](crate::testing::FakeSlack) methods are in the parent module.

pub(super) mod ws;
