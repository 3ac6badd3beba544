'use client';

import { useCallback, useEffect, useState } from 'react';
import Link from 'next/link';
import { Passkeys } from '@/components/Passkeys';
import { RequireAuth } from '@/components/RequireAuth';
import { useAuth } from '@/lib/auth';
import { readProblem } from '@/lib/problem';

interface Session {
  id: string;
  device?: string;
  ip?: string;
  created_at?: string;
  last_used_at?: string;
  current?: boolean;
}

const fmt = (iso?: string | number) =>
  iso === undefined ? '—' : new Date(typeof iso === 'number' ? iso * 1000 : iso).toLocaleString();

function Dashboard() {
  const { user, claims, reloadUser, authFetch } = useAuth();
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const loadSessions = useCallback(async () => {
    const r = await authFetch('/api/auth/sessions');
    if (r.ok) {
      const body = await r.json();
      setSessions(Array.isArray(body) ? body : (body.items ?? body.sessions ?? []));
    }
  }, [authFetch]);

  useEffect(() => {
    void loadSessions();
  }, [loadSessions]);

  async function reload() {
    setError(null);
    setMessage(null);
    try {
      await reloadUser();
      setMessage(`Profile loaded at ${new Date().toLocaleTimeString()}.`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function endSession(id: string) {
    setError(null);
    const r = await authFetch(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (r.ok) await loadSessions();
    else if (r.status !== 401) setError((await readProblem(r)).message);
  }

  const name = [user?.first_name, user?.last_name].filter(Boolean).join(' ');
  return (
    <>
      <section className="card">
        <h1>Hello{name ? `, ${name}` : ''}</h1>
        <dl className="facts" data-testid="profile">
          <dt>Email</dt>
          <dd data-testid="profile-email">{user?.email}</dd>
          {user?.username ? (
            <>
              <dt>Username</dt>
              <dd>{user.username}</dd>
            </>
          ) : null}
          <dt>Role</dt>
          <dd data-testid="profile-role">{claims?.role}</dd>
          <dt>Permissions</dt>
          <dd data-testid="profile-permissions">{claims?.permissions?.join(', ') || 'none'}</dd>
          <dt>Signed in with</dt>
          <dd data-testid="profile-amr">
            {claims?.amr?.join(' + ')}
            {claims?.mfa ? <span className="badge ok">two-step</span> : null}
          </dd>
          <dt>Access token until</dt>
          <dd data-testid="token-exp" data-jti={claims?.jti}>
            {fmt(claims?.exp)}
          </dd>
        </dl>
        {message && (
          <p className="notice" role="status">
            {message}
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p className="actions">
          <button type="button" onClick={() => void reload()}>
            Reload profile
          </button>
          <Link className="button secondary" href="/drafts">
            Go to drafts
          </Link>
        </p>
      </section>
      <section className="card">
        <h2>Your sessions</h2>
        {sessions === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <ul className="list" data-testid="sessions">
            {sessions.map((s) => (
              <li key={s.id}>
                <div>
                  <strong>{s.device || 'Unknown device'}</strong>
                  {s.id === claims?.sid || s.current ? <span className="badge">this one</span> : null}
                  <div className="muted small">
                    {s.ip ?? ''} · since {fmt(s.created_at)}
                  </div>
                </div>
                {s.id !== claims?.sid && !s.current && (
                  <button type="button" className="secondary small" onClick={() => void endSession(s.id)}>
                    End
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <Passkeys />
    </>
  );
}

export default function DashboardPage() {
  return (
    <RequireAuth>
      <Dashboard />
    </RequireAuth>
  );
}
