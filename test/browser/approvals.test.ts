// The decision pages in a real browser (Debian Chromium driven by
// playwright-core) against a started Sluice, a real OpenID Connect provider
// (oidc-provider) and a fake Teams webhook, all on loopback. An agent asks
// with requireApproval; the Teams card's Approve button leads through SSO to
// the decision page; the requester and a non-member cannot approve; a forged
// CSRF token is refused; an approver approves and the agent's call resolves.
// Screenshots land in test-artifacts/browser/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startTeamsNotifier, type TeamsNotifier } from '../../approvals/channels/teams/notifier.js';
import { teamsConfigSchema } from '../../approvals/channels/teams/config.js';
import { pagesConfigSchema } from '../../approvals/pages/config.js';
import { registerApprovalPages, type ApprovalPages } from '../../approvals/pages/routes.js';
import { ApprovalAttr } from '../../approvals/types.js';
import { createRedactor } from '../../processors/redaction/factory.js';
import { requireApproval, type Approval } from '../../sdk/index.js';
import { adaptiveCardProblems, startFakeTeams, type FakeTeams } from '../helpers/fake-teams.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { startTestService, type TestService } from '../helpers/service.js';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts/browser');
const AGENT_TOKEN = 'browser-agent-token-0123456789abcdef';
const CLIENT = { client_id: 'sluice-pages', client_secret: 'browser-client-secret-0123456789' };
const USERS = [
  { sub: 'u-alice', email: 'alice@example.com', name: 'Alice Approver', groups: ['data-owners'] },
  { sub: 'u-dana', email: 'dana@example.com', name: 'Dana Requester', groups: ['data-owners'] },
  { sub: 'u-mallory', email: 'mallory@example.com', name: 'Mallory Outsider', groups: ['interns'] },
];
const POLICY = `
version: 1
name: browser
rules:
  - name: export-table
    match: { action: export_table }
    effect: require_approval
    require_approval:
      approvers: { groups: [data-owners] }
      timeout: 10m
      channels: [teams]
`;

