//! The installable package: `scripts/package.sh --debug` bundles the debug build the tests already made
//! (the release path differs only in the cargo profile), the .deb is installed into a temporary root with
//! `dpkg-deb -x`, and the installed binary is started under Xvfb until its window shows the console.

use super::*;

/// Width and height from a PNG's header.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[1..4], b"PNG", "{} is a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deb_installs_and_its_binary_opens_the_console() {
    let built = Path::new(env!("CARGO_BIN_EXE_seatwise-console"));
    // A target folder of its own holding a copy of the build: the bundler touches the binary it packages,
    // and the other tests are running this one.
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::fs::copy(built, target.join("debug/seatwise-console")).unwrap();
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package.sh"))
        .arg("--debug")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(out.status.success(), "package.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let made: Vec<PathBuf> = String::from_utf8(out.stdout).unwrap().lines().map(PathBuf::from).collect();
    let deb = made.iter().find(|p| p.extension().is_some_and(|e| e == "deb")).expect("a .deb");
    let rpm = made.iter().find(|p| p.extension().is_some_and(|e| e == "rpm")).expect("an .rpm");
    assert!(deb.starts_with(&target) && rpm.starts_with(&target), "{made:?}");
    // An RPM starts with its lead's magic number.
    let lead = std::fs::read(rpm).unwrap();
    assert_eq!(&lead[..4], &[0xed, 0xab, 0xee, 0xdb], "{} is an RPM package", rpm.display());

    // What dpkg would record.
    let field = |name: &str| {
        let o = Command::new("dpkg-deb").arg("-f").arg(deb).arg(name).output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    assert_eq!(field("Package"), "seatwise-queue-console");
    assert_eq!(field("Version"), env!("CARGO_PKG_VERSION"));
    assert!(field("Depends").contains("libwebkit2gtk-4.1-0"), "{}", field("Depends"));

    // Installed into a temporary root, as `dpkg -i` would lay it out.
    let root = work.path().join("root");
    let x = Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root).status().unwrap();
    assert!(x.success(), "dpkg-deb -x");
    let bin = root.join("usr/bin/seatwise-console");
    let desktop = std::fs::read_to_string(root.join("usr/share/applications/Seatwise Queue Console.desktop"))
        .expect("a desktop entry");
    for line in ["Exec=seatwise-console", "Icon=seatwise-console", "Name=Seatwise Queue Console", "Type=Application"] {
        assert!(desktop.lines().any(|l| l == line), "desktop entry lacks {line}:\n{desktop}");
    }
    // The icon in every size a desktop asks for, each as large as its folder says.
    for size in [16, 24, 32, 48, 64, 128, 256, 512] {
        let icon = root.join(format!("usr/share/icons/hicolor/{size}x{size}/apps/seatwise-console.png"));
        assert!(icon.exists(), "no {size}px icon at {}", icon.display());
        assert_eq!(png_size(&icon), (size, size), "{}", icon.display());
    }

    // The installed binary opens the console's window (a fresh user: the first screen is setup).
    let home = work.path().join("home");
    let (data, config) = (home.join("data"), home.join("config"));
    let _turn = console_turn(&data).await;
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let (_xvfb, display) = start_xvfb();
    let (driver, c) = open_console(bin.to_str().unwrap(), &display, &data, &config).await;
    assert_eq!(c.title().await.unwrap(), "Seatwise Queue Console");
    wait_shown(&c, "#pf-name", "the installed console's first screen (setup)").await;
    close_console(c, driver, &data).await;
}
