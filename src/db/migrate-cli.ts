// npm run migrate: applies pending migrations to DATABASE_URL (creating the database if needed).
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { migrateDatabase } from './migrate.ts';

const config = loadConfig();
const log = createLogger(config);
log.info({ applied: await migrateDatabase(config.DATABASE_URL, log) }, 'migrations up to date');
