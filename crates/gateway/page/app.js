// The waiting room page (docs/PROTOCOL.md, "Waiting page"). Plain JS, no library: it talks to the gateway
// it was served by (same origin, identity cookie) and, when the gateway offers it, to Ably's SSE endpoint
// for instant events; polling the ticket status at the interval the gateway suggests is both the
// heartbeat and the fallback.
'use strict';

const [, , SHOW, SCHED] = location.pathname.split('/').map(decodeURIComponent);
const QUEUE = `/v1/queues/${encodeURIComponent(SHOW)}/${encodeURIComponent(SCHED)}`;
const STORE = `seatwise:${SHOW}:${SCHED}`;
const $ = (s) => document.querySelector(s);

let M = {};
const ui = {
  ticket: null, firstRank: 0, state: null, pollTimer: null, countdown: null, source: null, liveTries: 0,
  lastSeq: {}, held: [], map: null, expiresAt: 0, ended: false, opensAt: null,
};

function when(iso) {
  return new Date(iso).toLocaleString(document.documentElement.lang, { dateStyle: 'full', timeStyle: 'short' });
}

function t(key, vars = {}) {
  return (M[key] || key).replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
}

function show(id) {
  for (const s of ['before', 'pow', 'waiting', 'turn', 'done']) $(`#${s}`).hidden = s !== id;
}

function banner(text, kind = '') {
  const b = $('#banner');
  b.textContent = text;
  b.className = kind;
  b.hidden = !text;
}

function announce(text) {
  $('#announcer').textContent = '';
  setTimeout(() => { $('#announcer').textContent = text; }, 50);
}

