// The scenarios in the order `npm run bench` runs them (issue 5).
import type { Scenario } from '../lib/report.ts';
import { admission } from './admission.ts';
import { draw } from './draw.ts';
import { drain } from './drain.ts';
import { durability } from './durability.ts';
import { flashSale } from './flash-sale.ts';
import { idle } from './idle.ts';
import { join } from './join.ts';
import { joinToHold } from './join-to-hold.ts';
import { status } from './status.ts';
import { streams } from './streams.ts';

export const SCENARIOS = [drain, join, joinToHold, flashSale, status, draw, durability, admission, streams, idle] as Scenario<object>[];
export { admission, drain, draw, durability, flashSale, idle, join, joinToHold, status, streams };
