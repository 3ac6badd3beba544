'use client';

import { useEffect, type ReactNode } from 'react';
import { usePathname, useRouter } from 'next/navigation';
import { useAuth } from '@/lib/auth';

/** Renders its children for a signed-in user; sends anyone else to /login. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, leaving } = useAuth();
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    // After a logout or an auto-logout the provider is already on its way to /login.
    if (status === 'signed-out' && !leaving()) {
      router.replace(`/login?next=${encodeURIComponent(pathname)}`);
    }
  }, [status, leaving, pathname, router]);

  if (status !== 'signed-in') {
    return (
      <p className="muted" role="status">
        {status === 'loading' ? 'Loading…' : 'Redirecting to sign in…'}
      </p>
    );
  }
  return <>{children}</>;
}
