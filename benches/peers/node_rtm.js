#!/usr/bin/env node
// The end-to-end benchmark of examples/bench.rs, for Node's @slack/rtm-api.
//
//   NODE_PATH=.../node_modules node node_rtm.js --server target/profiling/slack-rtm [--events N] ...
//
// It spawns `slack-rtm serve --bench` (the fake Slack in its own process), connects
// `new RTMClient(token, { slackApiUrl })` to it, runs the same steps as the Rust bench and
// prints one `RESULT <json>` line with the same fields. See BENCHMARKS.md.
//
// `--tls`: the server is `slack-rtm serve --bench --tls`, and the client trusts the CA it
// prints. NODE_EXTRA_CA_CERTS cannot carry it: Node 20 reads that file at start-up ("Ignoring
// extra certs from ..., load failed"), before this script has started the server that makes
// the CA. So the CA goes through the client's own options, `new RTMClient(token, { tls: { ca },
// agent: new https.Agent({ ca }) })`: `tls` for the websocket, the agent for the WebClient's
// `rtm.connect`. The same trust and the same TLS code as with NODE_EXTRA_CA_CERTS.
'use strict';

const { spawn, spawnSync } = require('child_process');
const os = require('os');
const fs = require('fs');
const https = require('https');
const path = require('path');
const readline = require('readline');
const { RTMClient, LogLevel } = require('@slack/rtm-api');

const TOKEN = 'xoxb-bench-token';

function parseArgs(argv) {
  const a = {
    server: null, events: 1000000, sizes: 'small,large,slack-small,slack-large', rtt: 2000, rttGapUs: 1000,
    idleSecs: 10, stallSecs: 10, tls: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[i];
    };
    switch (flag) {
      case '--server': a.server = value(); break;
      case '--events': a.events = Number(value()); break;
      case '--sizes': a.sizes = value(); break;
      case '--rtt': a.rtt = Number(value()); break;
      case '--rtt-gap-us': a.rttGapUs = Number(value()); break;
      case '--idle-secs': a.idleSecs = Number(value()); break;
      case '--stall-secs': a.stallSecs = Number(value()); break;
      case '--tls': a.tls = true; break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!a.server) throw new Error('--server PATH (the slack-rtm binary) is required');
  return a;
}

