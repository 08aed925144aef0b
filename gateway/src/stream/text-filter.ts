import type { StreamFilters } from '@watchllm/policies';
import type { ContentSpan } from './tap.ts';

/**
 * Runs the answer text of parsed stream events through the post-response stream filters
 * (@watchllm/policies stream-filter.ts), in place: what could still become a match is held back and
 * sent later, matches of `redact` policies leave as placeholders. Only the answer text is rewritten
 * (OpenAI chat `delta.content`, Responses `output_text`, Anthropic `text_delta`); reasoning and tool
 * arguments are scanned, and cut by a deny, but pass as they come. Logprobs, which repeat the text
 * token by token before it is checked, are dropped. Pure: no I/O.
 */
export class StreamTextRewriter {
  /** Text sent to the client, in order, when a policy redacts it (then it is the stored answer). */
  readonly sent: string[] = [];
  /** Anthropic content blocks that hold text. */
  private readonly textBlocks = new Set<number>();
  /** Responses API output_text parts (by output and content index): the text sent for each. */
  private readonly parts = new Map<number, string[]>();

  constructor(private readonly filters: StreamFilters) {}

  get redacts(): boolean {
    return this.filters.redacts;
  }

  /**
   * An OpenAI chat.completion.chunk: each choice's content goes through its filter, and a choice's
   * finish chunk carries whatever its filter still held; its logprobs become null. Returns true when
   * the chunk changed.
   */
  chatChunk(chunk: unknown): boolean {
    const choices = isRecord(chunk) ? chunk['choices'] : undefined;
    if (!Array.isArray(choices)) return false;
    let changed = false;
    for (const c of choices) {
      if (!isRecord(c)) continue;
      if (c['logprobs'] !== null && c['logprobs'] !== undefined) {
        c['logprobs'] = null;
        changed = true;
      }
      const key = typeof c['index'] === 'number' ? c['index'] : 0;
      if (!isRecord(c['delta']) && typeof c['text'] === 'string') {
        // The legacy completions stream: a choice's text rides in `text`, not in a delta.
        changed = this.completionChoice(c, key) || changed;
        continue;
      }
      let delta = c['delta'];
      const content = isRecord(delta) ? delta['content'] : undefined;
      let text = typeof content === 'string' && content !== '' ? this.push(key, content) : null;
      const finished = c['finish_reason'] !== null && c['finish_reason'] !== undefined;
      if (finished) text = (text ?? '') + this.end(key);
      if (text === null) continue;
      if (!isRecord(delta)) c['delta'] = delta = {};
      if (text === '' && content === undefined) continue;
      (delta as Record<string, unknown>)['content'] = text;
      changed = true;
    }
    return changed;
  }

  /** One choice of a legacy completions chunk (`choices[].text`), filtered like a chat delta. */
  private completionChoice(c: Record<string, unknown>, key: number): boolean {
    const given = c['text'] as string;
    let text = given === '' ? '' : this.push(key, given);
    if (c['finish_reason'] !== null && c['finish_reason'] !== undefined) text += this.end(key);
    if (text === given) return false;
    c['text'] = text;
    return true;
  }

  /**
   * A chat stream ended ([DONE]) without a finish reason for some choice: one chunk per choice with
   * what its filter still holds, to send before the end (a provider that omits finish reasons still
   * gets its last words out). Empty when nothing is held.
   */
  chatRest(ctx: { id: string; created: number; model: string }): Array<{ data: Record<string, unknown> }> {
    const out: Array<{ data: Record<string, unknown> }> = [];
    for (const index of this.filters.keys()) {
      const text = this.end(index);
      if (text === '') continue;
      const choices = [{ index, delta: { content: text }, finish_reason: null }];
      out.push({ data: { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model, choices } });
    }
    return out;
  }

  /**
   * The text of a chat chunk read without parsing it (StreamTap.observeContent), for choice 0:
   * returns the chunk's data with what may be sent now in place of its content.
   */
  chatData(data: string, span: ContentSpan): string {
    if (span.text === '') return data;
    const out = this.push(0, span.text);
    return data.slice(0, span.start) + JSON.stringify(out).slice(1, -1) + data.slice(span.end);
  }

