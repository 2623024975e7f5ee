// The HTTP-mode benchmark app for Bolt for JS (benches/http.sh; BENCHMARKS.md, "HTTP mode").
//
//     SLACK_SIGNING_SECRET=... NODE_PATH=<folder>/node_modules node node_http.js
//
// Bolt's HTTPReceiver (Node's http server, keep-alive), request verification on (the default),
// processBeforeResponse false (the default: the answer goes out at ack), a local `authorize`
// (no Web API call), and the listeners every app of this benchmark has: `app_mention` (does
// nothing) and `/bench` (acks, then sleeps 1 s). Prints `PORT=<n>` once listening; exits when
// stdin closes.
const { App, HTTPReceiver, LogLevel } = require('@slack/bolt');

const signingSecret = process.env.SLACK_SIGNING_SECRET;
const sleepMs = Number(process.env.BENCH_SLEEP_S || '1') * 1000;
const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events' });
const app = new App({
  receiver,
  logLevel: LogLevel.ERROR,
  authorize: async () => ({ botToken: 'xoxb-bench', botId: 'B0FAKEBOT1', botUserId: 'U0FAKEBOT1' }),
});

app.event('app_mention', async () => {});
app.command('/bench', async ({ ack }) => {
  await ack();
  await new Promise((resolve) => setTimeout(resolve, sleepMs));
});

(async () => {
  const server = await app.start(0);
  console.log(`PORT=${server.address().port}`);
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
})();
