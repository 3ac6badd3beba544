'use client';

import { Suspense, useEffect, useState, type FormEvent } from 'react';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { GatehouseError, useAuth, type LoginResult } from '@/lib/auth';
import { passkeysSupported, promptMessage } from '@/lib/passkeys';

const METHOD_LABELS: Record<string, string> = {
  totp: 'Authenticator app',
  email: 'Code by email',
  recovery: 'Recovery code',
  passkey: 'Passkey',
};

/** Only paths on this site: never an open redirect. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')
    ? next
    : '/dashboard';
}

function LoginForm() {
  const { status, login, loginWithPasskey, completeMfa, completeMfaWithPasskey, sendMfaCode } = useAuth();
  const router = useRouter();
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const ended = params.get('reason') === 'session_ended';

  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [mfa, setMfa] = useState<{ token: string; methods: string[] } | null>(null);
  const [method, setMethod] = useState('totp');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Known only in the browser: rendered after mount, so the server's HTML matches the first render.
  const [passkeys, setPasskeys] = useState(false);
  useEffect(() => setPasskeys(passkeysSupported()), []);

  useEffect(() => {
    if (status === 'signed-in' && !mfa) router.replace(next);
  }, [status, mfa, next, router]);

  const fail = (e: unknown) =>
    setError(e instanceof GatehouseError ? e.message : 'Could not reach the server. Try again.');
  // A passkey prompt that ends without one is the browser's answer, not the server's.
  const failPasskey = (e: unknown) =>
    e instanceof GatehouseError || e instanceof TypeError ? fail(e) : setError(promptMessage(e));

  function afterFirstFactor(result: LoginResult) {
    if (result.kind === 'mfa-required') {
      setMfa({ token: result.mfaToken, methods: result.methods });
      setMethod(result.methods.find((m) => m !== 'recovery' && m !== 'passkey') ?? result.methods[0] ?? 'totp');
      setPassword('');
    } else {
      router.replace(next);
    }
  }

  async function onPassword(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      afterFirstFactor(await login(identifier.trim(), password));
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  async function onPasskey() {
    setBusy(true);
    setError(null);
    try {
      afterFirstFactor(await loginWithPasskey(identifier.trim() || undefined));
    } catch (err) {
      failPasskey(err);
    } finally {
      setBusy(false);
    }
  }

  async function onMfaPasskey() {
    if (!mfa) return;
    setBusy(true);
    setError(null);
    try {
      await completeMfaWithPasskey(mfa.token);
      setMfa(null);
      router.replace(next);
    } catch (err) {
      if (err instanceof GatehouseError && (err.code === 'invalid_mfa_token' || err.code === 'too_many_attempts')) {
        setMfa(null);
      }
      failPasskey(err);
    } finally {
      setBusy(false);
    }
  }

  async function onCode(e: FormEvent) {
    e.preventDefault();
    if (!mfa) return;
    setBusy(true);
    setError(null);
    try {
      await completeMfa(mfa.token, code.trim(), method);
      setMfa(null);
      router.replace(next);
    } catch (err) {
      if (err instanceof GatehouseError && (err.code === 'invalid_mfa_token' || err.code === 'too_many_attempts')) {
        setMfa(null); // the challenge is over: start again with the password
      }
      fail(err);
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  async function onSendCode() {
    if (!mfa) return;
    setError(null);
    try {
      await sendMfaCode(mfa.token);
      setNotice('We sent a code to your email address.');
    } catch (err) {
      fail(err);
    }
  }

  if (mfa) {
    return (
      <section className="card narrow">
        <h1>Two-step sign-in</h1>
        <p className="muted">
          {method === 'passkey'
            ? 'Confirm with one of your passkeys.'
            : method === 'recovery'
            ? 'Type one of your recovery codes. Each works once.'
            : method === 'email'
              ? 'Type the 6-digit code from the email we send you.'
              : 'Open your authenticator app and type the 6-digit code it shows for this account.'}
        </p>
        {mfa.methods.length > 1 && (
          <div className="segmented" role="radiogroup" aria-label="Second factor">
            {mfa.methods.map((m) => (
              <label key={m} className={m === method ? 'on' : ''}>
                <input
                  type="radio"
                  name="method"
                  value={m}
                  checked={m === method}
                  onChange={() => {
                    setMethod(m);
                    setCode('');
                    setError(null);
                  }}
                />
                {METHOD_LABELS[m] ?? m}
              </label>
            ))}
          </div>
        )}
        {method === 'passkey' ? (
          <div>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
            <button type="button" disabled={busy} onClick={() => void onMfaPasskey()}>
              {busy ? 'Waiting for the passkey…' : 'Use a passkey'}
            </button>
          </div>
        ) : (
        <form onSubmit={onCode} noValidate>
          <label htmlFor="code">{method === 'recovery' ? 'Recovery code' : 'Code'}</label>
          <input
            id="code"
            name="code"
            autoFocus
            required
            autoComplete="one-time-code"
            inputMode={method === 'recovery' ? 'text' : 'numeric'}
            pattern={method === 'recovery' ? undefined : '[0-9]{6}'}
            maxLength={method === 'recovery' ? 32 : 6}
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          {notice && !error && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <button type="submit" disabled={busy || !code.trim()}>
            {busy ? 'Checking…' : 'Verify'}
          </button>
          {method === 'email' && (
            <button type="button" className="secondary" onClick={() => void onSendCode()}>
              Email me a code
            </button>
          )}
        </form>
        )}
        <p className="muted small">
          <button type="button" className="link" onClick={() => setMfa(null)}>
            Start again
          </button>
        </p>
      </section>
    );
  }

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      {ended && (
        <p className="notice" role="status">
          Your session has ended. Please sign in again.
        </p>
      )}
      <form onSubmit={onPassword} noValidate>
        <label htmlFor="identifier">Email or username</label>
        <input
          id="identifier"
          name="identifier"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={identifier}
          onChange={(e) => setIdentifier(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !identifier.trim() || !password}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {passkeys && (
        <div className="passkey-signin">
          <button type="button" className="secondary" disabled={busy} onClick={() => void onPasskey()}>
            Sign in with a passkey
          </button>
          <p className="muted small">
            With your address or username typed above, only that account&apos;s passkeys are offered.
          </p>
        </div>
      )}
      <p className="muted small">
        No account yet? <Link href="/register">Create one</Link>
      </p>
    </section>
  );
}

export default function LoginPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <LoginForm />
    </Suspense>
  );
}
