import { anthropicUsage, usageFromOpenai, type Usage } from '@watchllm/providers';

/** The stream format the client receives. */
export type ClientStreamFormat = 'openai-chat' | 'openai-responses' | 'anthropic';

/** Text kept for a fallback token estimate; beyond this the estimate scales from what was kept. */
const MAX_TEXT_CHARS = 2_000_000;

/**
 * Watches the events a client receives and learns usage, finish reason, the answer text (for a
 * fallback estimate and post-response policies) and whether the stream ended properly.
 * Each event's JSON is parsed once here; nothing is re-serialised.
 */
export class StreamTap {
  usage: Usage | null = null;
  finishReason: string | null = null;
  /** The provider's proper end of stream was seen ([DONE], response.completed, message_stop, or a finish reason). */
  terminal = false;
  events = 0;
  private readonly text: string[] = [];
  private textChars = 0;
  /** Anthropic's usage arrives in message_start and is updated by message_delta. */
  private anthropicUsage: Record<string, unknown> | null = null;

  constructor(
    readonly format: ClientStreamFormat,
    /** Called with each piece of answer text as it is seen (post-response policies scan it). */
    private readonly onText: ((delta: string) => void) | null = null,
  ) {}

  /** Observe one event; returns the parsed JSON (undefined for [DONE] or non-JSON data). */
  observe(event: string | undefined, data: string): unknown {
    this.events++;
    if (data === '[DONE]') {
      this.terminal = true;
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return undefined;
    }
    this.observeParsed(event, json);
    return json;
  }

  observeParsed(event: string | undefined, json: unknown): void {
    if (json === null || typeof json !== 'object') return;
    const o = json as Record<string, unknown>;
    switch (this.format) {
      case 'openai-chat':
        return this.chat(o);
      case 'openai-responses':
        return this.responses(event ?? (o['type'] as string | undefined), o);
      case 'anthropic':
        return this.anthropicEvent(event, o);
    }
  }

  /** The collected answer text. */
  answerText(): string {
    return this.text.join('');
  }

  private chat(o: Record<string, unknown>): void {
    const u = usageFromOpenai(o['usage']);
    if (u) this.usage = u;
    const choices = o['choices'];
    if (!Array.isArray(choices)) return;
    for (const c of choices as Array<Record<string, unknown> | null>) {
      if (!c) continue;
      if (typeof c['finish_reason'] === 'string') this.finishReason = c['finish_reason'];
      const delta = c['delta'] as Record<string, unknown> | undefined;
      if (delta) {
        this.keep(delta['content']);
        this.keep(delta['reasoning_content']);
        const calls = delta['tool_calls'];
        if (Array.isArray(calls)) for (const t of calls) this.keep((t as { function?: { arguments?: unknown } })?.function?.arguments);
      } else this.keep(c['text']);
    }
  }

  private responses(type: string | undefined, o: Record<string, unknown>): void {
    if (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta') {
      this.keep(o['delta']);
    } else if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const r = o['response'] as Record<string, unknown> | undefined;
      const u = usageFromOpenai(r?.['usage']);
      if (u) this.usage = u;
      this.finishReason = typeof r?.['status'] === 'string' ? r['status'] : type.slice('response.'.length);
      this.terminal = true;
    }
  }

  private anthropicEvent(event: string | undefined, o: Record<string, unknown>): void {
    const type = event ?? o['type'];
    if (type === 'message_start') {
      const m = o['message'] as { usage?: Record<string, unknown> } | undefined;
      this.anthropicUsage = { ...m?.usage };
    } else if (type === 'message_delta') {
      // message_delta carries cumulative counts; a null field means "unchanged", not zero.
      const merged: Record<string, unknown> = { ...this.anthropicUsage };
      for (const [k, v] of Object.entries((o['usage'] as Record<string, unknown> | undefined) ?? {})) if (v != null) merged[k] = v;
      this.anthropicUsage = merged;
      const d = o['delta'] as { stop_reason?: unknown } | undefined;
      if (typeof d?.stop_reason === 'string') this.finishReason = d.stop_reason;
    } else if (type === 'content_block_delta') {
      const d = o['delta'] as Record<string, unknown> | undefined;
      this.keep(d?.['text'] ?? d?.['partial_json'] ?? d?.['thinking']);
    } else if (type === 'message_stop') {
      this.terminal = true;
    }
    if (this.anthropicUsage && (type === 'message_start' || type === 'message_delta')) {
      this.usage = anthropicUsage({ usage: this.anthropicUsage });
    }
  }

  private keep(v: unknown): void {
    if (typeof v !== 'string' || v.length === 0) return;
    this.onText?.(v);
    if (this.textChars > MAX_TEXT_CHARS) return;
    this.text.push(v);
    this.textChars += v.length;
  }
}
