// A private Redis Cluster on this machine, for tests and benchmarks of cluster mode: `masters`
// redis-server processes with --cluster-enabled (and `replicas` per master), joined by
// `redis-cli --cluster create`. Nodes can be killed and restarted, and one slot moved to another
// master while it is in use (resharding), as an operator would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface ClusterNodeProcess {
  port: number;
  readonly running: boolean;
  /** SIGKILL: the node is gone at once, as in a crash. */
  kill9(): Promise<void>;
  start(): Promise<void>;
}

export interface RedisCluster {
  /** Every node, in creation order: the first `masters` start as masters. */
  nodes: ClusterNodeProcess[];
  /** REDIS_CLUSTER_NODES for boxoffice. */
  seeds: string;
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Every master's port, as the cluster sees it now. */
  masters(): Promise<number[]>;
  /**
   * Moves the slot of `key` to the master at `toPort` the way `redis-cli --cluster reshard` does
   * (IMPORTING, MIGRATING, MIGRATE a few keys at a time, SETSLOT NODE), pausing `pauseMs` between
   * steps so that traffic runs while the slot is half moved.
   */
  moveSlotOf(key: string, toPort: number, options?: { keysPerStep?: number; pauseMs?: number }): Promise<void>;
  /**
   * Waits until every running node reports cluster_state:ok and every running replica has
   * finished its sync with its master. A replica that never synced does not stand for election:
   * Redis counts its data as too old (cluster-replica-validity-factor) and logs "Currently unable
   * to failover", and its master's slots stay unserved for good if the master dies.
   */
  healthy(timeoutMs?: number): Promise<void>;
  /** The last lines of every node's log, each marked with its port: for the message of a failed wait. */
  logTails(count?: number): string;
  close(): Promise<void>;
  /** Kills every node and removes its data without waiting: for a process 'exit' handler. */
  closeNow(): void;
}

export interface ClusterOptions {
  masters?: number;
  replicas?: number;
  /** --cluster-node-timeout: how soon a dead master is failed over. */
  nodeTimeoutMs?: number;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
}

function client(port: number): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined); // a node not up yet, or killed: the command that needed it fails
  return redis;
}

async function withNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = client(port);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export async function startRedisCluster({ masters = 3, replicas = 0, nodeTimeoutMs = 1_000 }: ClusterOptions = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await clusterPort());

  const nodes = ports.map((port): ClusterNodeProcess & { proc?: ChildProcess } => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs),
      '--logfile', `redis-${port}.log`,
      // A replica syncs as soon as it asks, not after Redis's 5 s wait for others to share the transfer.
      '--repl-diskless-sync-delay', '0'];
    const node: ClusterNodeProcess & { proc?: ChildProcess } = {
      port,
      get running() {
        return node.proc !== undefined;
      },
      async start() {
        if (node.proc) return;
        const proc = spawn('redis-server', args, { stdio: 'ignore' });
        proc.unref(); // the cluster is killed on exit (closeNow), not waited for
        node.proc = proc;
        proc.once('exit', () => {
          if (node.proc === proc) node.proc = undefined;
        });
        await waitFor(`redis-server on ${port}`, () => withNode(port, (r) => r.ping()).catch(() => undefined), { timeoutMs: 10_000 });
      },
      async kill9() {
        const proc = node.proc;
        if (!proc) return;
        const exited = once(proc, 'exit');
        proc.kill('SIGKILL');
        await exited;
      },
    };
    return node;
  });
  await Promise.all(nodes.map((n) => n.start()));
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8' });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);

  const cluster: RedisCluster = {
    nodes,
    seeds: ports.slice(0, masters).map((p) => `127.0.0.1:${p}`).join(','),
    async masterOf(key) {
      const live = nodes.find((n) => n.running)!;
      return withNode(live.port, async (r) => {
        const slot = await r.cluster('KEYSLOT', key);
        const master = (await r.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)?.[2];
        if (!master) throw new Error(`slot ${slot} is not served`);
        return master[1];
      });
    },
    async masters() {
      const live = nodes.find((n) => n.running)!;
      return withNode(live.port, async (r) => {
        return [...new Set((await r.cluster('SLOTS')).flatMap(([, , master]) => (master ? [master[1]] : [])))];
      });
    },
    async moveSlotOf(key, toPort, { keysPerStep = 10, pauseMs = 20 } = {}) {
      const fromPort = await cluster.masterOf(key);
      if (fromPort === toPort) return;
      const from = client(fromPort);
      const to = client(toPort);
      await Promise.all([from.connect(), to.connect()]);
      try {
        const slot = await from.cluster('KEYSLOT', key);
        const fromId = await from.cluster('MYID');
        const toId = await to.cluster('MYID');
        await to.cluster('SETSLOT', slot, 'IMPORTING', fromId);
        await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
        for (;;) {
          const keys = await from.cluster('GETKEYSINSLOT', slot, keysPerStep);
          if (!keys.length) break;
          await from.migrate('127.0.0.1', toPort, '', 0, 5_000, 'KEYS', ...keys);
          await new Promise((r) => setTimeout(r, pauseMs));
        }
        // The new owner first, then the old one, then every other master learns it.
        for (const port of [toPort, fromPort, ...(await cluster.masters()).filter((p) => p !== toPort && p !== fromPort)]) {
          await withNode(port, (r) => r.cluster('SETSLOT', slot, 'NODE', toId));
        }
      } finally {
        from.disconnect();
        to.disconnect();
      }
    },
    async healthy(timeoutMs = 30_000) {
      await waitFor('every node to report cluster_state:ok and every replica to be in sync', async () => {
        const states = await Promise.all(nodes.filter((n) => n.running).map((n) => withNode(n.port, async (r) => ({
          cluster: await r.cluster('INFO'),
          replication: await r.info('replication'),
        })).catch(() => undefined)));
        return states.every((state) => state?.cluster.includes('cluster_state:ok')
          && (state.replication.includes('role:master') || state.replication.includes('master_link_status:up')));
      }, { timeoutMs });
    },
    logTails(count = 5) {
      return nodes.map(({ port }) => {
        const log = readFileSync(path.join(dir, `redis-${port}.log`), 'utf8').trimEnd().split('\n');
        return log.slice(-count).map((line) => `${port}: ${line}`).join('\n');
      }).join('\n');
    },
    async close() {
      await Promise.all(nodes.map((n) => n.kill9()));
      rmSync(dir, { recursive: true, force: true });
    },
    closeNow() {
      for (const node of nodes) node.proc?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.healthy();
  return cluster;
}