  /**
   * An Anthropic stream event. Returns null when it passes unchanged, or the events to send in its
   * place: itself rewritten, and before a text block's content_block_stop, one more text_delta with
   * what its filter still held.
   */
  anthropicEvent(o: unknown): Array<Record<string, unknown>> | null {
    if (!isRecord(o)) return null;
    const index = typeof o['index'] === 'number' ? o['index'] : 0;
    switch (o['type']) {
      case 'content_block_start': {
        const block = o['content_block'];
        if (!isRecord(block) || block['type'] !== 'text') return null;
        this.textBlocks.add(index);
        if (typeof block['text'] !== 'string' || block['text'] === '') return null;
        block['text'] = this.push(index, block['text']);
        return [o];
      }
      case 'content_block_delta': {
        const delta = o['delta'];
        if (!isRecord(delta) || delta['type'] !== 'text_delta' || typeof delta['text'] !== 'string') return null;
        this.textBlocks.add(index);
        delta['text'] = this.push(index, delta['text']);
        return [o];
      }
      case 'content_block_stop': {
        if (!this.textBlocks.delete(index)) return null;
        const rest = this.end(index);
        if (rest === '') return null;
        return [{ type: 'content_block_delta', index, delta: { type: 'text_delta', text: rest } }, o];
      }
      default:
        return null;
    }
  }

  /**
   * A Responses API event. Deltas go through the filter of their output_text part; the `done`
   * events that repeat the whole text (output_text.done, content_part.done, output_item.done,
   * response.completed) get the text as sent, and output_text.done is preceded by one more delta
   * with what the part's filter still held (same sequence_number). Null when it passes unchanged.
   */
  responsesEvent(o: unknown): Array<Record<string, unknown>> | null {
    if (!isRecord(o)) return null;
    const output = typeof o['output_index'] === 'number' ? o['output_index'] : 0;
    const key = partKey(output, typeof o['content_index'] === 'number' ? o['content_index'] : 0);
    switch (o['type']) {
      case 'response.output_text.delta': {
        if (typeof o['delta'] !== 'string') return null;
        const out = this.push(key, o['delta']);
        this.partText(key).push(out);
        o['delta'] = out;
        dropLogprobs(o);
        return [o];
      }
      case 'response.output_text.done': {
        const rest = this.end(key);
        const sent = this.partText(key);
        if (rest !== '') sent.push(rest);
        o['text'] = sent.join('');
        dropLogprobs(o);
        if (rest === '') return [o];
        const { item_id, output_index, content_index, sequence_number } = o;
        return [{ type: 'response.output_text.delta', item_id, output_index, content_index, delta: rest, logprobs: [], sequence_number }, o];
      }
      case 'response.content_part.done': {
        const part = o['part'];
        const sent = this.parts.get(key);
        if (!isRecord(part) || part['type'] !== 'output_text' || sent === undefined) return null;
        part['text'] = sent.join('');
        dropLogprobs(part);
        return [o];
      }
      case 'response.output_item.done':
        return this.item(output, o['item']) ? [o] : null;
      case 'response.completed':
      case 'response.incomplete': {
        const items = isRecord(o['response']) ? o['response']['output'] : undefined;
        if (!Array.isArray(items)) return null;
        let changed = false;
        items.forEach((item, i) => {
          if (this.item(i, item)) changed = true;
        });
        return changed ? [o] : null;
      }
      default:
        return null;
    }
  }

  /** An output item's output_text parts get the text as sent. */
  private item(output: number, item: unknown): boolean {
    const content = isRecord(item) ? item['content'] : undefined;
    if (!Array.isArray(content)) return false;
    let changed = false;
    content.forEach((part, j) => {
      const sent = this.parts.get(partKey(output, j));
      if (isRecord(part) && part['type'] === 'output_text' && sent !== undefined) {
        part['text'] = sent.join('');
        dropLogprobs(part);
        changed = true;
      }
    });
    return changed;
  }

  private partText(key: number): string[] {
    let sent = this.parts.get(key);
    if (!sent) this.parts.set(key, (sent = []));
    return sent;
  }

  /** Text `key`'s filter takes `text`; what it lets out now is recorded as sent. */
  private push(key: number, text: string): string {
    return this.record(this.filters.text(key).push(text));
  }

  /** Text `key` is complete: what its filter still held, recorded as sent. */
  private end(key: number): string {
    return this.record(this.filters.text(key).end());
  }

  private record(out: string): string {
    if (out !== '' && this.filters.redacts) this.sent.push(out);
    return out;
  }
}

/** A Responses event or output_text part keeps its `logprobs` field (an array), emptied. */
function dropLogprobs(o: Record<string, unknown>): void {
  if (Array.isArray(o['logprobs'])) o['logprobs'] = [];
}

/** One number per (output item, content part); no output has a thousand parts. */
function partKey(output: number, content: number): number {
  return output * 1000 + content;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
