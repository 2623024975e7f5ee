// A tiny @slack/socket-mode app, run by tests/interop_socket_mode.rs against the embedded fake
// Slack: acks app_mention events and answers /deploy with an ack payload. Runs until its stdin
// closes. Environment: SLACK_API_URL, SLACK_APP_TOKEN.
const { SocketModeClient, LogLevel } = require('@slack/socket-mode');

const client = new SocketModeClient({
  appToken: process.env.SLACK_APP_TOKEN,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

client.on('app_mention', async ({ event, ack }) => {
  await ack();
  console.log('event', event.type);
});

client.on('slash_commands', async ({ body, ack }) => {
  await ack({ text: `deploying ${body.text}` });
  console.log('command', body.command);
});

(async () => {
  await client.start();
  console.log('connected');
})().catch((e) => {
  console.error('start failed:', e);
  process.exit(1);
});

process.stdin.resume();
process.stdin.on('end', async () => {
  await client.disconnect();
  console.log('closed');
  process.exit(0);
});
