// The show editor: a form with checks in words (JSON stays for bulk work), import.
import { api, errorText } from './api.js';
import { show, start } from './app.js';
import { $, el, setResult, time, ui } from './dom.js';
import { SHOW_TEMPLATE, renderShows } from './shows.js';

// ---------- the show editor (a form; JSON stays for bulk work) ----------
export const TIME_ZONES = (() => { try { return Intl.supportedValuesOf('timeZone'); } catch { return ['Europe/London', 'Europe/Paris', 'America/New_York', 'UTC']; } })();
export const LOCAL_TZ = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { return 'UTC'; } })();
export const ID_RULE = /^[A-Za-z0-9_-]{1,64}$/; // as the engine's ids (ids.rs)

// RFC 3339 <-> the value of an <input type="datetime-local"> (this computer's time).
export const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
export const fromLocalInput = (v) => (v ? new Date(v).toISOString().replace('.000Z', 'Z') : undefined);

// Seat rows as staff type them: "A-H" or "A, B, C, AA".
export function parseRows(text) {
  const t = text.trim();
  if (!t) return null;
  const m = t.match(/^([A-Z])\s*-\s*([A-Z])$/i);
  if (m) {
    const [from, to] = [m[1].toUpperCase().charCodeAt(0), m[2].toUpperCase().charCodeAt(0)];
    return from <= to ? Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)) : [];
  }
  return t.split(/[\s,]+/).filter(Boolean).map((r) => r.toUpperCase());
}
export function rowsText(rows) {
  if (!rows || !rows.length) return '';
  const consecutive = rows.every((r, i) => r.length === 1 && (i === 0 || r.charCodeAt(0) === rows[i - 1].charCodeAt(0) + 1));
  return consecutive && rows.length > 2 ? `${rows[0]}-${rows[rows.length - 1]}` : rows.join(', ');
}

export function schedRow(sc = {}) {
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
      f('abandonSeconds', 'Check-in window at the front', el('input', { type: 'number', min: 30, max: 86400, value: sc.abandonSeconds ?? 120, title: 'A buyer whose turn comes without having checked in this recently misses it (and may come back)' }), 'seconds (30–86 400)'),
      f('graceMinutes', 'Time to come back after a missed turn', el('input', { type: 'number', min: 1, max: 1440, step: 'any', value: sc.graceSeconds ? sc.graceSeconds / 60 : 10 }), 'minutes (1–1 440)'),
      f('rows', 'Seat rows', el('input', { value: rowsText(sc.seatMap && sc.seatMap.rows), placeholder: 'A-H (empty: no seat map)' })),
      f('seatsPerRow', 'Seats per row', el('input', { type: 'number', min: 1, max: 200, value: sc.seatMap ? sc.seatMap.seatsPerRow : '' }), '(1–200)'),
      f('outflow', 'Admit at most per minute', el('input', { type: 'number', min: 1, max: 100000, value: sc.outflowPerMinute ?? '' }), '(empty: no limit)')),
    el('button', { type: 'button', class: 'small danger', onclick: () => { box.remove(); } }, 'Remove this performance'));
  // Kept as they were: not on the form (edit them as JSON).
  box._extra = { maxSeats: sc.maxSeats, zones: sc.seatMap && sc.seatMap.zones };
  return box;
}

// Reads and checks the form. Returns the show object, or null after marking each wrong field in words.
export function readShowForm() {
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
    const abandon = range('abandonSeconds', 30, 86400, 'Pages near the front check in every 2–10 s: use 30 to 86 400 seconds.');
    const grace = range('graceMinutes', 1, 1440, 'Give a buyer 1 to 1 440 minutes to come back.');
    const outflow = range('outflow', 1, 100000, '1 to 100 000 a minute, or empty for no limit.', true);
    const rows = parseRows(get('rows').value);
    const perRow = num('seatsPerRow');
    let seatMap;
    if (rows) {
      const badRow = rows.find((r) => !/^[A-Z0-9]{1,3}$/.test(r)) ?? (new Set(rows).size !== rows.length ? 'repeated' : null);
      mark(get('rows'), err('rows'), !rows.length || rows.length > 60 ? 'Give 1 to 60 rows, e.g. A-H.' : badRow ? `Row labels are 1 to 3 letters or digits, each once (not "${badRow}").` : '');
      mark(get('seatsPerRow'), err('seatsPerRow'), perRow !== null && perRow >= 1 && perRow <= 200 ? '' : 'A row has 1 to 200 seats.');
      seatMap = { rows, seatsPerRow: perRow, ...(box._extra.zones ? { zones: box._extra.zones } : {}) };
    } else {
      mark(get('rows'), err('rows'), '');
      mark(get('seatsPerRow'), err('seatsPerRow'), perRow !== null ? 'Give the rows too, or leave both empty.' : '');
    }
    schedules.push({
      id: sid, startsAt: get('startsAt').value, timeZone: get('timeZone').value, capacity,
      sessionSeconds: minutes === null ? undefined : Math.round(minutes * 60), abandonSeconds: abandon ?? undefined,
      graceSeconds: grace === null ? undefined : Math.round(grace * 60),
      ...(box._extra.maxSeats ? { maxSeats: box._extra.maxSeats } : {}),
      ...(seatMap ? { seatMap } : {}), ...(outflow !== null ? { outflowPerMinute: outflow } : {}),
    });
  }
  if (!ok) { setResult($('#show-result'), 'Not saved: see the fields marked in red.', false); return null; }
  const theme = readTheme();
  return { id, name, venue, ...(sale ? { saleOpensAt: sale } : {}), ...(pre ? { preQueueOpensAt: pre } : {}), ...(theme ? { theme } : {}), schedules };
}

