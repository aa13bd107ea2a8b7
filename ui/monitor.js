// The monitor: the refresh loop, every queue's row, one queue's charts, attention, queue actions.
import { api, errorText } from './api.js';
import { QueueState, WorkerState } from './states.js';
import { renderConnection, show, start } from './app.js';
import { $, banner, el, modal, patchRows, setResult, sparkPoints, sparkline, time, ui, waitText } from './dom.js';
import { countdown, countdownEl } from './shows.js';

// ---------- monitor ----------
export function startRefresh() {
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

export let refreshing = false;
// ---------- one queue's charts ----------
export let charts = [];
export function openDetail(scope, title) {
  ui.detail = { scope, title };
  show('detail');
}

export async function renderDetail() {
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

export async function refreshMonitor() {
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

export function renderWorker(w, waiting = 0) {
  ui.worker = w;
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

export function renderMonitor(data) {
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
export function monitorRow(scope, v) {
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
export function attention(kind, text) {
  api.attention(kind, text).catch(() => {}); // no notification service: the window still shows it
}

// What changed since the last refresh that needs attention: queues paused or closed by someone else
// (not by an action of this console in the last minute), notices piling up, notifications stalled.
export function watchForAttention(data) {
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
export function closeMenus(keep) {
  for (const d of document.querySelectorAll('#monitor-table details.menu[open]')) if (d !== keep) d.open = false;
}

export async function act(scope, action, question, initial) {
  ui.openMenu = null; // the menu closes once an action is chosen (the row itself may be kept as it is)
  closeMenus(null);
  const expect = { pause: QueueState.PAUSED, resume: QueueState.OPEN }[action];
  if (expect) ui.myActions = { ...(ui.myActions ?? {}), [scope]: { at: Date.now(), expect } };
  let arg = null;
  // A message reaches waiting buyers live only through a running notification worker with Ably; otherwise
  // each page sees it at its next status check (every status answer carries the latest message).
  if (action === 'announce' && !(ui.worker && ui.worker.state === WorkerState.RUNNING)) {
    question = `${question}\n\nLive delivery is off (${ui.worker ? ui.worker.state.replaceAll('_', ' ') : 'no notification worker'}): buyers see the message at their next check-in — within seconds near the front, up to 5 minutes far back.`;
  }
  if (question) {
    arg = await modal({ title: `${action[0].toUpperCase()}${action.slice(1)} · ${scope}`, text: question, input: initial });
    if (arg === null) return;
  }
  try {
    setResult($('#monitor-note'), `${scope}: ${await api.queueAction(scope, action, arg)}`, true);
  } catch (e) { setResult($('#monitor-note'), `${scope}: ${errorText(e)}`, false); }
  await refreshMonitor();
}

export async function toggleSim() {
  try {
    await api.simulate(!ui.simulating);
    ui.simulating = !ui.simulating;
    setResult($('#monitor-note'), ui.simulating ? 'Simulated buyers are joining every open queue.' : 'Simulated buyers stopped.', true);
  } catch (e) { setResult($('#monitor-note'), errorText(e), false); }
  await refreshMonitor();
}

export async function exportCsv() {
  try { setResult($('#monitor-note'), `Saved ${await api.exportCsv()}`, true); } catch (e) { setResult($('#monitor-note'), errorText(e), false); }
}
