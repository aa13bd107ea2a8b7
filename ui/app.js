// The console's UI. It holds no state beyond what it last fetched; every change goes through api.js.
import { api, errorText } from './api.js';
import { QueueState, WorkerState } from './states.js';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
};

const ui = { view: 'setup', refreshSeconds: 10, timer: null, lastGood: null, connected: null, simulating: false, editing: null };

// ---------- small helpers ----------
function setResult(node, text, ok) {
  node.textContent = text;
  node.className = 'result ' + (ok === true ? 'ok' : ok === false ? 'bad' : '');
}

// One banner; `source` says who set it, so a good refresh clears only its own connectivity warning.
function banner(text, kind = 'error', source = 'action') {
  const b = $('#banner');
  if (!text && source === 'monitor' && ui.bannerSource !== 'monitor') return;
  b.hidden = !text;
  b.textContent = text || '';
  b.className = 'banner' + (kind === 'info' ? ' info' : '');
  ui.bannerSource = text ? source : null;
}

// A confirmation or question. Enter confirms, Escape cancels, Tab stays inside the dialog, and focus goes
// back where it was. `mustType`: the answer is accepted only when it equals this text (production guard).
function modal({ title, text, input = null, yes = 'OK', danger = false, mustType = null }) {
  return new Promise((resolve) => {
    const before = document.activeElement;
    $('#modal-title').textContent = title;
    $('#modal-text').textContent = text;
    const inp = $('#modal-input');
    const asks = input !== null || mustType !== null;
    inp.hidden = !asks;
    inp.value = input ?? '';
    const yesBtn = $('#modal-yes');
    yesBtn.textContent = yes;
    yesBtn.className = danger ? 'primary danger' : 'primary';
    const check = () => { yesBtn.disabled = mustType !== null && inp.value.trim() !== mustType; };
    inp.oninput = check;
    check();
    $('#modal').hidden = false;
    (asks ? inp : yesBtn).focus();
    const done = (ok) => {
      if (ok && yesBtn.disabled) return;
      $('#modal').hidden = true;
      yesBtn.onclick = $('#modal-no').onclick = null;
      $('#modal').onkeydown = inp.oninput = null;
      yesBtn.disabled = false;
      if (before && before.focus) before.focus();
      resolve(ok ? (asks ? inp.value : true) : null);
    };
    yesBtn.onclick = () => done(true);
    $('#modal-no').onclick = () => done(false);
    $('#modal').onkeydown = (ev) => {
      if (ev.key === 'Escape') { ev.preventDefault(); done(false); }
      else if (ev.key === 'Enter' && ev.target !== $('#modal-no')) { ev.preventDefault(); done(true); }
      else if (ev.key === 'Tab') {
        const f = [...$('#modal').querySelectorAll('input:not([hidden]), button:not(:disabled)')];
        const i = f.indexOf(document.activeElement);
        const next = f[(i + (ev.shiftKey ? -1 : 1) + f.length) % f.length];
        ev.preventDefault();
        next.focus();
      }
    };
  });
}

