// Issue 12: ../engine-confirm.test.ts again, on a private 3-master Redis Cluster (test/helpers/harness.ts).
process.env.BOXOFFICE_TEST_REDIS = 'cluster';
await import('../engine-confirm.test.ts');
