'use client';

// The signed-in user's passkeys: list, add (the browser creates one), remove. gatehouse asks
// for a recent sign-in or the current password to add one, and the MFA step-up on an account
// with two-step sign-in; its answer says which, and is shown as it is.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useAuth } from '@/lib/auth';
import { readProblem } from '@/lib/problem';
import { createPasskey, passkeysSupported, promptMessage } from '@/lib/passkeys';

interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at?: string | null;
  backed_up: boolean;
}

const when = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

export function Passkeys() {
  const { authFetch } = useAuth();
  const [passkeys, setPasskeys] = useState<Passkey[] | null>(null);
  const [supported, setSupported] = useState(false);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    const r = await authFetch('/api/auth/passkeys');
    if (r.ok) setPasskeys((await r.json()) as Passkey[]);
  }, [authFetch]);

  useEffect(() => {
    setSupported(passkeysSupported());
    void load();
  }, [load]);

  /** POSTs JSON with the bearer token; throws gatehouse's problem on an error. */
  const post = useCallback(
    async (path: string, body: object) => {
      const r = await authFetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw await readProblem(r);
      return r.json();
    },
    [authFetch],
  );

  async function add(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const started = await post('/api/auth/passkeys/register/start', password ? { current_password: password } : {});
      const credential = await createPasskey(started.options);
      const body: Record<string, unknown> = { ceremony_id: started.ceremony_id, credential };
      if (name.trim()) body.name = name.trim();
      const added = (await post('/api/auth/passkeys/register/finish', body)) as Passkey;
      setNotice(`Passkey "${added.name}" added. You can sign in with it from now on.`);
      setName('');
      setPassword('');
      await load();
    } catch (err) {
      setError(promptMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function remove(p: Passkey) {
    setError(null);
    setNotice(null);
    const r = await authFetch(`/api/auth/passkeys/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
    if (r.ok) {
      setNotice(`Passkey "${p.name}" removed.`);
      await load();
    } else if (r.status !== 401) {
      setError((await readProblem(r)).message);
    }
  }

  return (
    <section className="card">
      <h2>Passkeys</h2>
      {passkeys === null ? (
        <p className="muted">Loading…</p>
      ) : passkeys.length === 0 ? (
        <p className="muted">No passkeys yet.</p>
      ) : (
        <ul className="list" data-testid="passkeys">
          {passkeys.map((p) => (
            <li key={p.id}>
              <div>
                <strong>{p.name}</strong>
                {p.backed_up ? <span className="badge">synced</span> : null}
                <div className="muted small">
                  added {when(p.created_at)} · last used {when(p.last_used_at)}
                </div>
              </div>
              <button type="button" className="secondary small" onClick={() => void remove(p)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {supported ? (
        <form onSubmit={add} noValidate>
          <label htmlFor="passkey-name">Name (optional)</label>
          <input id="passkey-name" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
          <label htmlFor="passkey-password">Current password (not needed within 10 minutes of signing in)</label>
          <input
            id="passkey-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Waiting for the passkey…' : 'Add a passkey'}
          </button>
        </form>
      ) : (
        <p className="muted small">This browser cannot create passkeys.</p>
      )}
    </section>
  );
}
