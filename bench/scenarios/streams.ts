// Scenario 9, live streams (issue 12): how many open GET /queue/stream clients one API process
// carries. N buyers wait in one line (no worker: they stay); N clients open a stream each, and the
// API process's resident memory (VmRSS) before and after, divided by N, is the memory per client.
// Then the line's served counter moves, as a settle moves it, and the change is published on the
// line's channel: every client's position changes. Per broadcast: the time from the publish until
// the last client has its new position (taken here, on one clock), and the CPU the API process
// spent meanwhile (/proc/<pid>/stat), per client. Broadcasts are spaced past the one-second
// interval at which a client's position may change. The clients run in this process, on the same
// cores: the time includes their reading of N events; the CPU is the API process's alone.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '../../support/wait.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { defineScenario } from '../lib/report.ts';
import { fmt, median, round } from '../lib/stats.ts';

export interface StreamsOptions {
  clients: number;
  broadcasts: number;
}

interface Broadcast {
  ms: number;
  cpuMs: number;
}

/** Positions may change at most once a second per client (src/api/live-lines.ts). */
const POSITION_INTERVAL_MS = 1_000;

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}


export const streams = defineScenario({
  name: 'streams',
  title: '9 streams',
  full: { clients: 10_000, broadcasts: 5 },
  smoke: { clients: 200, broadcasts: 2 },
  async run(env, o: StreamsOptions, progress) {
    const id = await env.ticketType(o.clients, 1);
    const tokens = await env.fill(id, o.clients, (n) => progress.update(`streams: filling the line ${fmt(n)}/${fmt(o.clients)}`));
    const api = await env.startServer({
      name: 'streams-api', role: 'api',
      // Every stream comes from this one address.
      env: { STREAM_LIMIT: String(o.clients + 100), STREAM_LIMIT_PER_IP: String(o.clients + 100) },
    });
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const requests: http.ClientRequest[] = [];
    /** Per client: the last position it was sent. */
    const positions = new Array<number>(o.clients).fill(0);
    try {
      // Start-up's allocations settle first, so that the delta counts the clients.
      await delay(1_000);
      const rssBefore = rssBytes(api.pid);
      const k = env.ctx.keys.line(id);
      const open = (i: number) => new Promise<void>((resolve, reject) => {
        const req = http.get(`${api.url}/queue/stream?token=${encodeURIComponent(tokens[i]!)}`, { agent }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`stream ${i}: HTTP ${res.statusCode}`));
          res.setEncoding('utf8');
          let partial = '';
          res.on('data', (chunk: string) => {
            const events = (partial + chunk).split('\n\n');
            partial = events.pop()!;
            for (const event of events) {
              const data = /^data: (.*)$/m.exec(event)?.[1];
              if (!data) continue;
              positions[i] = (JSON.parse(data) as { position?: number }).position ?? 0;
              resolve();
            }
          });
        });
        req.on('error', reject);
        requests.push(req);
      });
      for (let i = 0; i < o.clients; i += 200) {
        await Promise.all(Array.from({ length: Math.min(200, o.clients - i) }, (_, j) => open(i + j)));
        progress.update(`streams: ${fmt(Math.min(o.clients, i + 200))}/${fmt(o.clients)} open`);
      }
      await delay(1_000);
      const rssAfter = rssBytes(api.pid);
      const bytesPerClient = (rssAfter - rssBefore) / o.clients;

      const broadcasts: Broadcast[] = [];
      for (let b = 1; b <= o.broadcasts; b++) {
        // Past the interval since every client's last position, counted from the last one's.
        await delay(2 * POSITION_INTERVAL_MS + 500);
        const cpuBefore = cpuSeconds(api.pid);
        const started = performance.now();
        const served = await env.ctx.redis.incr(k.served);
        await env.ctx.redis.spublish(k.events, JSON.stringify({ served, changes: {} }));
        // Client i waits at seq i + 1: its position is i + 1 - served.
        await waitFor(`streams: broadcast ${b} reaching every client`, () => positions.every((p, i) => p === Math.max(1, i + 1 - served)),
          { timeoutMs: 30_000, intervalMs: 5 });
        const ms = performance.now() - started;
        broadcasts.push({ ms, cpuMs: (cpuSeconds(api.pid) - cpuBefore) * 1000 });
        progress.update(`streams: broadcast ${b}/${o.broadcasts} in ${round(ms, 1)} ms`);
      }
      const ms = median(broadcasts.map((b) => b.ms));
      const cpu = median(broadcasts.map((b) => b.cpuMs));
      return {
        rows: [
          { measure: `API memory per open stream, ${fmt(o.clients)} streams (VmRSS delta / streams)`, value: `${fmt(bytesPerClient / 1024, 1)} KiB`,
            beside: `VmRSS ${fmt(rssBefore / 2 ** 20)} MiB before, ${fmt(rssAfter / 2 ** 20)} MiB with them` },
          { measure: `one position change to ${fmt(o.clients)} streams: until the last has it (median of ${o.broadcasts})`, value: `${fmt(ms, 1)} ms`,
            beside: `API CPU ${fmt(cpu)} ms (${fmt((cpu * 1000) / o.clients, 1)} µs per stream; /proc ticks of 10 ms)` },
        ],
        data: { options: o, rssBefore, rssAfter, bytesPerClient, broadcasts },
      };
    } finally {
      for (const req of requests) req.destroy();
      agent.destroy();
      await api.stop();
      await env.dropLine(id);
    }
  },
});
