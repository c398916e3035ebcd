import type { Command } from 'commander';
import { loadConfig, ConfigError, DEFAULT_CONFIG_PATH } from '../../config/load.js';
import { startService } from '../../pipeline/service.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the Sluice pipeline (receivers, redaction, approvals, exporters) until SIGTERM/SIGINT')
    .option('-c, --config <file>', 'config file (YAML, collector-shaped)', DEFAULT_CONFIG_PATH)
    .option('-r, --role <role>', 'which pipelines run: all, or a pipeline name such as edge or store (traces/edge, logs/edge)', 'all')
    .action(async (opts: { config: string; role: string }) => {
      let config;
      try {
        config = await loadConfig(opts.config);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`sluice: ${opts.config}: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      let service;
      try {
        service = await startService(config, { role: opts.role });
      } catch (err) {
        // What was started is stopped again by startService; the operator
        // gets the reason on one line (a port in use, an unreadable data
        // directory), not a stack trace.
        process.stderr.write(`sluice: cannot start: ${(err as Error).message}\n`);
        process.exit(1);
      }
      let signals = 0;
      const shutdown = (signal: string) => {
        if (++signals > 1) {
          service.logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        service.logger.info({ signal }, 'shutting down: no new data accepted, draining queues');
        const force = setTimeout(() => {
          service.logger.error('shutdown deadline passed; exiting');
          process.exit(1);
        }, config.service.shutdown_timeout + 5_000);
        force.unref();
        service.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGHUP', () => {
        service.logger.info('SIGHUP: reloading policy');
        service.reload().catch((err: Error) => service.logger.error({ err: err.message }, 'reload failed'));
      });
    });
}
