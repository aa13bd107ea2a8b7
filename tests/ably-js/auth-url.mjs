// ably-js's Ably.Rest with the gateway as its authUrl (the venue web app's way: service key and buyer id
// in authHeaders), pointed at the Ably stand-in on 127.0.0.1:<port>. Prints the TokenDetails it obtains.
// Usage: node auth-url.mjs <authUrl> <service key> <buyer> <stand-in port>
import * as Ably from 'ably';

const [authUrl, serviceKey, buyer, port] = process.argv.slice(2);
const rest = new Ably.Rest({
  authUrl,
  authHeaders: { Authorization: `Bearer ${serviceKey}`, 'X-Seatwise-Buyer': buyer },
  restHost: '127.0.0.1',
  port: Number(port),
  tls: false,
  useBinaryProtocol: false,
});
const token = await rest.auth.requestToken();
console.log(JSON.stringify(token));
