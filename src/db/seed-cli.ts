// npm run seed [-- --if-empty]: adds the demo event (with --if-empty, only to an empty database).
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { migrateDatabase } from './migrate.ts';
import { createDb } from './pool.ts';
import { hasEvents, seedDemo } from './seed.ts';

const config = loadConfig();
const log = createLogger(config);
await migrateDatabase(config.DATABASE_URL, log);
const db = createDb(config.DATABASE_URL, log, { max: 1 });
try {
  if (process.argv.includes('--if-empty') && (await hasEvents(db))) {
    log.info('database has events already; not seeding');
  } else {
    log.info({ eventId: await seedDemo(db, config.DEFAULT_CURRENCY) }, 'demo event created');
  }
} finally {
  await db.close();
}
