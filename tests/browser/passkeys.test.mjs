// Passkeys on the hosted pages in real Chromium: a virtual authenticator from the DevTools
// protocol (WebAuthn.addVirtualAuthenticator) stands in for a phone's screen lock or a security
// key, so navigator.credentials.create()/.get() run for real and gatehouse checks real
// attestations and signatures.
//
// WebAuthn refuses IP-address origins, so this server's PUBLIC_URL (and so the RP ID) is
// http://localhost:<port>, a secure context to the browser.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addVirtualAuthenticator,
  claimsOf,
  enrolTotp,
  freePort,
  launchBrowser,
  newPerson,
  registerVerified,
  startGatehouse,
} from './harness.mjs';

const TEST_TIMEOUT = 120_000;

let browser;
let gh;
let origin;

before(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  gh = await startGatehouse({ WELCOME_MAIL: 'false', PUBLIC_URL: origin }, { port });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await gh?.stop();
});

/** A context with JavaScript on (the passkey script needs it) and a virtual authenticator. */
async function passkeyPage() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  const { credentials } = await addVirtualAuthenticator(context, page);
  return { context, page, problems, credentials };
}

const text = async (locator) => (await locator.textContent())?.trim();

async function signInWithPassword(page, person) {
  await page.goto(`${origin}/login`);
  await page.getByLabel('Email address or username').fill(person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${origin}/account`);
}

async function accessClaims(context) {
  const access = (await context.cookies(origin)).find((c) => c.name === 'gatehouse_access');
  assert.ok(access, 'signed in: the gatehouse_access cookie is set');
  return claimsOf(access.value);
}

describe('passkeys on the hosted pages', () => {
  test('add a passkey on /account, then sign in with it (usernameless and after the name)', { timeout: TEST_TIMEOUT }, async () => {
    const person = await registerVerified(gh, newPerson('passkey'));
    const { context, page, problems, credentials } = await passkeyPage();
    try {
      await signInWithPassword(page, person);
      await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
      assert.equal(await text(page.getByText('No passkeys yet.')), 'No passkeys yet.');

      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByRole('heading', { name: 'Add a passkey', level: 1 }).waitFor();
      await page.getByLabel('Name').fill('Test laptop');
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      await page.waitForURL(`${origin}/account/passkeys/create`);
      assert.equal(await text(page.locator('main p.notice[role="status"]')), 'The passkey is added. You can sign in with it from now on.');
      const listed = page.getByTestId('passkey');
      assert.equal(await listed.count(), 1);
      assert.match(await text(listed.locator('strong').first()), /^Test laptop$/);
      const stored = await credentials();
      assert.equal(stored.length, 1, 'the authenticator holds one credential');
      assert.equal(stored[0].isResidentCredential, true, 'a discoverable (resident) passkey');
      const mail = await gh.mail.next(person.email, { match: (m) => /passkey was added/i.test(m.subject) });
      assert.match(mail.text, /Test laptop/);

      // Signed out, "Sign in with a passkey" with nothing typed: the authenticator offers its passkey.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${origin}/login`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.waitForURL(`${origin}/account`);
      assert.equal(await text(page.getByTestId('account-email')), person.email);
      const claims = await accessClaims(context);
      assert.deepEqual(claims.amr, ['webauthn', 'mfa'], 'a verified passkey is two factors');

      // After typing the address: the options name this account's passkey.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${origin}/login`);
      await page.getByLabel('Email address or username').fill(person.email);
      const started = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/auth/passkeys/login/start');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      assert.deepEqual((await started).postDataJSON(), { identifier: person.email });
      await page.waitForURL(`${origin}/account`);
      assert.equal((await credentials())[0].signCount >= 2, true, 'the counter moved on with each use');

      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await context.close();
    }
  });

  test('a passkey the server does not know is refused on the page, and password sign-in still works', { timeout: TEST_TIMEOUT }, async () => {
    const person = await registerVerified(gh, newPerson('passkey.unknown'));
    // This browser's authenticator holds a passkey for another account of the same site.
    const other = await registerVerified(gh, newPerson('passkey.other'));
    const { context, page, problems, credentials } = await passkeyPage();
    try {
      await signInWithPassword(page, other);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      await page.waitForURL(`${origin}/account/passkeys/create`);
      assert.equal((await credentials()).length, 1);
      // The other account removes it from the server (it still has its password).
      await page.getByRole('button', { name: /^Remove: / }).click();
      await page.getByText('The passkey is removed.').waitFor();
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${origin}/login`);

      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.waitForURL(`${origin}/login/passkey`);
      assert.match(await text(page.locator('main [role="alert"]').first()), /not registered here/);
      assert.equal((await context.cookies(origin)).some((c) => c.name === 'gatehouse_access'), false);

      await signInWithPassword(page, person);
      assert.equal(await text(page.getByTestId('account-email')), person.email);
      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await context.close();
    }
  });

  test('an account with an authenticator app uses its passkey on the MFA step', { timeout: TEST_TIMEOUT }, async () => {
    const person = await registerVerified(gh, newPerson('passkey.mfa'));
    const { totp } = await enrolTotp(gh, person);
    const { context, page, problems } = await passkeyPage();
    try {
      // Password and app code once, to add the passkey (an MFA account needs the step-up).
      await page.goto(`${origin}/login`);
      await page.getByLabel('Email address or username').fill(person.email);
      await page.getByLabel('Password', { exact: true }).fill(person.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByLabel('Code', { exact: true }).fill(totp.generate());
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${origin}/account`);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      await page.waitForURL(`${origin}/account/passkeys/create`);
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${origin}/login`);

      // The password, then the passkey instead of the app's code.
      await page.getByLabel('Email address or username').fill(person.email);
      await page.getByLabel('Password', { exact: true }).fill(person.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Use a passkey instead' }).click();
      await page.waitForURL(`${origin}/account`);
      assert.deepEqual((await accessClaims(context)).amr, ['pwd', 'webauthn', 'mfa']);
      assert.deepEqual(problems, [], 'no script errors or CSP violations');
    } finally {
      await context.close();
    }
  });
});
