// node --import tsx bench/experiments/join-without-helmet.ts [rounds]
// POST /queue/join on the real API (ROLE=api) with and without @fastify/helmet, two processes,
// autocannon (100 connections, 10 s, distinct users) on each in turn. "Without" loads
// without-helmet/register.mjs, which resolves @fastify/helmet to a plugin that does nothing.
import { fileURLToPath } from 'node:url';
import { createBenchEnv } from '../env.ts';
import { hammer } from '../lib/hammer.ts';
import { createProgress } from '../lib/progress.ts';
import { median } from '../lib/stats.ts';

const rounds = Number(process.argv[2] ?? 4);
const progress = createProgress();
const env = await createBenchEnv({
  outDir: fileURLToPath(new URL('../results/join-without-helmet/', import.meta.url)),
  logLevel: 'warn', batchSize: 500, cpuProf: false, split: false, serverEnv: {},
});
try {
  const stub = fileURLToPath(new URL('./without-helmet/register.mjs', import.meta.url));
  const servers = [
    { variant: 'with helmet', server: await env.startServer({ name: 'with-helmet', role: 'api' }), rates: [] as number[] },
    {
      variant: 'without helmet',
      server: await env.startServer({ name: 'without-helmet', role: 'api', env: { NODE_OPTIONS: `--import ${stub}` } }),
      rates: [] as number[],
    },
  ];
  const id = await env.ticketType(1_000_000, 1);
  for (const s of servers) {
    const reply = await fetch(`${s.server.url}/queue/join`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"user_id":"check-${s.variant}","ticket_type_id":${id}}`,
    });
    console.log(`${s.variant}: ${reply.status}, content-security-policy header ${reply.headers.has('content-security-policy') ? 'present' : 'absent'}`);
  }
  let user = 0;
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 ? [...servers].reverse() : servers) {
      const result = await hammer({
        url: s.server.url, method: 'POST', connections: 100, seconds: 10, label: `${s.variant}, round ${r + 1}`, progress,
        next: () => ({ path: '/queue/join', body: `{"user_id":"u${user++}","ticket_type_id":${id}}` }),
      });
      if (result.failed) throw new Error(`${s.variant}: ${result.failed} joins failed`);
      s.rates.push(result.rps);
    }
  }
  progress.done();
  for (const s of servers) console.log(`${s.variant}: median ${Math.round(median(s.rates))} joins/s; runs ${s.rates.map(Math.round).join(' ')}`);
} finally {
  await env.close();
}
