// The Next.js example (examples/nextjs) in real Chromium, against a real gatehouse with a real
// SMTP capture server. Each suite starts its own gatehouse (fresh database) and Next server;
// each test uses its own accounts and browser context.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addVirtualAuthenticator,
  apiLogin,
  call,
  claimsOf,
  enrolTotp,
  expectCall,
  launchBrowser,
  linkFrom,
  newPerson,
  registerVerified,
  screenshot,
  startExampleStack,
  waitFor,
} from './harness.mjs';

const TEST_TIMEOUT = 120_000;
let browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function newPage(viewport = { width: 1000, height: 760 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

/** Fills the example's login form and submits it. */
async function submitLogin(page, identifier, password) {
  await page.getByLabel('Email or username').fill(identifier);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Signs in through the example's login page and waits for the dashboard. */
async function signIn(page, url, person) {
  await page.goto(`${url}/login`);
  await submitLogin(page, person.email, person.password);
  await page.waitForURL(`${url}/dashboard`);
  await page.getByTestId('profile-email').filter({ hasText: person.email }).waitFor();
}

// The app's own messages (Next.js adds a role="alert" route announcer outside <main>).
const alertIn = (page) => page.locator('main [role="alert"]');
const statusIn = (page) => page.locator('main [role="status"]');
/** How the example shows one of gatehouse's messages (as a sentence). */
const sentence = (m) => m.charAt(0).toUpperCase() + m.slice(1);
const text = async (locator) => (await locator.textContent())?.trim();

/** The next response to a URL ending in `suffix` (a promise safe to await later). */
function responseTo(page, suffix) {
  const p = page.waitForResponse((r) => r.url().endsWith(suffix));
  p.catch(() => {}); // a failure before it is awaited is reported by the step that failed
  return p;
}

/** Waits until the dashboard shows (and so the provider holds and has scheduled) `token`. */
function holdsToken(page, token) {
  const { jti } = claimsOf(token);
  return waitFor(`the page to take token ${jti}`, async () =>
    (await page.getByTestId('token-exp').getAttribute('data-jti')) === jti,
  );
}

describe('Next.js example', () => {
  let stack;
  before(async () => {
    stack = await startExampleStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('registration shows gatehouse’s message under each bad field', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const { context, page } = await newPage({ width: 390, height: 844 });
    try {
      const bad = { ...newPerson('bad'), first_name: 'R2D2', mobile: '12345', date_of_birth: '2099-01-01' };
      // What gatehouse says about these fields, asked directly.
      const expected = await call(gh.url, 'POST', '/api/auth/register', { body: bad });
      assert.equal(expected.status, 422);
      const byField = Object.fromEntries(expected.json.errors.map((e) => [e.field, e.message]));
      assert.ok(byField.first_name && byField.mobile && byField.date_of_birth, JSON.stringify(byField));

      await page.goto(`${url}/register`);
      await page.getByLabel('First name').fill(bad.first_name);
      await page.getByLabel('Last name').fill(bad.last_name);
      await page.getByLabel('Email').fill(bad.email);
      await page.getByLabel('Mobile').fill(bad.mobile);
      await page.getByLabel('Date of birth').fill(bad.date_of_birth);
      await page.getByLabel('Gender').selectOption(bad.gender);
      await page.getByLabel('Password', { exact: true }).fill(bad.password);
      await page.getByRole('button', { name: 'Create account' }).click();

      await alertIn(page).filter({ hasText: 'Please correct the fields' }).waitFor();
      for (const [field, message] of Object.entries(byField)) {
        const shown = page.locator(`.field-error[data-field="${field}"]`);
        assert.equal(await text(shown), sentence(message), `message under ${field}`);
      }
      // Fields gatehouse did not complain about show no error.
      assert.equal(await page.locator('.field-error[data-field="last_name"]').count(), 0);
      assert.equal(await page.getByLabel('Mobile').getAttribute('aria-invalid'), 'true');
      await screenshot(page, 'example-register-errors');
    } finally {
      await context.close();
    }
  });

  test('register → mailed link confirms the address → sign in → dashboard', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const { context, page, problems } = await newPage();
    try {
      const person = newPerson('new');
      await page.goto(`${url}/register`);
      await page.getByLabel('First name').fill(person.first_name);
      await page.getByLabel('Last name').fill(person.last_name);
      await page.getByLabel('Email').fill(person.email);
      await page.getByLabel('Mobile').fill(person.mobile);
      await page.getByLabel('Date of birth').fill(person.date_of_birth);
      await page.getByLabel('Gender').selectOption(person.gender);
      await page.getByLabel('Password', { exact: true }).fill(person.password);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Almost there' }).waitFor();
      assert.match(await text(statusIn(page)), /Check your inbox/);

      // Signing in before confirming is refused with gatehouse's words.
      await page.goto(`${url}/login`);
      await submitLogin(page, person.email, person.password);
      const refused = await call(gh.url, 'POST', '/api/auth/login', {
        body: { identifier: person.email, password: person.password },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.code, 'email_not_verified');
      assert.equal(await text(alertIn(page)), sentence(refused.json.detail));

      // The mail went through SMTP; its link points at the app (PUBLIC_URL = the app's origin).
      const mail = await gh.mail.next(person.email, { match: (m) => m.text.includes('/verify-email') });
      const link = linkFrom(mail, '/verify-email');
      assert.equal(new URL(link).origin, url);
      await page.goto(link);
      await page.getByRole('button', { name: 'Confirm my email address' }).click();
      assert.match(await text(statusIn(page)), /confirmed/i);
      await page.getByRole('link', { name: 'Sign in' }).last().click();
      await page.waitForURL(`${url}/login`);

      await submitLogin(page, person.email, person.password);
      await page.waitForURL(`${url}/dashboard`);
      assert.equal(await text(page.getByTestId('profile-email')), person.email);
      assert.equal(await text(page.getByTestId('profile-role')), 'analyst');
      assert.equal(await text(page.getByTestId('profile-permissions')), 'drafts:write');
      assert.match(await text(page.getByRole('heading', { level: 1 })), new RegExp(person.first_name));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a wrong password shows gatehouse’s message and signs nobody in', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('wrongpw'));
    const { context, page } = await newPage();
    try {
      await page.goto(`${url}/login`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await screenshot(page, 'example-login');

      const login = responseTo(page, '/api/auth/login');
      await submitLogin(page, person.email, 'not the password at all');
      const answer = await login;
      assert.equal(answer.status(), 401);
      const problem = await answer.json();
      assert.equal(problem.code, 'invalid_credentials');
      assert.equal(await text(alertIn(page)), sentence(problem.detail));
      assert.ok(problem.detail.length > 0);
      assert.equal(new URL(page.url()).pathname, '/login');
      await screenshot(page, 'example-login-error');

      // The dashboard is still closed to this browser.
      await page.goto(`${url}/dashboard`);
      await page.waitForURL(/\/login\?next=%2Fdashboard$/);

      // The right password works (the form is not simply broken).
      await submitLogin(page, person.email, person.password);
      await page.waitForURL(`${url}/dashboard`);
    } finally {
      await context.close();
    }
  });

  test('an account with an authenticator app signs in through the MFA step', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('mfa'));
    const { totp } = await enrolTotp(gh, person);
    const { context, page } = await newPage();
    try {
      await page.goto(`${url}/login`);
      await submitLogin(page, person.email, person.password);
      await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/login');
      await screenshot(page, 'example-mfa');

      // A wrong code: gatehouse's message, still on the MFA step.
      const good = totp.generate();
      const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
      const first = responseTo(page, '/api/auth/mfa/challenge');
      await page.getByLabel('Code', { exact: true }).fill(wrong);
      await page.getByRole('button', { name: 'Verify' }).click();
      const refused = await first;
      assert.equal(refused.status(), 400);
      const problem = await refused.json();
      assert.equal(problem.code, 'invalid_code');
      assert.equal(await text(alertIn(page)), sentence(problem.detail));

      await page.getByLabel('Code', { exact: true }).fill(totp.generate());
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${url}/dashboard`);
      assert.equal(await text(page.getByTestId('profile-email')), person.email);
      const amr = await text(page.getByTestId('profile-amr'));
      assert.match(amr, /pwd \+ otp \+ mfa/);
      assert.match(amr, /two-step/);
      await screenshot(page, 'example-dashboard');
    } finally {
      await context.close();
    }
  });

  test('protected pages send a signed-out visitor to /login, and back after signing in', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('guard'));
    const { context, page } = await newPage();
    try {
      for (const path of ['/dashboard', '/drafts']) {
        await page.goto(`${url}${path}`);
        await page.waitForURL(`${url}/login?next=${encodeURIComponent(path)}`);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      }
      await submitLogin(page, person.email, person.password);
      await page.waitForURL(`${url}/drafts`);

      // The access token lives in memory only; the refresh cookie is HttpOnly.
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
      assert.equal(stored, '{}');
      const jsCookies = await page.evaluate(() => document.cookie);
      assert.match(jsCookies, /gatehouse_csrf=/);
      assert.doesNotMatch(jsCookies, /gatehouse_refresh/);
      const cookies = await context.cookies();
      const refresh = cookies.find((c) => c.name === 'gatehouse_refresh');
      assert.ok(refresh, 'gatehouse_refresh cookie set');
      assert.equal(refresh.httpOnly, true);
      assert.equal(refresh.sameSite, 'Strict');
      assert.equal(refresh.path, '/api/auth');

      // A reload forgets the access token; one refresh from the cookie restores the session.
      await page.goto(`${url}/dashboard`);
      await page.reload();
      assert.equal(await text(page.getByTestId('profile-email')), person.email);

      // After signing out the pages are closed again, reload or not.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${url}/login`);
      await page.goto(`${url}/dashboard`);
      await page.waitForURL(`${url}/login?next=%2Fdashboard`);
      assert.equal((await context.cookies()).some((c) => c.name === 'gatehouse_refresh'), false);
    } finally {
      await context.close();
    }
  });

  test('an analyst saves a draft but is refused the commit; a reviewer commits it', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const analyst = await registerVerified(gh, newPerson('analyst'));
    const reviewer = await registerVerified(gh, newPerson('reviewer'));
    await gh.cli(['admin', 'create', '--email', reviewer.email, '--role', 'reviewer']);

    const a = await newPage();
    const title = `Quarterly figures ${Date.now()}`;
    try {
      await signIn(a.page, url, analyst);
      await a.page.getByRole('navigation').getByRole('link', { name: 'Drafts' }).click();
      await a.page.waitForURL(`${url}/drafts`);
      await a.page.getByLabel('Title').fill(title);
      await a.page.getByLabel('Text').fill('Revenue up 4 %, costs flat.');
      await a.page.getByRole('button', { name: 'Save draft' }).click();
      assert.equal(await text(statusIn(a.page)), `Draft “${title}” saved.`);

      const row = a.page.getByTestId('draft').filter({ hasText: title });
      const commit = responseTo(a.page, '/api/drafts/commit');
      await row.getByRole('button', { name: 'Commit' }).click();
      const refused = await commit;
      assert.equal(refused.status(), 403);
      assert.match(refused.headers()['content-type'], /application\/problem\+json/);
      const problem = await refused.json();
      assert.equal(problem.code, 'permission_denied');
      assert.equal(problem.status, 403);
      assert.equal(
        await text(alertIn(a.page)),
        `Could not commit “${title}”: This needs the drafts:commit permission, which your role (analyst) does not have.`,
      );
      assert.equal(await row.getAttribute('data-status'), 'draft');
      await screenshot(a.page, 'example-drafts');
      await a.page.setViewportSize({ width: 390, height: 844 }); // a phone
      await screenshot(a.page, 'example-drafts-phone');
    } finally {
      await a.context.close();
    }

    // The route enforces it, whatever the UI shows: no token, a forged token, an analyst's token.
    const noToken = await call(url, 'POST', '/api/drafts/commit', { body: { id: 'x' } });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.json.code, 'missing_token');
    const { access_token: analystToken } = await apiLogin(gh, analyst.email, analyst.password);
    const [h, p] = analystToken.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claimsOf(analystToken), permissions: ['drafts:write', 'drafts:commit'] })).toString('base64url')}.${analystToken.split('.')[2]}`;
    assert.notEqual(forged.split('.')[1], p);
    const forgedAnswer = await call(url, 'POST', '/api/drafts/commit', { token: forged, body: { id: 'x' } });
    assert.equal(forgedAnswer.status, 401);
    assert.equal(forgedAnswer.json.code, 'invalid_token');
    const asAnalyst = await call(url, 'POST', '/api/drafts/commit', { token: analystToken, body: { id: 'x' } });
    assert.equal(asAnalyst.status, 403);
    assert.deepEqual(claimsOf(analystToken).permissions, ['drafts:write']);
    assert.equal((await call(url, 'POST', '/api/drafts', { token: analystToken, body: { title: 'ok' } })).status, 201);

    const r = await newPage();
    try {
      await signIn(r.page, url, reviewer);
      assert.equal(await text(r.page.getByTestId('profile-role')), 'reviewer');
      assert.deepEqual((await text(r.page.getByTestId('profile-permissions'))).split(', ').sort(), ['drafts:commit', 'drafts:write']);
      await r.page.goto(`${url}/drafts`);
      const row = r.page.getByTestId('draft').filter({ hasText: title });
      const commit = responseTo(r.page, '/api/drafts/commit');
      await row.getByRole('button', { name: 'Commit' }).click();
      assert.equal((await commit).status(), 200);
      assert.equal(await text(statusIn(r.page)), `Draft “${title}” committed.`);
      await row.and(r.page.locator('[data-status="committed"]')).waitFor();
      assert.equal(await alertIn(r.page).count(), 0);
      await screenshot(r.page, 'example-drafts-reviewer');
    } finally {
      await r.context.close();
    }
  });

  test('a session ended elsewhere: the next call in the app ends on the login page', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('revoked'));
    const { context, page } = await newPage();
    try {
      await page.goto(`${url}/login`);
      const loginAnswer = responseTo(page, '/api/auth/login');
      await submitLogin(page, person.email, person.password);
      const browserToken = (await (await loginAnswer).json()).access_token;
      await page.waitForURL(`${url}/dashboard`);
      await page.getByTestId('sessions').waitFor(); // the page's own first calls are done
      const browserSid = claimsOf(browserToken).sid;

      // From another device: list the sessions and end the browser's.
      const { access_token: other } = await apiLogin(gh, person.email, person.password);
      const sessions = await expectCall(gh.url, 200, 'GET', '/api/auth/sessions', { token: other });
      const list = Array.isArray(sessions) ? sessions : (sessions.items ?? sessions.sessions);
      assert.ok(list.some((s) => s.id === browserSid), `the browser's session ${browserSid} is listed: ${JSON.stringify(sessions)}`);
      const ended = await call(gh.url, 'DELETE', `/api/auth/sessions/${browserSid}`, { token: other });
      assert.ok([200, 204].includes(ended.status), `DELETE session: ${ended.status} ${ended.text}`);

      // gatehouse refuses the token at once; the example's routes (signature only) accept it
      // until it expires — the limit the example's README describes.
      const me = await call(gh.url, 'GET', '/api/auth/me', { token: browserToken });
      assert.equal(me.status, 401);
      assert.equal(me.json.code, 'session_revoked');
      assert.equal((await call(url, 'GET', '/api/drafts', { token: browserToken })).status, 200);

      // The next call in the app: 401, one refresh (refused: the session is over), /login.
      const statuses = [];
      page.on('response', (r) => {
        const p = new URL(r.url()).pathname;
        if (p.startsWith('/api/auth/')) statuses.push(`${p} ${r.status()}`);
      });
      await page.getByRole('button', { name: 'Reload profile' }).click();
      await page.waitForURL(`${url}/login?reason=session_ended&next=%2Fdashboard`);
      assert.equal(await text(statusIn(page)), 'Your session has ended. Please sign in again.');
      assert.deepEqual(statuses, ['/api/auth/me 401', '/api/auth/refresh 401']);
      assert.equal(await page.getByTestId('profile').count(), 0);

      // Signing in again goes back where the user was.
      await submitLogin(page, person.email, person.password);
      await page.waitForURL(`${url}/dashboard`);
    } finally {
      await context.close();
    }
  });
});

