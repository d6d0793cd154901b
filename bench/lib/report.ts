// What a scenario hands back: rows for the table (strings, formatted) and raw data for the JSON.
import type { BenchEnv } from '../env.ts';
import type { Progress } from './progress.ts';

export interface Row {
  measure: string;
  value: string;
  /** The ceiling measured beside it, in the same run. */
  beside?: string;
  ratio?: string;
  target?: string;
  met?: boolean;
}

export interface ScenarioResult<D extends object = object> {
  rows: Row[];
  data: D;
}

export interface Scenario<O extends object, D extends object = object> {
  name: string;
  title: string;
  /** The sizes the issue asks for. */
  full: O;
  /** Tiny sizes: seconds, for CI (test/integration/bench-smoke.test.ts) and `--smoke`. */
  smoke: O;
  run(env: BenchEnv, options: O, progress: Progress): Promise<ScenarioResult<D>>;
}

/** Types a scenario, inferring its options from `full` and its data from what `run` returns. */
export function defineScenario<O extends object, D extends object>(scenario: Scenario<O, D>): Scenario<O, D> {
  return scenario;
}

export function renderTable(results: { title: string; rows: Row[] }[]): string {
  const header = ['scenario', 'measure', 'result', 'beside it (ceiling)', 'ratio', 'target', 'met'];
  const lines: string[][] = [];
  for (const { title, rows } of results) {
    rows.forEach((r, i) => {
      const met = r.met === undefined ? '' : r.met ? 'yes' : 'NO';
      lines.push([i ? '' : title, r.measure, r.value, r.beside ?? '', r.ratio ?? '', r.target ?? '', met]);
    });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const row = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

export function renderMarkdown(results: { title: string; rows: Row[] }[]): string {
  const out = ['| scenario | measure | result | beside it (ceiling) | ratio | target | met |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const { title, rows } of results) {
    rows.forEach((r, i) => {
      const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
      out.push(`| ${i ? '' : title} | ${r.measure} | ${r.value} | ${r.beside ?? ''} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${met} |`);
    });
  }
  return out.join('\n');
}
