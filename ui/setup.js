// Setup: connection profiles (saved to the OS keyring by the backend), connect, the local sandbox.
import { api, errorText } from './api.js';
import { renderConnection, show, start } from './app.js';
import { $, banner, el, modal, setResult, ui } from './dom.js';
import { startRefresh } from './monitor.js';

// ---------- setup ----------
export async function renderProfiles() {
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

export function editProfile(p) {
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

export function clearProfileForm() {
  ui.editing = null;
  setResult($('#profile-result'), '');
  $('#profile-form').reset();
  $('#profile-form-title').textContent = 'New profile';
  $('#pf-saved-hint').hidden = true;
  kindChanged();
}

export function kindChanged() {
  const kind = $('#pf-kind').value;
  $('#pf-url-label').hidden = kind !== 'redis';
  $('#pf-nodes-label').hidden = kind !== 'cluster';
  $('#pf-rest-url-label').hidden = kind !== 'upstash';
  $('#pf-rest-token-label').hidden = kind !== 'upstash';
}

// The Redis URL from the fields (host, port, user, password, TLS), percent-encoding user and password, so a
// password with / or ? just works; a pasted URL wins. '' when nothing was typed (an edit keeps the saved one).
export function redisUrlFromForm() {
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

export async function saveProfile(ev) {
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

export async function testProfile(name, out) {
  setResult(out, 'Testing…');
  try {
    const r = await api.testProfile(name);
    // Each part on its own line, in its own colour: a failing Ably does not paint a working Redis red.
    const line = (part, c) => el('div', { class: `result ${c.ok ? 'ok' : 'bad'}`, dataset: { part } }, `${part === 'redis' ? 'Redis' : 'Ably'}: ${c.message}`);
    out.className = 'result';
    out.replaceChildren(line('redis', r.redis), r.ably ? line('ably', r.ably) : el('div', { class: 'result muted', dataset: { part: 'ably' } }, 'Ably: not configured for this profile'));
  } catch (e) { setResult(out, errorText(e), false); }
}

export async function deleteProfile(name) {
  if (!await modal({ title: `Delete ${name}?`, text: 'Its credentials are removed from the OS keyring.', yes: 'Delete', danger: true })) return;
  try {
    await api.deleteProfile(name);
    if (ui.editing === name) clearProfileForm(); else setResult($('#profile-result'), '');
    await renderProfiles();
  } catch (e) { banner(errorText(e)); }
}

export async function forgetAbly(name) {
  if (!await modal({ title: `Forget the Ably key of ${name}?`, text: 'It is removed from the OS keyring. A console connected with this profile keeps sending until it reconnects; after that, notifications wait in the outbox.', yes: 'Forget', danger: true })) return;
  try { await api.forgetAblyKey(name); await renderProfiles(); } catch (e) { banner(errorText(e)); }
}

export async function replaceConnection(next) {
  if (!ui.connected || ui.connected.profile === next) return true;
  return modal({
    title: `Leave ${ui.connected.profile}?`,
    text: `This console is connected to ${ui.connected.profile} (${ui.connected.label}). Connecting to ${next} stops watching it and stops this console's notification worker there.`,
    yes: `Switch to ${next}`,
  });
}

export async function disconnect() {
  if (!ui.connected) return;
  if (!await modal({ title: `Disconnect from ${ui.connected.profile}?`, text: 'The monitor stops, and so does this console\'s notification worker.', yes: 'Disconnect' })) return;
  try { await api.disconnect(); } catch (e) { banner(errorText(e)); }
  ui.connected = null;
  renderConnection();
}

export async function connect(name, out) {
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

export async function startSandbox() {
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
