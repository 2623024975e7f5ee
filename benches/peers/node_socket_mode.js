#!/usr/bin/env node
// The Socket Mode benchmark of examples/bench_socket_mode.rs, for Node's @slack/socket-mode.
//
//   NODE_PATH=.../node_modules node node_socket_mode.js --server target/profiling/slack-rtm \
//     --handler sleep|noop [--sleep-ms 1000] [--envelopes 2000] [--rate 200] [--wait-ms 5000]
//
// It spawns `slack-rtm serve --bench` (the fake Slack in its own process), connects
// `new SocketModeClient({ appToken, clientOptions: { slackApiUrl } })` to it (defaults
// otherwise), registers a `message` listener that `await ack()`s first, reads the event's
// text, then sleeps with a timer (`--handler sleep`: `await` a setTimeout, the non-blocking
// sleep of Node) or returns (`--handler noop`), has the server send the envelopes and prints
// the server's ack report as one `RESULT <json>` line with the same fields as the Rust client.
// See BENCHMARKS.md ("Socket Mode").
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const readline = require('readline');
const { SocketModeClient, LogLevel } = require('@slack/socket-mode');

const APP_TOKEN = 'xapp-1-A0FAKEAPP1-1-bench';

function parseArgs(argv) {
  const a = { server: null, handler: 'sleep', sleepMs: 1000, envelopes: 2000, rate: 200, waitMs: 5000 };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[i];
    };
    switch (flag) {
      case '--server': a.server = value(); break;
      case '--handler': a.handler = value(); break;
      case '--sleep-ms': a.sleepMs = Number(value()); break;
      case '--envelopes': a.envelopes = Number(value()); break;
      case '--rate': a.rate = Number(value()); break;
      case '--wait-ms': a.waitMs = Number(value()); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!a.server) throw new Error('--server PATH (the slack-rtm binary) is required');
  if (a.handler !== 'sleep' && a.handler !== 'noop') throw new Error('--handler must be sleep or noop');
  return a;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function status(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : null;
}

class Server {
  constructor(bin) {
    this.proc = spawn(bin, ['serve', '--bench'], {
      env: { ...process.env, RUST_LOG: 'warn' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.queue = [];
    this.waiter = null;
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      this.queue.push(line);
      if (this.waiter) this.waiter();
    });
  }

  async nextLine(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server output within ${timeoutMs} ms`);
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(timer); resolve(); };
      });
      this.waiter = null;
    }
    return this.queue.shift();
  }

  async start() {
    const first = await this.nextLine(10000);
    if (!first.startsWith('SLACK_API_URL=')) throw new Error(`unexpected first line ${first}`);
    this.url = first.slice('SLACK_API_URL='.length);
  }

  async command(cmd, timeoutMs) {
    this.proc.stdin.write(`${cmd}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const line = await this.nextLine(Math.max(1, deadline - Date.now()));
      if (line.startsWith('BENCH ')) {
        const answer = JSON.parse(line.slice('BENCH '.length));
        if (answer.cmd === 'error') throw new Error(`the server refused ${cmd}: ${answer.message}`);
        return answer;
      }
    }
  }

  close() {
    // EOF on stdin stops a --bench server; kill it (by pid) if it lingers.
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) { clearTimeout(timer); resolve(); return; }
      this.proc.on('exit', () => { clearTimeout(timer); resolve(); });
    });
  }
}

async function run(args, server, result) {
  await server.start();
  const version = JSON.parse(fs.readFileSync(require.resolve('@slack/socket-mode/package.json'), 'utf8')).version;
  result.client = `node @slack/socket-mode ${version}`;
  let handled = 0;
  let touched = 0;
  let first = null;
  let last = null;
  const client = new SocketModeClient({
    appToken: APP_TOKEN,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: server.url },
  });
  client.on('message', async ({ ack, event }) => {
    await ack();
    touched += ((event && event.text) || '').length;
    handled += 1;
    if (handled === 1) first = process.hrtime.bigint();
    if (handled === args.envelopes) last = process.hrtime.bigint();
    if (args.handler === 'sleep') await sleep(args.sleepMs);
  });
  await client.start();
  await sleep(1000);
  result.rss_idle_kb = status('VmRSS');
  const floodMs = args.rate > 0 ? (1000 * args.envelopes) / args.rate : 0;
  result.flood = await server.command(`!sm-flood ${args.envelopes} ${args.rate}`, floodMs + 60000);
  result.report = await server.command(`!sm-report ${args.waitMs}`, args.waitMs + 60000);
  // Same wait as the Rust client for handlers that lag the acks.
  const deadline = Date.now() + args.waitMs;
  // eslint-disable-next-line no-await-in-loop
  while (handled < args.envelopes && Date.now() < deadline) await sleep(5);
  result.handled_per_sec = first !== null && last !== null && last > first
    ? Math.round((args.envelopes - 1) / (Number(last - first) / 1e9)) : null;
  result.rss_peak_kb = status('VmHWM');
  result.handled = handled;
  result.touched = touched;
  // Closed before the server goes (else it logs a websocket error); bounded, as sleeping
  // listeners may still be pending.
  await Promise.race([client.disconnect().catch(() => {}), sleep(3000)]);
}

(async () => {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`node_socket_mode: ${e.message}`);
    process.exit(2);
  }
  const result = { client: 'node @slack/socket-mode', handler: args.handler, sleep_ms: args.sleepMs };
  let code = 0;
  const server = new Server(args.server);
  try {
    await run(args, server, result);
  } catch (e) {
    console.error(`node_socket_mode: ${e.stack || e}`);
    result.error = String(e.message || e);
    code = 1;
  }
  await server.close();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(code));
})();
