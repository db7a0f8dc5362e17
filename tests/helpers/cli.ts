// Runs one of the project's command-line scripts as a child process on this Node, the way a user runs it.
import { execFile } from 'node:child_process';

export interface CliRun {
  /** Exit status; null when the process was killed (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `timeoutMs` bounds a run that would never end (the child is killed with SIGKILL and `signal` says so): it
 * is a guard for a hang, set far above any honest run on a busy machine, never a measurement.
 */
export function runScript(script: string, args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 0, killSignal: 'SIGKILL', maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const failure = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