async function call(method, path, body) {
  const r = await fetch(path, {
    method, credentials: 'same-origin',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error(data.message || r.statusText);
    Object.assign(e, { status: r.status, code: data.code, retryAfter: Number(r.headers.get('retry-after') || 0) });
    throw e;
  }
  return data;
}

// Event `seq` values are stream ids "<ms>-<n>": compare numerically, part by part.
function newer(a, b) {
  if (!b) return true;
  const [am, an] = a.split('-').map(Number);
  const [bm, bn] = b.split('-').map(Number);
  return am > bm || (am === bm && an > bn);
}

// ---------- the queue ----------

async function start() {
  M = (await (await fetch('/page/messages.json')).json())[document.documentElement.lang] || {};
  for (const el of document.querySelectorAll('[data-msg]')) el.textContent = t(el.dataset.msg);
  $('#leave').addEventListener('click', leave);
  $('#book').addEventListener('click', book);
  ui.ticket = localStorage.getItem(STORE);
  await overview();
}

// The show, the schedule and whether its queue is open; before a sale, look again every 15 s.
async function overview() {
  let info;
  try {
    info = await call('GET', `/v1/shows/${encodeURIComponent(SHOW)}/queue`);
  } catch (e) {
    banner(t('error', { message: e.message }), 'bad');
    return;
  }
  const q = info.schedules.find((s) => s.schedId === SCHED);
  document.title = t('pageTitle', { show: info.name });
  $('#title').textContent = info.name;
  $('#venue').textContent = info.venue;
  if (q) $('#when').textContent = new Date(`${q.startsAt}`).toLocaleString(document.documentElement.lang, { dateStyle: 'full', timeStyle: 'short' });
  ui.opensAt = info.saleOpensAt || null;
  if (q && (q.state === 'open' || q.state === 'paused' || q.state === 'prequeue')) return join(q.powBits);
  show('before');
  const parts = [];
  if (q && q.state === 'closed') parts.push(t('closedBefore'));
  else {
    if (info.saleOpensAt) parts.push(t('opensAt', { time: when(info.saleOpensAt) }));
    if (info.preQueueOpensAt) parts.push(t('preQueueAt', { time: when(info.preQueueOpensAt) }));
    parts.push(t('beforeText'));
  }
  $('#before-text').textContent = parts.join(' ');
  setTimeout(overview, 15000);
}

async function solve(bits) {
  const c = await call('POST', `${QUEUE}/challenge`, {});
  if (!c.bits) return {};
  show('pow');
  const worker = new Worker('/page/pow-worker.js');
  const solution = await new Promise((resolve) => {
    worker.onmessage = (e) => {
      if (e.data.progress !== undefined) $('#pow-progress').value = Math.round(e.data.progress * 100);
      if (e.data.solution) resolve(e.data.solution);
    };
    worker.postMessage({ challenge: c.challenge, bits: c.bits });
  });
  worker.terminate();
  return { challenge: c.challenge, solution };
}

async function join(powBits) {
  try {
    // A ticket kept from before (a reload) is ours again: the status call says where it stands.
    if (ui.ticket) {
      try { return onTicket(await call('GET', `${QUEUE}/tickets/${ui.ticket}`)); } catch { ui.ticket = null; }
    }
    const proof = powBits ? await solve(powBits) : {};
    onTicket(await call('POST', `${QUEUE}/tickets`, proof));
  } catch (e) {
    if (e.status === 429 || e.status === 503 || e.code === 'challenge_used') {
      const s = Math.max(2, e.retryAfter || 2);
      banner(t('busy', { seconds: s }), 'warn');
      return setTimeout(() => join(powBits), s * 1000);
    }
    if (e.status === 410) return ended('closed');
    banner(t('error', { message: e.message }), 'bad');
  }
}

function schedulePoll(ms) {
  clearTimeout(ui.pollTimer);
  if (ms > 0) ui.pollTimer = setTimeout(poll, ms);
}

async function poll() {
  if (!ui.ticket || ui.ended) return;
  try {
    onTicket(await call('GET', `${QUEUE}/tickets/${ui.ticket}`));
  } catch (e) {
    if (e.status === 410 || e.code === 'closed') return ended('closed');
    if (e.status === 404 || e.status === 403) return ended('abandoned');
    banner(t('offline'), 'warn');
    schedulePoll(Math.max(2000, (e.retryAfter || 5) * 1000));
  }
}

function minutes(ms) { return Math.max(1, Math.round(ms / 60000)); }

function onTicket(a) {
  ui.ticket = a.ticket;
  localStorage.setItem(STORE, a.ticket);
  const was = ui.state;
  ui.state = a.state;
  if (a.state === 'waiting') {
    if ($('#banner').className === 'warn' && !a.paused) banner('');
    if (a.paused) banner(t('paused'), 'warn');
    else if (a.likelySoldOut) banner(t('soldOut'), 'warn');
    show('waiting');
    if (a.prequeue) {
      $('#rank-text').textContent = t('preQueue', { count: Math.max(0, a.rank - 1).toLocaleString() });
      $('#eta').textContent = t('preQueueText', { time: ui.opensAt ? when(ui.opensAt) : '…' });
      $('#updated').textContent = t('updated', { time: new Date().toLocaleTimeString(document.documentElement.lang) });
      live();
      return schedulePoll(a.pollAfterMs);
    }
    ui.firstRank = Math.max(ui.firstRank, a.rank);
    $('#rank-text').textContent = a.rank <= 1 ? t('rankOne') : t('rank', { rank: a.rank.toLocaleString() });
    // The gateway's range (10th to 90th percentile, from the measured outflow); the design guide's etaMs otherwise.
    const r = a.etaRange || { p10Ms: a.etaMs * 0.8, p90Ms: a.etaMs * 1.25 };
    $('#eta').textContent = r.p90Ms < 60000 ? t('etaSoon') : t('etaRange', { from: minutes(r.p10Ms), to: Math.max(minutes(r.p10Ms) + 1, minutes(r.p90Ms)) });
    $('#progress').value = ui.firstRank > 1 ? Math.round(100 * (ui.firstRank - a.rank) / (ui.firstRank - 1)) : 100;
    $('#updated').textContent = t('updated', { time: new Date().toLocaleTimeString(document.documentElement.lang) });
    live();
  } else if (a.state === 'admitted') {
    if (was !== 'admitted') yourTurn(a);
  } else if (a.state === 'completed') {
    return ended('booked');
  } else {
    return ended(a.state);
  }
  schedulePoll(a.pollAfterMs);
}

// ---------- live events (Ably SSE) ----------

async function live() {
  if (ui.source || ui.liveTries > 3 || ui.ended) return;
  ui.liveTries += 1;
  let l;
  try {
    l = await call('GET', `${QUEUE}/tickets/${ui.ticket}/live`);
  } catch {
    return; // no realtime on this gateway, or Ably unreachable: polling carries on
  }
  const url = `${l.sse}?v=1.2&channels=${l.channels.map(encodeURIComponent).join(',')}&accessToken=${encodeURIComponent(l.accessToken)}`;
  const source = new EventSource(url);
  ui.source = source;
  source.onmessage = (e) => {
    let env;
    try { env = JSON.parse(e.data); } catch { return; }
    const data = env.encoding === 'json' ? JSON.parse(env.data) : env.data;
    if (data && data.seq) {
      if (!newer(data.seq, ui.lastSeq[env.channel])) return; // a repeat or an older event
      ui.lastSeq[env.channel] = data.seq;
    }
    onEvent(env.name, data || {});
  };
  // An Ably error event (e.g. the token expired) ends this stream: fetch a new token and reopen.
  source.addEventListener('error', (e) => {
    if (e.data) {
      source.close();
      ui.source = null;
      setTimeout(live, 1000);
    }
  });
}

function onEvent(name, data) {
  switch (name) {
    case 'queue.paused': banner(t('paused'), 'warn'); break;
    case 'queue.resumed': banner(t('resumed')); poll(); break;
    case 'queue.announcement': banner(t('announcement', { message: data.message || '' })); announce($('#banner').textContent); break;
    case 'queue.closed':
    case 'ticket.queue_closed': ended(data.reason === 'cancelled' ? 'cancelled' : 'closed'); break;
    case 'ticket.removed': ended('removed'); break;
    case 'ticket.session_expired': ended('expired'); break;
    default: poll(); // your turn, and anything new: the status answer says the rest
  }
}

// ---------- your turn ----------

async function yourTurn(a) {
  show('turn');
  document.title = `✅ ${t('turnTitle')}`;
  ui.expiresAt = a.expiresAtMs;
  const mins = minutes(a.expiresAtMs - Date.now());
  announce(t('turnAnnounce', { minutes: mins }));
  $('#turn-title').focus();
  clearInterval(ui.countdown);
  const tick = () => {
    const left = Math.max(0, ui.expiresAt - Date.now());
    const m = Math.floor(left / 60000), s = Math.floor((left % 60000) / 1000);
    $('#countdown').textContent = t('countdown', { time: `${m}:${String(s).padStart(2, '0')}` });
    if (left === 0) { clearInterval(ui.countdown); poll(); }
  };
  tick();
  ui.countdown = setInterval(tick, 1000);
  await seatMap();
}

async function seatMap() {
  const m = await call('GET', `${QUEUE}/seats`);
  ui.map = m;
  document.querySelector('[data-msg="pickSeats"]').textContent = t('pickSeats', { max: m.maxSeats });
  const box = $('#seatmap');
  for (const r of box.querySelectorAll('.row')) r.remove();
  const taken = new Set(m.taken.filter((s) => !ui.held.includes(s)));
  for (const row of m.rows) {
    const line = document.createElement('div');
    line.className = 'row';
    const label = document.createElement('span');
    label.className = 'row-label';
    label.textContent = row;
    label.setAttribute('aria-hidden', 'true');
    line.append(label);
    for (let n = 1; n <= m.seatsPerRow; n += 1) {
      const id = `${row}${n}`;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'seat';
      b.dataset.seat = id;
      b.textContent = id;
      b.setAttribute('aria-label', t('seat', { seat: id }));
      b.setAttribute('aria-pressed', String(ui.held.includes(id)));
      b.disabled = taken.has(id);
      b.addEventListener('click', () => toggleSeat(id));
      line.append(b);
    }
    box.append(line);
  }
  renderHeld();
}

function renderHeld() {
  $('#held').textContent = ui.held.length ? t('held', { seats: ui.held.join(', ') }) : t('heldNone');
  $('#book').disabled = ui.held.length === 0;
  for (const b of document.querySelectorAll('.seat')) b.setAttribute('aria-pressed', String(ui.held.includes(b.dataset.seat)));
}

async function toggleSeat(id) {
  $('#seat-msg').textContent = '';
  const base = `${QUEUE}/tickets/${ui.ticket}`;
  try {
    if (ui.held.includes(id)) {
      ui.held = (await call('POST', `${base}/release`, { seats: [id] })).seats;
    } else {
      const h = await call('POST', `${base}/holds`, { seats: [id] });
      ui.held = h.seats;
      ui.expiresAt = h.expiresAtMs || ui.expiresAt;
    }
    renderHeld();
  } catch (e) {
    if (e.code === 'seats_taken') {
      $('#seat-msg').textContent = t('seatTaken', { seats: id });
      await seatMap();
    } else if (e.code === 'too_many_seats') {
      $('#seat-msg').textContent = t('tooMany', { max: ui.map.maxSeats });
    } else if (e.code === 'no_session') {
      ended('expired');
    } else {
      $('#seat-msg').textContent = t('error', { message: e.message });
    }
  }
}

async function book() {
  $('#book').disabled = true;
  try {
    const r = await call('POST', `${QUEUE}/tickets/${ui.ticket}/complete`, {});
    ended('booked', r.seats);
  } catch (e) {
    if (e.code === 'no_session') return ended('expired');
    $('#seat-msg').textContent = t('error', { message: e.message });
    $('#book').disabled = false;
  }
}

// ---------- endings ----------

async function leave() {
  if (!confirm(t('leaveConfirm'))) return;
  try { await call('DELETE', `${QUEUE}/tickets/${ui.ticket}`); } catch { /* gone already */ }
  ended('left');
}

function ended(kind, seats) {
  if (ui.ended && kind !== 'booked') return;
  ui.ended = true;
  clearTimeout(ui.pollTimer);
  clearInterval(ui.countdown);
  if (ui.source) { ui.source.close(); ui.source = null; }
  localStorage.removeItem(STORE);
  const texts = {
    booked: [t('booked'), t('bookedText', { seats: (seats || ui.held).join(', ') })],
    expired: [t('expired'), t('expiredText')],
    closed: [t('closed'), t('closedText')],
    cancelled: [t('cancelled'), t('cancelledText')],
    removed: [t('removed'), t('removedText')],
    abandoned: [t('abandoned'), t('abandonedText')],
    left: [t('left'), ''],
  };
  const [title, text] = texts[kind] || texts.closed;
  show('done');
  banner('');
  document.title = title;
  $('#done-title').textContent = title;
  $('#done-text').textContent = text;
  $('#done-title').focus();
  announce(title);
}

start();
