// WebAuthn between gatehouse's JSON and the browser's API. gatehouse sends the options with
// binary fields as base64url text and takes the browser's answer the same way; the browser
// wants and gives ArrayBuffers. (Newer browsers have PublicKeyCredential.parse…FromJSON and
// credential.toJSON(); this works in every browser with passkeys.)

type Json = Record<string, unknown>;

export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && !!window.PublicKeyCredential && !!navigator.credentials;
}

function toBytes(text: string): ArrayBuffer {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '='));
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out.buffer;
}

function toText(buffer: ArrayBuffer | null | undefined): string | null {
  if (!buffer) return null;
  let raw = '';
  for (const b of new Uint8Array(buffer)) raw += String.fromCharCode(b);
  return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withIds = (list: unknown) =>
  ((list as Json[] | undefined) ?? []).map((c) => ({ ...c, id: toBytes(c.id as string) }));

/** `navigator.credentials.get()` with options from `…/login/start` or `mfa/…/passkey`. */
export async function getPasskey(options: Json): Promise<Json> {
  const pk = { ...(options.publicKey as Json) };
  const credential = (await navigator.credentials.get({
    publicKey: {
      ...pk,
      challenge: toBytes(pk.challenge as string),
      allowCredentials: withIds(pk.allowCredentials),
    } as PublicKeyCredentialRequestOptions,
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error('No passkey was chosen.');
  const r = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    extensions: credential.getClientExtensionResults(),
    response: {
      authenticatorData: toText(r.authenticatorData),
      clientDataJSON: toText(r.clientDataJSON),
      signature: toText(r.signature),
      userHandle: toText(r.userHandle),
    },
  };
}

/** `navigator.credentials.create()` with options from `…/register/start`. */
export async function createPasskey(options: Json): Promise<Json> {
  const pk = { ...(options.publicKey as Json) };
  const user = pk.user as Json;
  const credential = (await navigator.credentials.create({
    publicKey: {
      ...pk,
      challenge: toBytes(pk.challenge as string),
      user: { ...user, id: toBytes(user.id as string) },
      excludeCredentials: withIds(pk.excludeCredentials),
    } as PublicKeyCredentialCreationOptions,
  })) as PublicKeyCredential | null;
  if (!credential) throw new Error('No passkey was created.');
  const r = credential.response as AuthenticatorAttestationResponse;
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    extensions: credential.getClientExtensionResults(),
    response: {
      attestationObject: toText(r.attestationObject),
      clientDataJSON: toText(r.clientDataJSON),
      transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
    },
  };
}

/** What to tell the user when the browser's prompt ended without a passkey. */
export function promptMessage(e: unknown): string {
  if (e instanceof DOMException && e.name === 'NotAllowedError') {
    return 'The passkey prompt was closed or timed out, or no passkey for this site was chosen.';
  }
  return e instanceof Error ? e.message : String(e);
}
