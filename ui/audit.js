// The audit log.
import { api, errorText } from './api.js';
import { show } from './app.js';
import { $, banner, el } from './dom.js';

// ---------- audit ----------
export async function renderAudit() {
  const body = $('#audit-table tbody');
  let entries = [];
  try { entries = await api.audit($('#audit-show').value || null, 200); } catch (e) { banner(errorText(e)); return; }
  body.replaceChildren();
  // A status change is written twice (the change, then its effects): staff see one row, the result.
  const results = new Set(entries.filter((f) => f.kind === 'result').map((f) => `${f.show} ${f.from} ${f.to}`));
  for (const a of entries) {
    const f = a; // an audit record: {id, user, host, at, kind, show, ...} (docs/PROTOCOL.md)
    if (f.kind === 'status' && results.has(`${f.show} ${f.from} ${f.to}`)) continue;
    let what = `${f.kind} ${f.show ?? ''}`;
    let details = '';
    if (f.kind === 'status' || f.kind === 'result') { what = `${f.show}: ${f.from} → ${f.to}`; details = f.kind === 'result' ? f.message : 'status changed (version ' + f.version + ')'; }
    if (f.kind === 'action') { what = `${f.action} ${f.scope}`; details = f.detail; }
    if (f.kind === 'create' || f.kind === 'update') { what = `${f.kind} ${f.show}`; details = `version ${f.version}`; }
    body.append(el('tr', { dataset: { kind: f.kind } }, el('td', { title: f.at }, new Date(f.at).toLocaleString()), el('td', {}, `${f.user}@${f.host}`), el('td', {}, what), el('td', {}, details)));
  }
}
