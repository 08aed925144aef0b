import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchangeFixture } from './src/events/fixtures.ts';
import { createClickHouse, createEventWriter, migrate } from './src/events/index.ts';
import { createLogger } from './src/log.ts';
function threadTicks(): Record<string, number> { const agg: Record<string, number> = {}; for (const t of readdirSync('/proc/self/task')) { const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); agg[`${comm}:${t}`] = Number(f[11]) + Number(f[12]); } return agg; }
const rows = Number(process.env.ROWS ?? 30000);
const dataDir = mkdtempSync(join(tmpdir(), 'xw-'));
const cpu = () => { const c = process.cpuUsage(); return c.user + c.system; };
const client = createClickHouse({ dataDir });
await migrate(client);
if (process.env.SQL) for (const q of process.env.SQL.split(';;')) await client.command({ query: q });
const fx = Array.from({ length: rows }, (_, i) => exchangeFixture(i + 1));
const big = 'lorem ipsum dolor sit amet '.repeat(Number(process.env.BODYK ?? 40));
for (const x of fx) { x.response.body = big; x.request.raw = big.slice(0, 400); }
const settings = process.env.NOSET ? undefined : { os_thread_priority: 19, input_format_parallel_parsing: 0, max_insert_threads: 1, optimize_on_insert: 0 };
const writer = createEventWriter({ client, dataDir, rows: { storeBodies: !process.env.NOBODIES, maxBodyBytes: 32768 }, logger: createLogger('warn'),
  batchSize: Number(process.env.BATCH ?? 50000), flushMs: Number(process.env.FLUSH ?? 5000), insertSettings: settings });
const rate = Number(process.env.RATE ?? 3000); // rows/s
const t0ticks = threadTicks();
const c0 = cpu(); const t0 = performance.now();
let n = 0;
while (n < rows) {
  const due = Math.min(rows, Math.floor(((performance.now() - t0) / 1000) * rate));
  while (n < due) writer.record(fx[n++]!);
  await new Promise((r) => setTimeout(r, 5));
}
const cb = cpu();
if (process.env.THREADS) { const a = threadTicks(); console.log(Object.entries(a).map(([k, v]) => [k, v - (t0ticks[k] ?? 0)] as const).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k}=${v * 10}ms`).join(' ')); }
await writer.close();
// wait for merges to settle a bit
const c1 = cpu(); const el = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 3000));
const c2 = cpu();
const rs = await client.query({ query: "SELECT count() n, (SELECT count() FROM system.parts WHERE database='watchllm' AND active) p FROM watchllm.requests", format: 'JSONEachRow' });
console.log(process.env.LABEL, JSON.stringify(await rs.json()), 'pre-close', ((cb - c0) / rows).toFixed(1), 'cpu µs/row during', ((c1 - c0) / rows).toFixed(1), '+after 3s', ((c2 - c1) / rows).toFixed(1), 'elapsed', el.toFixed(1));
await client.close(); rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
