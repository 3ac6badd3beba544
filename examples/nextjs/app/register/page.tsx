'use client';

import { useState, type FormEvent, type ReactElement } from 'react';
import Link from 'next/link';
import { readProblem } from '@/lib/problem';

const FIELDS = [
  { name: 'first_name', label: 'First name', autoComplete: 'given-name' },
  { name: 'last_name', label: 'Last name', autoComplete: 'family-name' },
  { name: 'username', label: 'Username (optional)', autoComplete: 'username' },
  { name: 'email', label: 'Email', autoComplete: 'email', type: 'email' },
  { name: 'mobile', label: 'Mobile', autoComplete: 'tel', type: 'tel', hint: 'e.g. 01712345678' },
  { name: 'date_of_birth', label: 'Date of birth', type: 'date' },
] as const;

const GENDERS = [
  ['', 'Choose…'],
  ['female', 'Female'],
  ['male', 'Male'],
  ['other', 'Other'],
  ['prefer_not_to_say', 'Prefer not to say'],
] as const;

type Values = Record<string, string>;

export default function RegisterPage() {
  const [values, setValues] = useState<Values>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const set = (name: string) => (e: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [name]: e.target.value }));

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    const body: Values = {};
    for (const [k, v] of Object.entries(values)) if (v.trim() !== '' || k === 'password') body[k] = v;
    try {
      const r = await fetch('/api/auth/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        const answer = await r.json();
        setDone(answer.message ?? 'Check your inbox to confirm your email address.');
        return;
      }
      const p = await readProblem(r);
      setFieldErrors(p.fields);
      setError(Object.keys(p.fields).length ? 'Please correct the fields marked above.' : p.message);
    } catch {
      setError('Could not reach the server. Try again.');
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <section className="card narrow">
        <h1>Almost there</h1>
        <p className="notice" role="status">
          {done}
        </p>
        <p>
          <Link href="/login">Go to sign in</Link>
        </p>
      </section>
    );
  }

  const field = (name: string, label: string, input: ReactElement, hint?: string) => (
    <div className={`field${fieldErrors[name] ? ' invalid' : ''}`} key={name}>
      <label htmlFor={name}>{label}</label>
      {input}
      {fieldErrors[name] ? (
        <p className="field-error" id={`${name}-error`} data-field={name}>
          {fieldErrors[name]}
        </p>
      ) : hint ? (
        <p className="hint">{hint}</p>
      ) : null}
    </div>
  );

  const describedBy = (name: string) => (fieldErrors[name] ? `${name}-error` : undefined);

  return (
    <section className="card narrow">
      <h1>Create an account</h1>
      <form onSubmit={onSubmit} noValidate>
        <div className="grid2">
          {FIELDS.map((f) =>
            field(
              f.name,
              f.label,
              <input
                id={f.name}
                name={f.name}
                type={'type' in f ? f.type : 'text'}
                autoComplete={'autoComplete' in f ? f.autoComplete : undefined}
                aria-invalid={!!fieldErrors[f.name]}
                aria-describedby={describedBy(f.name)}
                value={values[f.name] ?? ''}
                onChange={set(f.name)}
              />,
              'hint' in f ? f.hint : undefined,
            ),
          )}
          {field(
            'gender',
            'Gender',
            <select
              id="gender"
              name="gender"
              aria-invalid={!!fieldErrors.gender}
              aria-describedby={describedBy('gender')}
              value={values.gender ?? ''}
              onChange={set('gender')}
            >
              {GENDERS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>,
          )}
          {field(
            'password',
            'Password',
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="new-password"
              aria-invalid={!!fieldErrors.password}
              aria-describedby={describedBy('password')}
              value={values.password ?? ''}
              onChange={set('password')}
            />,
            'At least 8 characters; a long passphrase is best.',
          )}
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p className="muted small">
        Already registered? <Link href="/login">Sign in</Link>
      </p>
    </section>
  );
}
