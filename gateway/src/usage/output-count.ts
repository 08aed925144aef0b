import { countTokens } from './estimate.ts';

/**
 * Beyond this many characters without a place to cut (CJK text, a long URL), the tail is counted as
 * it is: a piece tiktoken would have merged across the cut may count a token more, never fewer in
 * practice, and recounting stays bounded.
 */
const MAX_TAIL = 256;

const SPACE = /\s/;
const WORD = /[\p{L}\p{N}]/u;

/**
 * The output tokens of a stream as it passes, counted as tiktoken counts the text joined: what a
 * stream ended early is recorded with (estimate.ts over the text sent), so what a strict budget
 * watches. Pieces counted one by one count more: "word5 " is two tokens on its own, while in the
 * joined text its space goes with the next word (" word6"), so such a stream counted ~1.5x its text.
 * Counting the whole text again at every piece would be O(n²); instead the text is counted up to the
 * last place tiktoken never merges across, and the rest (the tail) is counted again with the next
 * piece.
 *
 * Such a place, in o200k_base's pre-tokenizer (the regex that splits text before BPE merges within
 * each piece): the start of a run of whitespace. A piece holds whitespace only at its start (" word",
 * " (") or is whitespace alone ("  ", "\n\n"), except punctuation followed by line breaks (".\n\n" is
 * one piece), where a run starting with a line break is not cut.
 */
export class OutputTokenCount {
  /** Tokens of the text before the tail. */
  private counted = 0;
  private tail = '';
  private tailTokens = 0;

  get tokens(): number {
    return this.counted + this.tailTokens;
  }

  /** Counts `text` on from the text before it; returns the tokens so far. */
  push(text: string): number {
    if (text.length === 0) return this.tokens;
    let tail = this.tail + text;
    const at = lastCut(tail);
    if (at > 0) {
      this.counted += countTokens(tail.slice(0, at));
      tail = tail.slice(at);
    }
    if (tail.length > MAX_TAIL) {
      this.counted += countTokens(tail);
      tail = '';
    }
    this.tail = tail;
    this.tailTokens = countTokens(tail);
    return this.tokens;
  }
}

/** The last index where `text` can be cut without changing how tiktoken splits it (0: none). */
function lastCut(text: string): number {
  for (let i = text.length - 1; i > 0; i--) {
    const c = text[i]!;
    const before = text[i - 1]!;
    if (!SPACE.test(c) || SPACE.test(before)) continue;
    if ((c === '\n' || c === '\r') && !WORD.test(before)) continue;
    return i;
  }
  return 0;
}
