// npm run migrate: applies pending migrations to DATABASE_URL (creating the database if needed).
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { ensureDatabase, migrate } from './migrate.ts';
import { createDb } from './pool.ts';

const config = loadConfig();
const log = createLogger(config);
await ensureDatabase(config.DATABASE_URL);
const db = createDb(config.DATABASE_URL, log, 1);
try {
  log.info({ applied: await migrate(db) }, 'migrations up to date');
} finally {
  await db.close();
}
