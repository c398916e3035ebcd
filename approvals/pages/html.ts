// HTML building blocks for the server-rendered pages: one escaping function
// every value goes through, and one layout with small inline CSS that works
// at phone width. No scripts and no external assets (see the CSP in routes.ts).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** A tagged template whose interpolations are escaped unless they are `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

export function when(ms: number): Html {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
}

/** "12m 30s left", "expired 3m ago". */
export function timeLeft(expiresAt: number, now: number): string {
  const d = Math.round((expiresAt - now) / 1000);
  const fmt = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`);
  return d >= 0 ? `${fmt(d)} left` : `expired ${fmt(-d)} ago`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f4f5f7}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#15324d;color:#fff}
header.top a{color:#fff;text-decoration:none}
header.top .brand{font-weight:700;margin-right:auto}
header.top form{margin:0}
header.top button{background:none;border:1px solid #fff8;color:#fff;border-radius:4px;padding:.2rem .6rem;font:inherit;cursor:pointer}
.dev{background:#b00020;color:#fff;padding:.6rem 1rem;font-weight:700;text-align:center;letter-spacing:.02em}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem;word-break:break-word}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border:1px solid #d8dce1;border-radius:8px;padding:1rem;margin-bottom:1rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dl.kv dt{color:#57606a;font-weight:600}
dl.kv dd{margin:0;word-break:break-word;min-width:0}
code,pre{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #d8dce1;border-radius:6px;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.85rem;font-weight:600;background:#e7ecf0}
.s-pending{background:#fff3c4;color:#6b4e00}.s-approved,.s-executed{background:#d6f5dd;color:#11612b}
.s-denied,.s-failed{background:#fde0e0;color:#8a1111}.s-expired,.s-cancelled{background:#e7e7e7;color:#444}
.notice{border-left:4px solid #0969da;background:#ddf4ff;padding:.6rem .8rem;border-radius:4px;margin-bottom:1rem}
.notice.warn{border-color:#bf8700;background:#fff8c5}.notice.err{border-color:#cf222e;background:#ffebe9}
.decide textarea{width:100%;min-height:5rem;font:inherit;padding:.5rem;border:1px solid #b9c0c8;border-radius:6px}
.buttons{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:.75rem}
.buttons button{flex:1 1 10rem;font:inherit;font-weight:700;padding:.8rem 1rem;border-radius:8px;border:0;cursor:pointer;color:#fff;min-height:3rem}
button.approve{background:#1a7f37}button.deny{background:#cf222e}
button.approve.preferred,button.deny.preferred{outline:3px solid #0969da;outline-offset:2px}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e4e7eb;vertical-align:top;overflow-wrap:break-word}
td time{white-space:nowrap}
th{font-size:.85rem;color:#57606a}
.table-wrap{overflow-x:auto;border:1px solid #d8dce1;border-radius:8px}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#57606a}
input,select{font:inherit;padding:.35rem .5rem;border:1px solid #b9c0c8;border-radius:6px}
.btn{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
ol.trail{margin:0;padding-left:1.2rem}ol.trail li{margin:.25rem 0}
.muted{color:#57606a}
mark{background:#ffe58f}
@media (max-width:40rem){dl.kv{grid-template-columns:1fr}dl.kv dt{margin-top:.4rem}main{padding:.6rem}th.opt,td.opt{display:none}}
`;

export interface LayoutOptions {
  title: string;
  /** The signed-in user's name; absent on the sign-in page. */
  user?: string;
  devMode: boolean;
  csrf?: string;
  showConsole?: boolean;
}

export function layout(opts: LayoutOptions, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${opts.title} · Sluice</title><style>${new Html(CSS)}</style></head>
<body>
${opts.devMode ? html`<div class="dev" role="alert" id="dev-banner">DEVELOPMENT MODE — users and passwords come from the config file. Not for production.</div>` : ''}
<header class="top"><a class="brand" href="/approvals">Sluice approvals</a>
${opts.user ? html`<a href="/approvals">Inbox</a>${opts.showConsole ? html`<a href="/approvals/console">Console</a>` : ''}<span class="muted" id="whoami" style="color:#cfe3f5">${opts.user}</span>
<form method="post" action="/approvals/auth/logout"><input type="hidden" name="_csrf" value="${opts.csrf ?? ''}"><button type="submit">Sign out</button></form>` : ''}
</header>
<main>${body}</main>
</body></html>`.value;
}
