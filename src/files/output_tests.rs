use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-output-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn names_in(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn dash_is_stdout_and_a_path_is_a_file() {
    assert_eq!(OutputTarget::new(None, false), OutputTarget::Stdout);
    assert_eq!(OutputTarget::new(Some(Path::new("-")), true), OutputTarget::Stdout);
    assert!(OutputTarget::file(Path::new("-"), false).is_stdout());
    let t = OutputTarget::file(Path::new("x.tsv"), true);
    assert_eq!(t, OutputTarget::File { path: "x.tsv".into(), force: true });
    assert_eq!(t.describe(), "x.tsv");
    assert!(OutputTarget::Stdout.check().is_ok());
}

#[test]
fn writes_atomically_refuses_to_overwrite_and_replaces_with_force() {
    let d = dir("basic");
    let p = d.join("sub/out.tsv");
    OutputTarget::file(&p, false).write_str("one\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
    let e = OutputTarget::file(&p, false).check().unwrap_err();
    assert!(matches!(e, Error::WouldOverwrite(_)), "{e}");
    assert!(OutputTarget::file(&p, false).write_str("two\n").is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
    OutputTarget::file(&p, true).write_str("two\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
    assert_eq!(names_in(&d.join("sub")), vec!["out.tsv"], "no temporary file is left");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn a_failed_fill_keeps_the_old_file_and_leaves_no_temporary() {
    let d = dir("fail");
    let p = d.join("out.tsv");
    std::fs::write(&p, "old").unwrap();
    let e = write_file_with(&p, true, |w| {
        w.write_all(b"half")?;
        Err(std::io::Error::other("disk on fire"))
    })
    .unwrap_err()
    .to_string();
    assert_eq!(e, format!("cannot write {}: disk on fire", p.display()));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
    assert_eq!(names_in(&d), vec!["out.tsv"]);
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn directories_links_and_devices_are_never_replaced_even_with_force() {
    let d = dir("special");
    let sub = d.join("adir");
    std::fs::create_dir_all(&sub).unwrap();
    for force in [false, true] {
        let e = OutputTarget::file(&sub, force).write_str("x").unwrap_err().to_string();
        assert!(e.starts_with(&format!("cannot write {}: it is a directory", sub.display())), "{e}");
    }
    assert!(sub.is_dir());
    let e = OutputTarget::file(Path::new("some/dir/"), true).check().unwrap_err().to_string();
    assert!(e.contains("names a folder"), "{e}");
    #[cfg(unix)]
    {
        let target = d.join("real.tsv");
        std::fs::write(&target, "keep").unwrap();
        let link = d.join("link.tsv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for force in [false, true] {
            let e = OutputTarget::file(&link, force).write_str("x").unwrap_err().to_string();
            assert!(e.contains("symbolic link") && e.contains("real.tsv"), "{e}");
        }
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let dangling = d.join("dangling.tsv");
        std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
        assert!(OutputTarget::file(&dangling, true).write_str("x").is_err());
        assert!(!d.join("nowhere").exists());
        let dev = Path::new("/dev/null");
        if dev.exists() {
            let e = OutputTarget::file(dev, true).check().unwrap_err().to_string();
            assert!(e.starts_with("cannot write /dev/null: it is a device") && e.contains("--out -"), "{e}");
            use std::os::unix::fs::FileTypeExt;
            assert!(std::fs::metadata(dev).unwrap().file_type().is_char_device());
        }
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn a_file_where_a_folder_is_needed_is_named() {
    let d = dir("parent");
    let f = d.join("plain");
    std::fs::write(&f, "x").unwrap();
    let p = f.join("out.tsv");
    let e = OutputTarget::file(&p, false).check().unwrap_err().to_string();
    assert_eq!(e, format!("cannot write {}: {} is not a directory", p.display(), f.display()));
    std::fs::remove_dir_all(&d).ok();
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_folder_is_found_before_the_work_with_the_right_verb() {
    // /proc refuses new files even for root.
    let p = Path::new("/proc/graphreach-out.tsv");
    let e = OutputTarget::file(p, false).check().unwrap_err().to_string();
    assert!(e.starts_with("cannot write /proc/graphreach-out.tsv: /proc is not writable"), "{e}");
    assert!(!e.contains("tmp-graphreach") && !e.contains("cannot read"), "{e}");
}

#[test]
fn stale_temporary_files_of_dead_writers_are_removed_and_live_ones_kept() {
    let d = dir("stale");
    let target = d.join("order.tsv");
    // u32::MAX is above every Linux pid limit: that writer is certainly dead.
    let dead = d.join(format!(".order.tsv{TEMP_MARK}{}", u32::MAX));
    let live = d.join(format!(".order.tsv{TEMP_MARK}{}", std::process::id()));
    let other = d.join(format!(".other.tsv{TEMP_MARK}{}", u32::MAX));
    for p in [&dead, &live, &other] {
        std::fs::write(p, "partial").unwrap();
    }
    remove_stale_temps(&target);
    if Path::new("/proc/self").exists() {
        assert!(!dead.exists(), "a dead writer's temporary file stays");
    }
    assert!(live.exists() && other.exists(), "{:?}", names_in(&d));
    let _ = std::fs::remove_dir_all(&d);
}