describe('Next.js example with 30-second access tokens', () => {
  const TTL = 30; // the least ACCESS_TOKEN_TTL gatehouse accepts
  let stack;
  before(async () => {
    stack = await startExampleStack({ gatehouseEnv: { ACCESS_TOKEN_TTL: `${TTL}s` } });
  });
  after(async () => {
    await stack?.stop();
  });

  /** Records the /api/... calls the page makes: "METHOD path status". */
  function recordCalls(page) {
    const calls = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) calls.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
    });
    return calls;
  }

  test('the access token is refreshed silently at 80 % of its life, again and again', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('silent'));
    const { context, page } = await newPage();
    try {
      await page.clock.install();
      await page.goto(`${url}/login`);
      const loginAnswer = responseTo(page, '/api/auth/login');
      await submitLogin(page, person.email, person.password);
      const first = await (await loginAnswer).json();
      assert.equal(first.expires_in, TTL, `expires_in ${first.expires_in}`);
      await page.waitForURL(`${url}/dashboard`);
      await page.getByTestId('profile-email').waitFor();
      await page.getByTestId('sessions').waitFor(); // the page's own first calls are done
      // Stop the page's clock; from here on only the test moves it.
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 50);
      const calls = recordCalls(page);

      // Just before 80 % of the token's life: nothing.
      await page.clock.runFor(TTL * 800 - 1500);
      assert.deepEqual(calls.filter((c) => c.includes('/refresh')), []);

      // At 80 %: one refresh, a new token in memory.
      let refreshed = responseTo(page, '/api/auth/refresh');
      await page.clock.runFor(2000);
      const second = await (await refreshed).json();
      assert.notEqual(second.access_token, first.access_token);
      await holdsToken(page, second.access_token);
      assert.equal(claimsOf(second.access_token).sid, claimsOf(first.access_token).sid);

      // The next refresh is scheduled from the new token.
      refreshed = responseTo(page, '/api/auth/refresh');
      await page.clock.runFor(TTL * 800 + 500);
      const third = await (await refreshed).json();
      assert.notEqual(third.access_token, second.access_token);
      await holdsToken(page, third.access_token);

      // The app calls gatehouse with the newest token, without a 401 on the way.
      const meRequest = page.waitForRequest((r) => r.url().endsWith('/api/auth/me'));
      await page.getByRole('button', { name: 'Reload profile' }).click();
      assert.equal((await meRequest).headers().authorization, `Bearer ${third.access_token}`);
      await statusIn(page).filter({ hasText: 'Profile loaded' }).waitFor();
      assert.deepEqual(calls, ['POST /api/auth/refresh 200', 'POST /api/auth/refresh 200', 'GET /api/auth/me 200']);
    } finally {
      await context.close();
    }
  });

  test('after the token expired, the next API call refreshes once, retries, and the user sees it work', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('expired'));
    const { context, page } = await newPage();
    try {
      await page.clock.install();
      await signIn(page, url, person);
      // A full page load: the session comes back from the cookie with a new access token.
      const restored = responseTo(page, '/api/auth/refresh');
      await page.goto(`${url}/drafts`);
      const { access_token: token } = await (await restored).json();
      await page.getByLabel('Title').waitFor();
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 50); // no silent refresh
      const calls = recordCalls(page);

      // Real time must pass on the servers: wait until gatehouse refuses the page's token.
      await waitFor(
        'gatehouse to refuse the expired access token',
        async () => (await call(gh.url, 'GET', '/api/auth/me', { token })).json?.code === 'token_expired',
        { timeoutMs: (TTL + 30) * 1000, intervalMs: 500 },
      );
      const refused = await call(url, 'GET', '/api/drafts', { token });
      assert.equal(refused.status, 401);
      assert.equal(refused.json.code, 'token_expired');

      calls.length = 0;
      await page.getByLabel('Title').fill('Written after the token expired');
      await page.getByRole('button', { name: 'Save draft' }).click();
      assert.equal(await text(statusIn(page)), 'Draft “Written after the token expired” saved.');
      assert.deepEqual(calls.slice(0, 3), ['POST /api/drafts 401', 'POST /api/auth/refresh 200', 'POST /api/drafts 201']);
      assert.equal(new URL(page.url()).pathname, '/drafts');
      assert.equal(await alertIn(page).count(), 0);
    } finally {
      await context.close();
    }
  });
});

