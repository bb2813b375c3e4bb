import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_PING_OPTIONS, sendPing, type PingOptions, type PingResult } from './run/ping-client.js';
import { checkRefSchema, pingUrl, serverUrlSchema, type CheckRef, type PingEvent } from './run/ping-target.js';
import { TailBuffer } from '../platform/tail-buffer.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';
const DEFAULT_TAIL_BYTES = 100_000;
/** Exit status for a usage error (bad flag value, no command), as Unix tools do. */
const EXIT_USAGE = 2;
/**
 * How long to wait, after the child exits, for its stdout/stderr to close. A background process
 * the child left behind can hold the pipes open for ever; past this we report what we have.
 */
const CLOSE_GRACE_MS = 1_000;
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

const EXAMPLES = `
Examples:
  $ vigil run --check 5b7f3b8c-3c3e-4d53-9f0b-1c8e0e6c2a41 -- /usr/local/bin/backup.sh --full
  $ VIGIL_URL=https://vigil.example.com vigil run --check "$PING_KEY/nightly-etl" --create -- python etl.py

Sends a start ping with a fresh run id, runs the command with its output passed through, then
sends the exit status with the tail of the output. Failing pings are retried and reported on
stderr, but never stop the command nor change its exit status. vigil run exits with the
command's status (128+N when the command was killed by signal N, 127 when it cannot be found).`;

const optionsSchema = z.object({
  check: z.string({ error: 'missing --check <uuid | ping-key/slug>' }).pipe(checkRefSchema),
  server: serverUrlSchema,
  create: z.boolean().default(false),
  tailBytes: z.coerce
    .number({ error: '--tail-bytes must be a number of bytes' })
    .int('--tail-bytes must be a whole number of bytes')
    .min(0, '--tail-bytes must not be negative')
    .max(100_000_000, '--tail-bytes must be at most 100000000 (the tail is held in memory)'),
  timeout: z.coerce.number({ error: '--timeout must be a number of seconds' }).positive('--timeout must be positive').max(600, '--timeout must be at most 600 s'),
  retries: z.coerce.number({ error: '--retries must be a number' }).int('--retries must be a whole number').min(0, '--retries must not be negative').max(20, '--retries must be at most 20'),
  quiet: z.boolean().default(false),
});

interface RawOptions {
  check?: string;
  server: string;
  create?: boolean;
  tailBytes: string;
  timeout: string;
  retries: string;
  quiet?: boolean;
}

export function registerRun(program: Command): void {
  // Lets `run` hand everything after the command name to the command unparsed
  // (`vigil run --check X ls -la` runs `ls -la`); program-level options must then precede the
  // subcommand, which is the only place they make sense anyway.
  program.enablePositionalOptions();
  program
    .command('run')
    .description('Run a command and report its start, exit status and output tail to a Vigil check')
    .usage('--check <uuid | ping-key/slug> [options] -- <command> [args...]')
    .argument('[command...]', 'the command to run, after --')
    .option('-c, --check <check>', 'the check to ping: its UUID, or <ping-key>/<slug>')
    .addOption(new Option('-s, --server <url>', 'Vigil server URL').env('VIGIL_URL').default(DEFAULT_SERVER))
    .option('--create', 'create the check if its slug is unknown (ping-key/slug form only)')
    .option('--tail-bytes <bytes>', 'how much of the end of the output to keep and send', String(DEFAULT_TAIL_BYTES))
    .option('--timeout <seconds>', 'time limit for each ping request', String(DEFAULT_PING_OPTIONS.timeoutMs / 1000))
    .option('--retries <n>', 'retries of a ping after a network error, timeout, 5xx or 429', String(DEFAULT_PING_OPTIONS.retries))
    .option('-q, --quiet', 'do not pass the output through to the terminal (it is still sent)')
    .passThroughOptions()
    .showHelpAfterError("Try 'vigil run --help'.")
    // Commander reports its own usage errors (unknown option, missing value) with status 1;
    // make every usage error 2, as for the values checked below.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
    .addHelpText('after', EXAMPLES)
    .action(async (command: string[], raw: RawOptions) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) usageError(parsed.error.issues.map((issue) => issue.message).join('; '));
      const opts = parsed.data;
      if (command.length === 0) usageError('no command given (put it after --, e.g. vigil run --check <uuid> -- ./backup.sh)');
      if (opts.create && opts.check.kind !== 'slug') usageError('--create needs the <ping-key>/<slug> form of --check');
      const code = await runReported({
        command,
        ref: opts.check,
        server: opts.server,
        create: opts.create,
        tailBytes: opts.tailBytes,
        quiet: opts.quiet,
        ping: { ...DEFAULT_PING_OPTIONS, timeoutMs: opts.timeout * 1000, retries: opts.retries },
      });
      process.exit(code);
    });
}

function usageError(message: string): never {
  process.stderr.write(`vigil run: ${message}\nTry 'vigil run --help'.\n`);
  process.exit(EXIT_USAGE);
}

