//! A show's theme: how the waiting page looks for the theatre that puts its name on it (venue name, logo,
//! colours, links to its site and help page). Every field is optional; without a theme the page stays
//! neutral. Checked on save, so a theme can never make the page unreadable or reach a third party: colours
//! must keep WCAG AA contrast, links are https, the logo is a small raster image the gateway serves itself.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most a logo may weigh, decoded: it travels inside the show (read on every monitor refresh).
pub const MAX_LOGO_BYTES: usize = 16 * 1024;

/// The neutral page's colours (crates/gateway/page/style.css): what a theme's missing colours fall back to.
const DEFAULT_ACCENT: &str = "#0b6e69";
const DEFAULT_BACKGROUND: &str = "#f6f7f8";
const DEFAULT_TEXT: &str = "#1a1f24";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Theme {
    /// The name shown above the show instead of the venue's (e.g. the theatre's own name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_name: Option<String>,
    /// A small raster logo as a data URL: `data:image/png;base64,…` (or webp, jpeg), at most 16 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Buttons and links, `#rrggbb`; white text on it and it on white keep 4.5:1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent: Option<String>,
    /// The page's background and text, `#rrggbb`, 4.5:1 between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The venue's site and help page (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_url: Option<String>,
}

impl Theme {
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = &self.venue_name {
            let len = n.chars().count();
            if n.trim().is_empty() || len > 80 || n.chars().any(char::is_control) {
                return Err(Error::invalid("theme venue name", n, "1 to 80 characters, no control characters"));
            }
        }
        for (what, v) in
            [("theme accent", &self.accent), ("theme background", &self.background), ("theme text", &self.text)]
        {
            if let Some(v) = v {
                rgb(v).ok_or_else(|| Error::invalid(what, v, "a colour as #rrggbb, e.g. #7a1f3d"))?;
            }
        }
        let accent = rgb(self.accent.as_deref().unwrap_or(DEFAULT_ACCENT)).expect("checked");
        let background = rgb(self.background.as_deref().unwrap_or(DEFAULT_BACKGROUND)).expect("checked");
        let text = rgb(self.text.as_deref().unwrap_or(DEFAULT_TEXT)).expect("checked");
        let white = [255, 255, 255];
        for (what, a, b, shown) in [
            ("theme text", text, background, self.text.as_deref().unwrap_or(DEFAULT_TEXT)),
            ("theme text", text, white, self.text.as_deref().unwrap_or(DEFAULT_TEXT)),
            ("theme accent", accent, white, self.accent.as_deref().unwrap_or(DEFAULT_ACCENT)),
        ] {
            let ratio = contrast(a, b);
            if ratio < 4.5 {
                return Err(Error::invalid(
                    what,
                    shown,
                    format!(
                        "colours must keep a contrast of at least 4.5:1 (WCAG AA) — text on the background and on the white cards, white on the accent; this one gives {ratio:.1}:1"
                    ),
                ));
            }
        }
        for (what, v) in [("theme site link", &self.site_url), ("theme help link", &self.help_url)] {
            if let Some(u) = v {
                check_link(what, u)?;
            }
        }
        if let Some(l) = &self.logo {
            logo_bytes(l)?;
        }
        Ok(())
    }

    /// The logo's media type and bytes (checked: a PNG, WebP or JPEG by its first bytes, ≤ 16 KiB).
    pub fn logo_image(&self) -> Option<(&'static str, Vec<u8>)> {
        self.logo.as_deref().and_then(|l| logo_bytes(l).ok())
    }
}

fn rgb(v: &str) -> Option<[u8; 3]> {
    let h = v.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([p(0)?, p(2)?, p(4)?])
}

/// WCAG 2 contrast ratio of two sRGB colours.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let lum = |c: [u8; 3]| {
        let ch = |v: u8| {
            let s = v as f64 / 255.0;
            if s <= 0.03928 { s / 12.92 } else { ((s + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

fn check_link(what: &'static str, u: &str) -> Result<()> {
    let rest = u.strip_prefix("https://").unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let ok = u.len() <= 300
        && !host.is_empty()
        && !host.contains('@')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !u.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\\'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(what, u, "an https:// link of at most 300 characters, e.g. https://theatre.example/help"))
    }
}

fn logo_bytes(l: &str) -> Result<(&'static str, Vec<u8>)> {
    let bad = |why: &str| Error::invalid("theme logo", &l.chars().take(40).collect::<String>(), why.to_string());
    let allowed = "a data URL of a PNG, WebP or JPEG image of at most 16 KiB: data:image/png;base64,…";
    let (kind, data) = [
        ("image/png", "data:image/png;base64,"),
        ("image/webp", "data:image/webp;base64,"),
        ("image/jpeg", "data:image/jpeg;base64,"),
    ]
    .iter()
    .find_map(|(k, p)| l.strip_prefix(p).map(|d| (*k, d)))
    .ok_or_else(|| bad(allowed))?;
    if data.len() > MAX_LOGO_BYTES * 4 / 3 + 4 {
        return Err(bad(allowed));
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| bad(allowed))?;
    let magic = match kind {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => bytes.starts_with(&[0xff, 0xd8, 0xff]),
    };
    if !magic || bytes.len() > MAX_LOGO_BYTES {
        return Err(bad(allowed));
    }
    Ok((kind, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_neutral_defaults_pass_and_unreadable_or_foreign_themes_are_refused_with_the_reason() {
        assert!(Theme::default().validate().is_ok());
        let ok = Theme {
            accent: Some("#7a1f3d".into()),
            site_url: Some("https://globe.example/".into()),
            ..Theme::default()
        };
        assert!(ok.validate().is_ok());
        for (t, says) in [
            (Theme { accent: Some("#ffcc00".into()), ..Theme::default() }, "4.5:1"),
            (Theme { text: Some("#aaaaaa".into()), ..Theme::default() }, "4.5:1"),
            (Theme { background: Some("red".into()), ..Theme::default() }, "#rrggbb"),
            (Theme { site_url: Some("http://globe.example".into()), ..Theme::default() }, "https://"),
            (Theme { help_url: Some("https://user@evil.example".into()), ..Theme::default() }, "https://"),
            (
                Theme { logo: Some("data:image/svg+xml;base64,PHN2Zz4=".into()), ..Theme::default() },
                "PNG, WebP or JPEG",
            ),
            (Theme { logo: Some("data:image/png;base64,aGVsbG8=".into()), ..Theme::default() }, "PNG, WebP or JPEG"),
            (Theme { venue_name: Some(" ".into()), ..Theme::default() }, "1 to 80"),
        ] {
            let e = t.validate().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        let png = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest")
        );
        let t = Theme { logo: Some(png), ..Theme::default() };
        assert_eq!(t.logo_image().unwrap().0, "image/png");
    }
}
