// Sign-in of the deployed page (labeling.backend builtin): the user pool's hosted UI with the authorization
// code grant and PKCE (RFC 7636), for the page's public app client. The stack writes config.json next to the
// page; `edgelabel review` has none and hands its one-time token in the URL instead (#token=…).

const TOKEN = 'review-token';
const EXPIRES = 'review-token-expires';
const VERIFIER = 'review-pkce-verifier';
const STATE = 'review-pkce-state';

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** The stored token when it is still valid for a minute; a local token never expires. */
export function storedToken() {
  const token = sessionStorage.getItem(TOKEN);
  const expires = Number(sessionStorage.getItem(EXPIRES) || 0);
  return token && (expires === 0 || expires > Date.now() + 60_000) ? token : null;
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EXPIRES);
}

/** Takes the local token from the URL, or null. */
export function localToken() {
  const m = /[#&]token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  sessionStorage.setItem(TOKEN, decodeURIComponent(m[1]));
  sessionStorage.removeItem(EXPIRES);
  history.replaceState(null, '', location.pathname);
  return sessionStorage.getItem(TOKEN);
}

/**
 * Returns an access token from the hosted UI: finishes a sign-in coming back with ?code=…, or sends the browser
 * to sign in (the returned promise then never settles). Null when the page has no config.json (not deployed).
 */
export async function cognitoToken() {
  const r = await fetch('config.json', { cache: 'no-store' });
  if (!r.ok) return null;
  const signIn = (await r.json()).signIn;
  if (!signIn) return null;

  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    const verifier = sessionStorage.getItem(VERIFIER);
    const expected = sessionStorage.getItem(STATE);
    sessionStorage.removeItem(VERIFIER);
    sessionStorage.removeItem(STATE);
    history.replaceState(null, '', location.pathname);
    if (params.has('error')) throw new Error('sign-in was refused: ' + params.get('error'));
    if (!verifier || params.get('state') !== expected) throw new Error('the sign-in answer does not belong to this tab; reload to sign in again');
    const t = await fetch(signIn.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: signIn.clientId, code: params.get('code'), redirect_uri: signIn.redirectUri, code_verifier: verifier }),
    });
    if (!t.ok) throw new Error(`sign-in failed (token endpoint answered ${t.status}); reload to try again`);
    const tokens = await t.json();
    sessionStorage.setItem(TOKEN, tokens.access_token);
    sessionStorage.setItem(EXPIRES, String(Date.now() + 1000 * Number(tokens.expires_in || 3600)));
    return tokens.access_token;
  }

  const verifier = random(32);
  const state = random(16);
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  location.assign(signIn.authorizeUrl + '?' + new URLSearchParams({
    response_type: 'code', client_id: signIn.clientId, redirect_uri: signIn.redirectUri, scope: 'openid email profile',
    state, code_challenge: challenge, code_challenge_method: 'S256',
  }));
  return new Promise(() => {});
}
