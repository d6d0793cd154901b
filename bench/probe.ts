// Preloaded into a server under test (node --import ./bench/probe.ts) to count its I/O: SQL
// statements sent to PostgreSQL and writes to the Redis socket. ioredis writes a pipeline, and the
// commands it auto-pipelines in one tick, in one write, so a write is a round trip. The counters
// are read over the IPC channel the benchmark opens; counting costs a function call per statement.
import net from 'node:net';
import pg from 'pg';

export interface ProbeCounters {
  sql: number;
  redisWrites: number;
}

const counters: ProbeCounters = { sql: 0, redisWrites: 0 };
const redisPort = Number(new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379').port || 6379);

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  counters.sql++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
  if (this.remotePort === redisPort) counters.redisWrites++;
  return (write as (...a: unknown[]) => boolean).apply(this, args);
} as typeof write;

if (process.send) {
  process.on('message', (message) => {
    if (message === 'probe') process.send!({ probe: { ...counters } });
  });
  // The channel must not keep the server alive after SIGTERM: it stops as it would in production.
  process.channel?.unref();
}
