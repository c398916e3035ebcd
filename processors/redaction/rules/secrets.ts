// The `secrets` pack. Vendor formats with a fixed prefix are matched as they
// are issued; context-dependent ones (AWS secret keys, passwords, generic
// `api_key=` values) only after the word that introduces them, and only the
// value is redacted (the `v` group).
import type { RuleSpec } from './types.js';

// Keys that introduce a credential in `key=value`, `key: value`, `"key": "value"`.
const GENERIC_KEY =
  '(?:api[_.\\-]?key|apikey|api[_.\\-]?secret|access[_.\\-]?key(?:[_.\\-]?id)?|access[_.\\-]?token|auth[_.\\-]?token|refresh[_.\\-]?token|id[_.\\-]?token|' +
  'client[_.\\-]?secret|app[_.\\-]?secret|secret[_.\\-]?key|secret|token|private[_.\\-]?key|signing[_.\\-]?key|encryption[_.\\-]?key|credentials?|passphrase)';
// Quotes may come escaped once or twice (JSON inside a JSON string).
const QUOTE = '(?:\\\\{0,3}["\'])?';
const ASSIGN = `[A-Za-z0-9_.\\-]{0,24}${QUOTE}\\s{0,3}(?:=|:|=>|:=)\\s{0,3}${QUOTE}`;

