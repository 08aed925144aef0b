import { compileGlob } from '@watchllm/policies';
import type { Config } from '../config/schema.ts';

/**
 * Load balancing: calls for a model (as clients name it, or a glob) are spread over several
 * targets — accounts, regions, providers — by weight, with smooth weighted round-robin (nginx's):
 * with weights 3 and 1, four calls go A, A, B, A, never bunched. The other targets follow the
 * picked one as its fallbacks, in weight order. Each gateway process keeps its own rotation.
 */
export interface BalancePick {
  /** the target to send the call to */
  first: string;
  /** the other targets, heaviest first: tried next if the first fails (fallbacks) */
  rest: string[];
}

interface Group {
  pattern: RegExp;
  targets: ReadonlyArray<{ model: string; weight: number }>;
  current: number[];
}

export class Balancer {
  private readonly groups: Group[];

  constructor(config: Pick<Config, 'balance'>) {
    this.groups = Object.entries(config.balance).map(([glob, targets]) => ({
      pattern: compileGlob(glob),
      targets,
      current: targets.map(() => 0),
    }));
  }

  /** The target for a call for `model`, or null when no balance entry matches it. */
  pick(model: string): BalancePick | null {
    const g = this.groups.find((x) => x.pattern.test(model));
    if (!g) return null;
    let total = 0;
    let best = 0;
    for (let i = 0; i < g.targets.length; i++) {
      g.current[i]! += g.targets[i]!.weight;
      total += g.targets[i]!.weight;
      if (g.current[i]! > g.current[best]!) best = i;
    }
    g.current[best]! -= total;
    const rest = g.targets
      .filter((_, i) => i !== best)
      .sort((a, b) => b.weight - a.weight)
      .map((t) => t.model);
    return { first: g.targets[best]!.model, rest };
  }
}
