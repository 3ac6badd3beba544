'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { RequireAuth } from '@/components/RequireAuth';
import { useAuth } from '@/lib/auth';
import { readProblem } from '@/lib/problem';
import type { Draft } from '@/lib/drafts';

function Drafts() {
  const { authFetch, claims, hasPermission } = useAuth();
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canCommit = hasPermission('drafts:commit');

  const load = useCallback(async () => {
    const r = await authFetch('/api/drafts');
    if (r.ok) setDrafts((await r.json()).items);
  }, [authFetch]);

  useEffect(() => {
    void load();
  }, [load]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const r = await authFetch('/api/drafts', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ title, body }),
      });
      if (r.ok) {
        const d: Draft = await r.json();
        setMessage(`Draft “${d.title}” saved.`);
        setTitle('');
        setBody('');
        await load();
      } else if (r.status !== 401) {
        setError((await readProblem(r)).message);
      }
    } finally {
      setBusy(false);
    }
  }

  async function commit(d: Draft) {
    setError(null);
    setMessage(null);
    const r = await authFetch('/api/drafts/commit', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: d.id }),
    });
    if (r.ok) {
      setMessage(`Draft “${d.title}” committed.`);
      await load();
    } else if (r.status !== 401) {
      setError(`Could not commit “${d.title}”: ${(await readProblem(r)).message}`);
    }
  }

  return (
    <>
      <section className="card">
        <h1>Drafts</h1>
        <p className="muted">
          You are signed in as <span className="badge">{claims?.role}</span>. Analysts save drafts;
          only reviewers may commit them.
          {!canCommit && ' Your role cannot commit: the server will refuse it.'}
        </p>
        <form onSubmit={save} noValidate>
          <label htmlFor="title">Title</label>
          <input id="title" name="title" value={title} onChange={(e) => setTitle(e.target.value)} />
          <label htmlFor="body">Text</label>
          <textarea id="body" name="body" rows={4} value={body} onChange={(e) => setBody(e.target.value)} />
          <button type="submit" disabled={busy || !title.trim()}>
            Save draft
          </button>
        </form>
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
      </section>
      <section className="card">
        <h2>Saved</h2>
        {drafts.length === 0 ? (
          <p className="muted">No drafts yet.</p>
        ) : (
          <ul className="list" data-testid="drafts">
            {drafts.map((d) => (
              <li key={d.id} data-testid="draft" data-status={d.status}>
                <div>
                  <strong>{d.title}</strong>{' '}
                  <span className={`badge${d.status === 'committed' ? ' ok' : ''}`}>{d.status}</span>
                  <div className="muted small">
                    by {d.authorRole} · {new Date(d.savedAt).toLocaleString()}
                  </div>
                </div>
                {d.status === 'draft' && (
                  <button
                    type="button"
                    className={canCommit ? 'small' : 'secondary small'}
                    title={canCommit ? undefined : 'Only reviewers can commit'}
                    onClick={() => void commit(d)}
                  >
                    Commit
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export default function DraftsPage() {
  return (
    <RequireAuth>
      <Drafts />
    </RequireAuth>
  );
}
