import { mapText, type StreamFilters } from '@watchllm/policies';
import { TEXT, textKey, type ContentSpan } from './tap.ts';

/** Where a chat choice's held text goes back into a delta. */
type ChatField = { field: 'content' | 'refusal' | 'text' | 'transcript' } | { field: 'reasoning'; names: Set<string> } | { field: 'tool'; call: number };

/**
 * An Anthropic content block whose text is filtered: the delta type and the member that carries it.
 * Not thinking: its block is signed, and the provider refuses a changed one when it comes back in a
 * later turn (policies text.ts, keyMode); it is scanned as it passes (a deny still cuts).
 */
const BLOCK_DELTAS = {
  text_delta: 'text',
  input_json_delta: 'partial_json',
} as const;
type BlockDelta = keyof typeof BLOCK_DELTAS;

/**
 * The Responses API's streamed texts: the delta event and the done event of each kind, the member of
 * the done event that repeats the whole text, and which index tells its parts apart.
 */
const RESPONSES_TEXTS = [
  { kind: TEXT.answer, delta: 'response.output_text.delta', done: 'response.output_text.done', field: 'text', part: 'content_index' },
  { kind: TEXT.refusal, delta: 'response.refusal.delta', done: 'response.refusal.done', field: 'refusal', part: 'content_index' },
  { kind: TEXT.reasoning, delta: 'response.reasoning_text.delta', done: 'response.reasoning_text.done', field: 'text', part: 'content_index' },
  { kind: TEXT.summary, delta: 'response.reasoning_summary_text.delta', done: 'response.reasoning_summary_text.done', field: 'text', part: 'summary_index' },
  { kind: TEXT.tool, delta: 'response.function_call_arguments.delta', done: 'response.function_call_arguments.done', field: 'arguments', part: null },
] as const;
type ResponsesText = (typeof RESPONSES_TEXTS)[number];
const RESPONSES_BY_EVENT = new Map<string, { text: ResponsesText; done: boolean }>(
  RESPONSES_TEXTS.flatMap((t) => [
    [t.delta, { text: t, done: false }],
    [t.done, { text: t, done: true }],
  ]),
);

/**
 * Runs the texts of parsed stream events through the post-response stream filters
 * (@watchllm/policies stream-filter.ts), in place: what could still become a match is held back and
 * sent later, matches of `redact` policies leave as placeholders. Every text an answer carries is
 * filtered, as a complete answer's are: the answer (OpenAI chat `delta.content`, legacy completions
 * `text`, Responses `output_text`, Anthropic `text_delta`), reasoning (`reasoning_content` /
 * `reasoning`, Responses reasoning text and summaries; not Anthropic's signed thinking), refusals, and tool-call
 * arguments (chat `tool_calls[].function.arguments`, Anthropic `input_json_delta`, Responses
 * function-call arguments). Each text ends with what its filter still held, in the event that ends
 * it (a choice's finish chunk, a block's content_block_stop, a Responses `…done` event). Logprobs,
 * which repeat the text token by token before it is checked, are dropped. Pure: no I/O.
 */
export class StreamTextRewriter {
  /** Chat: each choice's texts under way (textKey to where its rest goes). */
  private readonly choices = new Map<number, Map<number, ChatField>>();
  /** Anthropic content blocks whose text is filtered, with their delta type. */
  private readonly blocks = new Map<number, BlockDelta>();
  /** Responses API texts (by textKey): the text sent for each. */
  private readonly parts = new Map<number, string[]>();
  /** Responses API texts whose filter has let out everything it held. */
  private readonly ended = new Set<number>();
  /** Responses API events the rewriter added so far: every later event's sequence_number moves up by as many. */
  private added = 0;
  /** Filters of texts that come whole (once()): each its own, keyed below every textKey. */
  private wholeTexts = 0;

  constructor(private readonly filters: StreamFilters) {}

  get redacts(): boolean {
    return this.filters.redacts;
  }

