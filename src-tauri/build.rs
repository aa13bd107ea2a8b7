// Names the app's commands so each must be allowed explicitly in src-tauri/capabilities/.
const COMMANDS: &[&str] = &[
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
    "queue_action",
    "simulate",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=tauri.conf.json");
    println!("cargo:rerun-if-changed=ui");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
