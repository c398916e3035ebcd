#!/usr/bin/env node
// The `sluice` command. Each subcommand lives in cli/commands/.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { packagePath } from '../config/paths.js';
import { loadConfig } from '../config/load.js';
import { registerStartCommand } from './commands/start.js';
import { registerValidateCommand } from './commands/validate.js';
import { registerRedactCommand } from './commands/redact.js';
import { registerAuditCommand } from './commands/audit.js';

const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };

const program = new Command('sluice')
  .description('Sluice: an OpenTelemetry pipeline that redacts agent telemetry and holds privileged actions for a human decision')
  .version(pkg.version)
  .showHelpAfterError();

registerStartCommand(program);
registerValidateCommand(program);
registerRedactCommand(program, async (path?: string) => {
  const config = await loadConfig(path);
  const processors: Record<string, unknown> = {};
  for (const [id, c] of config.processors) processors[id] = c.config;
  return { processors };
});
registerAuditCommand(program);

await program.parseAsync(process.argv);
