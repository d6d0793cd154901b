// npm run bench [-- <scenario>... --runs N --smoke --batch-size N --log-level L --cpu-prof --split]
// Runs the scenarios against real PostgreSQL and Redis (a fresh database and key prefix per run),
// prints the table, and writes results.json and table.md under bench/results/<time>/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchEnv } from './env.ts';
import { createProgress } from './lib/progress.ts';
import { renderMarkdown, renderTable, type Row } from './lib/report.ts';
import { SCENARIOS } from './scenarios/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'batch-size': { type: 'string', default: '500' },
    'log-level': { type: 'string', default: 'warn' },
    'cpu-prof': { type: 'boolean', default: false },
    split: { type: 'boolean', default: false },
    webhook: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const names = SCENARIOS.map((s) => s.name);
if (values.help || positionals.some((p) => !names.includes(p)) || values.env!.some((kv) => !kv.includes('='))) {
  console.error(`usage: npm run bench -- [${names.join('|')}]... [--runs N] [--smoke] [--batch-size N]
       [--log-level LEVEL] [--cpu-prof] [--split] [--webhook] [--env KEY=VALUE]...
  --smoke       tiny sizes, seconds (what CI runs)
  --runs N      measured runs per scenario, median reported (default: 3 where cheap)
  --batch-size  PROCESSOR_BATCH_SIZE of the server under test (default 500)
  --log-level   LOG_LEVEL of the server under test (default warn: no per-request lines)
  --cpu-prof    write a CPU profile of each server process next to the results
  --split       run the API and the worker as two processes (default: one, ROLE=all)
  --webhook     drain: a webhook endpoint on this machine subscribes to every event meanwhile
  --env K=V     more environment for the servers under test (e.g. JOIN_LIMIT_PER_USER=0)`);
  process.exit(values.help ? 0 : 2);
}
const chosen = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS;

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outDir = path.join(fileURLToPath(new URL('./results/', import.meta.url)), `${stamp}${positionals.length ? `-${positionals.join('-')}` : ''}`);
mkdirSync(outDir, { recursive: true });

const progress = createProgress();
const env = await createBenchEnv({
  outDir,
  logLevel: values['log-level']!,
  batchSize: Number(values['batch-size']),
  cpuProf: values['cpu-prof']!,
  split: values.split!,
  serverEnv: Object.fromEntries(values.env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
});
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  progress.done();
  console.error('interrupted: stopping the servers and dropping the benchmark database (Ctrl-C again to skip)');
  void env.close().finally(() => process.exit(130));
});

const machine = await describeMachine();
const loadBefore = os.loadavg();
const results: { name: string; title: string; rows: Row[]; data: object; seconds: number }[] = [];
let failed = false;
try {
  for (const scenario of chosen) {
    const options = { ...(values.smoke ? scenario.smoke : scenario.full) } as Record<string, unknown>;
    if (values.runs && 'runs' in options) options.runs = Number(values.runs);
    if ('webhook' in options) options.webhook = values.webhook;
    const started = performance.now();
    try {
      const result = await scenario.run(env, options, progress);
      results.push({ name: scenario.name, title: scenario.title, ...result, seconds: Math.round((performance.now() - started) / 1000) });
    } catch (err) {
      failed = true;
      results.push({
        name: scenario.name, title: scenario.title, rows: [{ measure: 'failed', value: (err as Error).message.split('\n')[0]! }],
        data: { error: (err as Error).stack }, seconds: Math.round((performance.now() - started) / 1000),
      });
    } finally {
      progress.done();
    }
    console.error(`${scenario.name}: done in ${results.at(-1)!.seconds} s`);
  }
} finally {
  await env.close();
}

const report = {
  startedAt: stamp,
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { ...machine, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
  server: { logLevel: values['log-level'], batchSize: Number(values['batch-size']), split: values.split, smoke: values.smoke, env: values.env },
  scenarios: Object.fromEntries(results.map((r) => [r.name, { rows: r.rows, seconds: r.seconds, ...r.data }])),
};
writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(path.join(outDir, 'table.md'), `${renderMarkdown(results)}\n`);
console.log(renderTable(results));
console.log(`\n${machine.cpu}, ${machine.cores} cores, ${machine.memory}, Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}; load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
console.log(`results: ${path.relative(process.cwd(), outDir)}/results.json`);
process.exit(failed ? 1 : 0);

async function describeMachine() {
  const info = await env.ctx.redis.info('server');
  const { rows } = await env.ctx.db.query<{ server_version: string }>('SHOW server_version');
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    node: process.version,
    postgres: rows[0]!.server_version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    commit,
  };
}
