// The waiting room page (docs/PROTOCOL.md, "Waiting page"). Plain JS, no library: it talks to the gateway
// it was served by (same origin, identity cookie) and, when the gateway offers it, to Ably's SSE endpoint
// for instant events; polling the ticket status at the interval the gateway suggests is both the
// heartbeat and the fallback.
'use strict';

const [, , SHOW, SCHED] = location.pathname.split('/').map(decodeURIComponent);
const QUEUE = `/v1/queues/${encodeURIComponent(SHOW)}/${encodeURIComponent(SCHED)}`;
const STORE = `seatwise:${SHOW}:${SCHED}`;
// What ended this page's last wait (booked, left, closed…): a reload shows it again instead of joining anew.
const ENDED = `${STORE}:ended`;
const $ = (s) => document.querySelector(s);

let M = {};
const ui = {
  ticket: null, firstRank: 0, state: null, pollTimer: null, countdown: null, source: null, liveTries: 0,
  lastSeq: {}, held: [], map: null, expiresAt: 0, ended: false, opensAt: null, powBits: 0, saleOpen: false,
  announced: 0, shownAt: 0, startsAt: '',
};

// The buyer's own locale for dates and numbers, in the page's language (en-GB is not en-US): the first of
// the browser's languages that matches the page's, else the page's language.
const LANG = () => {
  const page = document.documentElement.lang;
  return (navigator.languages || []).find((l) => l.split('-')[0] === page) || page;
};
// Clock times in the buyer's own locale and zone ("around 19:55").
const clock = (ms) => new Date(ms).toLocaleTimeString(LANG(), { hour: '2-digit', minute: '2-digit' });
// Plurals by the language's own rules (French: 0 and 1 are singular): messages `key.one` / `key.other`.
function plural(key, n, vars = {}) {
  const form = new Intl.PluralRules(LANG()).select(n);
  return t(M[`${key}.${form}`] ? `${key}.${form}` : `${key}.other`, { n: n.toLocaleString(LANG()), ...vars });
}

function when(iso) {
  return new Date(iso).toLocaleString(LANG(), { dateStyle: 'full', timeStyle: 'short' });
}

