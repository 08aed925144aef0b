import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { Balancer } from './balance.ts';

const config = (yaml: string) => parseConfig(yaml, {});

describe('Balancer', () => {
  test('spreads calls by weight, smoothly: 3 and 1 go A, A, B, A, over and over', () => {
    const b = new Balancer(config('balance:\n  gpt-4o:\n    - { model: openai/gpt-4o, weight: 3 }\n    - { model: openai-eu/gpt-4o }\n'));
    const picks = Array.from({ length: 8 }, () => b.pick('gpt-4o')?.first);
    expect(picks).toEqual(['openai/gpt-4o', 'openai/gpt-4o', 'openai-eu/gpt-4o', 'openai/gpt-4o', 'openai/gpt-4o', 'openai/gpt-4o', 'openai-eu/gpt-4o', 'openai/gpt-4o']);
  });

  test('the targets not picked follow, heaviest first; globs match case-insensitively; other models are not balanced', () => {
    const b = new Balancer(
      config('balance:\n  "claude-*":\n    - { model: anthropic/claude-sonnet-4-5, weight: 1 }\n    - { model: anthropic-eu/claude-sonnet-4-5, weight: 5 }\n    - { model: bedrock/claude, weight: 2 }\n'),
    );
    expect(b.pick('Claude-Sonnet-4-5')).toEqual({ first: 'anthropic-eu/claude-sonnet-4-5', rest: ['bedrock/claude', 'anthropic/claude-sonnet-4-5'] });
    expect(b.pick('gpt-4o')).toBeNull();
  });

  test('a balance entry needs at least two targets with positive weights', () => {
    expect(() => config('balance:\n  gpt-4o:\n    - { model: openai/gpt-4o }\n')).toThrow(/balance\.gpt-4o/);
    expect(() => config('balance:\n  gpt-4o:\n    - { model: a, weight: 0 }\n    - { model: b }\n')).toThrow(/weight/);
  });
});
