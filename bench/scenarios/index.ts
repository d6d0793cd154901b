// The scenarios in the order `npm run bench` runs them (issue 5).
import type { Scenario } from '../lib/report.ts';
import { draw } from './draw.ts';
import { drain } from './drain.ts';
import { durability } from './durability.ts';
import { flashSale } from './flash-sale.ts';
import { idle } from './idle.ts';
import { join } from './join.ts';
import { joinToHold } from './join-to-hold.ts';
import { status } from './status.ts';

export const SCENARIOS = [drain, join, joinToHold, flashSale, status, draw, durability, idle] as Scenario<object>[];
export { drain, draw, durability, flashSale, idle, join, joinToHold, status };
