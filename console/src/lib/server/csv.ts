/**
 * CSV (RFC 4180) for spreadsheets: fields with a comma, quote or line break are quoted, and a text
 * field a spreadsheet would read as a formula (=, +, -, @, tab, CR first) is prefixed with `'`, so a
 * user name or model chosen by a client cannot run in the reader's spreadsheet (OWASP: CSV injection).
 */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

function field(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
