//! The commands through IPC, as the webview calls them: the app's real invoke handler on tauri's mock
//! runtime (the way tauri's own examples test commands), and the one list of commands checked against
//! commands.rs, build.rs and the capability file.

use std::collections::BTreeSet;

use seatwise_console::COMMANDS;
use seatwise_console::prefs::MemoryPrefs;
use seatwise_console::state::AppState;
use seatwise_engine::Actor;
use serde_json::{Value, json};
use tauri::Manager;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;

fn window(dir: &tempfile::TempDir) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let app = seatwise_console::app(mock_builder()).build(mock_context(noop_assets())).expect("mock app");
    app.manage(AppState::new(Box::<MemoryPrefs>::default(), dir.path().into(), Actor::new("t", "h")));
    let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window");
    (app, w)
}

fn invoke(w: &tauri::WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("a JSON answer"))
}

#[test]
fn every_listed_command_reaches_its_handler_and_errors_arrive_as_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(&dir);
    // Commands that change nothing without a connection, or fail on missing arguments: none may be
    // unknown to the handler. (sandbox_start is left out: it would start a redis-server.)
    for cmd in COMMANDS.iter().filter(|c| **c != "sandbox_start") {
        if let Err(e) = invoke(&w, cmd, json!({})) {
            assert!(!e.to_string().contains("not found"), "{cmd}: {e}");
        }
    }
    let unknown = invoke(&w, "secrets_dump", json!({})).unwrap_err();
    assert!(unknown.to_string().contains("Command secrets_dump not found"), "{unknown}");
    // Typed answers and typed errors, exactly as the UI receives them.
    assert_eq!(invoke(&w, "prefs_get", json!({})).unwrap()["refreshSeconds"], json!(10));
    let bad = invoke(&w, "prefs_set", json!({"refreshSeconds": 1})).unwrap_err();
    assert_eq!(bad["code"], json!("invalid"), "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("2 to 300 seconds"), "{bad}");
    let off = invoke(&w, "monitor", json!({})).unwrap_err();
    assert_eq!(off["code"], json!("not_connected"), "{off}");
    let bad = invoke(&w, "queue_action", json!({"scope": "a:b", "action": "explode"})).unwrap_err();
    assert_eq!(bad["code"], json!("not_connected"), "the connection is checked first: {bad}");
    assert_eq!(invoke(&w, "connection", json!({})).unwrap(), Value::Null);
    assert_eq!(invoke(&w, "profiles_list", json!({})).unwrap(), json!([]));
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let a = text.find(start).unwrap_or_else(|| panic!("{start:?} not found")) + start.len();
    let b = a + text[a..].find(end).unwrap_or_else(|| panic!("{end:?} not found"));
    &text[a..b]
}

#[test]
fn the_command_list_commands_rs_build_rs_the_handler_and_the_capability_agree() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).unwrap();
    let listed: BTreeSet<&str> = COMMANDS.iter().copied().collect();
    assert_eq!(listed.len(), COMMANDS.len(), "a command is listed twice");
    // commands.rs: every #[tauri::command] function is listed, and nothing else is.
    let commands_rs = read("src-tauri/src/commands.rs");
    let defined: BTreeSet<String> = commands_rs
        .split("#[tauri::command]")
        .skip(1)
        .map(|s| between(s, "fn ", "(").split('<').next().unwrap().trim().to_string())
        .collect();
    assert_eq!(defined.iter().map(String::as_str).collect::<BTreeSet<_>>(), listed);
    // The invoke handler in lib.rs names the same functions.
    let lib_rs = read("src-tauri/src/lib.rs");
    let handled: BTreeSet<&str> = between(&lib_rs, "generate_handler![", "]")
        .split(',')
        .map(|s| s.trim().trim_start_matches("commands::"))
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(handled, listed);
    // build.rs gives tauri-build the same list (the file, not a copy).
    assert!(read("src-tauri/build.rs").contains("include!(\"src/command_names.rs\")"));
    // The capability allows exactly these, and no plugin command.
    let cap: Value = serde_json::from_str(&read("src-tauri/capabilities/main.json")).unwrap();
    let allowed: BTreeSet<String> =
        cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    let wanted: BTreeSet<String> = COMMANDS.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
    assert_eq!(allowed, wanted);
}
