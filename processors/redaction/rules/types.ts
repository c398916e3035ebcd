// A detection rule as data: the packs, custom rules from config and gitleaks
// imports all end up in this shape before the engine compiles them.

/** Names of the validators in validators.ts a rule may ask for. */
export type ValidatorName =
  | 'luhn'
  | 'iban'
  | 'ssn'
  | 'ipv4'
  | 'ipv6'
  | 'phone'
  | 'email'
  | 'jwt'
  | 'entropy'
  | 'basic_auth'
  | 'bearer'
  | 'generic_secret'
  | 'aws_secret'
  | 'password';

export interface RuleSpec {
  /** Unique rule name, reported as `rule` in findings. */
  name: string;
  /** The finding type (`email`, `github_token`, ...): what modes and metrics key on. */
  type: string;
  /** An RE2 pattern. Use `(?i)` inline for case-insensitivity. */
  pattern: string;
  /**
   * A simpler RE2 pattern used in the Set instead of `pattern`: it must match
   * somewhere in every text `pattern` matches (a superset). Long counted
   * repeats of overlapping classes make the Set's DFA build new states on
   * every fresh text (30–75 MB/s against 170–300 with prefilters); a
   * prefilter keeps only what tells candidates apart.
   */
  prefilter?: string;
  /**
   * Name of a capture group holding the sensitive part (only that part is
   * redacted), e.g. the password inside a URL.
   */
  group?: string;
  /** Literal strings one of which must occur (case-insensitively) for the rule to match. */
  keywords?: string[];
  validator?: ValidatorName;
  /** Minimum Shannon entropy (bits per character) for the `entropy` family of validators. */
  minEntropy?: number;
  /**
   * Reject a match whose neighbouring characters would extend it (letters,
   * digits, `_`, and for numbers `-`/`.`): RE2 has no lookaround, so the
   * boundary is checked after the match.
   */
  boundary?: 'word' | 'number' | 'token';
  /** Higher wins when two findings overlap. Specific vendor formats beat generic ones. */
  priority?: number;
}
