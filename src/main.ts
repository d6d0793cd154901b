// The process: migrates, then runs the HTTP API, the engine or both (ROLE), until a signal.
import { ConfigError, loadConfig } from './config.ts';
import { createContext } from './context.ts';
import { createLogger } from './log.ts';
import { migrateDatabase } from './db/migrate.ts';
import { buildApp } from './api/app.ts';
import { startEngine } from './engine/index.ts';
import { createMetrics } from './metrics.ts';
import { Sale } from './sale/sale.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const log = createLogger(config);
const applied = await migrateDatabase(config.DATABASE_URL, log);
if (applied.length) log.info({ applied }, 'migrations applied');
const ctx = createContext(config, log);
for (const problem of await ctx.lines.encodingProblems()) log.warn(problem);

const sale = await Sale.open(ctx);
// One registry for the process: /metrics shows the engine's batches and sweeps beside the HTTP figures.
const metrics = createMetrics(sale, log, ctx.lines);
const engine = config.ROLE === 'api' ? undefined : await startEngine(ctx, metrics.engineHooks);
// A worker listens too, with health and metrics only, so it can be probed and scraped.
const app = await buildApp(ctx, { sale, metrics, routes: config.ROLE === 'worker' ? 'ops' : 'all' });
const address = await app.listen({ port: config.PORT, host: config.HOST });
log.info({ role: config.ROLE }, config.ROLE === 'worker' ? `worker running; health and metrics on ${address}` : `listening on ${address}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'shutting down: finishing requests and batches in flight');
  await app.close(); // stops accepting, waits for in-flight requests
  await engine?.stop(); // waits for the processor's and sweeper's batches
  await ctx.close();
  log.info('stopped');
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (s) => void shutdown(s));
