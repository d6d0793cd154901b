// node --import tsx bench/experiments/helmet-cost.ts [rounds]
// What @fastify/helmet costs a JSON route: a bare Fastify route answering {} with and without it,
// two server processes, autocannon (100 connections, 5 s) on each in turn.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../env.ts';
import { hammer } from '../lib/hammer.ts';
import { silentProgress } from '../lib/progress.ts';
import { median } from '../lib/stats.ts';

if (process.env.HELMET_COST_SERVER) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  if (process.env.HELMET_COST_SERVER === 'helmet') await app.register((await import('@fastify/helmet')).default);
  app.post('/queue/join', async () => ({}));
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
} else {
  const rounds = Number(process.argv[2] ?? 6);
  const servers = [];
  for (const variant of ['bare', 'helmet']) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, HELMET_COST_SERVER: variant, PORT: String(port) }, stdio: 'inherit',
    });
    servers.push({ variant, url: `http://127.0.0.1:${port}`, child, rates: [] as number[] });
  }
  for (const s of servers) {
    while (!(await fetch(`${s.url}/queue/join`, { method: 'POST' }).then(() => true, () => false))) await delay(100);
  }
  let user = 0;
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const result = await hammer({
        url: s.url, method: 'POST', connections: 100, seconds: 5, label: s.variant, progress: silentProgress,
        next: () => ({ path: '/queue/join', body: `{"user_id":"u${user++}","ticket_type_id":1}` }),
      });
      s.rates.push(result.rps);
    }
  }
  for (const s of servers) {
    console.log(`${s.variant}: median ${Math.round(median(s.rates))} req/s; runs ${s.rates.map(Math.round).join(' ')}`);
    s.child.kill();
  }
}
