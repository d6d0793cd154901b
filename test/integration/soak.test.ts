// Issue 6: the soak's short form (npm run soak -- --seconds 30): mixed load against 2 API and 2
// worker processes, then DESIGN.md's I1-I6 on the settled system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runSoak } from '../../scripts/soak.ts';

test('soak.thirty-seconds-of-mixed-load-keeps-every-invariant', async (t) => {
  const report = await runSoak({ seconds: 30 });
  for (const line of formatReport(report).split('\n')) t.diagnostic(line);
  assert.deepEqual(report.violations, []);
  for (const op of ['join', 'status', 'stream', 'confirm', 'cancel']) {
    assert.ok((report.ops[op]?.count ?? 0) > 10, `too few ${op} requests to say anything`);
  }
  assert.ok((report.outcomes.left_to_expire ?? 0) > 10, 'holds were left to expire');
  assert.ok((report.outcomes.again_capped ?? 0) + (report.outcomes.again_confirmed ?? 0) > 0, 'buyers came back');
  assert.equal(report.tokensInLogs, 0);
});
