import { startRedis, type TestRedis } from '../../../test/redis/index.ts';
import { connectRedis, type RedisClient } from './redis.ts';

/**
 * Test support shared by the store suites: one real redis-server per test file and two clients,
 * standing for two gateway replicas.
 */
export interface RedisFixture {
  server: TestRedis;
  replicaA: RedisClient;
  replicaB: RedisClient;
  close(): Promise<void>;
}

export async function redisFixture(): Promise<RedisFixture> {
  const server = await startRedis();
  // Generous timeout: the suites run in parallel on a busy machine; fail-mode tests set their own.
  const replicaA = await connectRedis(server.url, { commandTimeoutMs: 2000 });
  const replicaB = await connectRedis(server.url, { commandTimeoutMs: 2000 });
  return {
    server,
    replicaA,
    replicaB,
    async close() {
      replicaA.disconnect();
      replicaB.disconnect();
      await server.stop();
    },
  };
}

/** A fixed instant far enough ahead that Redis never expires a key on arrival (PEXPIREAT in the past deletes). */
export const T0 = Date.UTC(2100, 4, 10, 12, 0, 0);