// A duration in words staff read at a glance: "45 s", "12 min", "1 h 05 min".
function waitText(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.round(s / 60) % 60).padStart(2, '0')} min`;
}

const time = (ms) => new Date(ms).toLocaleTimeString();

// A sparkline's polyline points ('' below two samples).
function sparkPoints(points) {
  if (!points || points.length < 2) return '';
  const max = Math.max(1, ...points);
  const step = 120 / (points.length - 1);
  return points.map((p, i) => `${(i * step).toFixed(1)},${(24 - (p / max) * 22).toFixed(1)}`).join(' ');
}

function sparkline(points) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 120 26');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', sparkPoints(points));
  svg.append(line);
  return svg;
}

// Brings a table body to `rows` (each {key, sig, build}) touching only what changed: a row whose
// signature is unchanged stays the same DOM node (WebKit then has nothing to lay out or paint again; the
// console refreshes 100 queues every 10 s, most of them unchanged), a changed one is rebuilt, and rows are
// moved, added or removed by key.
function patchRows(body, rows) {
  const old = new Map([...body.children].map((tr) => [tr.dataset.key, tr]));
  rows.forEach((r, i) => {
    let tr = old.get(r.key);
    if (!tr || tr.dataset.sig !== r.sig) {
      const fresh = r.build();
      fresh.dataset.key = r.key;
      fresh.dataset.sig = r.sig;
      if (tr) tr.replaceWith(fresh);
      tr = fresh;
    }
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  while (body.children.length > rows.length) body.lastElementChild.remove();
}

// ---------- navigation ----------
async function show(view) {
  ui.view = view;
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== `view-${view}`;
  for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b.dataset.view === view);
  api.prefsSet(null, view).catch(() => {});
  if (view === 'setup') await renderProfiles();
  if (view === 'shows') await renderShows();
  if (view === 'audit') await renderAudit();
  if (view === 'monitor') await refreshMonitor();
  if (view === 'detail') await renderDetail();
}

function renderConnection() {
  const c = ui.connected;
  $('#disconnect').hidden = !c;
  const chip = $('#conn');
  const ably = c && (c.watchOnly ? ' · watch only' : c.ably ? '' : ' · Ably not configured');
  const gateway = c && c.gatewayUrl ? ` · buyer API ${c.gatewayUrl}` : '';
  chip.textContent = c ? `${c.profile} · ${c.label}${ably}${gateway}` : 'Not connected';
  chip.className = 'chip' + (c ? '' : ' off');
  // A watch-only profile changes nothing: every control that would is hidden (Redis refuses them anyway).
  document.body.classList.toggle('watch-only', !!(c && c.watchOnly));
  // The environment band: red production, amber staging, green sandbox.
  const env = c ? (c.sandbox ? 'sandbox' : c.environment || 'production') : null;
  for (const e of ['production', 'staging', 'sandbox']) document.body.classList.toggle(`env-${e}`, env === e);
  $('#env-band').hidden = !env;
  $('#env-band').textContent = env ? env.toUpperCase() : '';
}

// Dark mode follows the system until staff choose; the choice is remembered on this computer.
function applyTheme() {
  const pref = localStorage.getItem('theme');
  const dark = pref ? pref === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.body.classList.toggle('dark', dark);
  document.body.classList.toggle('light', !dark);
  $('#theme-toggle').setAttribute('aria-pressed', String(dark));
  $('#theme-toggle').textContent = dark ? 'Light mode' : 'Dark mode';
}
function toggleTheme() {
  localStorage.setItem('theme', document.body.classList.contains('dark') ? 'light' : 'dark');
  applyTheme();
}

// ---------- setup ----------
async function renderProfiles() {
  const list = $('#profiles');
  list.replaceChildren();
  let profiles = [];
  try { profiles = await api.profiles(); } catch (e) { list.append(el('li', {}, errorText(e))); return; }
  if (!profiles.length) list.append(el('li', { class: 'muted' }, 'No profile yet: create one, or start the local sandbox.'));
  for (const p of profiles) {
    const result = el('p', { class: 'result' });
    list.append(el('li', { dataset: { profile: p.name } },
      el('div', { class: 'name' }, p.name),
      el('div', { class: 'meta' }, `${{ cluster: 'Cluster', upstash: 'Upstash' }[p.kind] ?? 'Redis'}: ${p.redisHint} · Ably: ${p.ablyHint ?? 'not configured'}`),
      el('div', { class: 'row' },
        el('button', { class: 'primary small', onclick: () => connect(p.name, result) }, 'Connect'),
        el('button', { class: 'small', onclick: () => testProfile(p.name, result) }, 'Test connection'),
        el('button', { class: 'small', onclick: () => editProfile(p) }, 'Edit'),
        p.ablyHint ? el('button', { class: 'small', onclick: () => forgetAbly(p.name) }, 'Forget Ably key') : '',
        el('button', { class: 'small danger', onclick: () => deleteProfile(p.name) }, 'Delete')),
      result));
  }
}

function editProfile(p) {
  ui.editing = p.name;
  setResult($('#profile-result'), ''); // a message about another profile no longer applies
  $('#profile-form-title').textContent = `Edit ${p.name}`;
  $('#pf-name').value = p.name;
  $('#pf-kind').value = p.kind;
  $('#pf-url').value = $('#pf-nodes').value = $('#pf-ably').value = $('#pf-rest-token').value = '';
  $('#pf-password').value = $('#pf-user').value = $('#pf-host').value = $('#pf-port').value = '';
  $('#pf-rest-url').value = p.restUrl ?? '';
  $('#pf-ably-endpoint').value = p.ablyEndpoint ?? '';
  $('#pf-watch-only').checked = !!p.watchOnly;
  $('#pf-environment').value = p.environment || 'production';
  $('#pf-tls-ca').value = $('#pf-tls-cert').value = $('#pf-tls-key').value = '';
  $('#pf-saved-hint').hidden = false;
  const tls = [p.tlsCa ? 'own CA' : '', p.tlsClientCert ? 'client certificate' : ''].filter(Boolean).join(', ');
  $('#pf-saved-hint').textContent = `Saved: ${p.redisHint}; Ably ${p.ablyHint ?? 'not configured'}${tls ? `; TLS: ${tls}` : ''}. Leave a secret or certificate field empty to keep what is saved.`;
  kindChanged();
}

function clearProfileForm() {
  ui.editing = null;
  setResult($('#profile-result'), '');
  $('#profile-form').reset();
  $('#profile-form-title').textContent = 'New profile';
  $('#pf-saved-hint').hidden = true;
  kindChanged();
}

function kindChanged() {
  const kind = $('#pf-kind').value;
  $('#pf-url-label').hidden = kind !== 'redis';
  $('#pf-nodes-label').hidden = kind !== 'cluster';
  $('#pf-rest-url-label').hidden = kind !== 'upstash';
  $('#pf-rest-token-label').hidden = kind !== 'upstash';
}

// The Redis URL from the fields (host, port, user, password, TLS), percent-encoding user and password, so a
// password with / or ? just works; a pasted URL wins. '' when nothing was typed (an edit keeps the saved one).
function redisUrlFromForm() {
  const host = $('#pf-host').value.trim(), port = $('#pf-port').value.trim();
  const user = $('#pf-user').value, pass = $('#pf-password').value;
  const pasted = $('#pf-url').value.trim();
  $('#pf-url-err').textContent = '';
  if (pasted) return pasted;
  if (!host && !port && !user && !pass) return '';
  if (!host) { $('#pf-url-err').textContent = 'Give the host (a name like redis.example.com, or an IP address).'; return null; }
  if (port && !(Number(port) >= 1 && Number(port) <= 65535)) { $('#pf-url-err').textContent = 'A port is 1 to 65535 (Redis: 6379).'; return null; }
  const auth = user || pass ? `${encodeURIComponent(user)}${pass ? `:${encodeURIComponent(pass)}` : ''}@` : '';
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host; // an IPv6 address
  return `${$('#pf-tls').checked ? 'rediss' : 'redis'}://${auth}${h}:${port || 6379}`;
}

async function saveProfile(ev) {
  ev.preventDefault();
  const redisUrl = $('#pf-kind').value === 'redis' ? redisUrlFromForm() : '';
  if (redisUrl === null) { setResult($('#profile-result'), 'Not saved: see the Redis fields.', false); return; }
  const input = {
    name: $('#pf-name').value, kind: $('#pf-kind').value, redisUrl,
    clusterNodes: $('#pf-nodes').value, ablyKey: $('#pf-ably').value, ablyEndpoint: $('#pf-ably-endpoint').value,
    restUrl: $('#pf-rest-url').value, restToken: $('#pf-rest-token').value,
    watchOnly: $('#pf-watch-only').checked, environment: $('#pf-environment').value,
    tlsCa: $('#pf-tls-ca').value, tlsClientCert: $('#pf-tls-cert').value, tlsClientKey: $('#pf-tls-key').value,
  };
  try {
    const p = await api.saveProfile(input);
    // The secrets were handed to the keyring: clear them from the page at once.
    $('#pf-url').value = $('#pf-nodes').value = $('#pf-ably').value = $('#pf-rest-token').value = '';
    $('#pf-password').value = $('#pf-user').value = $('#pf-host').value = $('#pf-port').value = '';
    $('#pf-tls-key').value = '';
    setResult($('#profile-result'), `Saved ${p.name} (${p.redisHint}; Ably ${p.ablyHint ?? 'not configured'}). Secrets are in the OS keyring.`, true);
    banner(null); // "no profile yet" no longer holds
    await renderProfiles();
  } catch (e) { setResult($('#profile-result'), errorText(e), false); }
}

