//! axe-core in a real browser, for the console's end-to-end tests and the waiting page's browser tests.

use fantoccini::Client;

/// axe-core, pinned in tests/axe (installed by scripts/setup.sh), found from whichever crate's tests run.
fn axe_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("tests/axe/node_modules/axe-core/axe.min.js"))
        .find(|p| p.exists())
        .expect("axe-core is installed by scripts/setup.sh (tests/axe)")
}

/// Runs axe-core (tests/axe, pinned; injected here only, never part of the app) on the current view and
/// fails on serious or critical violations, naming the rule and the elements.
pub async fn axe_check(c: &Client, view: &str) {
    let src = std::fs::read_to_string(axe_path()).expect("axe-core readable");
    c.execute(&format!("{src}\nreturn typeof axe;"), vec![]).await.unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] })
               .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                 .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', ')}`)))
               .catch((e) => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await
        .unwrap();
    let list: Vec<String> = serde_json::from_value(found).unwrap();
    assert!(list.is_empty(), "accessibility ({view}):\n{}", list.join("\n"));
}
