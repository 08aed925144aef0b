import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchangeFixture } from './src/events/fixtures.ts';
import { createClickHouse, migrate, toRow } from './src/events/index.ts';
import { encodeRequestRow, REQUEST_COLUMNS } from './src/events/row.ts';
import { insertLines } from './src/events/client.ts';
function ticks(): Record<string, number> { const agg: Record<string, number> = {}; for (const t of readdirSync('/proc/self/task')) { const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); agg[`${comm}:${t}`] = Number(f[11]) + Number(f[12]); } return agg; }
const dataDir = mkdtempSync(join(tmpdir(), 'xi-'));
const client = createClickHouse({ dataDir });
await migrate(client);
await client.command({ query: `CREATE TABLE watchllm.nulltab AS watchllm.requests ENGINE = Null` });
await client.command({ query: `CREATE TABLE watchllm.plain AS watchllm.requests ENGINE = MergeTree ORDER BY (project, ts, request_id)` });
const rows = Number(process.env.ROWS ?? 20000);
const big = process.env.BODY === 'json' ? JSON.stringify({ model: 'gpt-4o-mini', messages: Array.from({ length: 8 }, (_, i) => ({ role: 'user', content: `Say twenty words, please, number ${i}.` })) }) : 'lorem ipsum dolor sit amet '.repeat(40);
function batch(bodies: boolean): Buffer {
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) { const x = exchangeFixture(i); if (bodies) { x.response.body = big; x.request.raw = big; } else { x.response.body = ''; x.request.raw = ''; } lines.push(encodeRequestRow(toRow(x, { storeBodies: true }))); }
  return Buffer.from(lines.join('\n') + '\n');
}
const settings = { os_thread_priority: 19, input_format_parallel_parsing: 0, max_insert_threads: 1, optimize_on_insert: 0 };
for (const table of ['nulltab', 'plain', 'requests', 'nulltab', 'plain', 'requests']) for (const bodies of [false, true]) {
  const body = batch(bodies);
  const t0 = ticks(); const w = performance.now();
  let n = 0;
  for (let k = 0; k < 5; k++) { await insertLines(client, { table: `watchllm.${table}`, columns: [...REQUEST_COLUMNS], format: 'JSONCompactEachRow', settings: { ...settings, insert_deduplication_token: `${table}${bodies}${k}${Math.random()}` }, body }); n += rows; }
  const t1 = ticks(); let tot = 0; for (const k in t1) tot += t1[k]! - (t0[k] ?? 0);
  console.log(table, bodies ? 'bodies' : 'nobodies', 'bytes/row', (body.length / rows).toFixed(0), 'µs/row', ((tot * 10000) / n).toFixed(1), 'wall', ((performance.now() - w) * 1000 / n).toFixed(1));
}
await client.close(); rmSync(dataDir, { recursive: true, force: true }); process.exit(0);
