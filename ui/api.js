// The one module that talks to the backend. Every call is a Tauri command; errors arrive as
// {code, message}. Nothing here (or anywhere in the UI) ever receives a saved secret.
const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);

export const api = {
  prefsGet: () => invoke('prefs_get'),
  prefsSet: (refreshSeconds, lastView) => invoke('prefs_set', { refreshSeconds, lastView }),
  profiles: () => invoke('profiles_list'),
  saveProfile: (input) => invoke('profile_save', { input }),
  deleteProfile: (name) => invoke('profile_delete', { name }),
  forgetAblyKey: (name) => invoke('profile_forget_ably', { name }),
  testProfile: (name) => invoke('profile_test', { name }),
  connect: (name) => invoke('connect', { name }),
  startSandbox: () => invoke('sandbox_start'),
  disconnect: () => invoke('disconnect'),
  connection: () => invoke('connection'),
  shows: () => invoke('shows_list'),
  saveShow: (json, expectedVersion) => invoke('show_save', { json, expectedVersion }),
  importShows: (text) => invoke('shows_import', { text }),
  buyersToTell: (show) => invoke('buyers_to_tell', { show }),
  changeStatus: (show, status, expectedVersion, confirm) => invoke('status_change', { show, status, expectedVersion, confirm }),
  audit: (show, limit) => invoke('audit_list', { show, limit }),
  monitor: () => invoke('monitor'),
  exportCsv: () => invoke('monitor_export_csv'),
  queueHistory: (scope, hours, afterMs = null) => invoke('queue_history', { scope, hours, afterMs }),
  attention: (kind, text) => invoke('attention', { kind, text }),
  queueAction: (scope, action, arg) => invoke('queue_action', { scope, action, arg }),
  simulate: (on) => invoke('simulate', { on }),
};

// An error as text for the UI, whatever shape it came in.
export function errorText(e) {
  if (e && typeof e === 'object' && 'message' in e) return e.message;
  return String(e);
}
