// The console's commands, named once: build.rs includes this file (each name needs an explicit
// permission in src-tauri/capabilities/main.json), and the tests check that `app()`'s invoke handler,
// commands.rs and the capability file list exactly these.
/// Every command the webview may call.
pub const COMMANDS: &[&str] = &[
    "prefs_get",
    "prefs_set",
    "profiles_list",
    "profile_save",
    "profile_delete",
    "profile_forget_ably",
    "profile_test",
    "connect",
    "sandbox_start",
    "disconnect",
    "connection",
    "shows_list",
    "show_save",
    "shows_import",
    "buyers_to_tell",
    "status_change",
    "audit_list",
    "monitor",
    "monitor_export_csv",
    "queue_history",
    "attention",
    "queue_action",
    "simulate",
];