describe('approval pages in Chromium', { timeout: 120_000 }, () => {
  let dir: string;
  let idp: TestOidcProvider;
  let teams: FakeTeams;
  let service: TestService;
  let pagesApp: FastifyInstance;
  let pages: ApprovalPages;
  let notifier: TeamsNotifier;
  let base: string;
  let browser: Browser;
  let provider: BasicTracerProvider;
  const contexts: BrowserContext[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-browser-'));
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(join(dir, 'policy.yaml'), POLICY);
    idp = await startOidcProvider({ users: USERS });
    teams = await startFakeTeams();
    service = await startTestService({
      processors: '  redaction: {}\n  privileged: {}',
      tracesProcessors: ['redaction', 'privileged'],
      exporters: { yaml: '  debug: {}', ids: ['debug'] },
      approvals: `  policy_file: "${join(dir, 'policy.yaml')}"
  auth:
    tokens:
      - { name: agent, value: "${AGENT_TOKEN}", scopes: [ingest, request] }
`,
    });
    // The pages on their own loopback server over the running Sluice's engine.
    pagesApp = Fastify();
    pages = await registerApprovalPages(pagesApp, {
      engine: service.engine!,
      config: pagesConfigSchema.parse({ oidc: { issuer: idp.issuer, ...CLIENT, scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_http: true } }),
      logger: pino({ level: 'silent' }),
      listenHost: '127.0.0.1',
      redactor: createRedactor({}),
    });
    base = await pagesApp.listen({ port: 0, host: '127.0.0.1' });
    idp.addClient({ ...CLIENT, redirect_uris: [`${base}/approvals/auth/callback`] });
    notifier = startTeamsNotifier({ engine: service.engine!, config: teamsConfigSchema.parse({ webhook_url: `${teams.url}/workflows/approvals` }), pageUrl: base, logger: pino({ level: 'silent' }) });
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'report-agent', 'deployment.environment': 'prod' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${service.ports.http}/v1/traces` }))],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright-core adds --headless and a fresh --user-data-dir of its own.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    notifier?.stop();
    pages?.stop();
    await pagesApp?.close();
    await provider?.shutdown();
    await service?.cleanup();
    await teams?.close();
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function userPage(width = 1280, height = 900): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width, height } });
    ctx.setDefaultTimeout(20_000);
    contexts.push(ctx);
    return ctx.newPage();
  }

  /** Opens `url`; on the IdP's login form signs in as `login`; waits until back on `path`. */
  async function signInAndOpen(page: Page, url: string, login: string, path: string) {
    await page.goto(url);
    await page.waitForURL((u) => u.origin === idp.issuer);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('test-password');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.origin === base && u.pathname === path);
  }

  /** No button is offered; a hand-made POST in the same session, with its valid CSRF token, is refused by the engine. */
  async function assertPostRefused(page: Page, id: string, reason: RegExp) {
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const res = await page.request.post(`${base}/approvals/${encodeURIComponent(id)}/decision`, { form: { _csrf: csrf, verdict: 'approve' }, maxRedirects: 0 });
    assert.equal(res.status(), 403);
    assert.match(await res.text(), reason);
  }

  it('sign in with SSO from the Teams card, refuse the ineligible and a forged CSRF token, approve, and the agent proceeds', async () => {
    // The agent asks; its span goes through OTLP → redaction → privileged → engine.
    const asked: Promise<Approval> = requireApproval({
      action: 'export_table',
      resource: 'warehouse.customers',
      reason: 'weekly churn report for dana.private@example.com',
      arguments: { table: 'customers', notify: 'dana.private@example.com' },
      attributes: { [ApprovalAttr.requester]: 'dana@example.com' },
      endpoint: `http://127.0.0.1:${service.ports.api}`,
      token: AGENT_TOKEN,
      tracerProvider: provider,
      timeoutMs: 100_000,
    });
    let settled = false;
    void asked.then(
      () => (settled = true),
      () => (settled = true),
    );

    // Teams gets a valid card whose Approve button opens this request's decision page.
    const [posted] = await teams.waitFor(1);
    const card = posted!.body.attachments[0].content;
    assert.deepEqual(adaptiveCardProblems(card, card.version), []);
    const approveUrl = new URL(card.actions[0].url);
    const id = decodeURIComponent(approveUrl.pathname.split('/').pop()!);
    assert.equal(approveUrl.origin, base);
    assert.equal(approveUrl.searchParams.get('verdict'), 'approve');
    assert.equal(service.engine!.get(id)?.state, 'pending');
    assert.equal(JSON.stringify(card).includes('dana.private@example.com'), false, 'the card shows redacted context only');

    // Someone outside the approver group: sees the request, cannot approve.
    const mallory = await userPage();
    await signInAndOpen(mallory, approveUrl.href, 'u-mallory', `/approvals/${id}`);
    await mallory.locator('#not-eligible').waitFor();
    assert.match(await mallory.locator('#not-eligible').innerText(), /not an approver/);
    assert.equal(await mallory.locator('#approve').count(), 0);
    await assertPostRefused(mallory, id, /not an approver/);

    // The requester: cannot approve their own request.
    const dana = await userPage();
    await signInAndOpen(dana, approveUrl.href, 'u-dana', `/approvals/${id}`);
    assert.match(await dana.locator('#not-eligible').innerText(), /requester cannot decide their own request/);
    assert.equal(await dana.locator('#approve').count(), 0);
    await assertPostRefused(dana, id, /requester cannot decide their own request/);

    // The approver, on a desktop: the inbox lists the request.
    const alice = await userPage();
    await signInAndOpen(alice, `${base}/approvals`, 'u-alice', '/approvals');
    await alice.locator(`#pending a[href="/approvals/${encodeURIComponent(id)}"]`).waitFor();
    await alice.screenshot({ path: join(ARTIFACTS, 'inbox.png'), fullPage: true });

    // A forged CSRF token is refused and decides nothing.
    await alice.goto(approveUrl.href);
    await alice.locator('#decide-form input[name="_csrf"]').evaluate((el: { value: string }) => (el.value = 'forged-token'));
    await alice.locator('#approve').click();
    await alice.locator('#error').waitFor();
    assert.match(await alice.locator('#error').innerText(), /CSRF check failed/);
    assert.equal(service.engine!.get(id)?.state, 'pending');
    assert.equal(settled, false, 'the agent is still waiting');

    // The decision page, desktop and phone width; the full redacted context is on it.
    await alice.goto(approveUrl.href);
    for (const text of ['report-agent', 'dana@example.com', 'export_table', 'warehouse.customers', 'browser / export-table', 'left']) {
      assert.ok((await alice.locator('main').innerText()).includes(text), text);
    }
    assert.equal((await alice.locator('main').innerText()).includes('dana.private@example.com'), false, 'arguments and reason are shown redacted');
    await alice.screenshot({ path: join(ARTIFACTS, 'decision-desktop.png'), fullPage: true });
    await alice.setViewportSize({ width: 390, height: 844 });
    assert.equal(await alice.evaluate(() => {
      // Runs in the page (tsconfig has no DOM lib).
      const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return w.document.documentElement.scrollWidth <= w.innerWidth;
    }), true, 'no sideways scrolling on a phone');
    const approveBox = await alice.locator('#approve').boundingBox();
    assert.ok(approveBox && approveBox.height >= 44 && approveBox.width >= 150, 'thumb-sized Approve button');
    await alice.screenshot({ path: join(ARTIFACTS, 'decision-phone.png'), fullPage: true });

    // Approve, with a comment.
    await alice.locator('#comment').fill('fine for the weekly report');
    await alice.locator('#approve').click();
    await alice.locator('h1 [data-state="approved"]').waitFor();
    const approval = await asked;
    assert.equal(approval.state, 'approved');
    assert.equal(approval.id, id);
    assert.deepEqual(
      approval.approvers.map((a) => [a.id, a.via]),
      [['alice@example.com', 'oidc']],
    );
    assert.match(await alice.locator('#trail').innerText(), /approved by Alice Approver \(alice@example.com\) via page: “fine for the weekly report”/);

    // Teams gets the follow-up: the outcome and who decided.
    const [, follow] = await teams.waitFor(2);
    const outcome = follow!.body.attachments[0].content;
    assert.deepEqual(adaptiveCardProblems(outcome, outcome.version), []);
    assert.match(JSON.stringify(outcome.body), /Approved by Alice Approver \(alice@example.com\)/);
  });

  it('console: events, filters and a redaction preview that stores nothing', async () => {
    const page = await userPage();
    await signInAndOpen(page, `${base}/approvals/console`, 'u-alice', '/approvals/console');
    await page.locator('#events tr[data-type="approved"]').first().waitFor();
    await page.locator('select[name="state"]').selectOption('decision_refused');
    await page.locator('#filters button[type="submit"]').click();
    await page.waitForURL((u) => u.searchParams.get('state') === 'decision_refused');
    const refused = await page.locator('#events tbody tr').allInnerTexts();
    assert.ok(refused.length >= 2, 'the requester and the outsider were refused and audited');
    assert.ok(refused.every((r) => /decision refused/.test(r)));
    await page.locator('#preview-text').fill('send the export to carol@example.com with key AKIAIOSFODNN7EXAMPLE');
    await page.locator('#preview-submit').click();
    await page.locator('#preview-output').waitFor();
    const out = await page.locator('#preview-output').innerText();
    assert.equal(out.includes('carol@example.com'), false, 'the email is scrubbed');
    assert.ok((await page.locator('#findings tbody tr').count()) >= 1);
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
  });
});