// Repeats are unbounded where the format allows: large counted repeats
// inflate RE2 programs, and the Set's automaton with them.
export const secretRules: RuleSpec[] = [
  {
    name: 'private_key',
    type: 'private_key',
    prefilter: '-----BEGIN[ A-Z0-9]*PRIVATE KEY',
    // Whole PEM block; a block cut short (truncated log line) is taken up to
    // the end of its base64 body. `\\n` covers PEM inside JSON strings.
    pattern:
      '-----BEGIN[ A-Z0-9]{0,24}PRIVATE KEY(?: BLOCK)?-----(?:[\\s\\S]*?-----END[ A-Z0-9]{0,24}PRIVATE KEY(?: BLOCK)?-----' +
      '|(?:[A-Za-z0-9+/=:,.\\- \\t\\r\\n]|\\\\[nrt])*)',
    keywords: ['-----BEGIN'],
    priority: 100,
  },
  {
    name: 'aws_access_key',
    type: 'aws_access_key',
    prefilter: '\\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7][A-Z2-7][A-Z2-7][A-Z2-7]',
    pattern: '\\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\\b',
    keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
    priority: 90,
  },
  {
    name: 'aws_secret_key',
    type: 'aws_secret_key',
    prefilter: '(?i)aws[_.\\-]?secret|secret[_.\\-]?access[_.\\-]?key',
    pattern: `(?i)(?:aws[_.\\-]?secret(?:[_.\\-]?access)?[_.\\-]?key|secret[_.\\-]?access[_.\\-]?key)${ASSIGN}(?P<v>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`,
    group: 'v',
    keywords: ['secret'],
    validator: 'aws_secret',
    priority: 90,
  },
  {
    name: 'github_token',
    type: 'github_token',
    prefilter: '\\bgh[pousr]_[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]|\\bgithub_pat_',
    pattern: '\\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\\b',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    priority: 90,
  },
  {
    name: 'gitlab_token',
    type: 'gitlab_token',
    prefilter: '\\bgl(?:pat|dt|rt|ptt|cbt|ft|soat|imt|oas|agent)-',
    pattern: '\\b(?:glpat|gldt|glrt|glptt|glcbt|glft|glsoat|glimt|gloas|glagent)-[A-Za-z0-9_\\-]{20,}',
    keywords: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glft-', 'glsoat-', 'glimt-', 'gloas-', 'glagent-'],
    boundary: 'token',
    priority: 90,
  },
  {
    name: 'slack_token',
    type: 'slack_token',
    prefilter: '\\b(?:xox[abposre]|xapp|xoxe\\.xox[bp])-[0-9A-Za-z]',
    pattern: '\\b(?:xox[abposre]|xapp|xoxe\\.xox[bp])-[0-9A-Za-z\\-]{10,}',
    keywords: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-', 'xoxe', 'xapp-'],
    boundary: 'token',
    priority: 90,
  },
  {
    name: 'slack_webhook_url',
    type: 'slack_token',
    prefilter: 'hooks\\.slack\\.com/',
    pattern: 'https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\\-]{20,}',
    keywords: ['hooks.slack.com'],
    priority: 95,
  },
  {
    name: 'stripe_key',
    type: 'stripe_key',
    prefilter: '\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]|\\bwhsec_',
    // Publishable keys (pk_) are public by design and not matched.
    pattern: '\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\\b|\\bwhsec_[A-Za-z0-9]{24,64}\\b',
    keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
    priority: 90,
  },
  {
    name: 'anthropic_key',
    type: 'anthropic_key',
    prefilter: '\\bsk-ant-',
    pattern: '\\bsk-ant-(?:api|admin|oat|sid)[0-9]{2}-[A-Za-z0-9_\\-]{20,}',
    keywords: ['sk-ant-'],
    boundary: 'token',
    priority: 92,
  },
  {
    name: 'openai_key',
    type: 'openai_key',
    prefilter: '\\bsk-[A-Za-z0-9]',
    pattern:
      '\\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})',
    keywords: ['sk-'],
    boundary: 'token',
    priority: 90,
  },
  {
    name: 'gcp_api_key',
    type: 'gcp_api_key',
    prefilter: '\\bAIza[0-9A-Za-z_\\-]',
    pattern: '\\bAIza[0-9A-Za-z_\\-]{35}',
    keywords: ['AIza'],
    boundary: 'token',
    priority: 90,
  },
  {
    name: 'azure_storage_key',
    type: 'azure_storage_key',
    prefilter: '(?i)(?:AccountKey|SharedAccessKey|sig)=[A-Za-z0-9+/%]',
    // The key inside a connection string, or a SAS signature.
    pattern: '(?i)(?:AccountKey|SharedAccessKey|sig)=(?P<v>[A-Za-z0-9+/%]{30,}(?:==|%3D%3D|=|%3D)?)',
    group: 'v',
    keywords: ['accountkey=', 'sharedaccesskey=', 'sig='],
    validator: 'entropy',
    minEntropy: 4,
    priority: 90,
  },
  {
    name: 'jwt',
    type: 'jwt',
    prefilter: '\\beyJ[A-Za-z0-9_\\-]*\\.eyJ',
    pattern: '\\beyJ[A-Za-z0-9_\\-]{5,}\\.eyJ[A-Za-z0-9_\\-]{5,}\\.[A-Za-z0-9_\\-]*',
    keywords: ['eyJ'],
    validator: 'jwt',
    boundary: 'token',
    priority: 85,
  },
  {
    // scheme://user:PASSWORD@host — the last `@` ends the password, as in
    // the WHATWG URL parser.
    name: 'password_in_url',
    type: 'password_in_url',
    prefilter: `://[^\\s:@/?#"'<>\\\\]*:[^\\s/?"'<>\\\\]+@`,
    pattern: '(?i)\\b[a-z][a-z0-9+.\\-]{1,30}://[^\\s:@/?#"\'<>\\\\]*:(?P<v>[^\\s/?"\'<>\\\\]+)@[A-Za-z0-9\\[]',
    group: 'v',
    keywords: ['://'],
    validator: 'password',
    priority: 80,
  },
  {
    // Password=...; in ADO.NET/JDBC/ODBC connection strings and query strings.
    name: 'password_in_connection_string',
    type: 'password_in_url',
    prefilter: `(?i)(?:password|passwd|pwd)=[^;&\\s"'<>]`,
    pattern: '(?i)(?:^|[;&?\\s"\'])(?:password|passwd|pwd)=(?P<v>[^;&\\s"\'<>\\\\]+)',
    group: 'v',
    validator: 'password',
    keywords: ['password=', 'passwd=', 'pwd='],
    priority: 80,
  },
  {
    name: 'bearer_token',
    type: 'bearer_token',
    prefilter: '(?i)\\bbearer\\s',
    pattern: '(?i)\\bbearer\\s+(?P<v>[A-Za-z0-9._~+/\\-]{12,}=*)',
    group: 'v',
    keywords: ['bearer'],
    validator: 'bearer',
    priority: 70,
  },
  {
    name: 'basic_auth',
    type: 'bearer_token',
    prefilter: '(?i)\\bbasic\\s',
    pattern: '(?i)\\bbasic\\s+(?P<v>[A-Za-z0-9+/]{8,}={0,2})',
    group: 'v',
    keywords: ['basic'],
    validator: 'basic_auth',
    priority: 70,
  },
  {
    name: 'generic_api_key',
    type: 'generic_api_key',
    prefilter: `(?i)${GENERIC_KEY}[A-Za-z0-9_.\\-]*(?:\\\\*["'])?\\s*(?:=|:|=>|:=)\\s*(?:\\\\*["'])?[A-Za-z0-9_+/=.~\\-]{8}`,
    pattern: `(?i)${GENERIC_KEY}${ASSIGN}(?P<v>[A-Za-z0-9_+/=.~\\-]{16,})`,
    group: 'v',
    keywords: ['key', 'token', 'secret', 'credential', 'passphrase'],
    validator: 'generic_secret',
    minEntropy: 3.5,
    priority: 60,
  },
];
