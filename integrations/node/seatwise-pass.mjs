// Checks a Seatwise admission pass (docs/PROTOCOL.md, "Admission pass"): offline by its signature, key id
// and expiry; online (the session is still live) by asking a gateway. No dependency beyond Node itself.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The key id a pass names: the first 8 characters of base64url(HMAC-SHA256(key, "seatwise-key-id")). */
export function keyId(key) {
  return createHmac('sha256', key).update('seatwise-key-id').digest('base64url').slice(0, 8);
}

/**
 * Verifies `pass` offline with the pass keys (the current one first, then previous ones while they rotate).
 * Returns {scope, ticket, exp}; throws an Error saying why the pass is refused.
 */
export function verifyPass(pass, keys, now = Date.now()) {
  const parts = String(pass).split('.');
  if (parts.length !== 2) throw new Error('not a pass: two base64url parts joined by "."');
  const [body, sig] = parts;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new Error('the first part is not a pass');
  }
  const key = [].concat(keys).find((k) => keyId(k) === claims.kid);
  if (!key) throw new Error('signed with a key this site does not have (unknown key id)');
  const want = createHmac('sha256', key).update(body).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new Error('the signature does not match');
  if (typeof claims.exp !== 'number' || now >= claims.exp) throw new Error('this pass has expired');
  if (!/^\d+\.\d+\.[0-9a-f]{16}$/.test(claims.ticket) || typeof claims.scope !== 'string') {
    throw new Error('the pass names no ticket');
  }
  return { scope: claims.scope, ticket: claims.ticket, exp: claims.exp };
}

/** The online check: the gateway says whether the ticket is still admitted with a live session now. */
export async function verifyPassOnline(gatewayUrl, pass) {
  const r = await fetch(new URL('/v1/passes/verify', gatewayUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pass }),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(answer.message || `the gateway answered ${r.status}`);
  return answer;
}

// Command line: SEATWISE_PASS_KEY=… [SEATWISE_GATEWAY=url] node seatwise-pass.mjs <pass>
if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = [process.env.SEATWISE_PASS_KEY, process.env.SEATWISE_PASS_KEY_PREVIOUS].filter(Boolean);
  try {
    const claims = verifyPass(process.argv[2] || '', keys);
    if (process.env.SEATWISE_GATEWAY) await verifyPassOnline(process.env.SEATWISE_GATEWAY, process.argv[2]);
    console.log(JSON.stringify({ valid: true, ...claims }));
  } catch (e) {
    console.log(JSON.stringify({ valid: false, reason: e.message }));
    process.exitCode = 1;
  }
}
