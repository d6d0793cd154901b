// node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]
// Where a CPU profile (node --cpu-prof, or npm run bench -- --cpu-prof) spent its busy samples: self
// time by package and by function, as shares of the time the process was not idle (a server under
// test idles between phases, which would otherwise drown the figures).
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const idleId = profile.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
const total = profile.samples.length - (idleId === undefined ? 0 : (hits.get(idleId) ?? 0));
if (idleId !== undefined) hits.delete(idleId);

function area(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const local = /\/(src|bench|scripts)\/(.+)$/.exec(url);
  return local ? `${local[1]}/${local[2]!.split('/')[0]}` : url;
}

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
for (const [id, count] of hits) {
  const { callFrame: f } = byId.get(id)!;
  const name = f.functionName || '(anonymous)';
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = ['(program)', '(garbage collector)'].includes(name) ? name : `${name} ${where}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + count);
  const a = name.startsWith('(') ? name : area(f.url);
  byArea.set(a, (byArea.get(a) ?? 0) + count);
}

const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
const seconds = (profile.endTime - profile.startTime) / 1e6;
const busy = (seconds * total) / profile.samples.length;
console.log(`${file}: busy ${busy.toFixed(1)} s of ${seconds.toFixed(1)} s; shares of the busy time`);
console.log('\nself time by area');
for (const [a, n] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`${pct(n)}  ${a}`);
console.log('\nself time by function');
for (const [f, n] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(n)}  ${f}`);