async function testProfile(name, out) {
  setResult(out, 'Testing…');
  try {
    const r = await api.testProfile(name);
    // Each part on its own line, in its own colour: a failing Ably does not paint a working Redis red.
    const line = (part, c) => el('div', { class: `result ${c.ok ? 'ok' : 'bad'}`, dataset: { part } }, `${part === 'redis' ? 'Redis' : 'Ably'}: ${c.message}`);
    out.className = 'result';
    out.replaceChildren(line('redis', r.redis), r.ably ? line('ably', r.ably) : el('div', { class: 'result muted', dataset: { part: 'ably' } }, 'Ably: not configured for this profile'));
  } catch (e) { setResult(out, errorText(e), false); }
}

async function deleteProfile(name) {
  if (!await modal({ title: `Delete ${name}?`, text: 'Its credentials are removed from the OS keyring.', yes: 'Delete', danger: true })) return;
  try {
    await api.deleteProfile(name);
    if (ui.editing === name) clearProfileForm(); else setResult($('#profile-result'), '');
    await renderProfiles();
  } catch (e) { banner(errorText(e)); }
}

async function forgetAbly(name) {
  if (!await modal({ title: `Forget the Ably key of ${name}?`, text: 'It is removed from the OS keyring. A console connected with this profile keeps sending until it reconnects; after that, notifications wait in the outbox.', yes: 'Forget', danger: true })) return;
  try { await api.forgetAblyKey(name); await renderProfiles(); } catch (e) { banner(errorText(e)); }
}

async function replaceConnection(next) {
  if (!ui.connected || ui.connected.profile === next) return true;
  return modal({
    title: `Leave ${ui.connected.profile}?`,
    text: `This console is connected to ${ui.connected.profile} (${ui.connected.label}). Connecting to ${next} stops watching it and stops this console's notification worker there.`,
    yes: `Switch to ${next}`,
  });
}

async function disconnect() {
  if (!ui.connected) return;
  if (!await modal({ title: `Disconnect from ${ui.connected.profile}?`, text: 'The monitor stops, and so does this console\'s notification worker.', yes: 'Disconnect' })) return;
  try { await api.disconnect(); } catch (e) { banner(errorText(e)); }
  ui.connected = null;
  renderConnection();
}

async function connect(name, out) {
  if (!await replaceConnection(name)) return;
  setResult(out, 'Connecting…');
  try {
    ui.connected = await api.connect(name);
    renderConnection();
    startRefresh();
    await show('shows');
  } catch (e) {
    setResult(out, errorText(e), false);
    ui.connected = await api.connection().catch(() => null);
    renderConnection();
  }
}

async function startSandbox() {
  if (!await replaceConnection('Local sandbox')) return;
  const btn = $('#sandbox-start');
  btn.disabled = true;
  btn.textContent = 'Starting…';
  try {
    ui.connected = await api.startSandbox();
    ui.simulating = true;
    renderConnection();
    startRefresh();
    await show('monitor');
  } catch (e) {
    banner(errorText(e));
    ui.connected = await api.connection().catch(() => null); // whatever the backend is connected to now
    renderConnection();
  }
  btn.disabled = false;
  btn.textContent = 'Start local sandbox';
}

// ---------- shows ----------
let showsCache = [];

