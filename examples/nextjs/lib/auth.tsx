'use client';

// The session, as the rest of the app sees it.
//
// - The access token lives in memory only (a ref in this provider): never in localStorage or
//   sessionStorage, so a reload forgets it and an XSS bug finds nothing stored.
// - The refresh token is gatehouse's HttpOnly `gatehouse_refresh` cookie (cookie mode,
//   REFRESH_TOKEN_COOKIE=true). JavaScript never sees it; a refresh sends no body, the cookie,
//   and the CSRF token from the readable `gatehouse_csrf` cookie in `X-CSRF-Token`, read right
//   before each call because it changes at every refresh.
// - On page load the provider tries one refresh to restore the session.
// - A timer refreshes silently at 80 % of the access token's life.
// - `authFetch` adds the bearer token; on a 401 it refreshes once and retries, and if that
//   fails too it drops the session and sends the user to /login (auto-logout).

import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { usePathname, useRouter } from 'next/navigation';
import { GatehouseError, readProblem } from './problem';
import { getPasskey } from './passkeys';

export { GatehouseError } from './problem';

/** The claims of a gatehouse access token that the UI uses (the server verifies them). */
export interface Claims {
  sub: string;
  sid: string;
  role: string;
  permissions: string[];
  amr: string[];
  mfa: boolean;
  exp: number;
  iat: number;
  auth_time?: number;
  jti?: string;
}

/** GET /api/auth/me */
export interface User {
  id: string;
  email: string;
  username?: string | null;
  first_name?: string;
  last_name?: string;
  role?: string;
  mobile?: string;
  [field: string]: unknown;
}

export type Status = 'loading' | 'signed-in' | 'signed-out';

export type LoginResult =
  | { kind: 'signed-in' }
  | { kind: 'mfa-required'; mfaToken: string; methods: string[]; expiresIn: number };

/** Why the session ended without the user signing out; the login page says so. */
export type EndReason = 'session_ended';

interface AuthContextValue {
  status: Status;
  user: User | null;
  claims: Claims | null;
  login(identifier: string, password: string): Promise<LoginResult>;
  /** Signs in with a passkey: usernameless, or for `identifier` when one is typed. */
  loginWithPasskey(identifier?: string): Promise<LoginResult>;
  completeMfa(mfaToken: string, code: string, method?: string): Promise<void>;
  /** Finishes the MFA step with one of the account's passkeys. */
  completeMfaWithPasskey(mfaToken: string): Promise<void>;
  sendMfaCode(mfaToken: string): Promise<void>;
  logout(): Promise<void>;
  authFetch(input: string, init?: RequestInit): Promise<Response>;
  reloadUser(): Promise<void>;
  hasPermission(permission: string): boolean;
  /** Set when the session ended by itself (refresh refused); cleared by the next sign-in. */
  endReason: EndReason | null;
  /** True while the provider itself is sending the user to /login (logout, auto-logout). */
  leaving(): boolean;
}

const AuthContext = createContext<AuthContextValue | null>(null);

const REFRESH_AT = 0.8; // refresh when 80 % of the access token's life has passed

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  const m = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
  return m ? decodeURIComponent(m[1]) : null;
}

function decodeClaims(token: string): Claims | null {
  try {
    const part = token.split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '=')))
        .map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
        .join(''),
    );
    return JSON.parse(json) as Claims;
  } catch {
    return null;
  }
}

interface TokenAnswer {
  access_token: string;
  expires_in: number;
}

type RefreshOutcome = { token: string } | { token: null; rejected: boolean };

