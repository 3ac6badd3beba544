// examples/nextjs/scripts/gatehouse.sh: the README's first command starts gatehouse with the
// settings the example needs (the tests' own stacks read gatehouse.env directly, so this
// checks the shell's reading of it: roles and permissions, cookie mode, PUBLIC_URL).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  EXAMPLE_DIR,
  GATEHOUSE_BIN,
  call,
  claimsOf,
  exampleGatehouseEnv,
  freePort,
  startMailCapture,
  startProcess,
  waitFor,
} from './harness.mjs';

let dir, mail, proc, url, env;
const appUrl = 'http://localhost:3999';

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-e2e-script-'));
  mail = await startMailCapture();
  url = `http://127.0.0.1:${await freePort()}`;
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? dir,
    GATEHOUSE_BIN,
    GATEHOUSE_URL: url,
    APP_URL: appUrl,
    DATABASE_URL: `sqlite://${path.join(dir, 'gatehouse.db')}?mode=rwc`,
    SMTP_URL: mail.url,
  };
  proc = startProcess('sh', [path.join(EXAMPLE_DIR, 'scripts', 'gatehouse.sh')], {
    env,
    cwd: dir,
    logFile: path.join(dir, 'script.log'),
    name: 'gatehouse.sh',
  });
  await waitFor('gatehouse started by scripts/gatehouse.sh', async () => (await fetch(`${url}/health`)).ok, {
    timeoutMs: 30_000,
  });
});

after(async () => {
  await proc?.stop();
  await mail?.stop();
  if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
});

test('scripts/gatehouse.sh starts gatehouse with the example’s roles, permissions and cookie mode', { timeout: 60_000 }, async () => {
  const settings = await exampleGatehouseEnv();
  const run = promisify(execFile);
  const expected = { analyst: ['drafts:write'], reviewer: ['drafts:commit', 'drafts:write'] };
  for (const role of Object.keys(expected)) {
    const email = `${role}@example.com`;
    const password = `quiet harbour lantern script ${role.length}`;
    const child = run(GATEHOUSE_BIN, ['admin', 'create', '--email', email, '--role', role, '--password-stdin'], {
      env: { ...env, ...settings },
      cwd: dir,
    });
    child.child.stdin.end(`${password}\n`);
    await child;

    const login = await call(url, 'POST', '/api/auth/login', {
      body: { identifier: email, password },
      headers: { origin: appUrl },
    });
    assert.equal(login.status, 200, login.text);
    // Cookie mode: the refresh token is a cookie, not in the JSON.
    assert.equal(login.json.refresh_token, undefined);
    assert.match(login.headers.get('set-cookie') ?? '', /gatehouse_refresh=[^;]+; HttpOnly/);
    const claims = claimsOf(login.json.access_token);
    assert.equal(claims.iss, appUrl);
    assert.equal(claims.aud, settings.JWT_AUDIENCE);
    assert.equal(claims.role, role);
    assert.deepEqual([...claims.permissions].sort(), expected[role]);
    assert.equal(claims.exp - claims.iat, 120); // ACCESS_TOKEN_TTL=2m
  }
});
