// Solves a proof-of-work challenge off the page's thread: finds a decimal solution n such that
// SHA-256("<challenge>:<n>") starts with `bits` zero bits (docs/PROTOCOL.md, "Proof of work").
// Hashes in batches with WebCrypto and reports progress (expected work is 2^bits hashes).
self.onmessage = async (e) => {
  const { challenge, bits } = e.data;
  const enc = new TextEncoder();
  const expected = 2 ** bits;
  const zeros = (h) => {
    let n = 0;
    for (const b of new Uint8Array(h)) {
      if (b === 0) { n += 8; continue; }
      return n + Math.clz32(b) - 24;
    }
    return n;
  };
  const batch = 256;
  for (let n = 0; ; n += batch) {
    const hashes = await Promise.all(
      Array.from({ length: batch }, (_, i) => crypto.subtle.digest('SHA-256', enc.encode(`${challenge}:${n + i}`))));
    const i = hashes.findIndex((h) => zeros(h) >= bits);
    if (i >= 0) { self.postMessage({ solution: String(n + i) }); return; }
    self.postMessage({ progress: Math.min(0.99, (n + batch) / expected) });
  }
};
