'use client';

import Link from 'next/link';
import { useAuth } from '@/lib/auth';

export function Nav() {
  const { status, user, claims, logout } = useAuth();
  return (
    <header className="nav">
      <div className="nav-inner">
        <Link href="/" className="brand">
          Drafts
        </Link>
        <nav aria-label="Main">
          {status === 'signed-in' ? (
            <>
              <Link href="/dashboard">Dashboard</Link>
              <Link href="/drafts">Drafts</Link>
              <span className="who" data-testid="nav-user">
                {user?.email}
                {claims?.role ? <span className="badge">{claims.role}</span> : null}
              </span>
              <button type="button" className="link" onClick={() => void logout()}>
                Sign out
              </button>
            </>
          ) : status === 'signed-out' ? (
            <>
              <Link href="/login">Sign in</Link>
              <Link href="/register">Register</Link>
            </>
          ) : null}
        </nav>
      </div>
    </header>
  );
}
