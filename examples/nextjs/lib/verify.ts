// Server side: verify a gatehouse access token in this app's own API routes, with no call to
// gatehouse per request (the public keys are fetched once from its JWKS and cached by jose).
//
// Note: a token checked by signature alone stays valid until its `exp`, even after the user
// signs out or an admin ends the session. Keep ACCESS_TOKEN_TTL short; where an action must
// see a revocation at once, ask gatehouse (GET /api/auth/me with the token answers 401
// session_revoked for an ended session).

import { createRemoteJWKSet, jwtVerify, errors, type JWTPayload } from 'jose';

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  role: string;
  permissions: string[];
  amr: string[];
  mfa: boolean;
}

const gatehouseUrl = () => (process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
/** gatehouse's PUBLIC_URL, which is this app's origin (the proxy serves gatehouse under it). */
const issuer = () => (process.env.APP_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const audience = () => process.env.JWT_AUDIENCE ?? 'gatehouse';

let jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
function keys() {
  jwks ??= createRemoteJWKSet(new URL('/.well-known/jwks.json', gatehouseUrl()), {
    cooldownDuration: 30_000, // an unknown `kid` (a rotated key) refetches at most every 30 s
    cacheMaxAge: 10 * 60_000,
  });
  return jwks;
}

/** An RFC 9457 problem answer, like gatehouse's own. */
export function problem(status: number, code: string, detail: string, headers: Record<string, string> = {}) {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Unprocessable Entity',
    502: 'Bad Gateway',
  };
  return Response.json(
    { type: `urn:gatehouse-example:problem:${code}`, title: titles[status] ?? 'Error', status, detail, code },
    { status, headers: { 'Content-Type': 'application/problem+json', ...headers } },
  );
}

/**
 * The verified claims of the request's bearer token, or the 401/403 answer to send.
 * `permission`, when given, must be in the token's `permissions` claim.
 */
export async function authorize(
  req: Request,
  permission?: string,
): Promise<{ claims: AccessClaims; denied?: undefined } | { claims?: undefined; denied: Response }> {
  const header = req.headers.get('authorization') ?? '';
  const m = header.match(/^Bearer\s+(\S+)$/i);
  if (!m) {
    return {
      denied: problem(401, 'missing_token', 'Sign in first: this needs an access token.', {
        'WWW-Authenticate': 'Bearer',
      }),
    };
  }
  let claims: AccessClaims;
  try {
    const { payload } = await jwtVerify(m[1], keys(), {
      issuer: issuer(),
      audience: audience(),
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
    });
    claims = payload as AccessClaims;
  } catch (e) {
    const expired = e instanceof errors.JWTExpired;
    if (!(e instanceof errors.JOSEError)) console.error('token verification failed', e);
    return {
      denied: problem(
        401,
        expired ? 'token_expired' : 'invalid_token',
        expired ? 'The access token has expired: refresh it.' : 'The access token is not valid.',
        { 'WWW-Authenticate': `Bearer error="invalid_token"` },
      ),
    };
  }
  const permissions = Array.isArray(claims.permissions) ? claims.permissions : [];
  if (permission && !permissions.includes(permission)) {
    return {
      denied: problem(
        403,
        'permission_denied',
        `This needs the ${permission} permission, which your role (${claims.role}) does not have.`,
        { 'WWW-Authenticate': `Bearer error="insufficient_scope"` },
      ),
    };
  }
  return { claims };
}
