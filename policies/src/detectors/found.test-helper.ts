import { resolveOverlaps, scanDetector } from './scan.ts';
import type { Detector, Hit } from './types.ts';

/** The substrings a detector reports in `text`, in order (test helper). */
export function found(detectors: Detector | readonly Detector[], text: string): string[] {
  const hits: Hit[] = [];
  for (const d of Array.isArray(detectors) ? detectors : [detectors]) scanDetector(d as Detector, text, hits, 0);
  return resolveOverlaps(hits).map((h) => text.slice(h.start, h.end));
}