export function AuthProvider({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const pathRef = useRef(pathname);
  pathRef.current = pathname;

  const [status, setStatus] = useState<Status>('loading');
  const [user, setUser] = useState<User | null>(null);
  const [claims, setClaims] = useState<Claims | null>(null);
  const [endReason, setEndReason] = useState<EndReason | null>(null);

  const accessToken = useRef<string | null>(null); // memory only
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const inFlight = useRef<Promise<RefreshOutcome> | null>(null);
  // Set by the refresh timer's closure; defined below once the callbacks exist.
  const silentRefresh = useRef<() => void>(() => {});
  // Set while the provider sends the user to /login, so protected pages do not redirect too.
  const toLogin = useRef(false);
  useEffect(() => {
    if (pathname === '/login') toLogin.current = false;
  }, [pathname]);

  const clearTimer = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  };

  const accept = useCallback((answer: TokenAnswer) => {
    accessToken.current = answer.access_token;
    setClaims(decodeClaims(answer.access_token));
    clearTimer();
    const lifeMs = Math.max(1, answer.expires_in) * 1000;
    timer.current = setTimeout(() => silentRefresh.current(), Math.max(1000, lifeMs * REFRESH_AT));
  }, []);

  const forget = useCallback(() => {
    accessToken.current = null;
    clearTimer();
    setUser(null);
    setClaims(null);
    setStatus('signed-out');
  }, []);

  /** Drop the session and send the user to /login (seed 002's auto-logout). */
  const endSession = useCallback(() => {
    toLogin.current = true;
    forget();
    setEndReason('session_ended');
    const here = pathRef.current;
    const next = here && here !== '/login' ? `&next=${encodeURIComponent(here)}` : '';
    router.replace(`/login?reason=session_ended${next}`);
  }, [forget, router]);

  /** One refresh at a time; concurrent callers share it. */
  const refresh = useCallback((): Promise<RefreshOutcome> => {
    if (inFlight.current) return inFlight.current;
    const run = (async (): Promise<RefreshOutcome> => {
      const csrf = readCookie('gatehouse_csrf');
      if (!csrf) return { token: null, rejected: true }; // no session cookie: nothing to restore
      let r: Response;
      try {
        r = await fetch('/api/auth/refresh', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf },
        });
      } catch {
        return { token: null, rejected: false }; // network: the session may still be fine
      }
      if (!r.ok) return { token: null, rejected: r.status === 401 || r.status === 403 };
      const answer = (await r.json()) as TokenAnswer;
      accept(answer);
      return { token: answer.access_token };
    })().finally(() => {
      inFlight.current = null;
    });
    inFlight.current = run;
    return run;
  }, [accept]);

  silentRefresh.current = () => {
    void refresh().then((outcome) => {
      if (outcome.token !== null) return;
      if (outcome.rejected) endSession();
      else timer.current = setTimeout(() => silentRefresh.current(), 10_000); // offline: try again
    });
  };

  const authFetch = useCallback(
    async (input: string, init: RequestInit = {}): Promise<Response> => {
      const send = (token: string) => {
        const headers = new Headers(init.headers);
        headers.set('Authorization', `Bearer ${token}`);
        return fetch(input, { ...init, headers, credentials: 'same-origin' });
      };
      let token = accessToken.current;
      if (!token) {
        const outcome = await refresh();
        if (!outcome.token) {
          endSession();
          return new Response(null, { status: 401 });
        }
        token = outcome.token;
      }
      const first = await send(token);
      if (first.status !== 401) return first;
      // The token was refused (expired, or the session ended): refresh once and retry.
      const current = accessToken.current;
      const outcome = current && current !== token ? { token: current } : await refresh();
      if (!outcome.token) {
        endSession();
        return first;
      }
      const second = await send(outcome.token);
      if (second.status === 401) endSession();
      return second;
    },
    [refresh, endSession],
  );

  const reloadUser = useCallback(async () => {
    const r = await authFetch('/api/auth/me');
    if (r.ok) setUser((await r.json()) as User);
    else if (r.status !== 401) throw await readProblem(r);
  }, [authFetch]);

  const signedIn = useCallback(
    async (answer: TokenAnswer) => {
      accept(answer);
      setEndReason(null);
      const r = await fetch('/api/auth/me', {
        headers: { Authorization: `Bearer ${answer.access_token}` },
      });
      if (!r.ok) throw await readProblem(r);
      setUser((await r.json()) as User);
      setStatus('signed-in');
    },
    [accept],
  );

  // On page load: one refresh restores the session from the cookie, if there is one.
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const outcome = await refresh();
      if (cancelled) return;
      if (!outcome.token) {
        setStatus('signed-out');
        return;
      }
      try {
        const r = await fetch('/api/auth/me', {
          headers: { Authorization: `Bearer ${outcome.token}` },
        });
        if (cancelled) return;
        if (!r.ok) throw new Error(String(r.status));
        setUser((await r.json()) as User);
        setStatus('signed-in');
      } catch {
        if (!cancelled) forget();
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [refresh, forget]);

  // A background tab's timers are throttled: catch up when it is shown again.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState !== 'visible' || !accessToken.current) return;
      const c = decodeClaims(accessToken.current);
      if (!c) return;
      const left = c.exp * 1000 - Date.now();
      if (left < (c.exp - c.iat) * 1000 * (1 - REFRESH_AT)) silentRefresh.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      clearTimer();
    };
  }, []);

  /** The token answer of a first factor, or the MFA step it leads to. */
  const firstFactor = useCallback(
    async (r: Response): Promise<LoginResult> => {
      if (!r.ok) throw await readProblem(r);
      const body = await r.json();
      if (body.mfa_required) {
        return {
          kind: 'mfa-required',
          mfaToken: body.mfa_token,
          methods: body.methods ?? [],
          expiresIn: body.expires_in,
        };
      }
      await signedIn(body as TokenAnswer);
      return { kind: 'signed-in' };
    },
    [signedIn],
  );

  const login = useCallback(
    async (identifier: string, password: string): Promise<LoginResult> => {
      const r = await fetch('/api/auth/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identifier, password }),
      });
      return firstFactor(r);
    },
    [firstFactor],
  );

  const loginWithPasskey = useCallback(
    async (identifier?: string): Promise<LoginResult> => {
      const start = await fetch('/api/auth/passkeys/login/start', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(identifier ? { identifier } : {}),
      });
      if (!start.ok) throw await readProblem(start);
      const { ceremony_id, options } = await start.json();
      const credential = await getPasskey(options);
      const finish = await fetch('/api/auth/passkeys/login/finish', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ceremony_id, credential }),
      });
      return firstFactor(finish);
    },
    [firstFactor],
  );

  const completeMfa = useCallback(
    async (mfaToken: string, code: string, method?: string) => {
      const r = await fetch('/api/auth/mfa/challenge', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(method ? { mfa_token: mfaToken, code, method } : { mfa_token: mfaToken, code }),
      });
      if (!r.ok) throw await readProblem(r);
      await signedIn((await r.json()) as TokenAnswer);
    },
    [signedIn],
  );

  const completeMfaWithPasskey = useCallback(
    async (mfaToken: string) => {
      const start = await fetch('/api/auth/mfa/challenge/passkey', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ mfa_token: mfaToken }),
      });
      if (!start.ok) throw await readProblem(start);
      const { ceremony_id, options } = await start.json();
      const credential = await getPasskey(options);
      const r = await fetch('/api/auth/mfa/challenge', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ mfa_token: mfaToken, method: 'passkey', ceremony_id, credential }),
      });
      if (!r.ok) throw await readProblem(r);
      await signedIn((await r.json()) as TokenAnswer);
    },
    [signedIn],
  );

  const sendMfaCode = useCallback(async (mfaToken: string) => {
    const r = await fetch('/api/auth/mfa/challenge/send', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mfa_token: mfaToken }),
    });
    if (!r.ok) throw await readProblem(r);
  }, []);

  const logout = useCallback(async () => {
    const csrf = readCookie('gatehouse_csrf');
    const token = accessToken.current;
    try {
      if (csrf) {
        // Cookie mode: the cookie names the session; gatehouse ends it and expires both cookies.
        await fetch('/api/auth/logout', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf },
        });
      } else if (token) {
        await fetch('/api/auth/logout', {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}` },
        });
      }
    } finally {
      toLogin.current = true;
      forget();
      setEndReason(null);
      router.replace('/login');
    }
  }, [forget, router]);

  const value = useMemo<AuthContextValue>(
    () => ({
      status,
      user,
      claims,
      endReason,
      login,
      loginWithPasskey,
      completeMfa,
      completeMfaWithPasskey,
      sendMfaCode,
      logout,
      authFetch,
      reloadUser,
      hasPermission: (p: string) => !!claims?.permissions?.includes(p),
      leaving: () => toLogin.current,
    }),
    [status, user, claims, endReason, login, loginWithPasskey, completeMfa, completeMfaWithPasskey, sendMfaCode, logout, authFetch, reloadUser],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth must be used inside <AuthProvider>');
  return ctx;
}
