// What every route plugin receives from app.ts.
import type { Context } from '../context.ts';
import type { Sale } from '../sale/sale.ts';

export interface RouteDeps {
  ctx: Context;
  sale: Sale;
}
