// Calls to gatehouse's JSON API from the test process (no browser), for setting up state:
// accounts, verified addresses, an authenticator app, roles.
import * as OTPAuth from 'otpauth';

let counter = 0;
/** A unique, valid registration (the password passes gatehouse's policy). */
export function newPerson(prefix = 'user') {
  counter += 1;
  const tag = `${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
  return {
    first_name: 'Rahima',
    last_name: 'Begum',
    date_of_birth: '1994-03-21',
    gender: 'female',
    email: `${prefix}.${tag}@example.com`,
    mobile: '01712345678',
    password: `quiet harbour lantern ${tag}`,
  };
}

export async function call(base, method, path, { body, token, headers = {} } = {}) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, json, text };
}

/** Like call(), but throws unless the status is `expect`. */
export async function expectCall(base, expect, method, path, opts) {
  const r = await call(base, method, path, opts);
  if (r.status !== expect) {
    throw new Error(`${method} ${path}: expected ${expect}, got ${r.status} ${r.text}`);
  }
  return r.json;
}

/** Registers `person` and confirms the address with the mailed code. */
export async function registerVerified(gh, person) {
  await expectCall(gh.url, 201, 'POST', '/api/auth/register', { body: person });
  const mail = await gh.mail.next(person.email, { match: (m) => /\b\d{6}\b/.test(m.text) });
  const code = mail.text.match(/\b(\d{6})\b/)[1];
  await expectCall(gh.url, 200, 'POST', '/api/auth/verify-email', { body: { email: person.email, code } });
  return person;
}

/** Signs in through the API and returns the token answer. */
export function apiLogin(gh, identifier, password) {
  return expectCall(gh.url, 200, 'POST', '/api/auth/login', { body: { identifier, password } });
}

const STEP_MS = 30_000;

/**
 * Codes for one authenticator app that gatehouse (±1 step, each step once) always takes.
 * `enrolment()` gives the previous step's code, or the current step's when it ends within 5 s,
 * so the step is still in the window when the request arrives. `generate()` then gives the
 * current step's code, or the next step's while the clock is still in the enrolled step, so a
 * sign-in code is never a replay of the enrolment code.
 */
export function totpCodes(totp) {
  let enrolled = -Infinity;
  const at = (step) => totp.generate({ timestamp: step * STEP_MS });
  return {
    enrolment() {
      const now = Date.now();
      const step = Math.floor(now / STEP_MS);
      enrolled = STEP_MS - (now % STEP_MS) < 5_000 ? step : step - 1;
      return at(enrolled);
    },
    generate() {
      return at(Math.max(Math.floor(Date.now() / STEP_MS), enrolled + 1));
    },
  };
}

/**
 * Turns on an authenticator app for the account and returns its codes (`totpCodes`): what a
 * person types at the next sign-in is a later step than the enrolment's, so never a replay.
 */
export async function enrolTotp(gh, person) {
  const { access_token } = await apiLogin(gh, person.email, person.password);
  const enable = await expectCall(gh.url, 200, 'POST', '/api/auth/mfa/enable', {
    token: access_token,
    body: { method: 'totp', current_password: person.password },
  });
  const totp = totpCodes(
    new OTPAuth.TOTP({
      secret: OTPAuth.Secret.fromBase32(enable.secret),
      digits: 6,
      period: 30,
      algorithm: 'SHA1',
    }),
  );
  const verify = await expectCall(gh.url, 200, 'POST', '/api/auth/mfa/verify', {
    token: access_token,
    body: { method: 'totp', code: totp.enrolment() },
  });
  return { totp, recoveryCodes: verify.recovery_codes, secret: enable.secret };
}

/** Decodes a JWT's payload (no verification: for reading claims in tests). */
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}
