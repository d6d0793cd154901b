// The ceiling for POST /queue/join on this machine: a bare Fastify route that parses the same JSON
// body and answers {}, with no schema, no Redis and no logging.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/queue/join', async () => ({}));
app.get('/healthz', async () => ({}));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close());