export interface RunParams {
  command: string[];
  ref: CheckRef;
  server: URL;
  create: boolean;
  tailBytes: number;
  quiet: boolean;
  ping: PingOptions;
}

/** Runs the command between a start and an exit-status ping; resolves to the exit status to leave with. */
export async function runReported(params: RunParams): Promise<number> {
  const rid = randomUUID();
  // Aborts pings still being retried when the user interrupts us after the command has ended.
  const abort = new AbortController();
  const pingOptions: PingOptions = { ...params.ping, signal: abort.signal, userAgent: 'vigil-run/0.1.0' };
  const ping = (event: PingEvent, body?: Uint8Array) => sendPing(pingUrl(params.server, params.ref, event, rid, params.create), body, pingOptions);

  // The start ping goes out while the command starts: a slow or unreachable server must not
  // delay the job. The exit ping waits for it, so the server always sees start before end.
  const started: Promise<PingResult | undefined> = ping({ kind: 'start' }).catch((error: unknown) => {
    if (!abort.signal.aborted) warn(`could not send start ping: ${errorMessage(error)}`);
    return undefined;
  });

  const tail = new TailBuffer(params.tailBytes);
  const outcome = await runChild(params.command, tail, params.quiet, () => abort.abort());
  if (outcome.kind === 'spawn-error') warn(outcome.message);

  const startAnswer = await started;
  // Keep to the server's limit once it told us (it would cut the front off anyway), so that
  // what is sent is exactly the end of the output, cut on a character boundary.
  const limit = Math.min(params.tailBytes, startAnswer?.bodyLimit ?? Number.POSITIVE_INFINITY);
  const body = outcome.kind === 'spawn-error' ? Buffer.from(`vigil run: ${outcome.message}\n`).subarray(0, limit) : tail.tail(limit);
  if (!abort.signal.aborted) {
    await ping({ kind: 'exit', status: outcome.status }, body).catch((error: unknown) => {
      if (!abort.signal.aborted) warn(`could not send exit status ping: ${errorMessage(error)}`);
    });
  }
  if (abort.signal.aborted) warn(`interrupted while reporting: exit status ${outcome.status} was not sent`);
  return outcome.status;
}

type ChildOutcome = { kind: 'exited'; status: number } | { kind: 'spawn-error'; status: number; message: string };

/**
 * Spawns the command with stdin inherited and stdout/stderr piped: each chunk goes on to our
 * own stdout/stderr as it arrives and into the shared tail, so the tail interleaves both in
 * arrival order. Signals sent to us are forwarded to the child while it runs; once it has
 * ended, a signal calls `onLateSignal` instead: the user wants out, so reporting is cut short
 * and we leave with the command's status.
 */
function runChild(command: string[], tail: TailBuffer, quiet: boolean, onLateSignal: () => void): Promise<ChildOutcome> {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('empty command');
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'] });
    let exited = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (exited) onLateSignal();
      else child.kill(signal);
    };
    // Never removed: the process exits right after the exit ping, and until then a signal must
    // not kill us with the default action (the caller would lose the command's exit status).
    for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

    const stdoutDone = relay(child.stdout, process.stdout, tail, quiet);
    const stderrDone = relay(child.stderr, process.stderr, tail, quiet);

    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' without a pid: the command could not be started at all. (With a pid, it is a
      // failed kill(), which changes nothing about how the run ends.)
      if (child.pid !== undefined) return;
      exited = true;
      const notFound = error.code === 'ENOENT';
      const status = notFound ? 127 : 126; // the shell's codes for "not found" / "cannot execute"
      const reason = notFound ? 'command not found' : error.code === 'EACCES' ? 'permission denied' : error.message;
      resolve({ kind: 'spawn-error', status, message: `cannot run ${JSON.stringify(file)}: ${reason}` });
    });

    child.once('exit', (code, signal) => {
      exited = true;
      const status = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1);
      const grace = new Promise<void>((done) => setTimeout(done, CLOSE_GRACE_MS).unref());
      void Promise.race([Promise.all([stdoutDone, stderrDone]), grace]).then(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ kind: 'exited', status });
      });
    });
  });
}

/** Copies `from` into `to` (unless quiet) and into the tail; resolves when `from` ends. */
function relay(from: Readable, to: Writable, tail: TailBuffer, quiet: boolean): Promise<void> {
  let passThrough = !quiet;
  // A closed terminal or pipe (EPIPE from `vigil run ... | head`) stops the pass-through only:
  // the command keeps running and its tail is still reported.
  to.on('error', () => {
    passThrough = false;
    from.resume();
  });
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      // Back-pressure: a slow reader of our output slows the command rather than filling memory.
      if (passThrough && !to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.once('close', () => resolve());
    from.once('error', () => resolve());
  });
}

function warn(message: string): void {
  process.stderr.write(`vigil run: ${message}\n`);
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
