// The console's UI: navigation, the keyboard and the start; each view lives in its own module (dom.js,
// setup.js, shows.js, editor.js, monitor.js, audit.js). It holds no state beyond what it last fetched;
// every change goes through api.js.
import { api, errorText } from './api.js';
import { renderAudit } from './audit.js';
import { $, banner, el, modal, setResult, ui } from './dom.js';
import { LOCAL_TZ, importShows, newShow, saveShow, saveShowJson, schedRow, wireThemeForm } from './editor.js';
import { exportCsv, refreshMonitor, renderDetail, startRefresh, toggleSim } from './monitor.js';
import { clearProfileForm, connect, disconnect, kindChanged, renderProfiles, saveProfile, startSandbox } from './setup.js';
import { renderShows } from './shows.js';
// ---------- navigation ----------
export async function show(view) {
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

export function renderConnection() {
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
export async function start() {
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
  wireThemeForm();
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
