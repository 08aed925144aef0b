import type { ServerResponse } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { createAnthropicUsageAccumulator, openaiUsageBase, type Price, type SseOut, type StreamTranslator, type TranslateContext, type Usage } from '@watchllm/providers';
import { errorBody, GatewayError, streamCutError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { writeRelayHead, writeSse } from '../http/respond.ts';
import type { ConfiguredProvider } from '../registry.ts';
import { carriesUsage, CompleteEvents, stripUsage } from '../stream/strip-usage.ts';
import { clientStreamFormat, SentLog, StreamTap, type OnText } from '../stream/tap.ts';
import { parseJson } from '../json.ts';
import { StreamTextRewriter } from '../stream/text-filter.ts';
import { estimateUsage } from '../usage/estimate.ts';
import { OutputTokenCount } from '../usage/output-count.ts';
import { streamGuard } from './policies.ts';
import { streamCostUsd } from './price.ts';
import type { CompiledPolicySet } from '@watchllm/policies';

export interface StreamOptions {
  cp: ConfiguredProvider;
  native: boolean;
  ctx: TranslateContext;
  /** The gateway asked for usage the client did not: keep the usage-only chunk from the client. */
  hideUsage: boolean;
  headers: Record<string, string>;
  /** Collects every event's data (hidden ones included, [DONE] excluded) for the cache. */
  capture: string[] | null;
  /** Post-response policies: the stream is scanned as it goes and cut by an enforced deny. */
  policies: CompiledPolicySet | null;
  /** Strict budgets: end the stream once its running cost reaches what the call reserved. */
  budget: StreamBudget | null;
  /** Keep the answer text on the exchange (stored bodies). */
  keepBody: boolean;
}

/** The most a stream may cost (what it reserved against its budgets) and how to price its text. */
export interface StreamBudget {
  capUsd: number;
  /** The prompt as the call reserved it, until the provider counts it (streamCostUsd). */
  promptUsd: number;
  /** USD per output token. */
  outputUsd: number;
  /** The model's price, for the prompt once the provider has counted it. */
  price: Price;
}

/** Why a stream ends before the provider is done. */
interface EarlyEnd {
  finish: 'content_filter' | 'length';
  outcome: 'denied_policy' | 'denied_limit';
  code: 'policy_denied' | 'budget_exceeded';
  reason: string;
}

/**
 * Pipes a provider's SSE stream to the client as it arrives. Three ways, cheapest first:
 * - raw: provider and client speak the same format and nothing is hidden: bytes are written as they
 *   come (up to the end of their last complete event), and a parser beside them (the tap) reads
 *   usage and the finish reason;
 * - filter: same format, but the usage chunk the gateway asked for is dropped; events are re-framed;
 * - translate: each provider event goes through the provider's translator to OpenAI chunks.
 * A TCP chunk is written as soon as its complete events are known: nothing waits for more input.
 */
export async function respondStream(
  x: Exchange,
  res: ServerResponse,
  body: AsyncIterable<Buffer>,
  opts: StreamOptions,
): Promise<void> {
  const format = clientStreamFormat(x.surface, x.endpoint);
  const guard = opts.policies ? streamGuard(x, opts.policies) : null;
  // Enforced redact/deny policies: the answer text is held back while it could still become a match.
  const rewriter = guard?.filters ? new StreamTextRewriter(guard.filters) : null;
  // One choice asked for: a chunk's content is choice 0's, so it can be filtered unparsed.
  const n = x.request.body?.['n'];
  const plainChat = rewriter !== null && opts.native && format === 'openai-chat' && (n === undefined || n === null || n === 1);
  /** The events to send instead of a parsed one, or null to send it as it came. */
  const rewrite = (event: string | undefined, json: unknown): SseOut[] | null => {
    if (rewriter === null) return null;
    if (format !== 'openai-chat') {
      const events = format === 'anthropic' ? rewriter.anthropicEvent(json) : rewriter.responsesEvent(json);
      return events?.map((o) => ({ event: String(o['type']), data: o })) ?? null;
    }
    return rewriter.chatChunk(json) ? [event ? { event, data: json } : { data: json }] : null;
  };
  /** Why the stream ends before the provider is done: set by the event that ends it, which is not sent. */
  let cutReason: EarlyEnd | null = null;
  // A strict budget watches the output with tiktoken, as a stream it ends is counted (settle: tiktoken
  // over the text sent): at 4 characters a token, CJK, digits and code overran the budget by up to 3x.
  // The text is counted as it counts joined (output-count.ts): counted piece by piece, "word5 " pieces
  // ended streams at ~60% of their budget.
  let outTokens = 0;
  const budget = opts.budget;
  const output = budget ? new OutputTokenCount() : null;
  const onText: OnText | null =
    guard || budget
      ? (delta, key) => {
          guard?.push(delta, key);
          if (output) outTokens = output.push(delta);
        }
      : null;
  // A stream that may be ended early reads the provider's count of the prompt when it comes before the
  // end (Anthropic's message_start, translated or not): the budget prices the prompt by it, and the
  // call, if ended, is recorded with it.
  const early = (guard || budget) && opts.cp.provider.wire === 'anthropic' ? createAnthropicUsageAccumulator() : null;
  let reported: Usage | null = null;
  /**
   * Called once the tap has seen an event, before it is sent: whether it ends the stream, a deny
   * matching in its text or its text crossing a strict budget (`before`: the output tokens before
   * it; an event without text crosses nothing). The events before it still go out.
   */
  const endsHere = (before: number): boolean => {
    const denied = guard?.check() ?? null;
    if (denied !== null) cutReason = { finish: 'content_filter', outcome: 'denied_policy', code: 'policy_denied', reason: denied };
    else if (budget && outTokens > before && streamCostUsd(budget, reported, outTokens) > budget.capUsd) {
      cutReason = { finish: 'length', outcome: 'denied_limit', code: 'budget_exceeded', reason: 'The stream was ended: its budget (strict) is spent.' };
    }
    return cutReason !== null;
  };
  const choices = typeof n === 'number' && n > 1 ? n : 1;
  const tap = new StreamTap(format, onText, choices, opts.keepBody);
  // A stream that may be ended early keeps what its client was sent: then that is what is stored
  // and counted, and what its end closes.
  const sent = guard || budget ? new SentLog(format) : null;
  /** The Responses API's last sequence_number sent: a redaction may have added events (text-filter.ts). */
  const lastSequence = (): number => Math.max(tap.sequence, sent?.sequence ?? -1);
  let translator: StreamTranslator | null = null;
  if (!opts.native) {
    translator = opts.cp.provider.createStreamTranslator?.(x.endpoint, opts.ctx) ?? null;
    if (!translator) throw new GatewayError({ status: 502, type: 'api_error', code: 'bad_upstream_response', outcome: 'upstream_error', message: `The provider '${opts.cp.provider.id}' cannot stream on this surface.` });
  }
  const hide = opts.native ? opts.hideUsage : !x.request.clientWantsUsage;
  // With post-response policies, events are checked before they are written, so nothing is raw.
  const raw = opts.native && !hide && guard === null && budget === null;
  // Same format, only the usage chunk to drop: complete events are forwarded as the provider's bytes,
  // and only a segment holding the usage-only chunk is re-framed.
  const filterBytes = opts.native && hide && guard === null && budget === null && format === 'openai-chat';
  /** Whether parsed events are re-framed into `out` (not needed while bytes are forwarded as they are). */
  let framing = !filterBytes;

  // The headers leave with the first event (one write instead of two): the provider's headers and
  // its first event arrive together, and the client cannot use either without the other.
  writeRelayHead(x, res, opts.headers);

  let out = '';
  const capture = opts.capture;
  /** Frames parsed events (captured for the cache as sent, hidden ones included). */
  const send = (events: readonly SseOut[]) => {
    for (const o of events) {
      // A client that did not ask for usage gets chunks without the usage member (null until the end).
      if (hide && o.data !== null && typeof o.data === 'object' && (o.data as Record<string, unknown>)['usage'] === null) {
        delete (o.data as Record<string, unknown>)['usage'];
      }
      const data = JSON.stringify(o.data);
      capture?.push(data);
      if (hide && isUsageOnly(o.data)) continue;
      out += (o.event ? `event: ${o.event}\n` : '') + `data: ${data}\n\n`;
      sent?.parsed(o.event, o.data);
    }
  };
  const emit = (o: SseOut) => {
    if (cutReason) return;
    const before = outTokens;
    tap.observeParsed(o.event, o.data);
    if (endsHere(before)) return;
    send(rewrite(o.event, o.data) ?? [o]);
  };
  /** A provider event in the client's own format, re-framed (and with policies, its text filtered). */
  const nativeEvent = (ev: EventSourceMessage): void => {
    const before = outTokens;
    // Most chunks of a filtered chat stream only carry text: filtered without parsing them. (Not a
    // chunk with logprobs: they repeat the text, and only the parse drops them.)
    const span = plainChat && !ev.data.includes(LOGPROBS) ? tap.observeContent(ev.data) : undefined;
    if (span !== undefined) {
      if (endsHere(before)) return;
      const filtered = rewriter!.chatData(ev.data, span);
      const data = hide ? withoutUsageNull(filtered) : filtered;
      capture?.push(data);
      out += `data: ${data}\n\n`;
      sent?.data(undefined, data);
      return;
    }
    if (rewriter && format === 'openai-chat' && ev.data === '[DONE]') send(rewriter.chatRest(opts.ctx));
    const json = tap.observe(ev.event, ev.data);
    if (endsHere(before)) return;
    const rewritten = json === undefined ? null : rewrite(ev.event, json);
    // Cached as the client got it: without the usage:null of chunks it did not ask usage for.
    if (rewritten === null && capture && ev.data !== '[DONE]') capture.push(hide ? withoutUsageNull(ev.data) : ev.data);
    if (rewritten === null && hide && isUsageOnly(json)) return;
    if (rewritten !== null) send(rewritten);
    else if (framing) {
      out += frame(ev);
      sent?.parsed(ev.event, json);
    }
  };
  const parser = createParser({
    onEvent(ev: EventSourceMessage) {
      if (cutReason) return;
      if (early && reported === null) {
        early.push(ev);
        reported = early.usage();
      }
      if (raw) {
        if (capture && ev.data !== '[DONE]') capture.push(ev.data);
        tap.observe(ev.event, ev.data);
      } else if (translator) {
        for (const o of translator.push(ev)) emit(o);
      } else {
        nativeEvent(ev);
      }
    },
  });

  const decoder = new TextDecoder();
  let bytes = 0;
  /** Writes the client's part of complete events; resolves when the socket can take more. */
  const pass = (complete: Buffer): Promise<void> | undefined => {
    if (raw) {
      x.response.firstByteAt ??= performance.now();
      bytes += complete.length;
      const wait = writeSse(res, complete);
      parser.feed(decoder.decode(complete, { stream: true }));
      return wait;
    }
    const text = decoder.decode(complete, { stream: true });
    if (filterBytes) {
      // The usage the gateway asked for (the usage-only chunk, and "usage":null on every other
      // chunk) is not the client's: cut out of the provider's bytes (strip-usage.ts), or, for a
      // host that writes JSON with spaces, the parsed events are re-framed without it.
      const spaced = !complete.includes(CHOICES_COMPACT) && text.includes('"usage"');
      framing = spaced && USAGE_ONLY_SPACED.test(text);
      parser.feed(text);
      const payload: Buffer | string = spaced ? withoutUsageNull(framing ? out : text) : carriesUsage(complete) ? stripUsage(complete) : complete;
      framing = false;
      out = '';
      x.response.firstByteAt ??= performance.now();
      bytes += payload.length;
      return writeSse(res, payload);
    }
    parser.feed(text);
    // An event that ends the stream: what came before it leaves with the end (endEarly).
    if (cutReason !== null || out.length === 0) return undefined;
    x.response.firstByteAt ??= performance.now();
    bytes += out.length;
    const wait = writeSse(res, out);
    out = '';
    return wait;
  };
  try {
    // Only complete events are passed on: the bytes after the last blank line wait for the rest of
    // their event, so a stream that stops inside one leaves no half event for the client (the
    // error that says so would be glued to it). Complete events are never held.
    const events = new CompleteEvents();
    for await (const chunk of body) {
      const complete = events.push(chunk);
      if (complete === null) continue;
      const wait = pass(complete);
      if (wait) await wait;
      // Leaving the loop destroys the upstream body: no more tokens are generated for a cut answer.
      if (cutReason !== null) break;
    }
    // A last event without its blank line: passed on when it is whole, dropped when the provider
    // stopped inside it.
    const pending = events.rest();
    if (pending && cutReason === null && wholeEvent(pending.toString('utf8'))) {
      const wait = pass(Buffer.concat([pending, BLANK_LINE]));
      if (wait) await wait;
    }
    x.upstream.endedAt = performance.now();
    if (translator && cutReason === null) {
      for (const o of translator.finish()) emit(o);
      // Translated streams end like OpenAI's once the answer is complete.
      if (cutReason === null && tap.finishReason !== null) {
        tap.terminal = true;
        out += 'data: [DONE]\n\n';
      }
      if (cutReason === null && out.length > 0) {
        x.response.firstByteAt ??= performance.now();
        bytes += out.length;
        // The last events and the end of the response in one write; a stream that stopped short
        // stays open for the error that says so (below).
        if (tap.terminal) res.end(out);
        else res.write(out);
        out = '';
      }
    }
    if (cutReason !== null) {
      // What the client is told it used is what is recorded: settled now, from the text it was sent.
      x.response.usage = streamedUsage(x, tap.usage ?? reported, sent!.answerText());
      x.response.usageSource = 'estimate';
      // The closing chunk goes on the provider's chunks as one of theirs (same id, created, model).
      const end = endEarly(x, cutReason, { ...opts.ctx, ...tap.chunkIdentity }, sent!);
      if (!res.destroyed && !res.writableEnded) {
        x.response.firstByteAt ??= performance.now();
        bytes += out.length + end.length;
        // the events before the one that ended it, and the end, in one write
        res.end(out + end);
      }
      return;
    }
  } catch (e) {
    x.upstream.endedAt = performance.now();
    if (res.destroyed && !res.writableFinished) {
      x.outcome = 'client_closed';
    } else {
      cut(x, res, tap, e, lastSequence());
    }
  } finally {
    // What the client was sent is what is kept, and what a missing usage is estimated from: for a
    // stream that did not pass whole (ended early, cut), and for a redacted one (every text of it
    // as masked, the answer, reasoning and tool calls alike).
    const asSent = sent !== null && (cutReason !== null || !tap.terminal || rewriter?.redacts === true);
    finishTap(x, tap, bytes, opts.keepBody, asSent ? sent.answerText() : null);
    guard?.finish();
  }
  if (tap.error !== null && x.outcome === 'success') {
    // The provider's own error event reached the client; it is what the call ended with.
    x.outcome = 'upstream_error';
    x.error = tap.error;
  } else if (!res.destroyed && !tap.terminal && x.outcome === 'success') {
    cut(x, res, tap, null, lastSequence());
  }
  if (!res.writableEnded) res.end();
}

/** `sentText`: the text the client was sent, for a stream that did not pass whole (else the tap's). */
function finishTap(x: Exchange, tap: StreamTap, bytes: number, keepBody: boolean, sentText: string | null): void {
  x.response.bytes = bytes;
  // TTFT: the first text, not the first byte (Responses and Anthropic streams open with events that carry none).
  x.response.firstTokenAt = tap.firstTextAt;
  // The answer text is assembled only when something reads it: stored bodies, or a token estimate.
  if (keepBody || !tap.usageComplete) x.response.body = sentText ?? tap.answerText();
  x.response.finishReason ??= tap.finishReason;
  // the response a Responses stream made, even one cut short: its owner is recorded (response-owner.ts)
  x.response.responseId = tap.responseId;
  if (x.response.usage !== null) return; // settled when the stream was ended early
  if (tap.usageComplete) {
    x.response.usage = tap.usage;
    x.response.usageSource = 'provider';
  } else if (tap.usage) {
    // cut before the provider's final counts: its input count, and the output streamed so far
    x.response.usage = streamedUsage(x, tap.usage, x.response.body ?? '');
    x.response.usageSource = 'estimate';
  }
}

/**
 * The usage of a stream that ended before the provider's final counts: the provider's input
 * counts when it sent them (`reported`: Anthropic's message_start), else an estimate of the prompt,
 * and an estimate of the output the client was sent (`answer`).
 */
function streamedUsage(x: Exchange, reported: Usage | null, answer: string): Usage {
  const estimate = estimateUsage(x.request.body, answer);
  if (!reported) return estimate;
  return { ...reported, completionTokens: estimate.completionTokens, reasoningTokens: 0 };
}

/** The stream ended before the provider finished: tell the client in its own error shape, then end. */
function cut(x: Exchange, res: ServerResponse, tap: StreamTap, cause: unknown, sequence: number): void {
  const err = streamCutError(cause, tap.events);
  x.outcome = err.outcome;
  x.error = { type: err.code!, message: err.message };
  if (res.destroyed || res.writableEnded) return;
  if (x.endpoint === 'responses') {
    // The Responses API's own error event, numbered on from the stream's events.
    const data = { type: 'error', code: err.code, message: err.message, param: null, sequence_number: sequence + 1 };
    res.write(`event: error\ndata: ${JSON.stringify(data)}\n\n`);
    return;
  }
  const body = JSON.stringify(errorBody(err, x.surface));
  res.write(x.surface === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`);
}

/**
 * An enforced post-response policy or a strict budget ends the stream: the events that close it
 * cleanly in the client's format, after the events it was sent (`sent`). OpenAI chat: a
 * `content_filter` / `length` finish and [DONE]; Anthropic: content_block_stop for an open block,
 * then a `refusal` / `max_tokens` stop and message_stop; Responses: response.incomplete.
 */
function endEarly(x: Exchange, why: EarlyEnd, ctx: TranslateContext, sent: SentLog): string {
  x.outcome = why.outcome;
  x.error = { type: why.code, message: why.reason };
  x.response.finishReason = why.finish;
  const usage = x.response.usage;
  if (x.surface === 'anthropic') {
    let out = '';
    for (const index of sent.openBlocks) out += `event: content_block_stop\ndata: ${JSON.stringify({ type: 'content_block_stop', index })}\n\n`;
    const stop = why.finish === 'length' ? 'max_tokens' : 'refusal';
    // output_tokens is cumulative: the SDKs take the final usage from this event
    const delta = { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage?.completionTokens ?? 0 } };
    return `${out}event: message_delta\ndata: ${JSON.stringify(delta)}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n`;
  }
  if (x.endpoint === 'responses') {
    // The response as response.created announced it, ended as OpenAI ends one cut short (its
    // output as sent, an item still under way marked incomplete).
    const output = sent.output.filter((item) => item !== undefined).map((item) => (item['status'] === 'in_progress' ? { ...item, status: 'incomplete' } : item));
    const response = {
      ...sent.response,
      status: 'incomplete',
      incomplete_details: { reason: why.finish === 'length' ? 'max_output_tokens' : 'content_filter' },
      output,
      usage: usage ? responsesUsage(usage) : null,
    };
    const data = { type: 'response.incomplete', sequence_number: sent.sequence + 1, response };
    return `event: response.incomplete\ndata: ${JSON.stringify(data)}\n\n`;
  }
  const head = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  let out = `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, finish_reason: why.finish }] })}\n\n`;
  // A client that asked for usage (stream_options.include_usage) gets its usage-only chunk, as OpenAI ends a stream.
  if (x.request.clientWantsUsage && usage) out += `data: ${JSON.stringify({ ...head, choices: [], usage: openaiUsageBase(usage) })}\n\n`;
  return `${out}data: [DONE]\n\n`;
}

/** A usage in the Responses API's shape. */
function responsesUsage(u: Usage): Record<string, unknown> {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

const BLANK_LINE = Buffer.from('\n\n');

/** Whether the text of a last event (without its blank line) is whole: its data is JSON or [DONE]. */
function wholeEvent(text: string): boolean {
  const data = text
    .split(/\r\n|\r|\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
    .join('\n');
  return data === '[DONE]' || (data !== '' && parseJson(data) !== undefined);
}

/** A chat chunk's logprobs, when it has some (`"logprobs":null` otherwise). */
const LOGPROBS = '"logprobs":{';

/** OpenAI's `usage` member of every chunk once include_usage is on (compact JSON, last member). */
const USAGE_NULL = ',"usage":null';
/** The same written with spaces (Python's json.dumps), or as the first member. */
const USAGE_NULL_SPACED = /,\s*"usage"\s*:\s*null(?=\s*[},])|(?<=\{\s*)"usage"\s*:\s*null\s*,\s*/g;

function withoutUsageNull(s: string): string {
  const t = s.replaceAll(USAGE_NULL, '');
  return t.includes('"usage"') ? t.replace(USAGE_NULL_SPACED, '') : t;
}

/** How the usage-only chunk starts its choices in JSON written with spaces, for the hosts that write it so. */
const USAGE_ONLY_SPACED = /"choices"\s*:\s*\[\s*\]/;
const CHOICES_COMPACT = Buffer.from('"choices":[');

/** The usage-only chunk OpenAI sends last when include_usage is on: `choices: []` and a usage object. */
function isUsageOnly(json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  const o = json as { choices?: unknown; usage?: unknown };
  return Array.isArray(o.choices) && o.choices.length === 0 && o.usage !== null && typeof o.usage === 'object';
}

function frame(ev: EventSourceMessage): string {
  let s = ev.event ? `event: ${ev.event}\n` : '';
  if (ev.id) s += `id: ${ev.id}\n`;
  for (const line of ev.data.split('\n')) s += `data: ${line}\n`;
  return s + '\n';
}
