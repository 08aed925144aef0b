import { describe, expect, test } from 'vitest';
import type { ProviderRequest } from '../types.ts';
import { anthropicProvider } from './index.ts';

const request = (apiKey: string): ProviderRequest => ({
  endpoint: 'messages',
  body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] },
  model: 'claude-sonnet-4-5',
  stream: false,
  apiKey,
  passHeaders: { 'anthropic-beta': 'oauth-2025-04-20' },
});

describe('Anthropic credentials upstream', () => {
  test('an API key goes in x-api-key; an OAuth access token (Claude Code on a subscription) as a bearer', () => {
    const key = anthropicProvider.buildRequest(request('sk-ant-api03-abc'), { baseUrl: 'https://api.anthropic.com' }).headers;
    expect(key['x-api-key']).toBe('sk-ant-api03-abc');
    expect(key['authorization']).toBeUndefined();
    const oauth = anthropicProvider.buildRequest(request('sk-ant-oat01-xyz'), { baseUrl: 'https://api.anthropic.com' }).headers;
    expect(oauth['authorization']).toBe('Bearer sk-ant-oat01-xyz');
    expect(oauth['x-api-key']).toBeUndefined();
    // the OAuth beta flag the client sent rides along
    expect(oauth['anthropic-beta']).toBe('oauth-2025-04-20');
  });
});
