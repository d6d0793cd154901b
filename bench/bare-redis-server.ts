// The second ceiling for POST /queue/join: the bare route of bench/bare-server.ts plus one Redis round
// trip, a trivial script by EVALSHA through ioredis with auto-pipelining, as the join's own script
// goes. What the join costs beyond this is its own work: validation, the join script's body,
// signing, hooks.
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
redis.defineCommand('one', { numberOfKeys: 1, lua: 'return 1' });
const one = (key: string) => (redis as unknown as { one(key: string): Promise<number> }).one(key);
const key = `${process.env.REDIS_KEY_PREFIX ?? ''}bare`;

const app = Fastify({ logger: false });
app.post('/queue/join', async () => {
  await one(key);
  return {};
});
app.get('/healthz', async () => ({}));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => redis.quit()));
