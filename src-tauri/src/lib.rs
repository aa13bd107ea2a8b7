//! Seatwise Queue Console: the desktop console (Tauri 2) for box-office staff and show managers.
//!
//! # Layout
//! - [`state`]: the one managed state, the session and what the commands do with it; [`profiles`]:
//!   connection profiles and their secrets (the same `impl AppState`, by concern).
//! - [`commands`]: the commands the UI may call, one-line delegations to [`state::AppState`]; their names
//!   are listed once, in `command_names.rs` (build.rs reads the same file).
//! - [`app`]: the builder, generic over the Tauri runtime, so tests drive the commands through IPC with
//!   tauri's mock runtime.
//! - [`secrets`]: the OS keyring; [`prefs`]: non-secret preferences (tauri-plugin-store).
//! - `ui/`: the web UI (plain HTML/CSS/JS); `ui/api.js` is the one module that talks to the backend.

mod command_names;
pub mod commands;
pub use command_names::COMMANDS;
pub mod error;
pub mod prefs;
pub mod profiles;
pub mod secrets;
pub mod state;

use tauri::{Manager, Runtime};
use tauri_plugin_store::StoreExt;

/// Whether a graphical display is available (on Linux: DISPLAY or WAYLAND_DISPLAY set).
pub fn display_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// The app's commands on a builder of any runtime: the real window uses Wry, the command tests tauri's
/// mock runtime (`tauri::test::mock_builder`). The list here is the one in `command_names.rs` (a test
/// checks that they, build.rs and the capability file agree).
pub fn app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::prefs_get,
        commands::prefs_set,
        commands::profiles_list,
        commands::profile_save,
        commands::profile_delete,
        commands::profile_forget_ably,
        commands::profile_test,
        commands::connect,
        commands::sandbox_start,
        commands::disconnect,
        commands::connection,
        commands::shows_list,
        commands::show_save,
        commands::shows_import,
        commands::buyers_to_tell,
        commands::status_change,
        commands::audit_list,
        commands::monitor,
        commands::monitor_export_csv,
        commands::queue_history,
        commands::attention,
        commands::queue_action,
        commands::simulate,
    ])
}

/// WebKitGTK's defaults suit a browser; the console is tables, a few small charts and a refresh every ten
/// seconds, on a laptop that also runs the box office. Each default below is set only when neither the
/// variable itself nor its SEATWISE_ switch is set, and each was measured side by side with WebKit's own
/// choice (docs/PERFORMANCE.md, "the console idle").
/// - No GPU compositing (`SEATWISE_GPU_COMPOSITING=1` restores it): WebKit's CPU path draws these views at a
///   fraction of the cost; compositing keeps GL buffers (and, without a usable GPU, Mesa's software
///   renderer) in the web process: about 120 MB and a third of the idle CPU, and some drivers show a blank
///   window with it.
/// - JavaScript interpreted, no JIT compilers (`SEATWISE_JS_JIT=1` restores them): the views' scripts run
///   for a few milliseconds per refresh; interpreting them costs about 0.1 % of a core more, and the JIT's
///   code and profiling data cost the web process about 13 MB.
///
/// Runs first in `run`, before any other thread exists to read the environment; the WebKit processes
/// inherit it.
#[cfg(target_os = "linux")]
fn lean_webview() {
    let defaults =
        [("WEBKIT_DISABLE_COMPOSITING_MODE", "1", "SEATWISE_GPU_COMPOSITING"), ("JSC_useJIT", "0", "SEATWISE_JS_JIT")];
    for (variable, value, switch) in defaults {
        if std::env::var_os(variable).is_none() && std::env::var_os(switch).is_none_or(|v| v != "1") {
            // SAFETY: called first in `run`, while the process has one thread.
            unsafe { std::env::set_var(variable, value) };
        }
    }
}

pub fn run() {
    if !display_available() {
        eprintln!(
            "Seatwise Queue Console needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY are unset).\n\
             On a machine without one, use the command line instead: `target/release/seatwise --help`\n\
             (`seatwise demo` runs the local sandbox with a live terminal monitor)."
        );
        std::process::exit(3);
    }
    #[cfg(target_os = "linux")]
    lean_webview();
    // One console per computer account: a second launch brings the running window forward instead (two
    // consoles would each run a sandbox and a worker on the same data). Registered first, as the plugin asks.
    let app = app(tauri::Builder::default())
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        // The window's size and place are remembered between launches.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // OS notifications when something needs attention while the window is in the background.
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_store::Builder::new().build())
        .setup(|app| {
            let store = app.store("settings.json")?;
            let data_dir = app.path().app_data_dir()?;
            app.manage(state::AppState::new(
                Box::new(prefs::TauriPrefs(store)),
                data_dir,
                seatwise_engine::Actor::current(),
            ));
            remember_window_state(app);
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the console's window could not be created");
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop the worker, the simulator and the sandbox's redis-server (it saves its data).
            if let Some(state) = handle.try_state::<state::AppState>() {
                tauri::async_runtime::block_on(state.disconnect());
            }
        }
    });
}

/// Saves the window's size and place a second after it was last resized or moved, not only at a clean exit
/// (the plugin's own moment): a laptop that dies or a console that is killed still reopens as it was.
fn remember_window_state(app: &tauri::App) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tauri_plugin_window_state::{AppHandleExt, StateFlags};
    let Some(window) = app.get_webview_window("main") else { return };
    let handle = app.handle().clone();
    let latest = Arc::new(AtomicU64::new(0));
    window.on_window_event(move |event| {
        if matches!(event, tauri::WindowEvent::Resized(_) | tauri::WindowEvent::Moved(_)) {
            let this = latest.fetch_add(1, Ordering::SeqCst) + 1;
            let (handle, latest) = (handle.clone(), latest.clone());
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                if latest.load(Ordering::SeqCst) == this {
                    // On the main thread, as the plugin's own saves: reading the window's size from another
                    // thread waits for the main thread, which may be waiting for the plugin's state lock.
                    let h = handle.clone();
                    let _ = handle.run_on_main_thread(move || {
                        let _ = h.save_window_state(StateFlags::all());
                    });
                }
            });
        }
    });
}
