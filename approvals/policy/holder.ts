// Holds the policy in force and swaps it when the file changes (fs.watch,
// debounced) or on reload() (the service calls reloadAllPolicies() on
// SIGHUP). An invalid new file is logged and the previous policy stays.
// Pending requests are unaffected either way: each carries a snapshot of the
// rule that opened it.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CompiledPolicy } from './compile.js';
import { loadPolicyFile, loadPolicyFileSync } from './loader.js';

export interface PolicySource {
  current(): CompiledPolicy;
}

export interface PolicyHolderOptions {
  file: string;
  logger: Logger;
  /** Watch the file and reload on change (default true). */
  watch?: boolean;
  debounceMs?: number;
  /** Called after every reload attempt. */
  onReload?: (result: { ok: true; policy: CompiledPolicy } | { ok: false; error: Error }) => void;
}

const live = new Set<PolicyHolder>();

/** Reloads every open policy holder; the service wires this to SIGHUP. */
export async function reloadAllPolicies(): Promise<void> {
  await Promise.all([...live].map((h) => h.reload()));
}

export class PolicyHolder implements PolicySource {
  readonly file: string;
  private policy: CompiledPolicy;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();

  /** Loads the file now; throws PolicyLoadError if it is invalid (a bad policy at start is a config error). */
  constructor(private readonly opts: PolicyHolderOptions) {
    this.file = resolve(opts.file);
    this.policy = loadPolicyFileSync(this.file);
    opts.logger.info({ policy: this.policy.name, rules: this.policy.ruleCount, digest: this.policy.digest.slice(0, 12) }, 'approval policy loaded');
    if (opts.watch !== false) this.startWatching();
    live.add(this);
  }

  current(): CompiledPolicy {
    return this.policy;
  }

  /** Re-reads the file; keeps the current policy if the new one is invalid. Never rejects. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      try {
        const next = await loadPolicyFile(this.file);
        const changed = next.digest !== this.policy.digest;
        this.policy = next;
        if (changed) this.opts.logger.info({ policy: next.name, rules: next.ruleCount, digest: next.digest.slice(0, 12) }, 'approval policy reloaded');
        this.opts.onReload?.({ ok: true, policy: next });
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).message, file: this.file }, 'approval policy reload failed; keeping the previous policy');
        this.opts.onReload?.({ ok: false, error: err as Error });
      }
    });
    return this.reloading;
  }

  close(): void {
    live.delete(this);
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  // The directory is watched, not the file: editors and config management
  // replace files by rename, which ends a watch on the old inode.
  private startWatching(): void {
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 100);
        this.timer.unref();
      });
      this.watcher.on('error', (err) => this.opts.logger.warn({ err: err.message, file: this.file }, 'policy file watch failed; reload with SIGHUP'));
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, file: this.file }, 'cannot watch the policy file; reload with SIGHUP');
    }
  }
}
