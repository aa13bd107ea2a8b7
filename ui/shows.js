// Shows: the list with each show's status, its next opening's countdown, status changes.
import { api, errorText } from './api.js';
import { QueueState } from './states.js';
import { show } from './app.js';
import { $, banner, el, modal, ui } from './dom.js';
import { editShow } from './editor.js';

// ---------- shows ----------
export let showsCache = [];

// "in 1 h 05 min": the time left until a scheduled opening (as the CLI's opening::countdown says it).
export function countdown(iso) {
  const s = Math.max(0, Math.floor((Date.parse(iso) - Date.now()) / 1000));
  const p = (n) => String(n).padStart(2, '0');
  if (s === 0) return 'now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min ${p(s % 60)} s`;
  if (s < 86400) return `in ${Math.floor(s / 3600)} h ${p(Math.floor(s / 60) % 60)} min`;
  return `in ${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

// A live countdown element: its text is refreshed every second by the ticker below.
export function countdownEl(what, iso) {
  const at = new Date(iso).toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  const node = el('div', { class: 'muted small', dataset: { field: 'countdown', at: iso, what } }, '');
  node.textContent = `${what} ${countdown(iso)} (${at})`;
  node.dataset.label = at;
  return node;
}
setInterval(() => {
  for (const n of document.querySelectorAll('[data-field="countdown"]')) {
    const text = `${n.dataset.what} ${countdown(n.dataset.at)} (${n.dataset.label})`;
    if (n.textContent !== text) n.textContent = text;
  }
}, 1000);

// The next scheduled opening the engine computed for a show row (`nextOpening`), as a countdown.
export function openingEl(o) {
  return o ? countdownEl(o.what[0].toUpperCase() + o.what.slice(1), new Date(o.atMs).toISOString()) : '';
}

export async function renderShows() {
  const body = $('#shows-table tbody');
  try { showsCache = await api.shows(); } catch (e) { banner(errorText(e)); return; }
  body.replaceChildren();
  const monitorSel = $('#monitor-show');
  const keep = monitorSel.value;
  monitorSel.replaceChildren(el('option', { value: '' }, 'All open queues'));
  for (const row of showsCache) {
    const s = row.show;
    monitorSel.append(el('option', { value: s.id }, s.name));
    const select = el('select', { class: 'status-select', dataset: { show: s.id }, 'aria-label': `New status for ${s.name}` },
      el('option', { value: '' }, 'Choose…'),
      row.allowed.map((o) => el('option', { value: o.status }, o.label)),
      el('option', { value: s.status, title: 'Apply the current status to every queue again (after a failure)' }, `Apply "${row.statusLabel}" again`));
    body.append(el('tr', { dataset: { show: s.id } },
      el('td', {}, el('b', {}, s.name), el('div', { class: 'muted' }, s.id)),
      el('td', {}, s.venue),
      el('td', { class: 'num' }, s.schedules.length),
      el('td', {}, el('span', { class: `badge ${s.status}`, dataset: { field: 'status' } }, row.statusLabel),
        openingEl(row.nextOpening)),
      el('td', {}, el('div', { class: 'row' }, select,
        el('button', { class: 'small primary', dataset: { action: 'apply-status', show: s.id }, onclick: (ev) => applyStatus(s, select.value, ev.target) }, 'Apply'))),
      el('td', {}, el('button', { class: 'small', onclick: () => editShow(s) }, 'Edit'),
        el('button', { class: 'small', onclick: () => { $('#monitor-show').value = s.id; show('monitor'); } }, 'Queues'))));
  }
  if (!showsCache.length) {
    body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted' },
      'No shows yet. Create one with "New show" below, or import a shows file.')));
  }
  monitorSel.value = keep;
}

export async function applyStatus(s, status, button) {
  if (!status) return;
  const box = $('#status-result');
  let typedId = null; // production: the show id typed in the dialog
  if ((status === 'CLOSED' || status === 'CANCELLED') && s.status !== status) {
    let who;
    try {
      const n = await api.buyersToTell(s.id);
      who = `${n} buyer${n === 1 ? '' : 's'} waiting or choosing seats will be told`;
    } catch (e) {
      who = `Every buyer waiting or choosing seats will be told (how many could not be counted: ${errorText(e)})`;
    }
    const verb = status === 'CLOSED' ? 'Close' : 'Cancel';
    // On production, the show id must be typed: a slip of the mouse cannot close a real on-sale.
    const production = ui.connected && !ui.connected.sandbox && (ui.connected.environment || 'production') === 'production';
    const ok = await modal({
      title: `${verb} ${s.name}?`,
      text: `Every queue of this show closes. ${who} that the show is ${status.toLowerCase()}. This cannot be undone for them.`
        + (production ? ` This is PRODUCTION: type the show id (${s.id}) to confirm.` : ''),
      yes: `${verb} show`, danger: true, mustType: production ? s.id : null,
    });
    if (!ok) return;
    if (production) typedId = ok.trim(); // the backend checks it too
  } else if (status === 'OPEN' && s.status !== 'OPEN') {
    const n = s.schedules.length;
    const ok = await modal({
      title: `Open ${s.name}?`,
      text: `Buyers can join ${n} queue${n === 1 ? '' : 's'} now, and everyone already waiting is told the sale is open.`,
      yes: 'Open show',
    });
    if (!ok) return;
  }
  if (button) button.disabled = true;
  // This console's own change: its queues pausing or closing is not news to announce.
  const expect = { OPEN: QueueState.OPEN, CLOSED: QueueState.CLOSED, CANCELLED: QueueState.CLOSED, POSTPONED: QueueState.PAUSED, ON_GOING: null }[status] ?? QueueState.PAUSED;
  for (const sc of s.schedules) ui.myActions = { ...(ui.myActions ?? {}), [`${s.id}:${sc.id}`]: { at: Date.now(), expect } };
  try {
    const r = await api.changeStatus(s.id, status, s.version, typedId);
    box.hidden = false;
    box.className = 'result-box' + (r.success ? '' : ' bad');
    box.replaceChildren(el('b', {}, r.message),
      el('ul', {}, r.queueResults.map((q) => el('li', { dataset: { scope: q.showScopeId } }, `${q.showScopeId}: ${q.message}`))));
  } catch (e) {
    box.hidden = false;
    box.className = 'result-box bad';
    box.replaceChildren(el('b', {}, e && e.code === 'conflict' ? 'Another console changed this show first. ' : 'Not changed. '), errorText(e));
  }
  if (button) button.disabled = false;
  await renderShows();
}

export const SHOW_TEMPLATE = {
  id: 'new-show', name: 'New show', venue: 'Main hall',
  schedules: [{ id: 'evening-1', startsAt: '2026-06-01T19:30', timeZone: 'Europe/London', capacity: 100 }],
};
