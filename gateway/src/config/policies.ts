import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parsePolicies, type CompiledPolicySet } from '@watchllm/policies';
import { LineCounter, parseDocument } from 'yaml';
import type { Logger } from '../log.ts';
import { ConfigError, locate } from './load.ts';

/**
 * Compiles the `policies:` list of a YAML file (watchllm.yaml, or a separate policies file whose root
 * is `policies:` or the list itself). Problems are reported with file, line and reason.
 */
export function compilePoliciesText(text: string, source: string): CompiledPolicySet | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  const list = Array.isArray(value) ? value : (value as { policies?: unknown } | null)?.policies;
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) return null;
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

  reload(path: string, log: Logger): boolean {
    try {
      this.current = compilePoliciesText(readFileSync(path, 'utf8'), path);
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
