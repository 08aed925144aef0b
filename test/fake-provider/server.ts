/**
 * The fake provider's HTTP server: a bare node:http server (no framework, so it is never the
 * bottleneck of a benchmark) that records each call, picks the scenario, applies latency and
 * routes to the provider modules.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { anthropicModel, anthropicModels, countTokens, messages } from './anthropic.ts';
import { gemini, geminiError, geminiModels } from './gemini.ts';
import { isRecord, sendJson, sleep, type Ctx, type RecordedCall } from './http.ts';
import { completions, chatCompletions } from './openai-chat.ts';
import { OPENAI, embeddings, models, openaiError, type Flavour } from './openai.ts';
import { responses, storedResponse, type StoredAction, type StoredResponses } from './responses.ts';
import { audioText, imagesGenerations, moderations, speech } from './media.ts';
import { mergeScenarios, parseScenario, type Scenario } from './scenario.ts';

export interface FakeProviderOptions {
  /** default delay before response headers, for every request */
  latencyMs?: number;
  /** default delay between stream frames */
  chunkDelayMs?: number;
  /** default 0: a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** accepted keys; default: any non-empty key */
  validKeys?: string[];
  /** keep `calls` (default true); the standalone benchmark server turns it off to save memory */
  record?: boolean;
}

export interface FakeProvider {
  /** `http://host:port`, no trailing slash */
  url: string;
  /** every request in arrival order (control routes under /__fake/ excluded) */
  calls: RecordedCall[];
  /** clears calls, queued scenarios, the default scenario, stored responses and the abort count */
  reset(): void;
  /** destroys every open socket and stops listening */
  close(): Promise<void>;
  /** queues a scenario for the next request (FIFO; merged over the default) */
  next(scenario: Scenario): void;
  /** replaces the default scenario applied to every request */
  setDefault(scenario: Partial<Scenario>): void;
  openConnections(): number;
  /** how many responses the client abandoned before they were complete */
  aborted(): number;
}

const AZURE_ROUTE = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings|images\/generations|audio\/speech|audio\/transcriptions|audio\/translations)$/;
const AZURE_V1 = '/openai/v1/';
const GEMINI_ROUTE = /^\/v1(?:beta)?\/models\/([^/:]+):([A-Za-z]+)$/;
/** The Responses API's stored-response routes, OpenAI's and Azure's v1 API's. */
const STORED_RESPONSE = /^(\/openai)?\/v1\/responses\/([^/]+)(?:\/(cancel|input_items))?$/;