// The page's look as the form says it; colours left at the neutral page's are not written. The engine checks
// the rest (contrast, https, the logo's kind and size) and says what is wrong.
const NEUTRAL = { accent: '#0b6e69', background: '#f6f7f8', text: '#1a1f24' };
function readTheme() {
  const v = (id) => $(id).value.trim();
  const t = {
    venueName: v('#sf-theme-name'), siteUrl: v('#sf-theme-site'), helpUrl: v('#sf-theme-help'),
    logo: ui.themeLogo || '',
  };
  for (const k of Object.keys(NEUTRAL)) {
    const c = $(`#sf-theme-${k}`).value.toLowerCase();
    if (c !== NEUTRAL[k]) t[k] = c;
  }
  for (const k of Object.keys(t)) if (!t[k]) delete t[k];
  return Object.keys(t).length ? t : null;
}

function fillTheme(th = {}) {
  $('#sf-theme-name').value = th.venueName ?? '';
  $('#sf-theme-site').value = th.siteUrl ?? '';
  $('#sf-theme-help').value = th.helpUrl ?? '';
  for (const k of Object.keys(NEUTRAL)) $(`#sf-theme-${k}`).value = th[k] ?? NEUTRAL[k];
  setLogo(th.logo ?? null);
  $('#sf-theme-box').open = Object.keys(th).length > 0;
}

function setLogo(dataUrl) {
  ui.themeLogo = dataUrl;
  $('#sf-theme-logo').value = '';
  $('#sf-theme-logo-preview').hidden = !dataUrl;
  $('#sf-theme-logo-clear').hidden = !dataUrl;
  if (dataUrl) $('#sf-theme-logo-preview').src = dataUrl;
}

// A logo file becomes a data URL in the show (the gateway serves it; the page never fetches elsewhere).
export function wireThemeForm() {
  $('#sf-theme-logo').addEventListener('change', () => {
    const file = $('#sf-theme-logo').files[0];
    if (!file) return;
    if (file.size > 16 * 1024) { setResult($('#show-result'), `The logo is ${Math.ceil(file.size / 1024)} KiB: at most 16 KiB.`, false); return; }
    const r = new FileReader();
    r.onload = () => setLogo(String(r.result));
    r.readAsDataURL(file);
  });
  $('#sf-theme-logo-clear').addEventListener('click', () => setLogo(null));
}

export function fillShowForm(s) {
  $('#sf-id').value = s.id ?? '';
  $('#sf-id').disabled = !!ui.editingShow; // a show's id never changes
  $('#sf-name').value = s.name ?? '';
  $('#sf-venue').value = s.venue ?? '';
  $('#sf-sale').value = toLocalInput(s.saleOpensAt);
  $('#sf-prequeue').value = toLocalInput(s.preQueueOpensAt);
  $('#sf-schedules').replaceChildren(...(s.schedules ?? []).map(schedRow));
  fillTheme(s.theme);
  for (const n of document.querySelectorAll('#show-form .field-error')) n.textContent = '';
  for (const n of document.querySelectorAll('#show-form [aria-invalid]')) n.removeAttribute('aria-invalid');
  const { status, version, updatedAt, updatedBy, ...editable } = s;
  $('#show-json').value = JSON.stringify(editable, null, 2);
}

export function editShow(s) {
  ui.editingShow = s;
  $('#show-form-title').textContent = `Edit ${s.name}`;
  setResult($('#show-result'), '');
  fillShowForm(s);
  $('#sf-name').focus();
}

export function newShow() {
  ui.editingShow = null;
  $('#show-form-title').textContent = 'Create a show';
  setResult($('#show-result'), '');
  fillShowForm({ ...SHOW_TEMPLATE, schedules: SHOW_TEMPLATE.schedules.map((x) => ({ ...x, timeZone: LOCAL_TZ })) });
}

export async function saveShowJson(json) {
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

export async function saveShow(ev) {
  if (ev) ev.preventDefault();
  const show = readShowForm();
  if (show) await saveShowJson(JSON.stringify(show));
}

export async function importShows() {
  const out = $('#import-result');
  try {
    const r = await api.importShows($('#import-text').value);
    setResult(out, r.map((o) => `${o.show}: ${o.action}`).join(' · ') || 'Nothing to import.', true);
    await renderShows();
  } catch (e) { setResult(out, errorText(e), false); }
}
