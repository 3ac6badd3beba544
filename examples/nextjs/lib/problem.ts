// gatehouse answers every error as application/problem+json (RFC 9457) with a stable `code`,
// and a 422 lists each bad field in `errors`.

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class GatehouseError extends Error {
  readonly status: number;
  readonly code: string;
  /** field name → message, from a 422's `errors` (or a 409 that names its field) */
  readonly fields: Record<string, string>;

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'GatehouseError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export async function readProblem(r: Response): Promise<GatehouseError> {
  let body: Record<string, unknown> = {};
  try {
    body = await r.json();
  } catch {
    // not JSON (a proxy's error page, say)
  }
  const fields: Record<string, string> = {};
  if (Array.isArray(body.errors)) {
    for (const e of body.errors as FieldError[]) {
      if (e && typeof e.field === 'string' && !(e.field in fields)) fields[e.field] = sentence(e.message);
    }
  }
  const message =
    (typeof body.detail === 'string' && body.detail) ||
    (typeof body.title === 'string' && body.title) ||
    `The server answered ${r.status}.`;
  const code = typeof body.code === 'string' ? body.code : `http_${r.status}`;
  return new GatehouseError(r.status, code, sentence(message), fields);
}

/** gatehouse's messages start in lower case; shown alone, they read better as a sentence. */
export function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
