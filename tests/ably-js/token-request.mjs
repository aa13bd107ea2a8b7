// Prints the token request ably-js's auth.createTokenRequest makes for the given inputs (the reference
// the CLI's token-request must match byte for byte). No network: timestamp and nonce are given.
// Usage: node token-request.mjs <key> <ttl> <capability JSON> <clientId> <timestamp> <nonce>
import * as Ably from 'ably';

const [key, ttl, capability, clientId, timestamp, nonce] = process.argv.slice(2);
const rest = new Ably.Rest({ key });
const req = await rest.auth.createTokenRequest(
  { ttl: Number(ttl), capability: JSON.parse(capability), clientId, timestamp: Number(timestamp), nonce },
  { key },
);
console.log(JSON.stringify(req));
