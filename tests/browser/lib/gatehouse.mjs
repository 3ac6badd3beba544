// Runs the real gatehouse binary: a free port (or the one asked for), a fresh SQLite file in a
// temp dir, mail to a capture server, and the test's own settings on top.
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, portInUse, startProcess, waitFor } from './procs.mjs';
import { startMailCapture } from './smtp.mjs';

export const GATEHOUSE_BIN = process.env.GATEHOUSE_BIN || '/var/tmp/gatehouse-ci-target/debug/gatehouse';

/** Settings every test server gets unless the test says otherwise. */
export const TEST_DEFAULTS = {
  RUST_LOG: 'info',
  LOG_FORMAT: 'pretty',
  // Every request comes from 127.0.0.1 (and through the Next proxy), so the per-IP limits
  // of a public deployment would trip; the tests that need them set their own.
  RATE_LIMIT_PER_IP: 'off',
  RATE_LIMIT_LOGIN: 'off',
  RATE_LIMIT_REGISTER: 'off',
  RATE_LIMIT_EMAIL: 'off',
  RATE_LIMIT_MAIL_PER_ADDRESS: 'off',
  RATE_LIMIT_PASSWORD_RESET: 'off',
  PASSWORD_HASH_CONCURRENCY: '2',
};

async function assertBinary() {
  try {
    await access(GATEHOUSE_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `gatehouse binary not found at ${GATEHOUSE_BIN}: build it (cargo build) and set GATEHOUSE_BIN to its path`,
    );
  }
}

/**
 * Starts gatehouse. `env` is added to (and overrides) TEST_DEFAULTS; `PUBLIC_URL` defaults to
 * the server's own URL. Options: `port` (default: a free one), `mail` (a MailCapture to share;
 * default: a new one, stopped with the server).
 * Returns { url, port, publicUrl, mail, dir, env, stop(), logText(), cli(args, {input}) }.
 */
export async function startGatehouse(env = {}, { port, mail } = {}) {
  await assertBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  const ownMail = !mail;
  mail ??= await startMailCapture();
  port ??= await freePort();
  if (await portInUse(port)) throw new Error(`port ${port} is taken: cannot start gatehouse on it`);
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? dir,
    TMPDIR: os.tmpdir(),
    ...TEST_DEFAULTS,
    DATABASE_URL: `sqlite://${path.join(dir, 'gatehouse.db')}?mode=rwc`,
    BIND_ADDR: `127.0.0.1:${port}`,
    PUBLIC_URL: url,
    SMTP_URL: mail.url,
    ...env,
  };
  // cwd = the temp dir, so no stray .env file is read.
  const proc = startProcess(GATEHOUSE_BIN, ['serve'], {
    env: fullEnv,
    cwd: dir,
    logFile: path.join(dir, 'gatehouse.log'),
    name: 'gatehouse',
  });
  let exited = null;
  proc.exited.then((e) => (exited = e));
  try {
    await waitFor(
      `gatehouse /health on ${url}`,
      async () => {
        if (exited) throw new Error(`gatehouse exited (${JSON.stringify(exited)})`);
        const r = await fetch(`${url}/health`);
        return r.status === 200;
      },
      { timeoutMs: 30_000 },
    );
  } catch (e) {
    await proc.stop();
    if (ownMail) await mail.stop();
    throw new Error(`${e.message}\n--- gatehouse log ---\n${(await proc.logText()).slice(-4000)}`);
  }

  return {
    url,
    port,
    publicUrl: fullEnv.PUBLIC_URL,
    mail,
    dir,
    env: fullEnv,
    logText: proc.logText,
    /** Runs `gatehouse <args>` on the same database (e.g. ['admin', 'create', '--email', …]). */
    cli(args, { input } = {}) {
      return new Promise((resolve, reject) => {
        const child = execFile(GATEHOUSE_BIN, args, { env: fullEnv, cwd: dir, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`gatehouse ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
          else resolve({ stdout, stderr });
        });
        if (input !== undefined) child.stdin.end(input);
      });
    },
    async stop() {
      await proc.stop();
      if (ownMail) await mail.stop();
      if (!process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
    },
  };
}
