import { describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.ts';
import { createExchange } from '../exchange.ts';
import type { KeyRecord } from '../stores/index.ts';
import { checkKeyScope, globReachesProvider } from './key-scope.ts';

const PROVIDERS = new Set(['openai', 'groq', 'azure', 'my-vllm']);

describe('globReachesProvider', () => {
  test.each([
    ['gpt-4o*', 'openai', true],
    ['gpt-4o*', 'groq', true],
    ['meta-llama/*', 'openai', true],
    ['openai/*', 'openai', true],
    ['OpenAI/gpt-4o', 'openai', true],
    ['groq/*', 'openai', false],
    ['my-vllm/llama', 'openai', false],
    ['*/gpt-4o', 'azure', true],
    ['gr*/llama*', 'groq', true],
    ['gr*/llama*', 'openai', false],
  ] as const)('%s reaches %s: %s', (glob, provider, reaches) => {
    expect(globReachesProvider(glob, provider, PROVIDERS)).toBe(reaches);
  });
});

describe('checkKeyScope on a stored response', () => {
  const key = (allowedModels: string[]) => ({ id: 'k1', name: 'k', project: 'p', allowedModels }) as unknown as KeyRecord;
  const retrieve = (provider: string) => {
    const x = createExchange({ id: 'x', surface: 'openai', endpoint: 'responses', method: 'GET', path: '/v1/responses/resp_1', ip: null, userAgent: null, now: 0, t0: 0 });
    x.route = { provider, model: '' };
    return x;
  };

  test('a key allowed some model of the provider holding it may call it', () => {
    expect(() => checkKeyScope(retrieve('openai'), key(['groq/*', 'gpt-4o-mini']), PROVIDERS)).not.toThrow();
  });

  test('a key whose models are all another provider’s gets 403 model_not_allowed', () => {
    let err: unknown;
    try {
      checkKeyScope(retrieve('openai'), key(['groq/*']), PROVIDERS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 403, code: 'model_not_allowed', message: expect.stringContaining("provider 'openai'") });
  });
});