// "in 1 h 05 min": the time left until a scheduled opening (as the CLI's opening::countdown says it).
function countdown(iso) {
  const s = Math.max(0, Math.floor((Date.parse(iso) - Date.now()) / 1000));
  const p = (n) => String(n).padStart(2, '0');
  if (s === 0) return 'now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min ${p(s % 60)} s`;
  if (s < 86400) return `in ${Math.floor(s / 3600)} h ${p(Math.floor(s / 60) % 60)} min`;
  return `in ${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

// A live countdown element: its text is refreshed every second by the ticker below.
function countdownEl(what, iso) {
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
function openingEl(o) {
  return o ? countdownEl(o.what[0].toUpperCase() + o.what.slice(1), new Date(o.atMs).toISOString()) : '';
}

async function renderShows() {
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

async function applyStatus(s, status, button) {
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

const SHOW_TEMPLATE = {
  id: 'new-show', name: 'New show', venue: 'Main hall',
  schedules: [{ id: 'evening-1', startsAt: '2026-06-01T19:30', timeZone: 'Europe/London', capacity: 100 }],
};

// ---------- the show editor (a form; JSON stays for bulk work) ----------
const TIME_ZONES = (() => { try { return Intl.supportedValuesOf('timeZone'); } catch { return ['Europe/London', 'Europe/Paris', 'America/New_York', 'UTC']; } })();
const LOCAL_TZ = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { return 'UTC'; } })();
const ID_RULE = /^[A-Za-z0-9_-]{1,64}$/; // as the engine's ids (ids.rs)

// RFC 3339 <-> the value of an <input type="datetime-local"> (this computer's time).
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
const fromLocalInput = (v) => (v ? new Date(v).toISOString().replace('.000Z', 'Z') : undefined);

// Seat rows as staff type them: "A-H" or "A, B, C, AA".
function parseRows(text) {
  const t = text.trim();
  if (!t) return null;
  const m = t.match(/^([A-Z])\s*-\s*([A-Z])$/i);
  if (m) {
    const [from, to] = [m[1].toUpperCase().charCodeAt(0), m[2].toUpperCase().charCodeAt(0)];
    return from <= to ? Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)) : [];
  }
  return t.split(/[\s,]+/).filter(Boolean).map((r) => r.toUpperCase());
}
function rowsText(rows) {
  if (!rows || !rows.length) return '';
  const consecutive = rows.every((r, i) => r.length === 1 && (i === 0 || r.charCodeAt(0) === rows[i - 1].charCodeAt(0) + 1));
  return consecutive && rows.length > 2 ? `${rows[0]}-${rows[rows.length - 1]}` : rows.join(', ');
}

function schedRow(sc = {}) {
  const f = (name, label, input, hint = '') => {
    const err = el('span', { class: 'field-error', 'aria-live': 'polite', dataset: { err: name } });
    input.dataset.field = name;
    return el('label', {}, label, hint ? el('span', { class: 'muted' }, ` ${hint}`) : '', input, err);
  };
  const tz = el('select', {}, TIME_ZONES.map((z) => el('option', { value: z }, z)));
  tz.value = sc.timeZone || LOCAL_TZ;
  const box = el('fieldset', { class: 'sched' },
    el('legend', {}, sc.id ? `Performance ${sc.id}` : 'New performance'),
    el('div', { class: 'fields' },
      f('id', 'Id', el('input', { value: sc.id ?? '', placeholder: 'fri-eve' })),
      f('startsAt', 'Starts at', el('input', { type: 'datetime-local', value: sc.startsAt ?? '' }), '(local time at the venue)'),
      f('timeZone', 'Time zone', tz),
      f('capacity', 'Buyers choosing seats at once', el('input', { type: 'number', min: 1, max: 100000, value: sc.capacity ?? 100 }), '(1–100 000)'),
      f('sessionMinutes', 'Time to choose and pay', el('input', { type: 'number', min: 1, max: 1440, step: 'any', value: sc.sessionSeconds ? sc.sessionSeconds / 60 : 10 }), 'minutes (1–1 440)'),
      f('abandonSeconds', 'Drop a silent buyer after', el('input', { type: 'number', min: 30, max: 86400, value: sc.abandonSeconds ?? 120 }), 'seconds (30–86 400)'),
      f('rows', 'Seat rows', el('input', { value: rowsText(sc.seatMap && sc.seatMap.rows), placeholder: 'A-H (empty: no seat map)' })),
      f('seatsPerRow', 'Seats per row', el('input', { type: 'number', min: 1, max: 200, value: sc.seatMap ? sc.seatMap.seatsPerRow : '' }), '(1–200)'),
      f('outflow', 'Admit at most per minute', el('input', { type: 'number', min: 1, max: 100000, value: sc.outflowPerMinute ?? '' }), '(empty: no limit)')),
    el('button', { type: 'button', class: 'small danger', onclick: () => { box.remove(); } }, 'Remove this performance'));
  box._extra = { maxSeats: sc.maxSeats }; // kept as it was: not on the form
  return box;
}

// Reads and checks the form. Returns the show object, or null after marking each wrong field in words.
function readShowForm() {
  let ok = true;
  const mark = (input, errNode, msg) => {
    input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    errNode.textContent = msg || '';
    if (msg) ok = false;
  };
  const id = $('#sf-id').value.trim(), name = $('#sf-name').value.trim(), venue = $('#sf-venue').value.trim();
  mark($('#sf-id'), $('#sf-id-err'), ID_RULE.test(id) ? '' : 'Use 1 to 64 letters, digits, "-" or "_" (e.g. hamlet-2026).');
  mark($('#sf-name'), $('#sf-name-err'), name ? '' : 'Give the show a name buyers will recognise.');
  mark($('#sf-venue'), $('#sf-venue-err'), venue ? '' : 'Say where it plays.');
  const sale = fromLocalInput($('#sf-sale').value), pre = fromLocalInput($('#sf-prequeue').value);
  mark($('#sf-prequeue'), $('#sf-prequeue-err'), pre && !sale ? 'A pre-queue needs the sale opening time too.' : pre && sale && pre >= sale ? 'The pre-queue opens before the sale.' : '');
  const schedules = [];
  const boxes = [...document.querySelectorAll('#sf-schedules fieldset.sched')];
  if (!boxes.length) { setResult($('#show-result'), 'Add at least one performance.', false); return null; }
  const ids = new Set();
  for (const box of boxes) {
    const get = (k) => box.querySelector(`[data-field="${k}"]`);
    const err = (k) => box.querySelector(`[data-err="${k}"]`);
    const num = (k) => (get(k).value === '' ? null : Number(get(k).value));
    const range = (k, lo, hi, msg, optional = false) => {
      const v = num(k);
      mark(get(k), err(k), (v === null && optional) || (v !== null && v >= lo && v <= hi) ? '' : msg);
      return v;
    };
    const sid = get('id').value.trim();
    mark(get('id'), err('id'), !ID_RULE.test(sid) ? '1 to 64 letters, digits, "-" or "_" (e.g. fri-eve).' : ids.has(sid) ? 'Each performance needs its own id.' : '');
    ids.add(sid);
    mark(get('startsAt'), err('startsAt'), get('startsAt').value ? '' : 'When does it start?');
    const capacity = range('capacity', 1, 100000, '1 to 100 000 buyers at once.');
    const minutes = range('sessionMinutes', 1, 1440, 'A buyer needs 1 to 1 440 minutes to choose seats and pay.');
    const abandon = range('abandonSeconds', 30, 86400, 'Waiting pages check in every 5–10 s: use 30 to 86 400 seconds.');
    const outflow = range('outflow', 1, 100000, '1 to 100 000 a minute, or empty for no limit.', true);
    const rows = parseRows(get('rows').value);
    const perRow = num('seatsPerRow');
    let seatMap;
    if (rows) {
      const badRow = rows.find((r) => !/^[A-Z0-9]{1,3}$/.test(r)) ?? (new Set(rows).size !== rows.length ? 'repeated' : null);
      mark(get('rows'), err('rows'), !rows.length || rows.length > 60 ? 'Give 1 to 60 rows, e.g. A-H.' : badRow ? `Row labels are 1 to 3 letters or digits, each once (not "${badRow}").` : '');
      mark(get('seatsPerRow'), err('seatsPerRow'), perRow !== null && perRow >= 1 && perRow <= 200 ? '' : 'A row has 1 to 200 seats.');
      seatMap = { rows, seatsPerRow: perRow };
    } else {
      mark(get('rows'), err('rows'), '');
      mark(get('seatsPerRow'), err('seatsPerRow'), perRow !== null ? 'Give the rows too, or leave both empty.' : '');
    }
    schedules.push({
      id: sid, startsAt: get('startsAt').value, timeZone: get('timeZone').value, capacity,
      sessionSeconds: minutes === null ? undefined : Math.round(minutes * 60), abandonSeconds: abandon ?? undefined,
      ...(box._extra.maxSeats ? { maxSeats: box._extra.maxSeats } : {}),
      ...(seatMap ? { seatMap } : {}), ...(outflow !== null ? { outflowPerMinute: outflow } : {}),
    });
  }
  if (!ok) { setResult($('#show-result'), 'Not saved: see the fields marked in red.', false); return null; }
  return { id, name, venue, ...(sale ? { saleOpensAt: sale } : {}), ...(pre ? { preQueueOpensAt: pre } : {}), schedules };
}

function fillShowForm(s) {
  $('#sf-id').value = s.id ?? '';
  $('#sf-id').disabled = !!ui.editingShow; // a show's id never changes
  $('#sf-name').value = s.name ?? '';
  $('#sf-venue').value = s.venue ?? '';
  $('#sf-sale').value = toLocalInput(s.saleOpensAt);
  $('#sf-prequeue').value = toLocalInput(s.preQueueOpensAt);
  $('#sf-schedules').replaceChildren(...(s.schedules ?? []).map(schedRow));
  for (const n of document.querySelectorAll('#show-form .field-error')) n.textContent = '';
  for (const n of document.querySelectorAll('#show-form [aria-invalid]')) n.removeAttribute('aria-invalid');
  const { status, version, updatedAt, updatedBy, ...editable } = s;
  $('#show-json').value = JSON.stringify(editable, null, 2);
}

function editShow(s) {
  ui.editingShow = s;
  $('#show-form-title').textContent = `Edit ${s.name}`;
  setResult($('#show-result'), '');
  fillShowForm(s);
  $('#sf-name').focus();
}

function newShow() {
  ui.editingShow = null;
  $('#show-form-title').textContent = 'Create a show';
  setResult($('#show-result'), '');
  fillShowForm({ ...SHOW_TEMPLATE, schedules: SHOW_TEMPLATE.schedules.map((x) => ({ ...x, timeZone: LOCAL_TZ })) });
}

async function saveShowJson(json) {
  const out = $('#show-result');
  try {
    const s = await api.saveShow(json, ui.editingShow ? ui.editingShow.version : null);
    setResult(out, `Saved ${s.name} (${s.schedules.length} performance${s.schedules.length === 1 ? '' : 's'}).`, true);
    ui.editingShow = s;
    $('#show-form-title').textContent = `Edit ${s.name}`;
    $('#sf-id').disabled = true;
    $('#show-json').value = JSON.stringify((({ status, version, updatedAt, updatedBy, ...e }) => e)(s), null, 2);
    await renderShows();
  } catch (e) { setResult(out, errorText(e), false); }
}

async function saveShow(ev) {
  if (ev) ev.preventDefault();
  const show = readShowForm();
  if (show) await saveShowJson(JSON.stringify(show));
}

async function importShows() {
  const out = $('#import-result');
  try {
    const r = await api.importShows($('#import-text').value);
    setResult(out, r.map((o) => `${o.show}: ${o.action}`).join(' · ') || 'Nothing to import.', true);
    await renderShows();
  } catch (e) { setResult(out, errorText(e), false); }
}

// ---------- monitor ----------
function startRefresh() {
  clearTimeout(ui.timer);
  const loop = (ui.loop = (ui.loop ?? 0) + 1); // a newer loop ends this one, even mid-request
  const tick = async () => {
    if (loop !== ui.loop) return;
    if (ui.connected && !ui.refreshPaused) {
      await refreshMonitor();
      if (ui.view === 'detail') await renderDetail();
    }
    if (loop !== ui.loop) return;
    ui.timer = setTimeout(tick, ui.refreshSeconds * 1000); // the next refresh starts after this one ends
  };
  ui.timer = setTimeout(tick, 0);
}

let refreshing = false;
// ---------- one queue's charts ----------
let charts = [];
function openDetail(scope, title) {
  ui.detail = { scope, title };
  show('detail');
}

async function renderDetail() {
  if (!ui.detail) { show('monitor'); return; }
  $('#detail-title').textContent = ui.detail.title;
  const hours = Number($('#detail-hours').value);
  const width = Math.max(320, $('#view-detail').clientWidth - 40);
  const dark = document.body.classList.contains('dark');
  // Charts already drawn for this queue, period, theme and width are fed the new samples only (uPlot's
  // setData); anything else draws them afresh.
  const conn = ui.connected ? `${ui.connected.profile} ${ui.connected.label}` : '';
  const key = `${conn} ${ui.detail.scope} ${hours} ${dark} ${width}`;
  const have = charts.length && ui.detailData && ui.detailData.key === key ? ui.detailData : null;
  const last = have && have.points.length ? have.points[have.points.length - 1].atMs : null;
  const call = (ui.detailCall = (ui.detailCall ?? 0) + 1);
  let fresh;
  try {
    fresh = await api.queueHistory(ui.detail.scope, hours, last);
  } catch (e) { setResult($('#detail-note'), errorText(e), false); return; }
  if (call !== ui.detailCall) return; // a newer call (another period, queue or refresh) draws instead
  const since = Date.now() - hours * 3600000;
  const points = (have ? have.points.concat(fresh) : fresh).filter((p) => p.atMs >= since);
  ui.detailData = { key, points };
  const note = points.length
    ? `${points.length} samples, from ${new Date(points[0].atMs).toLocaleString()}`
    : 'No samples yet: a worker (this console runs one) samples every 10 s.';
  if ($('#detail-note').textContent !== note) $('#detail-note').textContent = note;
  const t = points.map((p) => p.atMs / 1000);
  const data = [
    [t, points.map((p) => p.queueSize), points.map((p) => p.activeSessions)],
    [t, points.map((p) => p.admissionsPerMin)],
    [t, points.map((p) => p.estWaitMs / 60000)],
  ];
  if (have) {
    if (fresh.length || points.length !== have.points.length) charts.forEach((c, i) => c.setData(data[i]));
    for (const c of charts) c.root.dataset.samples = String(points.length);
    return;
  }
  // The chart library is loaded when a chart is first opened (the overview never needs it). It formats
  // numbers in navigator.language, which WebKitGTK reports as "C" under a C/POSIX locale (servers, CI,
  // minimal desktops): not a language tag, so Intl throws. Such a locale means no preference: English.
  try { new Intl.NumberFormat(navigator.language); } catch {
    Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
  }
  let uPlot;
  try {
    ({ default: uPlot } = await import('./vendor/uplot/uPlot.esm.js'));
  } catch (e) { setResult($('#detail-note'), `The charts could not be loaded: ${e}`, false); return; }
  if (call !== ui.detailCall) return;
  const axis = { stroke: dark ? '#a5b1b8' : '#5f6b73', grid: { stroke: dark ? '#2a343b' : '#eef1f2' } };
  // The time axis always spans the chosen period, ending now (a fresh queue has few samples).
  const range = () => { const to = Date.now() / 1000; return [to - hours * 3600, to]; };
  const opts = (series) => ({
    width, height: 180, series: [{}, ...series], axes: [axis, axis],
    scales: { x: { time: true, range } },
  });
  for (const c of charts) c.destroy();
  charts = [
    new uPlot(opts([{ label: 'Waiting', stroke: '#117a76', width: 2 }, { label: 'In a session', stroke: '#b5530b', width: 2 }]),
      data[0], $('#chart-queue')),
    new uPlot(opts([{ label: 'Admissions/min', stroke: '#1f4f8f', width: 2 }]), data[1], $('#chart-outflow')),
    new uPlot(opts([{ label: 'Estimated wait (min)', stroke: '#6a3fb5', width: 2, value: (u, v) => (v == null ? '-' : v.toFixed(1)) }]),
      data[2], $('#chart-wait')),
  ];
  for (const c of charts) c.root.dataset.samples = String(points.length);
}

async function refreshMonitor() {
  if (refreshing || !ui.connected) return;
  refreshing = true;
  try {
    const data = await api.monitor();
    ui.lastGood = data.atMs;
    banner(null, 'error', 'monitor');
    renderMonitor(data);
    watchForAttention(data);
  } catch (e) {
    if (e && e.code === 'not_connected') {
      ui.connected = null;
      renderConnection();
      banner('Not connected: pick a profile on the Setup screen, or start the local sandbox.', 'info', 'monitor');
    } else {
      const down = ['unreachable', 'auth', 'tls', 'cluster'].includes(e && e.code);
      const last = ui.lastGood ? time(ui.lastGood) : 'never';
      banner(`${down ? 'Redis unavailable' : 'Refresh failed'}: ${errorText(e)} — last update ${last}; retrying every ${ui.refreshSeconds}s.`, 'error', 'monitor');
      if (down) attention('redis', `Redis cannot be reached: the live queues are not updating (last update ${last}).`);
    }
  } finally {
    refreshing = false;
  }
}

function renderWorker(w, waiting = 0) {
  const chip = $('#worker');
  if (!w) { chip.hidden = true; return; }
  chip.hidden = false;
  if (ui.connected && ui.connected.watchOnly) {
    chip.textContent = 'Notifications: sent by the box office (this profile only watches)';
    chip.title = '';
    chip.className = 'chip';
    return;
  }
  // Say what actually happened: sent is what Ably accepted through this console; waiting is what the
  // outboxes still hold (the monitor's "Unsent notices").
  const sent = `${w.delivered} sent by this console`;
  const left = waiting ? ` · ${waiting} waiting` : '';
  const text = {
    [WorkerState.RUNNING]: w.delivered ? `Notifications: sending · ${sent}${left}` : `Notifications: ready · nothing sent yet${left}`,
    [WorkerState.STARTING]: 'Notifications: starting',
    [WorkerState.ABLY_NOT_CONFIGURED]: `Notifications: off (no Ably key) · ${waiting} waiting in the outbox`,
    [WorkerState.ABLY_UNREACHABLE]: `Notifications: Ably unreachable · ${waiting} waiting${w.delivered ? ` · ${sent} before` : ''}`,
    [WorkerState.REDIS_UNREACHABLE]: 'Notifications: paused (Redis unreachable)',
    [WorkerState.STOPPED]: 'Notifications: stopped',
  }[w.state] ?? w.state;
  const cls = 'chip' + (w.state === WorkerState.RUNNING ? '' : w.state === WorkerState.ABLY_NOT_CONFIGURED ? ' warn' : ' bad');
  if (chip.textContent !== text) chip.textContent = text;
  if (chip.title !== (w.lastError ?? '')) chip.title = w.lastError ?? '';
  if (chip.className !== cls) chip.className = cls;
}

function renderMonitor(data) {
  $('#last-update').textContent = time(data.atMs);
  renderWorker(data.worker, data.shows.flatMap((s) => s.queueStatuses).reduce((n, q) => n + (q.pendingEvents || 0), 0));
  ui.simulating = !!data.simulator;
  // Simulated buyers book seats: offered on the local sandbox only.
  $('#sim-toggle').hidden = !(ui.connected && ui.connected.sandbox);
  $('#sim-toggle').textContent = ui.simulating ? 'Stop simulated buyers' : 'Simulate buyers';
  const only = $('#monitor-show').value;
  const rows = [];
  for (const s of data.shows) {
    if (only && s.showId !== only) continue;
    for (const q of s.queueStatuses) {
      const scope = q.showScopeId;
      // What staff must know at a glance: pre-queue and opening, outflow limit, likely sold out.
      const notes = [];
      if (q.state === QueueState.PREQUEUE && !s.saleOpensAt) notes.push('pre-queue · the sale opens by hand');
      if (q.outflowPerMin) notes.push(`≤ ${q.outflowPerMin}/min`);
      if (q.likelySoldOutRank != null && q.likelySoldOutRank < q.queueSize) notes.push(`likely sold out at rank ${q.likelySoldOutRank} (${q.seatsLeft} seats left)`);
      if (q.admissionsPerMin) notes.push(`${q.admissionsPerMin} admitted in the last minute`);
      const range = (r) => `${waitText(r.p10Ms)}–${waitText(r.p90Ms)}`;
      if (q.forecast && q.forecast.clearedIn) notes.push(`queue cleared in ${range(q.forecast.clearedIn)} at this pace`);
      if (q.forecast && q.forecast.soldOutIn) notes.push(`seats run out in ${range(q.forecast.soldOutIn)}`);
      if (q.estimateErrorPct != null) notes.push(`wait estimates off by ${Math.round(q.estimateErrorPct)} % (median of ${q.estimateSamples} buyers)`);
      const shown = {
        name: s.name, sched: q.schedId, notes, countdown: q.state === QueueState.PREQUEUE && s.saleOpensAt ? s.saleOpensAt : null,
        date: `${q.schedDate} ${(q.startsAt.split('T')[1] || '').slice(0, 5)}`, zone: q.timeZone,
        state: q.state, paused: q.paused, queueSize: q.queueSize, sessions: `${q.activeSessions} / ${q.capacity}`,
        avgService: waitText(q.avgServiceMs), estimatedWait: waitText(q.estimatedWaitTime),
        admitted: q.admittedTotal, abandoned: q.abandonedTotal, pending: q.pendingEvents,
        capacity: q.capacity, outflow: q.outflowPerMin || 0,
      };
      rows.push({ key: scope, sig: JSON.stringify(shown), build: () => monitorRow(scope, shown) }); // (an open actions menu stays open: the row is kept, or rebuilt open)
    }
  }
  if (!rows.length) {
    rows.push({ key: 'empty', sig: '', build: () => el('tr', {}, el('td', { colspan: 13, class: 'muted' }, 'No open queue: set a show to Open (Queue Active).')) });
  }
  if (rows.length > 1) {
    // Totals across the queues shown.
    const all = data.shows.filter((s) => !only || s.showId === only).flatMap((s) => s.queueStatuses);
    const sum = (f) => all.reduce((n, q) => n + (q[f] || 0), 0);
    const t = {
      n: rows.length, queueSize: sum('queueSize'), sessions: `${sum('activeSessions')} / ${sum('capacity')}`,
      admitted: sum('admittedTotal'), abandoned: sum('abandonedTotal'), pending: sum('pendingEvents'),
    };
    const cell = (field, v) => el('td', { class: 'num', dataset: { field } }, v);
    rows.push({ key: 'totals', sig: JSON.stringify(t), build: () => el('tr', { class: 'totals', dataset: { totals: '' } },
      el('td', {}, `Total (${t.n} queues)`), el('td', {}), el('td', {}), el('td', {}),
      cell('queueSize', t.queueSize), cell('sessions', t.sessions),
      el('td', {}), el('td', {}), cell('admitted', t.admitted), cell('abandoned', t.abandoned),
      cell('pending', t.pending), el('td', {}), el('td', {})) });
  }
  const body = $('#monitor-table tbody');
  patchRows(body, rows);
  // The sparklines change on their own (a sample every 10 s): only their lines are redrawn.
  for (const line of body.querySelectorAll('button[data-chart] polyline')) {
    const points = sparkPoints(data.history[line.closest('button').dataset.chart]);
    if (line.getAttribute('points') !== points) line.setAttribute('points', points);
  }
}

// One queue's row of the monitor, from what it shows (`shown`, also the row's signature).
function monitorRow(scope, v) {
  const cell = (field, value) => el('td', { class: 'num', dataset: { field } }, value);
  const sched = el('td', {}, v.sched, ...v.notes.map((n) => el('div', { class: 'muted small', dataset: { field: 'note' } }, n)),
    v.countdown ? countdownEl('pre-queue · sale opens', v.countdown) : '');
  return el('tr', { dataset: { scope } },
    el('td', {}, v.name), sched, el('td', { title: v.zone }, v.date),
    el('td', {}, el('span', { class: `badge ${v.state}`, dataset: { field: 'state' } }, v.paused ? QueueState.PAUSED : v.state)),
    cell('queueSize', v.queueSize),
    cell('sessions', v.sessions),
    cell('avgService', v.avgService),
    cell('estimatedWait', v.estimatedWait),
    cell('admitted', v.admitted), cell('abandoned', v.abandoned), cell('pending', v.pending),
    el('td', {}, el('button', { class: 'spark-button', type: 'button', dataset: { chart: scope }, title: 'Open the charts of this queue', 'aria-label': `Charts of ${v.name} ${v.sched}`, onclick: () => openDetail(scope, `${v.name} · ${v.sched}`) }, sparkline(null))),
    el('td', {}, el('div', { class: 'row' },
      v.paused
        ? el('button', { class: 'small', dataset: { action: 'resume' }, onclick: () => act(scope, 'resume') }, 'Resume')
        : el('button', { class: 'small', dataset: { action: 'pause' }, onclick: () => act(scope, 'pause') }, 'Pause'),
      el('details', { class: 'menu staff-only', open: ui.openMenu === scope, ontoggle: (ev) => {
        if (ev.target.open) {
          ui.openMenu = scope;
          closeMenus(ev.target);
        } else if (ui.openMenu === scope) ui.openMenu = null;
      } }, el('summary', { class: 'small', 'aria-label': `More actions for ${scope}` }, 'More ▾'),
        el('div', { class: 'menu-items' },
          el('button', { class: 'small', dataset: { action: 'admit' }, onclick: () => act(scope, 'admit', 'Admit how many buyers now (even beyond capacity)?', '10') }, 'Admit…'),
          el('button', { class: 'small', dataset: { action: 'capacity' }, onclick: () => act(scope, 'capacity', 'Concurrent sessions:', String(v.capacity)) }, 'Capacity…'),
          el('button', { class: 'small', dataset: { action: 'announce' }, onclick: () => act(scope, 'announce', 'Message to everyone waiting:', '') }, 'Message…'),
          el('button', { class: 'small', dataset: { action: 'outflow' }, onclick: () => act(scope, 'outflow', 'Admit at most how many buyers per minute? (0 = no limit)', String(v.outflow)) }, 'Outflow…'),
          el('button', { class: 'small', dataset: { action: 'remove' }, onclick: () => act(scope, 'remove', 'Ticket id to remove:', '') }, 'Remove ticket…'))))));
}

// Things staff must hear about even with the window in the background (an OS notification then; the
// backend decides: only when the window is not focused, the same message at most every 5 minutes).
function attention(kind, text) {
  api.attention(kind, text).catch(() => {}); // no notification service: the window still shows it
}

// What changed since the last refresh that needs attention: queues paused or closed by someone else
// (not by an action of this console in the last minute), notices piling up, notifications stalled.
function watchForAttention(data) {
  const now = Date.now();
  // This console's own change: the state it asked for, in the last 30 s.
  const mine = (scope, state) => { const a = ui.myActions?.[scope]; return !!a && a.at > now - 30000 && a.expect === state; };
  const seen = new Map();
  for (const s of data.shows) {
    for (const q of s.queueStatuses) {
      const state = q.paused ? QueueState.PAUSED : q.state;
      seen.set(q.showScopeId, { state, name: `${s.name} · ${q.schedId}` });
      const before = ui.lastStates?.get(q.showScopeId);
      if (before && before.state !== state && (state === QueueState.PAUSED || state === QueueState.CLOSED) && !mine(q.showScopeId, state)) {
        attention(`queue:${q.showScopeId}`, `${before.name} was ${state} by someone else.`);
      }
    }
  }
  for (const [scope, b] of ui.lastStates ?? []) {
    if (!seen.has(scope) && b.state !== QueueState.CLOSED && !mine(scope, QueueState.CLOSED)) attention(`queue:${scope}`, `${b.name} was closed by someone else.`);
  }
  ui.lastStates = seen;
  const pending = data.shows.flatMap((s) => s.queueStatuses).reduce((n, q) => n + (q.pendingEvents || 0), 0);
  if (pending >= 1000 && pending > (ui.lastPending ?? 0)) attention('outbox', `${pending} notices to buyers are waiting to be sent, and more keep coming.`);
  ui.lastPending = pending;
  const w = data.worker;
  if (w && !(ui.connected && ui.connected.watchOnly)) {
    if (w.state === WorkerState.ABLY_UNREACHABLE) attention('worker', 'Notifications to buyers have stalled: Ably cannot be reached.');
    else if (w.state === WorkerState.REDIS_UNREACHABLE || w.state === WorkerState.STOPPED) attention('worker', `Notifications to buyers have stalled (${w.state.replace('_', ' ')}).`);
  }
}

/** Closes the monitor's open action menus but `keep` (rows are kept between refreshes, menus with them). */
function closeMenus(keep) {
  for (const d of document.querySelectorAll('#monitor-table details.menu[open]')) if (d !== keep) d.open = false;
}

async function act(scope, action, question, initial) {
  ui.openMenu = null; // the menu closes once an action is chosen (the row itself may be kept as it is)
  closeMenus(null);
  const expect = { pause: QueueState.PAUSED, resume: QueueState.OPEN }[action];
  if (expect) ui.myActions = { ...(ui.myActions ?? {}), [scope]: { at: Date.now(), expect } };
  let arg = null;
  if (question) {
    arg = await modal({ title: `${action[0].toUpperCase()}${action.slice(1)} · ${scope}`, text: question, input: initial });
    if (arg === null) return;
  }
  try {
    setResult($('#monitor-note'), `${scope}: ${await api.queueAction(scope, action, arg)}`, true);
  } catch (e) { setResult($('#monitor-note'), `${scope}: ${errorText(e)}`, false); }
  await refreshMonitor();
}

async function toggleSim() {
  try {
    await api.simulate(!ui.simulating);
    ui.simulating = !ui.simulating;
    setResult($('#monitor-note'), ui.simulating ? 'Simulated buyers are joining every open queue.' : 'Simulated buyers stopped.', true);
  } catch (e) { setResult($('#monitor-note'), errorText(e), false); }
  await refreshMonitor();
}

async function exportCsv() {
  try { setResult($('#monitor-note'), `Saved ${await api.exportCsv()}`, true); } catch (e) { setResult($('#monitor-note'), errorText(e), false); }
}

// ---------- audit ----------
async function renderAudit() {
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

// ---------- keyboard ----------
// Shortcuts (listed on the help overlay, "?"): never while typing in a field or with a dialog open.
const SHORTCUTS = [
  ['1', 'Setup', () => show('setup')], ['2', 'Shows', () => show('shows')], ['3', 'Live queues', () => show('monitor')],
  ['4', 'Audit log', () => show('audit')], ['r', 'Refresh now', () => refreshMonitor()],
  ['p', 'Pause or resume the automatic refresh', () => toggleRefreshPause()], ['d', 'Dark or light mode', () => toggleTheme()],
  ['?', 'This list', () => toggleHelp()],
];
function toggleHelp(force) {
  const h = $('#help');
  h.hidden = force === undefined ? !h.hidden : !force;
  if (!h.hidden) $('#help-close').focus();
}
function toggleRefreshPause() {
  ui.refreshPaused = !ui.refreshPaused;
  $('#refresh-pause').textContent = ui.refreshPaused ? 'Resume refresh' : 'Pause refresh';
  $('#refresh-pause').setAttribute('aria-pressed', String(!!ui.refreshPaused));
  if (!ui.refreshPaused) startRefresh();
}
function onKey(ev) {
  if (ev.key === 'Escape' && !$('#help').hidden) { toggleHelp(false); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || !$('#modal').hidden) return;
  if (ev.target.closest('input, textarea, select')) return;
  const s = SHORTCUTS.find(([k]) => k === ev.key);
  if (s) { ev.preventDefault(); s[2](); }
}

// ---------- start ----------
async function start() {
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => show(b.dataset.view));
  $('#profile-form').addEventListener('submit', saveProfile);
  $('#theme-toggle').addEventListener('click', toggleTheme);
  // An error about what was typed before goes as soon as the next thing is typed.
  $('#profile-form').addEventListener('input', () => { if ($('#profile-result').classList.contains('bad')) setResult($('#profile-result'), ''); });
  $('#detail-back').addEventListener('click', () => show('monitor'));
  $('#refresh-pause').addEventListener('click', toggleRefreshPause);
  $('#help-open').addEventListener('click', () => toggleHelp(true));
  $('#help-close').addEventListener('click', () => toggleHelp(false));
  $('#help-list').replaceChildren(...SHORTCUTS.map(([k, what]) => el('div', { class: 'key-row' }, el('kbd', {}, k), el('span', {}, what))));
  document.addEventListener('keydown', onKey);
  $('#detail-hours').addEventListener('change', renderDetail);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  applyTheme();
  $('#profile-new').addEventListener('click', clearProfileForm);
  $('#pf-kind').addEventListener('change', kindChanged);
  $('#sandbox-start').addEventListener('click', startSandbox);
  $('#disconnect').addEventListener('click', disconnect);
  $('#show-form').addEventListener('submit', saveShow);
  $('#show-new').addEventListener('click', newShow);
  $('#sf-add').addEventListener('click', () => $('#sf-schedules').append(schedRow({ timeZone: LOCAL_TZ })));
  $('#show-json-save').addEventListener('click', () => saveShowJson($('#show-json').value));
  $('#import-run').addEventListener('click', importShows);
  $('#import-file').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (f) $('#import-text').value = await f.text();
  });
  $('#monitor-show').addEventListener('change', refreshMonitor);
  $('#sim-toggle').addEventListener('click', toggleSim);
  $('#export-csv').addEventListener('click', exportCsv);
  $('#audit-refresh').addEventListener('click', renderAudit);
  $('#refresh-seconds').addEventListener('change', async (ev) => {
    try {
      const p = await api.prefsSet(Number(ev.target.value), null);
      ui.refreshSeconds = p.refreshSeconds;
      startRefresh();
    } catch (e) { banner(errorText(e)); ev.target.value = ui.refreshSeconds; }
  });
  newShow();
  const prefs = await api.prefsGet();
  ui.refreshSeconds = prefs.refreshSeconds;
  $('#refresh-seconds').value = prefs.refreshSeconds;
  ui.connected = await api.connection();
  renderConnection();
  if (ui.connected) startRefresh();
  const profiles = await api.profiles();
  // A console closed while connected reopens where it was: the same profile, the same view (Disconnect
  // forgets the profile).
  if (!ui.connected && prefs.lastProfile && profiles.some((p) => p.name === prefs.lastProfile)) {
    banner(`Reconnecting to ${prefs.lastProfile}, as when the console was closed…`, 'info');
    try {
      ui.connected = await api.connect(prefs.lastProfile);
      banner(null);
      renderConnection();
      startRefresh();
    } catch (e) {
      banner(`Could not reconnect to ${prefs.lastProfile}: ${errorText(e)} — pick a profile to connect.`);
    }
  }
  await show(ui.connected ? (prefs.lastView === 'setup' ? 'shows' : prefs.lastView) : 'setup');
  if (!ui.connected && !profiles.length) banner('No connection profile yet: create one, or start the local sandbox to try the console.', 'info');
}

start().catch((e) => banner(errorText(e)));