// A performance's local start (`startsAt` in the venue's zone), labelled with that zone: the buyer may be
// elsewhere, but the curtain rises at the venue's time.
function venueTime(startsAt, zone) {
  const [d, tm] = startsAt.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [h, mi] = tm.split(':').map(Number);
  const date = new Date(Date.UTC(y, mo - 1, da, 12)).toLocaleDateString(LANG(), { dateStyle: 'full', timeZone: 'UTC' });
  const time = new Date(Date.UTC(2000, 0, 1, h, mi)).toLocaleTimeString(LANG(), { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
  return t('venueTime', { date, time, zone });
}

function t(key, vars = {}) {
  return (M[key] || key).replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
}

function show(id) {
  for (const s of ['before', 'pow', 'waiting', 'turn', 'done']) $(`#${s}`).hidden = s !== id;
}

// Staff's latest announcement, from a status answer or a live event: shown once per message.
function showAnnouncement(a) {
  if (!a || !a.message || a.atMs <= ui.announced) return;
  ui.announced = a.atMs;
  $('#notice').textContent = t('announcement', { message: a.message, time: clock(a.atMs) });
  $('#notice').hidden = false;
  announce($('#notice').textContent);
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
  $('#again').addEventListener('click', joinAgain);
  $('#alert').addEventListener('click', optInAlert);
  $('#alert').hidden = !('Notification' in window) || Notification.permission === 'denied';
  // A phone unlocked or a tab brought back: ask at once (a missed turn is claimed back by this call).
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') poll(); });
  // A frozen tab thawed (Page Lifecycle 'resume') or a page back from the back/forward cache: the same.
  document.addEventListener('resume', () => poll());
  window.addEventListener('pageshow', (e) => { if (e.persisted) poll(); });
  ui.ticket = localStorage.getItem(STORE);
  const last = JSON.parse(localStorage.getItem(ENDED) || 'null');
  if (last && !ui.ticket) {
    await overview(false);
    return ended(last.kind, last.seats, last);
  }
  await overview(true);
}

// The venue's look (checked on save: readable colours, https links, a logo served by this gateway).
function applyTheme(th) {
  if (!th || ui.themed) return;
  ui.themed = true;
  const root = document.documentElement.style;
  if (th.accent) root.setProperty('--accent', th.accent);
  if (th.background) root.setProperty('--bg', th.background);
  if (th.text) root.setProperty('--fg', th.text);
  if (th.venueName) $('#venue').textContent = th.venueName;
  if (th.logoUrl) {
    const img = document.createElement('img');
    img.id = 'logo';
    img.src = th.logoUrl;
    img.alt = '';
    $('header').prepend(img);
  }
  const links = [['siteUrl', 'venueSite'], ['helpUrl', 'venueHelp']].filter(([k]) => th[k]);
  for (const [k, msg] of links) {
    const a = document.createElement('a');
    a.href = th[k];
    a.rel = 'noopener';
    a.textContent = t(msg, { venue: $('#venue').textContent });
    $('#links').append(a);
  }
  $('#links').setAttribute('aria-label', t('venueLinks'));
  $('#links').hidden = links.length === 0;
}

// "Join again" is an explicit click: nothing joins by itself after an ending.
function joinAgain() {
  localStorage.removeItem(ENDED);
  Object.assign(ui, { ended: false, ticket: null, state: null, firstRank: 0, held: [], shownAt: 0, liveTries: 0 });
  $('#again').hidden = true;
  overview(true);
}

// The show, the schedule and whether its queue is open; before a sale, look again every 15 s.
async function overview(joining) {
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
  applyTheme(info.theme);
  if (q) $('#when').textContent = venueTime(q.startsAt, q.timeZone);
  ui.opensAt = info.saleOpensAt || null;
  ui.saleOpen = !!q && ['open', 'paused', 'prequeue'].includes(q.state);
  if (q) showAnnouncement(q.announcement);
  if (!joining) return;
  if (ui.saleOpen) return join(q.powBits);
  show('before');
  const parts = [];
  // A closed sale says closed (not "not started yet").
  $('#before-title').textContent = q && q.state === 'closed' ? t('closed') : t('beforeTitle');
  if (q && q.state === 'closed') parts.push(t('closedBefore'));
  else {
    if (info.saleOpensAt) parts.push(t('opensAt', { time: when(info.saleOpensAt) }));
    if (info.preQueueOpensAt) parts.push(t('preQueueAt', { time: when(info.preQueueOpensAt) }));
    parts.push(t('beforeText'));
  }
  $('#before-text').textContent = parts.join(' ');
  if (!(q && q.state === 'closed')) setTimeout(() => overview(true), 15000);
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
    if (e.status === 404 || e.status === 403) return ended('lost');
    banner(t('offline'), 'warn');
    schedulePoll(Math.max(2000, (e.retryAfter || 5) * 1000));
  }
}

function minutes(ms) { return Math.max(1, Math.round(ms / 60000)); }

// The estimate shown: one model (the gateway's range around its p50). What is smoothed between polls is the
// clock time it points at (0.7 of the time shown before, 0.3 of the new one, kept inside the new range), so
// "around 19:55" does not jump back and forth, and time passing is never mistaken for a change; none while
// paused. (crates/cli/src/bench_estimate.rs measures this same smoothing.)
function estimate(a) {
  const r = a.etaRange;
  if (!r) return '';
  const now = Date.now();
  const target = ui.shownAt ? 0.7 * ui.shownAt + 0.3 * (now + r.p50Ms) : now + r.p50Ms;
  ui.shownAt = Math.min(Math.max(target, now + r.p10Ms), now + r.p90Ms);
  if (r.p90Ms < 60000) return t('etaSoon');
  const from = minutes(r.p10Ms), to = Math.max(from + 1, minutes(r.p90Ms));
  const at = clock(ui.shownAt);
  // "1 to 2 minutes", "jusqu'à 1 minute": the unit agrees with the last number, by the language's rules.
  const span = r.guess ? plural('minutes', to) : t('span', { from: from.toLocaleString(LANG()), to: plural('minutes', to) });
  return r.guess ? t('etaGuess', { to: span, at }) : t('etaRange', { span, at });
}

function onTicket(a) {
  ui.ticket = a.ticket;
  localStorage.setItem(STORE, a.ticket);
  const was = ui.state;
  ui.state = a.state;
  showAnnouncement(a.announcement);
  if (a.state === 'waiting') {
    if ($('#banner').className === 'warn' && !a.paused) banner('');
    if (a.paused) banner(a.pausedSinceMs ? t('pausedSince', { time: clock(a.pausedSinceMs) }) : t('paused'), 'warn');
    else if (a.returned) banner(t('returned'), 'good');
    else if (a.likelySoldOut) banner(t('soldOut'), 'warn');
    show('waiting');
    if (a.prequeue) {
      $('#rank-text').textContent = plural('preQueue', Math.max(0, a.rank - 1));
      $('#eta').textContent = t('preQueueText', { time: ui.opensAt ? when(ui.opensAt) : '…' });
      $('#updated').textContent = t('updated', { time: clock(Date.now()) });
      live();
      // Wake at the opening (spread over its first 5 s, so a million pages do not ask in the same instant).
      const opening = ui.opensAt ? Date.parse(ui.opensAt) - Date.now() + Math.random() * 5000 : Infinity;
      return schedulePoll(Math.max(1000, Math.min(a.pollAfterMs, opening)));
    }
    ui.firstRank = Math.max(ui.firstRank, a.rank);
    $('#rank-text').textContent = a.rank <= 1 ? t('rankOne') : t('rank', { rank: a.rank.toLocaleString(LANG()) });
    $('#eta').textContent = a.paused ? t('noEtaPaused') : estimate(a);
    $('#progress').value = ui.firstRank > 1 ? Math.round(100 * (ui.firstRank - a.rank) / (ui.firstRank - 1)) : 100;
    $('#updated').textContent = t('updated', { time: clock(Date.now()) });
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
    case 'queue.announcement': showAnnouncement({ message: data.message || '', atMs: data.at || Date.now() }); break;
    case 'ticket.turn_lost': ended('abandoned'); break;
    case 'queue.closed':
    case 'ticket.queue_closed': ended(data.reason === 'cancelled' ? 'cancelled' : 'closed'); break;
    case 'ticket.removed': ended('removed'); break;
    case 'ticket.session_expired': ended('expired'); break;
    default: poll(); // your turn, and anything new: the status answer says the rest
  }
}

// ---------- your turn ----------

// "Tell me when it's my turn": opt-in, asked only on the buyer's click (browsers refuse it otherwise).
async function optInAlert() {
  const p = await Notification.requestPermission();
  ui.alert = p === 'granted';
  $('#alert').hidden = ui.alert;
  $('#alert-on').hidden = !ui.alert;
}

// Your turn while the page is in the background: a system notification, a vibration and a short tone
// (made here: no sound file, nothing fetched).
function alertTurn(text) {
  if (!ui.alert || document.hasFocus()) return;
  try { new Notification(t('turnTitle'), { body: text, tag: `seatwise-${STORE}` }); } catch { /* not allowed here */ }
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  } catch { /* no audio */ }
}

