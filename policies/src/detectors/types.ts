/**
 * A built-in detector: one precompiled global regex (the candidate shape) plus an optional
 * validator for what a regex cannot check (Luhn, mod-97, check letters). Regexes are module
 * constants: evaluation never constructs a RegExp.
 */
export interface Detector {
  /** The class name users write in `detect:` and the one recorded in matches. */
  readonly id: string;
  /** Placeholder stem: `[EMAIL_1]`. */
  readonly label: string;
  /** Must carry the `g` flag; `lastIndex` is reset before every scan. */
  readonly re: RegExp;
  /** Cheap test that lets a scan skip the regex entirely (e.g. no '@' means no e-mail). */
  readonly mayContain?: (text: string) => boolean;
  /**
   * For classes built around one literal (`@` in an e-mail): find it with `indexOf`, back up
   * over `back` characters (at most `max`) to where a match could start, and run `sticky` (the
   * same pattern with the `y` flag) only there. Far cheaper than a regex scan of the whole text.
   * The pattern must not match right after a `back` character (its lookbehind rejects them): a
   * run of them longer than `max` is skipped.
   */
  readonly anchor?: { literal: string; back: (code: number) => boolean; max: number; sticky: RegExp };
  /**
   * The regex matches a label and then the value in group 1, which ends the match: only the value
   * is a hit (`aws_secret_access_key = [API_KEY_1]`).
   */
  readonly valueGroup?: boolean;
  /**
   * A scan of its own, used instead of `re` (and `validate`) when the shape needs more than one
   * regex to be found in linear time (PEM blocks: a BEGIN line paired with the next END line).
   */
  readonly scan?: (text: string, push: (start: number, end: number) => void) => void;
  /** Rejects a candidate the regex found (e.g. a Luhn-invalid card number). */
  readonly validate?: (candidate: string) => boolean;
}

/** One occurrence in a string: offsets only, the matched text is never kept beyond redaction. */
export interface Hit {
  start: number;
  end: number;
  /** Placeholder stem (EMAIL, API_KEY, or a user pattern's name). */
  label: string;
  /** Detector id, user pattern name, or `keyword`; what matches report. */
  source: string;
  /** Lower ranks win when two hits overlap (built-ins in a fixed order, then user rules). */
  rank: number;
}
