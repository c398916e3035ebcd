import type { Command } from 'commander';
import { loadConfig, ConfigError } from '../../config/load.js';

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a config file and exit: 0 when valid, 2 with every problem listed otherwise')
    .requiredOption('-c, --config <file>', 'config file to check')
    .action(async (opts: { config: string }) => {
      try {
        const config = await loadConfig(opts.config);
        const pipelines = config.pipelines.map((p) => `${p.id}: ${p.receivers.join(',')} → ${p.processors.join(',') || '(none)'} → ${p.exporters.join(',')}`);
        process.stdout.write(`${opts.config}: valid\n${pipelines.map((l) => `  ${l}\n`).join('')}`);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${opts.config}: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
    });
}
