import { spawn } from 'node:child_process';
import { createRedisClient } from './src/stores/redis.ts';
import { createRedisLimitStore } from './src/stores/limits/redis.ts';
const port = 18555;
const srv = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const client = createRedisClient(`redis://127.0.0.1:${port}`);
await client.connect();
const store = createRedisLimitStore(client);
const items = [
  { scope: 'user' as const, id: 'p/u1', kind: 'requests' as const, window: 'minute' as const, limit: 1e8, cost: 1 },
  { scope: 'user' as const, id: 'p/u1', kind: 'tokens' as const, window: 'minute' as const, limit: 1e9, cost: 40 },
];
const p50 = (a: number[]) => { a.sort((x, y) => x - y); return a[Math.floor(a.length / 2)]!.toFixed(1); };
for (let round = 0; round < 3; round++) {
  const ping: number[] = [], chk: number[] = [], ev: number[] = [];
  for (let i = 0; i < 5000; i++) {
    let t = performance.now(); await client.ping(); ping.push((performance.now() - t) * 1000);
    t = performance.now(); await store.check({ now: Date.now(), items }); chk.push((performance.now() - t) * 1000);
    t = performance.now(); await client.eval('return 1', 0); ev.push((performance.now() - t) * 1000);
  }
  console.log('p50 µs: ping', p50(ping), 'eval return1', p50(ev), 'check', p50(chk));
}
client.disconnect(); srv.kill(); process.exit(0);
