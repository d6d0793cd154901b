// CPU time of a server under test, from Linux's /proc: what its work costs, whatever else the
// machine runs (a shared machine's throughput does not hold still; this does).
import { readFileSync } from 'node:fs';

/** User and system CPU seconds of a process so far, all its threads (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
