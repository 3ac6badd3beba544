'use client';

import { useEffect, type ReactNode } from 'react';
import { usePathname, useRouter } from 'next/navigation';
import { useAuth } from '@/lib/auth';

/** Renders its children for a signed-in user; sends anyone else to /login. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, endReason } = useAuth();
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    // After an auto-logout, authFetch has already sent the user to /login with the reason.
    if (status === 'signed-out' && !endReason) {
      router.replace(`/login?next=${encodeURIComponent(pathname)}`);
    }
  }, [status, endReason, pathname, router]);

  if (status !== 'signed-in') {
    return (
      <p className="muted" role="status">
        {status === 'loading' ? 'Loading…' : 'Redirecting to sign in…'}
      </p>
    );
  }
  return <>{children}</>;
}
