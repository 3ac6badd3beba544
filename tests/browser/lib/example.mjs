// The built Next.js example (examples/nextjs) served by `next start` on a free port, with a
// gatehouse of its own behind it.
//
// Next.js compiles `rewrites()` into the build, so the gatehouse URL the example proxies
// /api/auth to is fixed by `npm run build` (GATEHOUSE_URL). startExampleStack() reads it from
// the build and starts gatehouse on that port: test files that use the example therefore run
// one at a time (run.sh passes --test-concurrency=1).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startProcess, waitFor } from './procs.mjs';
import { REPO_ROOT } from './browser.mjs';
import { startGatehouse } from './gatehouse.mjs';

export const EXAMPLE_DIR = path.join(REPO_ROOT, 'examples', 'nextjs');

/** The gatehouse settings the example expects (examples/nextjs/gatehouse.env). */
export async function exampleGatehouseEnv() {
  const text = await readFile(path.join(EXAMPLE_DIR, 'gatehouse.env'), 'utf8');
  const env = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([A-Z0-9_]+)=(.*)$/);
    if (m) env[m[1]] = m[2].trim().replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  }
  return env;
}

/** The gatehouse URL compiled into the example's build. */
export async function builtGatehouseUrl() {
  let manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(EXAMPLE_DIR, '.next', 'routes-manifest.json'), 'utf8'));
  } catch {
    throw new Error('examples/nextjs is not built: run tests/browser/run.sh, or `npm run build` there');
  }
  const rewrites = Array.isArray(manifest.rewrites) ? manifest.rewrites : (manifest.rewrites?.afterFiles ?? []);
  const auth = rewrites.find((r) => r.source === '/api/auth/:path*');
  if (!auth) throw new Error('the example build has no /api/auth rewrite');
  return new URL(auth.destination.replace('/api/auth/:path*', ''));
}

/** Starts `next start` for the built example. Returns { url, port, stop(), logText() }. */
export async function startExample({ port, gatehouseUrl, appUrl, env = {} }) {
  port ??= await freePort();
  const url = appUrl ?? `http://127.0.0.1:${port}`;
  const nextBin = path.join(EXAMPLE_DIR, 'node_modules', 'next', 'dist', 'bin', 'next');
  const proc = startProcess(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: EXAMPLE_DIR,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      GATEHOUSE_URL: gatehouseUrl,
      APP_URL: url,
      ...env,
    },
    logFile: path.join(process.env.TMPDIR || '/tmp', `gatehouse-e2e-next-${port}.log`),
    name: 'next',
  });
  let exited = null;
  proc.exited.then((e) => (exited = e));
  try {
    await waitFor(
      `next start on ${url}`,
      async () => {
        if (exited) throw new Error(`next exited (${JSON.stringify(exited)})`);
        return (await fetch(`${url}/`)).status === 200;
      },
      { timeoutMs: 30_000 },
    );
  } catch (e) {
    await proc.stop();
    throw new Error(`${e.message}\n--- next log ---\n${(await proc.logText()).slice(-4000)}`);
  }
  return { url, port, stop: () => proc.stop(), logText: proc.logText };
}

/**
 * gatehouse (fresh database, the example's settings plus `gatehouseEnv`, PUBLIC_URL = the
 * app's origin) and the example in front of it. `host` names the app's origin: `localhost`
 * for passkeys (WebAuthn refuses IP-address origins). Returns { gh, app, url, stop() }.
 */
export async function startExampleStack({ gatehouseEnv = {}, exampleEnv = {}, host = '127.0.0.1' } = {}) {
  const built = await builtGatehouseUrl();
  const appPort = await freePort();
  const appUrl = `http://${host}:${appPort}`;
  const base = await exampleGatehouseEnv();
  const gh = await startGatehouse(
    { ...base, PUBLIC_URL: appUrl, RATE_LIMIT_PER_IP: 'off', ...gatehouseEnv },
    { port: Number(built.port) },
  );
  let app;
  try {
    app = await startExample({
      port: appPort,
      gatehouseUrl: gh.url,
      appUrl,
      env: { JWT_AUDIENCE: gh.env.JWT_AUDIENCE ?? 'gatehouse', ...exampleEnv },
    });
  } catch (e) {
    await gh.stop();
    throw e;
  }
  return {
    gh,
    app,
    url: appUrl,
    async stop() {
      await app.stop();
      await gh.stop();
    },
  };
}
