//! Non-secret preferences (profiles without their secrets, refresh interval, last view, last profile).
//! In the app they live in tauri-plugin-store (`settings.json` in the app's config dir); tests use
//! [`MemoryPrefs`].

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

pub trait PrefsStore: Send + Sync {
    fn get(&self, key: &str) -> Option<Value>;
    fn set(&self, key: &str, value: Value) -> Result<(), String>;
}

/// Preferences in memory (tests).
#[derive(Default)]
pub struct MemoryPrefs(Mutex<HashMap<String, Value>>);

impl PrefsStore for MemoryPrefs {
    fn get(&self, key: &str) -> Option<Value> {
        self.0.lock().expect("not poisoned").get(key).cloned()
    }
    fn set(&self, key: &str, value: Value) -> Result<(), String> {
        self.0.lock().expect("not poisoned").insert(key.to_string(), value);
        Ok(())
    }
}

/// Preferences in tauri-plugin-store, saved to disk on every change.
pub struct TauriPrefs<R: tauri::Runtime>(pub std::sync::Arc<tauri_plugin_store::Store<R>>);

impl<R: tauri::Runtime> PrefsStore for TauriPrefs<R> {
    fn get(&self, key: &str) -> Option<Value> {
        self.0.get(key)
    }
    fn set(&self, key: &str, value: Value) -> Result<(), String> {
        self.0.set(key, value);
        self.0.save().map_err(|e| format!("cannot save the preferences: {e}"))
    }
}