async function yourTurn(a) {
  show('turn');
  document.title = `✅ ${t('turnTitle')}`;
  ui.expiresAt = a.expiresAtMs;
  const mins = minutes(a.expiresAtMs - Date.now());
  announce(t('turnAnnounce', { minutes: mins }));
  alertTurn(t('turnAnnounce', { minutes: mins }));
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
  const zoneOf = {};
  (m.zones || []).forEach((z, i) => { for (const r of z.rows) zoneOf[r] = [i, z]; });
  legend(m.zones || []);
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
      const zone = zoneOf[row];
      if (zone) b.classList.add(`z${zone[0]}`);
      b.setAttribute('aria-label', zone ? t('seatZone', { seat: id, zone: zone[1].name, price: zone[1].price }) : t('seat', { seat: id }));
      b.setAttribute('aria-pressed', String(ui.held.includes(id)));
      b.disabled = taken.has(id);
      b.addEventListener('click', () => toggleSeat(id));
      line.append(b);
    }
    box.append(line);
  }
  renderHeld();
}

// What the seat map's looks mean: free, yours, taken, and the price zones when the venue gives them.
function legend(zones) {
  const box = $('#legend');
  box.textContent = '';
  const item = (cls, text) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = `swatch ${cls}`;
    swatch.setAttribute('aria-hidden', 'true');
    li.append(swatch, text);
    box.append(li);
  };
  item('free', t('legendFree'));
  item('yours', t('legendYours'));
  item('taken', t('legendTaken'));
  zones.forEach((z, i) => item(`z${i}`, t('legendZone', { zone: z.name, price: z.price })));
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
    ended('booked', r.seats, { ref: bookingRef(ui.ticket) });
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

// A booking's reference as the buyer quotes it to the box office: the ticket's number and the start of
// its tag ("SW-1-144-3FA2").
function bookingRef(ticket) {
  const [gen, seq, tag] = String(ticket).split('.');
  return `SW-${gen}-${seq}-${(tag || '').slice(0, 4).toUpperCase()}`;
}

function ended(kind, seats, extra = {}) {
  if (ui.ended && kind !== 'booked') return;
  ui.ended = true;
  clearTimeout(ui.pollTimer);
  clearInterval(ui.countdown);
  if (ui.source) { ui.source.close(); ui.source = null; }
  localStorage.removeItem(STORE);
  const kept = { kind, seats: seats || ui.held, ref: extra.ref || '', at: extra.at || Date.now() };
  localStorage.setItem(ENDED, JSON.stringify(kept));
  const texts = {
    booked: [t('booked'), t('bookedText', { seats: kept.seats.join(', '), ref: kept.ref, time: $('#when').textContent })],
    lost: [t('lost'), t('lostText')],
    expired: [t('expired'), t('expiredText')],
    closed: [t('closed'), t('closedText')],
    cancelled: [t('cancelled'), t('cancelledText')],
    removed: [t('removed'), t('removedText')],
    abandoned: [t('abandoned'), t('abandonedText')],
    left: [t('left'), ''],
  };
  const [title, text] = texts[kind] || texts.closed;
  // The next step: join again while the sale is open (never after a booking by itself: an explicit click).
  $('#again').hidden = !ui.saleOpen || kind === 'cancelled' || kind === 'removed';
  show('done');
  banner('');
  document.title = title;
  $('#done-title').textContent = title;
  $('#done-text').textContent = text;
  $('#done-title').focus();
  announce(title);
}

// Nothing joins by merely opening the link: link previewers run no script, and a prerendered page (a
// browser guessing the next click) waits until it is really shown.
if (document.prerendering) document.addEventListener('prerenderingchange', start, { once: true });
else start();