function eventText(size) {
  return fs.readFileSync(path.join(__dirname, '..', 'events', `${size}.json`), 'utf8').trim();
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const nowSecs = () => Number(process.hrtime.bigint()) / 1e9;

// ----- the fake Slack, in its own process -----

class Server {
  constructor(bin, tls) {
    this.tls = tls;
    this.proc = spawn(bin, ['serve', '--bench', ...(tls ? ['--tls'] : [])], {
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
    if (this.tls) {
      const second = await this.nextLine(10000);
      if (!second.startsWith('SLACK_CA_FILE=')) throw new Error(`unexpected second line ${second}`);
      this.caFile = second.slice('SLACK_CA_FILE='.length);
    }
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

  async close() {
    // EOF on stdin stops a --bench server; kill it (by pid) if it lingers.
    this.proc.stdin.end();
    const exited = new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) resolve();
      else this.proc.once('exit', resolve);
    });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

// ----- process measurements (Linux /proc) -----

// Pins every thread of `pids` (`taskset -a -p -c CPUS PID`); false when that fails.
function setAffinity(pids, cpus) {
  for (const pid of pids) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      process.stderr.write(`node_rtm: taskset -a -p -c ${cpus} ${pid} failed; skipping the pinned series\n`);
      return false;
    }
  }
  return true;
}

function cpuTicksMs() {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function cpuSchedMs() {
  let ns = 0;
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      ns += Number(fs.readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch (e) { /* the thread ended */ }
  }
  return ns / 1e6;
}

function status(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : null;
}

// ----- the run -----

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const server = new Server(args.server, args.tls);
  const result = { client: null, events: args.events, tls: args.tls };
  let rtm = null;
  let code = 0;
  try {
    await server.start();
    const pkg = JSON.parse(fs.readFileSync(require.resolve('@slack/rtm-api/package.json'), 'utf8'));
    result.client = `node @slack/rtm-api ${pkg.version}`;

    const c = { count: 0, touched: 0, target: -1, doneAt: null, onDone: null };
    let helloSeen = null;
    const hello = new Promise((resolve) => { helloSeen = resolve; });
    const options = { slackApiUrl: server.url, logLevel: LogLevel.ERROR };
    if (args.tls) {
      const ca = fs.readFileSync(server.caFile);
      // `tls` reaches the websocket; the WebClient's HTTP calls (axios) need the agent.
      options.tls = { ca };
      options.agent = new https.Agent({ ca });
    }
    rtm = new RTMClient(TOKEN, options);
    rtm.on('hello', () => helloSeen());
    rtm.on('message', (event) => {
      // Read a field, as real handlers do.
      c.touched += (event.text || '').length;
      c.count += 1;
      if (c.count === c.target) {
        c.doneAt = nowSecs();
        if (c.onDone) c.onDone();
      }
    });
    rtm.on('user_typing', (event) => {
      rtm.send('typing', { channel: event.channel, seq: event.seq }).catch((e) => {
        process.stderr.write(`node_rtm: the round-trip answer was not sent: ${e}\n`);
      });
    });
    // rtm.start() retries a failed connection on its own: bound it too.
    const noHello = sleep(10000).then(() => { throw new Error('no hello within 10 s'); });
    await Promise.race([rtm.start(), noHello]);
    await Promise.race([hello, noHello]);

    const flood = async (n, size, stallSecs) => {
      c.count = 0; c.touched = 0; c.doneAt = null; c.target = n;
      const done = new Promise((resolve) => { c.onDone = resolve; });
      const cpu0 = cpuTicksMs();
      const started = nowSecs();
      await server.command(`!flood ${n} ${size}`, 10000);
      let last = [0, nowSecs()];
      let stalled = false;
      for (;;) {
        // eslint-disable-next-line no-await-in-loop
        const finished = await Promise.race([done.then(() => true), sleep(500).then(() => false)]);
        if (finished) break;
        if (c.count !== last[0]) last = [c.count, nowSecs()];
        else if (nowSecs() - last[1] >= stallSecs) { stalled = true; break; }
      }
      c.onDone = null;
      const secs = (c.doneAt || last[1]) - started;
      return { done: c.count, secs, touched: c.touched, stalled, cpuMs: cpuTicksMs() - cpu0 };
    };

    await sleep(1000);
    const t0 = cpuTicksMs(); const s0 = cpuSchedMs();
    await sleep(args.idleSecs * 1000);
    const t1 = cpuTicksMs(); const s1 = cpuSchedMs();
    Object.assign(result, {
      idle_secs: args.idleSecs,
      idle_cpu_ticks_ms: t1 - t0,
      idle_cpu_ms: Math.round((s1 - s0) * 100) / 100,
      rss_idle_kb: status('VmRSS'),
      threads_total: status('Threads'),
      // The driver shares the client's event loop: no thread of its own.
      threads_harness: 0,
      threads_lib: null,
    });

    const warm = await flood(10000, 'small', 10);
    let stalled = warm.stalled;
    if (!stalled && args.rtt > 0) {
      // Both processes on one CPU, back to back (rtt_1cpu_*); unpinned, back to back
      // (rtt_b2b_*); unpinned, --rtt-gap-us apart (rtt_*).
      const pids = [process.pid, server.proc.pid];
      const allCpus = `0-${os.cpus().length - 1}`;
      for (const [prefix, gapUs, pinned] of [['rtt_1cpu', 0, true], ['rtt_b2b', 0, false], ['rtt', args.rttGapUs, false]]) {
        if (pinned && !setAffinity(pids, '0')) continue;
        const timeout = 30000 + (2 * args.rtt * gapUs) / 1000;
        let rtt;
        try {
          // eslint-disable-next-line no-await-in-loop
          rtt = await server.command(`!rtt ${args.rtt} ${gapUs}`, timeout);
        } finally {
          if (pinned && !setAffinity(pids, allCpus)) throw new Error('cannot undo the CPU pinning');
        }
        for (const key of ['n', 'done', 'timeouts', 'gap_us', 'min_us', 'p50_us', 'p90_us', 'p99_us', 'max_us', 'mean_us']) {
          result[`${prefix}_${key}`] = rtt[key];
        }
      }
    }
    for (const size of args.sizes.split(',')) {
      if (stalled) break;
      // eslint-disable-next-line no-await-in-loop
      const f = await flood(args.events, size, args.stallSecs);
      const expected = args.events * JSON.parse(eventText(size)).text.length;
      result[`${size}_done`] = f.done;
      result[`${size}_secs`] = Math.round(f.secs * 1000) / 1000;
      result[`${size}_eps`] = f.secs > 0 ? Math.round(f.done / f.secs) : null;
      result[`${size}_stalled`] = f.stalled;
      // The whole process's CPU time (utime + stime, 10 ms ticks) per event of the flood.
      result[`${size}_cpu_us_per_event`] = f.done ? Math.round((1e6 * f.cpuMs) / f.done) / 1000 : null;
      result[`${size}_read_ok`] = f.stalled || f.touched === expected;
      stalled = f.stalled;
      if (stalled) process.stderr.write(`node_rtm: the ${size} flood stalled after ${f.done} events\n`);
    }
    Object.assign(result, {
      rss_peak_kb: status('VmHWM'),
      rss_after_kb: status('VmRSS'),
      threads_after: status('Threads'),
    });
  } catch (e) {
    process.stderr.write(`node_rtm: ${e.stack || e}\n`);
    result.error = String(e);
    code = 1;
  }
  try {
    if (rtm) await Promise.race([rtm.disconnect(), sleep(3000)]);
  } catch (e) { /* already disconnected */ }
  await server.close();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(code));
}

main();
