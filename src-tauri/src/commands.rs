//! The commands the UI calls: each is a one-line delegation to [`AppState`]. Every command here is named
//! in `command_names.rs` and allowed in src-tauri/capabilities/main.json, and nothing else is.

use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::{UiError, UiResult};
use crate::profiles::{Profile, ProfileInput};
use crate::state::{AppState, ConnectionInfo, MonitorData, ShowRow};
use seatwise_engine::connect::ConnectionCheck;
use seatwise_engine::shows::{ImportOutcome, Show, StatusChange};
use seatwise_engine::sim::SimSnapshot;
use seatwise_engine::{AuditRecord, ErrorCode};

type S<'a> = State<'a, AppState>;

#[tauri::command]
pub fn prefs_get(state: S<'_>) -> serde_json::Value {
    state.prefs_get()
}

#[tauri::command]
pub fn prefs_set(state: S<'_>, refresh_seconds: Option<u64>, last_view: Option<String>) -> UiResult<serde_json::Value> {
    state.prefs_set(refresh_seconds, last_view)
}

#[tauri::command]
pub fn profiles_list(state: S<'_>) -> Vec<Profile> {
    state.profiles()
}

#[tauri::command]
pub fn profile_save(state: S<'_>, input: ProfileInput) -> UiResult<Profile> {
    state.save_profile(input)
}

#[tauri::command]
pub fn profile_delete(state: S<'_>, name: String) -> UiResult<()> {
    state.delete_profile(&name)
}

#[tauri::command]
pub fn profile_forget_ably(state: S<'_>, name: String) -> UiResult<Profile> {
    state.forget_ably_key(&name)
}

#[tauri::command]
pub async fn profile_test(state: S<'_>, name: String) -> UiResult<ConnectionCheck> {
    state.test_profile(&name).await
}

#[tauri::command]
pub async fn connect(state: S<'_>, name: String) -> UiResult<ConnectionInfo> {
    state.connect(&name).await
}

#[tauri::command]
pub async fn sandbox_start(state: S<'_>) -> UiResult<ConnectionInfo> {
    state.start_sandbox().await
}

#[tauri::command]
pub async fn disconnect(state: S<'_>) -> UiResult<()> {
    state.disconnect_by_hand().await;
    Ok(())
}

#[tauri::command]
pub async fn connection(state: S<'_>) -> UiResult<Option<ConnectionInfo>> {
    Ok(state.connection().await)
}

#[tauri::command]
pub async fn shows_list(state: S<'_>) -> UiResult<Vec<ShowRow>> {
    state.shows().await
}

#[tauri::command]
pub async fn show_save(state: S<'_>, json: String, expected_version: Option<u64>) -> UiResult<Show> {
    state.save_show(&json, expected_version).await
}

#[tauri::command]
pub async fn shows_import(state: S<'_>, text: String) -> UiResult<Vec<ImportOutcome>> {
    state.import_shows(&text).await
}

#[tauri::command]
pub async fn buyers_to_tell(state: S<'_>, show: String) -> UiResult<u64> {
    state.buyers_to_tell(&show).await
}

#[tauri::command]
pub async fn status_change(
    state: S<'_>,
    show: String,
    status: String,
    expected_version: Option<u64>,
    confirm: Option<String>,
) -> UiResult<StatusChange> {
    state.change_status(&show, &status, expected_version, confirm.as_deref()).await
}

#[tauri::command]
pub async fn audit_list(state: S<'_>, show: Option<String>, limit: Option<usize>) -> UiResult<Vec<AuditRecord>> {
    state.audit(show, limit.unwrap_or(100)).await
}

#[tauri::command]
pub async fn monitor(state: S<'_>) -> UiResult<MonitorData> {
    state.monitor().await
}

#[tauri::command]
pub async fn monitor_export_csv<R: Runtime>(app: AppHandle<R>, state: S<'_>) -> UiResult<String> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().document_dir())
        .or_else(|_| app.path().home_dir())
        .map_err(|e| UiError::new(ErrorCode::File, format!("no folder to save the CSV in: {e}")))?;
    state.export_csv(dir).await
}

/// Something needs staff's attention (Redis unreachable, notifications stalled, notices piling up, a
/// queue paused or closed by someone else): while the window is in the background it becomes an OS
/// notification (the same one at most every 5 minutes). Returns whether one went out.
#[tauri::command]
pub async fn attention<R: Runtime>(app: AppHandle<R>, state: S<'_>, kind: String, text: String) -> UiResult<bool> {
    let focused = app.get_webview_window("main").and_then(|w| w.is_focused().ok()).unwrap_or(false);
    if focused || !state.should_notify(&kind, &text)? {
        return Ok(false);
    }
    use tauri_plugin_notification::NotificationExt;
    app.notification()
        .builder()
        .title("Seatwise Queue Console")
        .body(&text)
        .show()
        .map_err(|e| UiError::new(ErrorCode::Rejected, format!("the desktop did not show the notification: {e}")))?;
    Ok(true)
}

/// One queue's shared history (sampled every 10 s by every worker) for the last `hours` (at most 48);
/// only the samples after `after_ms` when given (a chart already drawn asks for what is new).
#[tauri::command]
pub async fn queue_history(
    state: S<'_>,
    scope: String,
    hours: Option<f64>,
    after_ms: Option<i64>,
) -> UiResult<Vec<seatwise_engine::history::HistoryPoint>> {
    state.queue_history(&scope, hours.unwrap_or(3.0), after_ms).await
}

#[tauri::command]
pub async fn queue_action(state: S<'_>, scope: String, action: String, arg: Option<String>) -> UiResult<String> {
    state.queue_action(&scope, &action, arg).await
}

#[tauri::command]
pub async fn simulate(state: S<'_>, on: bool) -> UiResult<Option<SimSnapshot>> {
    state.simulate(on).await
}