function storedAction(method: string, tail: string | undefined): StoredAction | null {
  if (tail === undefined) return method === 'GET' ? 'retrieve' : method === 'DELETE' ? 'delete' : null;
  if (tail === 'cancel') return method === 'POST' ? 'cancel' : null;
  return method === 'GET' ? 'input_items' : null;
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The media endpoints' paths under an OpenAI base URL or an Azure deployment. */
function media(ctx: Ctx, tail: string, flavour: Flavour): Promise<void> | void | null {
  switch (tail) {
    case 'moderations': return moderations(ctx, flavour);
    case 'images/generations': return imagesGenerations(ctx, flavour);
    case 'audio/speech': return speech(ctx, flavour);
    case 'audio/transcriptions': return audioText(ctx, flavour, 'transcribe');
    case 'audio/translations': return audioText(ctx, flavour, 'translate');
  }
  return null;
}

/** Anthropic's GET /v1/models is told apart from OpenAI's by its headers. */
function isAnthropic(headers: Record<string, string>): boolean {
  return headers['anthropic-version'] !== undefined || (headers['x-api-key'] !== undefined && headers['authorization'] === undefined);
}

function dispatch(ctx: Ctx, method: string, path: string): Promise<void> | void {
  const stored = STORED_RESPONSE.exec(path);
  const action = stored ? storedAction(method, stored[3]) : null;
  if (stored && action) {
    return storedResponse(ctx, action, decodeURIComponent(stored[2] ?? ''), stored[1] ? { kind: 'azure', deployment: null } : OPENAI);
  }
  if (method === 'POST') {
    switch (path) {
      case '/v1/chat/completions': return chatCompletions(ctx, OPENAI);
      case '/v1/completions': return completions(ctx, OPENAI);
      case '/v1/embeddings': return embeddings(ctx, OPENAI);
      case '/v1/responses': return responses(ctx);
      case '/v1/messages': return messages(ctx);
      case '/v1/messages/count_tokens': return countTokens(ctx);
    }
    if (path.startsWith('/v1/')) {
      const answered = media(ctx, path.slice('/v1/'.length), OPENAI);
      if (answered !== null) return answered;
    }
    const azure = AZURE_ROUTE.exec(path);
    if (azure) {
      const flavour: Flavour = { kind: 'azure', deployment: decodeURIComponent(azure[1] ?? '') };
      if (azure[2] === 'embeddings') return embeddings(ctx, flavour);
      const answered = media(ctx, azure[2] ?? '', flavour);
      if (answered !== null) return answered;
      return azure[2] === 'completions' ? completions(ctx, flavour) : chatCompletions(ctx, flavour);
    }
    if (path.startsWith(AZURE_V1)) {
      const v1: Flavour = { kind: 'azure', deployment: null };
      switch (path.slice(AZURE_V1.length)) {
        case 'chat/completions': return chatCompletions(ctx, v1);
        case 'completions': return completions(ctx, v1);
        case 'embeddings': return embeddings(ctx, v1);
        case 'responses': return responses(ctx, v1);
      }
    }
    const g = GEMINI_ROUTE.exec(path);
    if (g) return gemini(ctx, decodeURIComponent(g[1] ?? ''), g[2] ?? '');
  } else if (method === 'GET') {
    if (path === '/v1/models') return isAnthropic(ctx.call.headers) ? anthropicModels(ctx) : models(ctx, undefined);
    if (path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      return isAnthropic(ctx.call.headers) ? anthropicModel(ctx, id) : models(ctx, id);
    }
    if (path === '/v1beta/models') return geminiModels(ctx);
    if (path === '/openai/models') return models(ctx, undefined, { kind: 'azure', deployment: '' });
    if (path.startsWith('/openai/models/')) {
      return models(ctx, decodeURIComponent(path.slice('/openai/models/'.length)), { kind: 'azure', deployment: '' });
    }
  }
  if (path.startsWith('/v1beta/')) return geminiError(ctx, 404, `Invalid URL (${method} ${path})`);
  return openaiError(ctx, 404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null);
}

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const { host = '127.0.0.1', port = 0, record = true } = opts;
  const base: Scenario = { latencyMs: opts.latencyMs, chunkDelayMs: opts.chunkDelayMs };
  const validKeys = opts.validKeys ? new Set(opts.validKeys) : null;
  const calls: RecordedCall[] = [];
  const queue: Scenario[] = [];
  let defaults: Scenario = {};
  let abortedCount = 0;
  let ids = 0;
  const stored: StoredResponses = new Map();
  const nextId = (): string => (++ids).toString(36).padStart(10, '0');
  const sockets = new Set<Socket>();

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (path === '/__fake/calls') {
        reply(200, calls);
      } else if (path === '/__fake/stats') {
        reply(200, { calls: calls.length, aborted: abortedCount, open: sockets.size });
      } else if (path === '/__fake/next') {
        queue.push(parseScenario(raw || '{}'));
        reply(200, { queued: queue.length });
      } else if (path === '/__fake/default') {
        defaults = parseScenario(raw || '{}');
        reply(200, defaults);
      } else if (path === '/__fake/reset') {
        api.reset();
        reply(200, { ok: true });
      } else {
        reply(404, { error: { message: `unknown control route ${path}` } });
      }
    } catch (e) {
      reply(400, { error: { message: e instanceof Error ? e.message : String(e) } });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith('/__fake/')) return control(req, res, path);
    const method = req.method ?? 'GET';
    const rawBytes = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
    const rawBody = rawBytes.toString('utf8');
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const headers = flattenHeaders(req);
    let body: Record<string, unknown> | null = null;
    let badJson = false;
    if (rawBody) {
      try {
        const parsed: unknown = JSON.parse(rawBody);
        body = isRecord(parsed) ? parsed : null;
        badJson = body === null;
      } catch {
        badJson = true;
      }
    }
    let fromHeader: Scenario | undefined;
    let scenarioError: string | undefined;
    const header = headers['x-fake-scenario'];
    if (header) {
      try {
        fromHeader = parseScenario(header);
      } catch (e) {
        scenarioError = e instanceof Error ? e.message : String(e);
      }
    }
    const scenario = mergeScenarios(base, defaults, queue.shift(), fromHeader);
    const call: RecordedCall = {
      method, path, query: Object.fromEntries(query), headers, body, rawBody, rawBytes, status: 0, aborted: false, dropped: false, scenario,
    };
    if (record) calls.push(call);
    const ctx: Ctx = { req, res, call, body, badJson, scenario, query, validKeys, nextId, responses: stored, closed: false };
    res.once('close', () => {
      ctx.closed = true;
      if (!res.writableEnded && !call.dropped) {
        call.aborted = true;
        abortedCount++;
      }
    });
    if (scenarioError) {
      sendJson(ctx, 400, { error: { message: scenarioError, type: 'fake_scenario_error' } });
      return;
    }
    await sleep(ctx, (scenario.latencyMs ?? 0) + (scenario.hangMs ?? 0));
    if (ctx.closed) return;
    await dispatch(ctx, method, path);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the fake must surface in the test, not hang it.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake provider crashed: ${String(err)}`, type: 'fake_provider_bug' } }));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fake provider: not listening on TCP');
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  const api: FakeProvider = {
    url: `http://${shownHost}:${addr.port}`,
    calls,
    reset() {
      calls.length = 0;
      queue.length = 0;
      stored.clear();
      defaults = {};
      abortedCount = 0;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
    next(scenario) {
      queue.push(scenario);
    },
    setDefault(scenario) {
      defaults = { ...scenario };
    },
    openConnections: () => sockets.size,
    aborted: () => abortedCount,
  };
  return api;
}
