'use client';

// The verification mail links to PUBLIC_URL/verify-email?token=…, and PUBLIC_URL is this app.
// (Or set VERIFY_EMAIL_URL to this page explicitly.)

import { Suspense, useState } from 'react';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { readProblem } from '@/lib/problem';

function Verify() {
  const token = useSearchParams().get('token');
  const [state, setState] = useState<{ ok: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function confirm() {
    setBusy(true);
    try {
      const r = await fetch('/api/auth/verify-email', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      if (r.ok) setState({ ok: true, message: (await r.json()).message ?? 'Your email address is confirmed.' });
      else setState({ ok: false, message: (await readProblem(r)).message });
    } catch {
      setState({ ok: false, message: 'Could not reach the server. Try again.' });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>Confirm your email address</h1>
      {!token ? (
        <p className="error" role="alert">
          This link has no token. Open the link from the mail again.
        </p>
      ) : state ? (
        <>
          <p className={state.ok ? 'notice' : 'error'} role={state.ok ? 'status' : 'alert'}>
            {state.message}
          </p>
          {state.ok && (
            <p>
              <Link className="button" href="/login">
                Sign in
              </Link>
            </p>
          )}
        </>
      ) : (
        <>
          <p>One click and your account is ready.</p>
          <button type="button" onClick={() => void confirm()} disabled={busy}>
            {busy ? 'Confirming…' : 'Confirm my email address'}
          </button>
        </>
      )}
    </section>
  );
}

export default function VerifyEmailPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Verify />
    </Suspense>
  );
}
