import type { ServerResponse } from 'node:http';
import { anthropicUsage, costUsd, usageFromOpenai, type Price, type TranslateContext } from '@watchllm/providers';
import { GatewayError } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import { sendBody } from '../http/respond.ts';
import type { ConfiguredProvider } from '../registry.ts';
import { checkJsonAnswer } from './policies.ts';
import type { CompiledPolicySet } from '@watchllm/policies';

/**
 * A complete (non-streamed) answer. It is read whole before it is sent: it is small, the usage is at
 * its end, and post-response policies must see it before the client does.
 */
export async function respondJson(
  x: Exchange,
  res: ServerResponse,
  body: AsyncIterable<Buffer>,
  opts: {
    cp: ConfiguredProvider;
    native: boolean;
    ctx: TranslateContext;
    headers: Record<string, string>;
    contentType: string;
    policies: CompiledPolicySet | null;
    /** the routed model's price: a priced answer carries its cost in `x-watchllm-cost-usd` */
    price: Price | null;
  },
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  x.upstream.endedAt = performance.now();
  const buf = Buffer.concat(chunks);

  if (!opts.contentType.includes('json')) {
    // Not JSON (e.g. a proxy's HTML error page with 200): relay it, nothing to count.
    sendBody(res, x, 200, buf, { ...opts.headers, 'content-type': opts.contentType || 'application/octet-stream' });
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    throw badUpstream(opts.cp.provider.id, 'an invalid JSON body');
  }

  let out: unknown = json;
  let text: string | Buffer = buf;
  if (!opts.native) {
    const translate = opts.cp.provider.toOpenaiResponse;
    if (!translate) throw badUpstream(opts.cp.provider.id, 'a body the gateway cannot translate');
    try {
      out = translate(x.endpoint, json, opts.ctx);
    } catch (e) {
      throw badUpstream(opts.cp.provider.id, `a body the gateway cannot translate (${e instanceof Error ? e.message : 'unknown'})`);
    }
    text = JSON.stringify(out);
  }
  // Gemini's batchEmbedContents reports no tokens (its translation says 0): left to the estimate.
  // Models answers have neither usage nor a finish reason (an Azure model's `status` is not one).
  if (x.endpoint !== 'models') readUsage(x, out, opts.cp.provider.kind === 'gemini' && x.endpoint === 'embeddings');
  if (opts.policies) {
    const checked = checkJsonAnswer(x, opts.policies, out);
    if (checked !== out) text = JSON.stringify(checked);
  }
  x.response.body = typeof text === 'string' ? text : text.toString('utf8');
  // what the event will record (finish.ts prices the same usage at the same price)
  if (opts.price && x.response.usage && x.response.usageSource === 'provider') {
    x.responseHeaders[COST_HEADER] = usdText(costUsd(opts.price, x.response.usage));
  }
  sendBody(res, x, 200, text, { ...opts.headers, 'content-type': 'application/json' });
}

export const COST_HEADER = 'x-watchllm-cost-usd';

/** USD as plain decimal text to the 1e-10 (never `1e-7`): `0.00001234`, `0`. */
export function usdText(usd: number): string {
  const fixed = usd.toFixed(10);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

function readUsage(x: Exchange, out: unknown, unreported: boolean): void {
  if (out === null || typeof out !== 'object') return;
  const o = out as Record<string, unknown>;
  const usage = x.surface === 'anthropic' ? anthropicUsage(o) : usageFromOpenai(o['usage']);
  if (usage && !unreported) {
    x.response.usage = usage;
    x.response.usageSource = 'provider';
  }
  if (x.surface === 'anthropic') {
    x.response.finishReason = typeof o['stop_reason'] === 'string' ? o['stop_reason'] : null;
    return;
  }
  const choices = o['choices'];
  if (Array.isArray(choices) && choices[0] && typeof choices[0] === 'object') {
    const f = (choices[0] as Record<string, unknown>)['finish_reason'];
    if (typeof f === 'string') x.response.finishReason = f;
  } else if (typeof o['status'] === 'string') {
    x.response.finishReason = o['status']; // Responses API
  }
}

function badUpstream(provider: string, what: string): GatewayError {
  return new GatewayError({
    status: 502,
    type: 'api_error',
    code: 'bad_upstream_response',
    outcome: 'upstream_error',
    message: `The provider '${provider}' returned ${what}.`,
  });
}