describe('Next.js example on localhost: passkeys', () => {
  // WebAuthn refuses IP-address origins: this app is http://localhost:<port>, and so is
  // gatehouse's PUBLIC_URL (and the passkeys' RP ID).
  let stack;
  before(async () => {
    stack = await startExampleStack({ host: 'localhost' });
  });
  after(async () => {
    await stack?.stop();
  });

  async function passkeyPage() {
    const { context, page, problems } = await newPage();
    const { credentials } = await addVirtualAuthenticator(context, page);
    return { context, page, problems, credentials };
  }

  async function addPasskey(page, name) {
    await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
    await page.getByLabel('Name (optional)').fill(name);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await statusIn(page).filter({ hasText: `Passkey "${name}" added` }).waitFor();
  }

  async function signOut(page, url) {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${url}/login`);
  }

  test('a passkey added on the dashboard signs in without the password', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('example.passkey'));
    const { context, page, problems, credentials } = await passkeyPage();
    try {
      await signIn(page, url, person);
      await addPasskey(page, 'Example laptop');
      assert.equal(await page.getByTestId('passkeys').locator('li').count(), 1);
      assert.equal((await credentials()).length, 1);

      await signOut(page, url);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.waitForURL(`${url}/dashboard`);
      await page.getByTestId('profile-email').filter({ hasText: person.email }).waitFor();
      assert.match(await text(page.getByTestId('profile-amr')), /^webauthn \+ mfa/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('an account with an authenticator app may use its passkey as the second factor', { timeout: TEST_TIMEOUT }, async () => {
    const { url, gh } = stack;
    const person = await registerVerified(gh, newPerson('example.passkey.mfa'));
    const { totp } = await enrolTotp(gh, person);
    const { context, page, problems } = await passkeyPage();
    try {
      await page.goto(`${url}/login`);
      await submitLogin(page, person.email, person.password);
      await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
      await page.getByLabel('Code', { exact: true }).fill(totp.generate());
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${url}/dashboard`);
      await addPasskey(page, 'Security key');

      await signOut(page, url);
      await submitLogin(page, person.email, person.password);
      await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
      await page.getByRole('radio', { name: 'Passkey' }).check();
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.waitForURL(`${url}/dashboard`);
      assert.match(await text(page.getByTestId('profile-amr')), /^pwd \+ webauthn \+ mfa/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