  /**
   * An OpenAI chat.completion.chunk: each text of each choice goes through its filter, and a choice's
   * finish chunk carries whatever its filters still held; its logprobs become null. Returns true when
   * the chunk changed.
   */
  chatChunk(chunk: unknown): boolean {
    const choices = isRecord(chunk) ? chunk['choices'] : undefined;
    if (!Array.isArray(choices)) return false;
    let changed = false;
    choices.forEach((c, at) => {
      if (!isRecord(c)) return;
      if (c['logprobs'] !== null && c['logprobs'] !== undefined) {
        c['logprobs'] = null;
        changed = true;
      }
      const choice = typeof c['index'] === 'number' ? c['index'] : at;
      if (!isRecord(c['delta']) && typeof c['text'] === 'string') {
        // The legacy completions stream: a choice's text rides in `text`, not in a delta.
        changed = this.completionChoice(c, choice) || changed;
        return;
      }
      const finished = c['finish_reason'] !== null && c['finish_reason'] !== undefined;
      if (!isRecord(c['delta'])) {
        if (!finished || !this.choices.has(choice)) return;
        c['delta'] = {};
      }
      const delta = c['delta'] as Record<string, unknown>;
      changed = this.chatDelta(choice, delta) || changed;
      if (finished) changed = this.chatEnd(choice, delta) || changed;
    });
    return changed;
  }

  /** The texts of one choice's delta, each through its filter. */
  private chatDelta(choice: number, delta: Record<string, unknown>): boolean {
    let changed = false;
    const put = (name: string, key: number, field: ChatField): void => {
      const v = delta[name];
      if (typeof v !== 'string' || v === '') return;
      delta[name] = this.push(key, v);
      this.open(choice, key, field);
      changed = true;
    };
    put('content', textKey(choice, 0, TEXT.answer), { field: 'content' });
    // `reasoning_content` and `reasoning` (tap.ts): one text when a provider sends both alike
    const rc = delta['reasoning_content'];
    const r = delta['reasoning'];
    const reasoningKey = textKey(choice, 0, TEXT.reasoning);
    if (typeof rc === 'string' && rc !== '' && r === rc) {
      const out = this.push(reasoningKey, rc);
      delta['reasoning_content'] = delta['reasoning'] = out;
      this.open(choice, reasoningKey, { field: 'reasoning', names: new Set(['reasoning_content', 'reasoning']) });
      changed = true;
    } else {
      put('reasoning_content', reasoningKey, { field: 'reasoning', names: new Set(['reasoning_content']) });
      if (typeof rc === 'string') put('reasoning', textKey(choice, 1, TEXT.reasoning), { field: 'reasoning', names: new Set(['reasoning']) });
      else put('reasoning', reasoningKey, { field: 'reasoning', names: new Set(['reasoning']) });
    }
    put('refusal', textKey(choice, 0, TEXT.refusal), { field: 'refusal' });
    // an audio answer's transcript (the audio itself cannot be masked)
    const audio = delta['audio'];
    if (isRecord(audio) && typeof audio['transcript'] === 'string' && audio['transcript'] !== '') {
      const key = textKey(choice, 0, TEXT.transcript);
      audio['transcript'] = this.push(key, audio['transcript']);
      this.open(choice, key, { field: 'transcript' });
      changed = true;
    }
    const calls = delta['tool_calls'];
    if (Array.isArray(calls)) {
      calls.forEach((t, i) => {
        const fn = isRecord(t) ? t['function'] : undefined;
        if (!isRecord(fn) || typeof fn['arguments'] !== 'string' || fn['arguments'] === '') return;
        const call = typeof t['index'] === 'number' ? t['index'] : i;
        const key = textKey(choice, call + 1, TEXT.tool);
        fn['arguments'] = this.push(key, fn['arguments']);
        this.open(choice, key, { field: 'tool', call });
        changed = true;
      });
    }
    return changed;
  }

  /** A choice is finished: what each of its filters still held goes into `delta`. */
  private chatEnd(choice: number, delta: Record<string, unknown>): boolean {
    const open = this.choices.get(choice);
    if (open === undefined) return false;
    this.choices.delete(choice);
    let changed = false;
    for (const [key, f] of open) {
      const rest = this.end(key);
      if (rest === '') continue;
      changed = true;
      if (f.field === 'transcript') {
        const audio = isRecord(delta['audio']) ? delta['audio'] : (delta['audio'] = {});
        audio['transcript'] = (typeof audio['transcript'] === 'string' ? audio['transcript'] : '') + rest;
        continue;
      }
      if (f.field === 'tool') {
        const calls = Array.isArray(delta['tool_calls']) ? (delta['tool_calls'] as unknown[]) : (delta['tool_calls'] = []);
        const same = calls.find((t) => isRecord(t) && t['index'] === f.call && isRecord(t['function']));
        if (same) {
          const fn = (same as Record<string, Record<string, unknown>>)['function']!;
          fn['arguments'] = (typeof fn['arguments'] === 'string' ? fn['arguments'] : '') + rest;
        } else calls.push({ index: f.call, function: { arguments: rest } });
        continue;
      }
      for (const name of f.field === 'reasoning' ? f.names : [f.field]) {
        delta[name] = (typeof delta[name] === 'string' ? delta[name] : '') + rest;
      }
    }
    return changed;
  }

