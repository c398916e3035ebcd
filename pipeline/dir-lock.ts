// One process per directory of local state. Two writers on a disk queue would
// interleave its records; on the approval journal they would fork the hash
// chain (each appends after the last record it knows), which the next start
// refuses as a damaged journal. A second Sluice on the same data directory
// (an overlapping restart, two containers on one volume) is refused instead.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  /** Removes the LOCK file if this process still holds it. */
  release(): void;
}

/**
 * Takes `<dir>/LOCK` (this process's pid, created exclusively). A LOCK left by
 * a process that is gone is taken over; one held by a live process throws
 * `<what> <dir> is in use by process <pid>; <hint>`. The same process may
 * take it again (a reopen after a simulated crash).
 */
export function lockDir(dir: string, what: string, hint: string): DirLock {
  const path = join(dir, 'LOCK');
  const mine = String(process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: number;
    try {
      holder = Number(readFileSync(path, 'utf8').trim());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    if (holder === process.pid) break;
    if (holder > 0 && pidAlive(holder)) throw new Error(`${what} ${dir} is in use by process ${holder}; ${hint}`);
    // Half-written by a process that just started, or left by one that is gone.
    if (attempt >= 2) throw new Error(`${what} ${dir}: cannot take its LOCK file (held by "${String(holder)}"); ${hint}`);
    rmSync(path, { force: true });
  }
  return {
    release() {
      try {
        if (readFileSync(path, 'utf8').trim() === mine) rmSync(path, { force: true });
      } catch {
        // Already gone.
      }
    },
  };
}
