//! `seatwise shows …`.

use seatwise_engine::ErrorCode;
use seatwise_engine::shows::parse_shows_file;
use seatwise_engine::{Actor, Engine, ShowId};

use crate::args::ShowsCmd;
use crate::*;

pub(crate) async fn shows(engine: &Engine, actor: &Actor, c: ShowsCmd, json: bool) -> Out {
    match c {
        ShowsCmd::List => {
            let list = engine.list_shows().await?;
            if json {
                print_json(&list);
            } else {
                println!("{:<24} {:<10} {:>4} {:>9}  NAME", "ID", "STATUS", "VER", "SCHEDULES");
                let now = chrono::Utc::now().timestamp_millis();
                for s in list {
                    let opening = seatwise_engine::opening::next_opening(&s, now)
                        .map(|(what, at)| format!(" — {what} {}", seatwise_engine::opening::countdown(at, now)))
                        .unwrap_or_default();
                    println!(
                        "{:<24} {:<10} {:>4} {:>9}  {} ({}){opening}",
                        s.id,
                        s.status,
                        s.version,
                        s.schedules.len(),
                        s.name,
                        s.venue
                    );
                }
            }
        }
        ShowsCmd::Show { id } => print_json(&engine.get_show(&ShowId::new(&id)?).await?),
        ShowsCmd::Create { file } => {
            let shows = parse_shows_file(&file.display().to_string(), &read_file(&file)?)?;
            for s in shows {
                let s = engine.create_show(&s, actor).await?;
                println!("created {} (version {}, {})", s.id, s.version, s.status);
            }
        }
        ShowsCmd::Import { file } => {
            let shows = parse_shows_file(&file.display().to_string(), &read_file(&file)?)?;
            let out = engine.import_shows(&shows, actor).await?;
            if json {
                print_json(&out);
            } else {
                for o in out {
                    println!("{:<24} {}", o.show, o.action);
                }
            }
        }
        ShowsCmd::Export { file } => {
            let text = engine.export_shows().await?;
            match file {
                Some(p) => {
                    std::fs::write(&p, text + "\n")
                        .map_err(|e| Fail::new(ErrorCode::File, format!("{}: {e}", p.display())))?;
                    eprintln!("wrote {}", p.display());
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}