  private open(choice: number, key: number, field: ChatField): void {
    let open = this.choices.get(choice);
    if (!open) this.choices.set(choice, (open = new Map()));
    const known = open.get(key);
    if (known?.field === 'reasoning' && field.field === 'reasoning') for (const n of field.names) known.names.add(n);
    else if (known === undefined) open.set(key, field);
  }

  /** One choice of a legacy completions chunk (`choices[].text`), filtered like a chat delta. */
  private completionChoice(c: Record<string, unknown>, choice: number): boolean {
    const given = c['text'] as string;
    const key = textKey(choice, 0, TEXT.completion);
    const out: Record<string, unknown> = { text: given === '' ? '' : this.push(key, given) };
    if (given !== '') this.open(choice, key, { field: 'text' });
    if (c['finish_reason'] !== null && c['finish_reason'] !== undefined) this.chatEnd(choice, out);
    if (out['text'] === given) return false;
    c['text'] = out['text'];
    return true;
  }

  /**
   * A chat stream ended ([DONE]) without a finish reason for some choice: one chunk per choice with
   * what its filters still hold, to send before the end (a provider that omits finish reasons still
   * gets its last words out). Empty when nothing is held.
   */
  chatRest(ctx: { id: string; created: number; model: string }): Array<{ data: Record<string, unknown> }> {
    const out: Array<{ data: Record<string, unknown> }> = [];
    for (const [index, open] of [...this.choices]) {
      // a legacy completions stream's choice gets a text_completion chunk
      const completion = [...open.values()].some((f) => f.field === 'text');
      const delta: Record<string, unknown> = {};
      if (!this.chatEnd(index, delta)) continue;
      const head = { id: ctx.id, object: completion ? 'text_completion' : 'chat.completion.chunk', created: ctx.created, model: ctx.model };
      const choice = completion ? { index, text: delta['text'], logprobs: null, finish_reason: null } : { index, delta, finish_reason: null };
      out.push({ data: { ...head, choices: [choice] } });
    }
    return out;
  }

  /**
   * The text of a chat chunk read without parsing it (StreamTap.observeContent), for choice 0:
   * returns the chunk's data with what may be sent now in place of its content.
   */
  chatData(data: string, span: ContentSpan): string {
    if (span.text === '') return data;
    const key = textKey(0, 0, TEXT.answer);
    const out = this.push(key, span.text);
    this.open(0, key, { field: 'content' });
    return data.slice(0, span.start) + JSON.stringify(out).slice(1, -1) + data.slice(span.end);
  }

  /**
   * An Anthropic stream event. Returns null when it passes unchanged, or the events to send in its
   * place: itself rewritten, and before the content_block_stop of a block with filtered text (text,
   * a tool call's input JSON), one more delta of its type with what its filter still held.
   */
  anthropicEvent(o: unknown): Array<Record<string, unknown>> | null {
    if (!isRecord(o)) return null;
    const index = typeof o['index'] === 'number' ? o['index'] : 0;
    switch (o['type']) {
      case 'content_block_start': {
        const block = o['content_block'];
        if (!isRecord(block)) return null;
        if (block['type'] !== 'text') {
          // a block that comes whole (a web search's results, a server tool's output): its texts
          // masked as a complete answer's are (signed thinking, ids, URLs and data left as they are)
          const masked = this.maskWhole(block);
          if (masked === block) return null;
          o['content_block'] = masked;
          return [o];
        }
        this.blocks.set(index, 'text_delta');
        if (typeof block['text'] !== 'string' || block['text'] === '') return null;
        block['text'] = this.push(blockKey(index, 'text_delta'), block['text']);
        return [o];
      }
      case 'content_block_delta': {
        const delta = o['delta'];
        const type = isRecord(delta) ? delta['type'] : undefined;
        if (type === 'citations_delta' && isRecord((delta as Record<string, unknown>)['citation'])) {
          // a citation comes whole: the text it quotes, the document's title
          const d = delta as Record<string, unknown>;
          const masked = this.maskWhole(d['citation']);
          if (masked === d['citation']) return null;
          d['citation'] = masked;
          return [o];
        }
        if (typeof type !== 'string' || !(type in BLOCK_DELTAS)) return null;
        const member = BLOCK_DELTAS[type as BlockDelta];
        const d = delta as Record<string, unknown>;
        if (typeof d[member] !== 'string') return null;
        this.blocks.set(index, type as BlockDelta);
        d[member] = this.push(blockKey(index, type as BlockDelta), d[member]);
        return [o];
      }
      case 'content_block_stop': {
        const type = this.blocks.get(index);
        if (type === undefined) return null;
        this.blocks.delete(index);
        const rest = this.blockRest(index, type);
        return rest === null ? null : [rest, o];
      }
      case 'message_delta':
      case 'message_stop': {
        // a provider that ends the message without closing a block: what its filter held goes first
        const rests: Array<Record<string, unknown>> = [];
        for (const [open, type] of this.blocks) {
          const rest = this.blockRest(open, type);
          if (rest !== null) rests.push(rest);
        }
        this.blocks.clear();
        return rests.length === 0 ? null : [...rests, o];
      }
      default:
        return null;
    }
  }

