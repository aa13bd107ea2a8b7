// DOM helpers and the UI's one state object, shared by every view's module.


export const $ = (sel) => document.querySelector(sel);
export const el = (tag, attrs = {}, ...children) => {
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

export const ui = { view: 'setup', refreshSeconds: 10, timer: null, lastGood: null, connected: null, simulating: false, editing: null };

// ---------- small helpers ----------
export function setResult(node, text, ok) {
  node.textContent = text;
  node.className = 'result ' + (ok === true ? 'ok' : ok === false ? 'bad' : '');
}

// One banner; `source` says who set it, so a good refresh clears only its own connectivity warning.
export function banner(text, kind = 'error', source = 'action') {
  const b = $('#banner');
  if (!text && source === 'monitor' && ui.bannerSource !== 'monitor') return;
  b.hidden = !text;
  b.textContent = text || '';
  b.className = 'banner' + (kind === 'info' ? ' info' : '');
  ui.bannerSource = text ? source : null;
}

// A confirmation or question. Enter confirms, Escape cancels, Tab stays inside the dialog, and focus goes
// back where it was. `mustType`: the answer is accepted only when it equals this text (production guard).
export function modal({ title, text, input = null, yes = 'OK', danger = false, mustType = null }) {
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
export function waitText(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.round(s / 60) % 60).padStart(2, '0')} min`;
}

export const time = (ms) => new Date(ms).toLocaleTimeString();

// A sparkline's polyline points ('' below two samples).
export function sparkPoints(points) {
  if (!points || points.length < 2) return '';
  const max = Math.max(1, ...points);
  const step = 120 / (points.length - 1);
  return points.map((p, i) => `${(i * step).toFixed(1)},${(24 - (p / max) * 22).toFixed(1)}`).join(' ');
}

export function sparkline(points) {
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
export function patchRows(body, rows) {
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
