// Issue 12: ../engine-flash-sale.test.ts again, on a private 3-master Redis Cluster (test/helpers/harness.ts).
process.env.BOXOFFICE_TEST_REDIS = 'cluster';
await import('../engine-flash-sale.test.ts');