  /**
   * A Responses API event. Deltas of every text (output_text, refusal, reasoning text and summary,
   * function-call arguments) go through their filters; the events that repeat a whole text (its
   * `…done` event, content_part.done, reasoning_summary_part.done, output_item.done,
   * response.completed / incomplete) get the text as sent, and a `…done` event is preceded by one
   * more delta with what the filter still held. Sequence numbers stay unique and in order: an added
   * event takes the number of the event it precedes, and every event after it moves up by one (SDKs
   * resume a stream with `starting_after` and drop repeated numbers). Null when it passes unchanged.
   */
  responsesEvent(o: unknown): Array<Record<string, unknown>> | null {
    if (!isRecord(o)) return null;
    const seq = o['sequence_number'];
    const numbered = typeof seq === 'number';
    if (numbered && this.added > 0) o['sequence_number'] = seq + this.added;
    const out = this.responsesText(o);
    if (out !== null && out.length > 1 && numbered) {
      const first = o['sequence_number'] as number;
      out.forEach((e, i) => (e['sequence_number'] = first + i));
      this.added += out.length - 1;
    }
    return out ?? (numbered && this.added > 0 ? [o] : null);
  }

  private responsesText(o: Record<string, unknown>): Array<Record<string, unknown>> | null {
    if (typeof o['type'] !== 'string') return null;
    const type = o['type'];
    const output = typeof o['output_index'] === 'number' ? o['output_index'] : 0;
    const known = RESPONSES_BY_EVENT.get(type);
    if (known !== undefined) {
      const { text, done } = known;
      const part = text.part !== null && typeof o[text.part] === 'number' ? (o[text.part] as number) : 0;
      const key = textKey(output, part, text.kind);
      const answer = text.kind === TEXT.answer;
      if (!done) {
        if (typeof o['delta'] !== 'string') return null;
        const out = this.push(key, o['delta']);
        this.partText(key).push(out);
        o['delta'] = out;
        dropLogprobs(o);
        return [o];
      }
      const sent = this.parts.get(key);
      if (sent === undefined) {
        // a text that came whole, with no deltas before it
        if (typeof o[text.field] !== 'string') return null;
        o[text.field] = this.whole(key, o[text.field] as string);
        dropLogprobs(o);
        return [o];
      }
      const rest = this.finish(key);
      o[text.field] = sent.join('');
      dropLogprobs(o);
      if (rest === '') return [o];
      const { item_id, output_index, sequence_number } = o;
      const index = text.part === null ? {} : { [text.part]: o[text.part] };
      const more: Record<string, unknown> = { type: text.delta, item_id, output_index, ...index, delta: rest };
      if (answer) more['logprobs'] = [];
      more['sequence_number'] = sequence_number;
      return [more, o];
    }
    switch (type) {
      case 'response.content_part.done':
        return this.contentPart(output, typeof o['content_index'] === 'number' ? o['content_index'] : 0, o['part']) ? [o] : null;
      case 'response.reasoning_summary_part.done': {
        const part = o['part'];
        if (!isRecord(part) || typeof part['text'] !== 'string') return null;
        part['text'] = this.whole(textKey(output, typeof o['summary_index'] === 'number' ? o['summary_index'] : 0, TEXT.summary), part['text']);
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

  /** A message's content part (output_text or refusal), or a reasoning item's reasoning_text, gets the text as sent. */
  private contentPart(output: number, j: number, part: unknown): boolean {
    if (!isRecord(part)) return false;
    const [kind, field] =
      part['type'] === 'output_text' ? [TEXT.answer, 'text'] : part['type'] === 'refusal' ? [TEXT.refusal, 'refusal'] : part['type'] === 'reasoning_text' ? [TEXT.reasoning, 'text'] : [null, ''];
    if (kind === null || typeof part[field] !== 'string') return false;
    part[field] = this.whole(textKey(output, j, kind), part[field]);
    if (kind === TEXT.answer) dropLogprobs(part);
    return true;
  }

  /** An output item's texts (content parts, summary parts, a function call's arguments) get the text as sent. */
  private item(output: number, item: unknown): boolean {
    if (!isRecord(item)) return false;
    let changed = false;
    const content = item['content'];
    if (Array.isArray(content)) content.forEach((part, j) => (changed = this.contentPart(output, j, part) || changed));
    const summary = item['summary'];
    if (Array.isArray(summary)) {
      summary.forEach((part, j) => {
        if (!isRecord(part) || typeof part['text'] !== 'string') return;
        part['text'] = this.whole(textKey(output, j, TEXT.summary), part['text']);
        changed = true;
      });
    }
    if (item['type'] === 'function_call' && typeof item['arguments'] === 'string') {
      item['arguments'] = this.whole(textKey(output, 0, TEXT.tool), item['arguments']);
      changed = true;
    }
    return changed;
  }

  /**
   * A Responses text as the client was sent it, for an event that repeats it whole: what its deltas
   * let out (and its filter still held), or, for a text that never came as deltas, `given` filtered
   * whole (and kept, so every later event that repeats it agrees).
   */
  private whole(key: number, given: string): string {
    let sent = this.parts.get(key);
    if (sent === undefined) {
      this.parts.set(key, (sent = []));
      sent.push(this.push(key, given));
    }
    this.finish(key);
    return sent.join('');
  }

  /** A Responses text is complete: its filter's rest joins what was sent (once); returns the rest. */
  private finish(key: number): string {
    if (this.ended.has(key)) return '';
    this.ended.add(key);
    const rest = this.end(key);
    if (rest !== '') this.partText(key).push(rest);
    return rest;
  }

  private partText(key: number): string[] {
    let sent = this.parts.get(key);
    if (!sent) this.parts.set(key, (sent = []));
    return sent;
  }

  /** An Anthropic block's text is complete: one more delta of its type with what its filter held, or null. */
  private blockRest(index: number, type: BlockDelta): Record<string, unknown> | null {
    const rest = this.end(blockKey(index, type));
    return rest === '' ? null : { type: 'content_block_delta', index, delta: { type, [BLOCK_DELTAS[type]]: rest } };
  }

  /**
   * A value that comes whole (a citation, a server tool's result block): its texts masked as a
   * complete answer's are (policies mapText: ids, URLs, data and signed thinking left as they are),
   * each by a filter of its own. The same value when nothing changed.
   */
  private maskWhole(value: unknown): unknown {
    return (mapText({ content: [value] }, ['content'], (t) => this.once(t))['content'] as unknown[])[0];
  }

  /** A text that comes whole (a citation, a tool result): filtered at once by a filter of its own. */
  private once(text: string): string {
    const key = -++this.wholeTexts;
    return this.push(key, text) + this.end(key);
  }

  /** Text `key`'s filter takes `text`: what it lets out now. */
  private push(key: number, text: string): string {
    return this.filters.text(key).push(text);
  }

  /** Text `key` is complete: what its filter still held. */
  private end(key: number): string {
    return this.filters.text(key).end();
  }

}

/** Anthropic: one filter per content block and kind of text. */
function blockKey(index: number, type: BlockDelta): number {
  return textKey(index, 0, type === 'text_delta' ? TEXT.answer : TEXT.tool);
}

/** A Responses event or output_text part keeps its `logprobs` field (an array), emptied. */
function dropLogprobs(o: Record<string, unknown>): void {
  if (Array.isArray(o['logprobs'])) o['logprobs'] = [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
