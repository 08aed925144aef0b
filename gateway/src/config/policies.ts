import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parsePolicies, type CompiledPolicySet } from '@watchllm/policies';
import { LineCounter, parseDocument } from 'yaml';
import type { Logger } from '../log.ts';
import { ConfigError, locate } from './load.ts';

/**
 * Compiles the `policies:` list of a YAML file (watchllm.yaml, or a separate policies file whose root
 * is `policies:` or the list itself). Problems are reported with file, line and reason.
 *
 * A file with no list (empty, `policies:` left blank, or a misspelt root such as `polices:`) has
 * no policies; with `requireList` it is refused instead, so that a half-saved or mistyped file
 * cannot silently drop every policy on reload. `policies: []` (or `[]`) always means "none".
 */
export function compilePoliciesText(
  text: string,
  source: string,
  opts: { requireList?: boolean } = {},
): CompiledPolicySet | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  const list = Array.isArray(value) ? value : (value as { policies?: unknown } | null)?.policies;
  if (list === undefined || list === null) {
    if (opts.requireList) {
      throw new ConfigError(`${source}: no policies list found (empty file, or no \`policies:\` key); write \`policies: []\` to remove every policy`);
    }
    return null;
  }
  if (Array.isArray(list) && list.length === 0) return null;
  const result = parsePolicies(Array.isArray(value) ? value : { policies: list });
  if (!result.ok) {
    throw new ConfigError(result.issues.map((i) => locate(i.path, i.message, doc, lines, source)).join('\n'));
  }
  return result.policies;
}

/**
 * The policies in force. Reloaded when their file changes; a bad file is refused (logged with line
 * and reason) and the last good policies stay in force. Requests read `current` once at their start,
 * so a reload never affects a call in flight.
 */
export class PolicySource {
  current: CompiledPolicySet | null;
  reloads = { ok: 0, failed: 0 };
  private watched: string | null = null;

  constructor(initial: CompiledPolicySet | null) {
    this.current = initial;
  }

  /** Loads from `path` now (throws on a bad file: the gateway refuses to start with it). */
  static fromFile(path: string): PolicySource {
    return new PolicySource(compilePoliciesText(readFileSync(path, 'utf8'), path));
  }

  /** Polls the file (robust to editors' atomic renames and Kubernetes ConfigMap symlink swaps). */
  watch(path: string, log: Logger, intervalMs = 500): void {
    this.watched = path;
    watchFile(path, { interval: intervalMs }, (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
      this.reload(path, log);
    });
  }

  /**
   * Re-reads `path`. While policies are in force, a file without a policies list is refused like a
   * syntax error (see compilePoliciesText); dropping them all takes an explicit `policies: []`.
   */
  reload(path: string, log: Logger): boolean {
    try {
      this.current = compilePoliciesText(readFileSync(path, 'utf8'), path, { requireList: this.current !== null });
      this.reloads.ok++;
      log.info({ path, policies: this.current?.policies.length ?? 0 }, 'policies reloaded');
      return true;
    } catch (e) {
      this.reloads.failed++;
      log.error({ path, reason: e instanceof Error ? e.message : String(e) }, 'policy file rejected; the previous policies stay in force');
      return false;
    }
  }

  close(): void {
    if (this.watched) unwatchFile(this.watched);
    this.watched = null;
  }
}
