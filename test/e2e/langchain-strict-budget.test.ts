/**
 * `budgets.strict` with a small budget and a long answer, as QA met it driving the gateway with
 * LangChain: streams were ended at ~53% (Anthropic) and ~63% (OpenAI) of their budget, because the
 * prompt stayed priced at the reservation's estimate (request bytes / 4: 25 tokens for a one-word
 * prompt) after Anthropic had counted it (message_start), and the output was counted piece by piece
 * ("word5 " counts 3 tokens on its own, 2 in the text). A stream must run while what it costs, as a
 * stream ended now is recorded, fits its budget, and end once it would not.
 *
 * Every answer is 200 words streamed one "wordN " piece at a time: 400 tokens of o200k_base, where
 * the pieces counted apart make 599.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { countTokens } from '../../gateway/src/usage/estimate.ts';
import { startStack, type Stack } from './harness.ts';

const LONG = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
const TOKENS = countTokens(LONG);
/** claude-haiku-4-5 and gpt-4o-mini, USD per token. */
const CLAUDE = { input: 1e-6, output: 5e-6 };
const MINI = { input: 0.15e-6, output: 0.6e-6 };
/** Room for the running count's one token of slack (a space at the end counts until a word takes it). */
const SLACK = 3;

/** One key per test, each with its own budget. */
const budgets = {
  claudeFits: (1 + (TOKENS + SLACK) * 5) / 1e6,
  claudeCut: (1 + 300 * 5) / 1e6,
  translatedFits: (1 + (TOKENS + SLACK) * 5) / 1e6,
  translatedCut: (1 + 300 * 5) / 1e6,
} as const;
const key = (name: string) => `wl_strict_${name}_`.padEnd(32, '0');

const MINI_BODY = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk' }] });
/** What the call reserves for its prompt: request bytes / 4 (limits.ts). OpenAI counts the prompt only at the end. */
const MINI_PROMPT_USD = Math.ceil(Buffer.byteLength(MINI_BODY) / 4) * MINI.input;
const miniBudgets = { miniFits: MINI_PROMPT_USD + (TOKENS + SLACK) * MINI.output, miniCut: MINI_PROMPT_USD + 300 * MINI.output } as const;

let s: Stack;
beforeAll(async () => {
  const keys = Object.entries({ ...budgets, ...miniBudgets }).flatMap(([name, usd]) => [
    `  - name: ${name}`,
    '    project: acme',
    `    key: ${key(name)}`,
    `    budget: { usd: ${usd}, period: month }`,
  ]);
  s = await startStack({
    yaml: ['budgets:', '  strict: true', '  default_max_tokens: 20', 'keys:', ...keys].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: 'sk-held', WATCHLLM_ANTHROPIC_API_KEY: 'sk-ant-held' },
  });
});
afterAll(() => s.close());

/** The data of each event of an SSE body (JSON; [DONE] left out). */
async function events(r: Response): Promise<Array<Record<string, unknown>>> {
  const text = await r.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
}

/** A native Anthropic stream of LONG; the text received and the stop reason. */
async function claude(name: keyof typeof budgets): Promise<{ text: string; stop: unknown }> {
  s.fake.next({ text: LONG, chunks: 200 });
  const r = await fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key(name), 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 150, stream: true, messages: [{ role: 'user', content: 'talk' }] }),
  });
  expect(r.status).toBe(200);
  let text = '';
  let stop: unknown = null;
  for (const e of await events(r)) {
    const delta = e['delta'] as { type?: string; text?: string; stop_reason?: unknown } | undefined;
    if (e['type'] === 'content_block_delta' && delta?.type === 'text_delta') text += delta.text;
    if (e['type'] === 'message_delta') stop = delta?.stop_reason;
  }
  return { text, stop };
}

/** An OpenAI chat stream of LONG (from Claude, translated, or from gpt-4o-mini); the text and finish reason. */
async function chat(name: string, body: string): Promise<{ text: string; finish: unknown }> {
  s.fake.next({ text: LONG, chunks: 200 });
  const r = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key(name)}` },
    body,
  });
  expect(r.status).toBe(200);
  let text = '';
  let finish: unknown = null;
  for (const e of await events(r)) {
    const choice = (e['choices'] as Array<{ delta?: { content?: string }; finish_reason?: unknown }> | undefined)?.[0];
    text += choice?.delta?.content ?? '';
    finish = choice?.finish_reason ?? finish;
  }
  return { text, finish };
}
const claudeBody = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 150, stream: true, messages: [{ role: 'user', content: 'talk' }] });

async function lastEvent() {
  const n = s.events.length;
  return (await s.waitForEvents(n === 0 ? 1 : n)).at(-1)!;
}

describe('strict budgets price a stream as it would be recorded', () => {
  test('Anthropic: a stream whose prompt and output fit the budget runs to its end', async () => {
    s.events.length = 0;
    const { text, stop } = await claude('claudeFits');
    expect(text).toBe(LONG);
    expect(stop).toBe('end_turn');
    expect((await lastEvent()).outcome).toBe('success');
  });

  test('Anthropic: a stream is ended once its output would cross the budget, late, and recorded within it', async () => {
    s.events.length = 0;
    const { text, stop } = await claude('claudeCut');
    expect(stop).toBe('max_tokens');
    // ~300 of 400 tokens fit: about three quarters of the words (not half of them, as before)
    const words = text.split(' ').length;
    expect(words).toBeGreaterThan(140);
    expect(words).toBeLessThan(200);
    const x = await lastEvent();
    expect(x).toMatchObject({ outcome: 'denied_limit', error: { type: 'budget_exceeded' } });
    // the prompt as Anthropic counted it (one word), the output as streamed, joined
    expect(x.response.usage).toMatchObject({ promptTokens: 1, completionTokens: countTokens(text) });
    expect(x.costUsd!).toBeLessThanOrEqual(budgets.claudeCut + 1e-12);
  });

  test('Claude through the OpenAI surface (translated): the same, with the prompt read from message_start', async () => {
    s.events.length = 0;
    expect(await chat('translatedFits', claudeBody)).toEqual({ text: LONG, finish: 'stop' });
    s.events.length = 0;
    const { text, finish } = await chat('translatedCut', claudeBody);
    expect(finish).toBe('length');
    expect(text.split(' ').length).toBeGreaterThan(140);
    const x = await lastEvent();
    expect(x).toMatchObject({ outcome: 'denied_limit', response: { usage: { promptTokens: 1, completionTokens: countTokens(text) } } });
    expect(x.costUsd!).toBeLessThanOrEqual(budgets.translatedCut + 1e-12);
  });

  test('OpenAI: output counted as its joined text lets a stream that fits run to its end', async () => {
    // OpenAI counts the prompt only in its last chunk: until then it is priced as the call reserved it.
    s.events.length = 0;
    expect(await chat('miniFits', MINI_BODY)).toEqual({ text: LONG, finish: 'stop' });
    expect((await lastEvent()).outcome).toBe('success');
  });

  test('OpenAI: a stream is ended once its output would cross the budget, late, and recorded within it', async () => {
    s.events.length = 0;
    const { text, finish } = await chat('miniCut', MINI_BODY);
    expect(finish).toBe('length');
    expect(text.split(' ').length).toBeGreaterThan(140);
    const x = await lastEvent();
    expect(x).toMatchObject({ outcome: 'denied_limit', response: { usage: { completionTokens: countTokens(text) } } });
    expect(x.costUsd!).toBeLessThanOrEqual(miniBudgets.miniCut + 1e-12);
  });
});
