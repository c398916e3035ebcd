// An agent that asks before it exports a table. Run Sluice (`npm start`),
// then `npx tsx examples/approval-agent.ts`, and approve from the API with the
// curl command it prints (or with the buttons in Slack, when configured).
//
// Environment:
//   SLUICE_OTLP_URL   where spans go   (default http://127.0.0.1:4318/v1/traces)
//   SLUICE_API_URL    the Sluice API   (default http://127.0.0.1:4380)
//   SLUICE_API_TOKEN  a token with the `request` scope (and `ingest` if the receiver checks tokens);
//                     default: the development token of config/sluice.yaml
//   EXAMPLE_USER      the person the agent acts for: enduser.id (default dana@example.com)
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { trace } from '@opentelemetry/api';
import { ApprovalDeniedError, requireApproval, withApproval } from '../sdk/index.js';

const apiUrl = process.env.SLUICE_API_URL ?? 'http://127.0.0.1:4380';
const token = process.env.SLUICE_API_TOKEN || 'dev-agent-token-not-for-production';
process.env.SLUICE_API_TOKEN = token;

// 1. Spans go to Sluice: the intent span is how the request reaches it.
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'report-agent', 'deployment.environment': 'prod' }),
  spanProcessors: [
    new SimpleSpanProcessor(
      new OTLPTraceExporter({
        url: process.env.SLUICE_OTLP_URL ?? 'http://127.0.0.1:4318/v1/traces',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      }),
    ),
  ],
});
trace.setGlobalTracerProvider(provider);

async function exportTable(args: { table: string; format: string; destination: string }): Promise<number> {
  // The privileged action itself; here it only pretends.
  await new Promise((r) => setTimeout(r, 200));
  console.log(`exported ${args.table} as ${args.format} to ${args.destination}`);
  return 42_000;
}

async function main() {
  const args = { table: 'customers', format: 'parquet', destination: 's3://exports/q3-churn/' };
  console.log('asking for approval to export_table on warehouse.customers …');

  // 2. Ask, and wait. The id is known once the span is out; print how to decide.
  const waiting = requireApproval({
    action: 'export_table',
    resource: 'warehouse.customers',
    reason: 'Q3 churn analysis requested by finance',
    arguments: args,
    attributes: { 'enduser.id': process.env.EXAMPLE_USER ?? 'dana@example.com', 'gen_ai.agent.name': 'report-agent' },
    endpoint: apiUrl,
    token,
    timeoutMs: 15 * 60_000,
    onRequested: printHowToDecide,
  });

  try {
    const approval = await waiting;
    console.log(`approved by ${approval.approvers.map((a) => a.id).join(', ')} (request ${approval.id})`);
    // 3. Run it, once, with exactly the approved arguments.
    const rows = await withApproval(approval, () => exportTable(approval.arguments as typeof args));
    console.log(`done: ${rows} rows`);
  } catch (err) {
    if (err instanceof ApprovalDeniedError) {
      console.error(`not exporting (${err.reason}): ${err.message}`);
      process.exitCode = 1;
    } else throw err;
  } finally {
    await provider.shutdown();
  }
}

function printHowToDecide(id: string) {
  console.log(`
waiting for a decision on request ${id}
approve it (each approver once; the example policy wants two data owners;
with \`npm start\`'s development tokens, ALICE_TOKEN=dev-alice-token-not-for-production
and BOB_TOKEN=dev-bob-token-not-for-production):

  curl -s -X POST -H "Authorization: Bearer $ALICE_TOKEN" -H 'content-type: application/json' \\
    -d '{"decision":"approve","comment":"ok for Q3"}' ${apiUrl}/v1/approvals/${id}/decisions
  curl -s -X POST -H "Authorization: Bearer $BOB_TOKEN" -H 'content-type: application/json' \\
    -d '{"decision":"approve"}' ${apiUrl}/v1/approvals/${id}/decisions

or deny it:

  curl -s -X POST -H "Authorization: Bearer $ALICE_TOKEN" -H 'content-type: application/json' \\
    -d '{"decision":"deny","comment":"no DPA for this export"}' ${apiUrl}/v1/approvals/${id}/decisions
`);
}

await main();
