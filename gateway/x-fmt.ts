import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchangeFixture } from './src/events/fixtures.ts';
import { createClickHouse, migrate, toRow } from './src/events/index.ts';
import { encodeRequestRow, REQUEST_COLUMNS } from './src/events/row.ts';
import { insertLines } from './src/events/client.ts';
function ticks(): number { let s = 0; for (const t of readdirSync('/proc/self/task')) { const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); s += Number(f[11]) + Number(f[12]); } return s; }
const dataDir = mkdtempSync(join(tmpdir(), 'xi-'));
const client = createClickHouse({ dataDir });
await migrate(client);
await client.command({ query: `CREATE TABLE watchllm.nulltab AS watchllm.requests ENGINE = Null` });
const rows = Number(process.env.ROWS ?? 20000);
const bodyKind = process.env.BODY ?? 'lorem';
const big = bodyKind === 'json' ? JSON.stringify({ model: 'gpt-4o-mini', messages: Array.from({ length: 16 }, (_, i) => ({ role: 'user', content: `Say twenty words, please, number ${i}.` })) }) : bodyKind === 'none' ? '' : 'lorem ipsum dolor sit amet '.repeat(40);
const esc = (s: string) => s.replace(/[\\\t\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : '\\n'));
function tsv(row: Record<string, unknown>): string {
  return REQUEST_COLUMNS.map((c) => { const v = row[c]; if (v === null) return '\\N'; if (typeof v === 'string') return esc(v); if (typeof v === 'object') return esc('{' + Object.entries(v as object).map(([k, x]) => `'${k}':'${x}'`).join(',') + '}'); return String(v); }).join('\t');
}
const objs = Array.from({ length: rows }, (_, i) => { const x = exchangeFixture(i + 1); x.response.body = big; x.request.raw = big; return toRow(x, { storeBodies: true }); });
const bodies: Record<string, Buffer> = {
  JSONCompactEachRow: Buffer.from(objs.map((r) => encodeRequestRow(r)).join('\n') + '\n'),
  TSV: Buffer.from(objs.map((r) => tsv(r as never)).join('\n') + '\n'),
};
for (let round = 0; round < 2; round++) for (const [format, body] of Object.entries(bodies)) {
  const t0 = ticks();
  for (let k = 0; k < 5; k++) await insertLines(client, { table: 'watchllm.nulltab', columns: [...REQUEST_COLUMNS], format, settings: { input_format_parallel_parsing: 0, insert_deduplication_token: `t${round}${k}${format}` }, body });
  console.log(bodyKind, format, 'bytes/row', (body.length / rows).toFixed(0), 'µs/row', ((ticks() - t0) * 10000 / (5 * rows)).toFixed(1));
}
await client.close(); rmSync(dataDir, { recursive: true, force: true }); process.exit(0);
