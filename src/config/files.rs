//! Reading schedule files and holiday calendars: only regular files, only inside the schedules
//! directory, at most [`MAX_FILE`] bytes, UTF-8 — and every refusal a diagnostic naming the file
//! (and, for bad UTF-8, the line), never silence and never the file's content.
//!
//! So a dangling symlink or a symlink loop is an error rather than an environment quietly no
//! longer managed; a FIFO or a device (`/dev/zero`) is refused before it is opened, so `check`
//! neither hangs nor reads without end; and a calendar cannot be pointed at a file outside the
//! directory (an absolute path, `..`, or a symlink out).

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The most a schedule file or a calendar may hold.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Why a file was not read: where (1-based line and column, 0 for the file as a whole) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// 1-based line, 0 when the problem is the file as a whole.
    pub(crate) line: usize,
    /// 1-based column, counted in characters.
    pub(crate) column: usize,
    /// What is wrong and what to do.
    pub(crate) message: String,
}

fn whole(message: String) -> Refused {
    Refused {
        line: 0,
        column: 0,
        message,
    }
}

/// Checks a relative path written in a schedule file (`holiday_calendar`): no absolute path, no
/// `..`, nothing but plain names.
pub(crate) fn relative_inside(path: &str) -> Result<&Path, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Err(format!(
            "holiday_calendar \"{path}\" is an absolute path: give a path relative to the schedules directory, like \"holidays.ics\""
        ));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "holiday_calendar \"{path}\" leaves the schedules directory: keep the calendar inside it, like \"holidays.ics\""
        ));
    }
    Ok(p)
}

/// Reads `path` as text: a regular file (symlinks followed, to a file inside `root`), at most
/// [`MAX_FILE`] bytes, UTF-8.
pub(crate) fn read_text(path: &Path, root: &Path) -> Result<String, Refused> {
    let meta = std::fs::metadata(path).map_err(|e| {
        let dangling = e.kind() == std::io::ErrorKind::NotFound
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        whole(if dangling {
            "cannot read: a symlink to a file that does not exist".to_string()
        } else {
            format!("cannot read: {e}")
        })
    })?;
    if !meta.is_file() {
        return Err(whole(format!(
            "not a regular file ({}): refused without reading it",
            kind(&meta)
        )));
    }
    let inside = canonical(root)
        .zip(canonical(path))
        .is_some_and(|(root, file)| file.starts_with(root));
    if !inside {
        return Err(whole(format!(
            "resolves to a file outside the schedules directory {}: keep schedule files and calendars inside it",
            root.display()
        )));
    }
    if meta.len() > MAX_FILE {
        return Err(too_large(meta.len()));
    }
    let mut file = std::fs::File::open(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    // What was opened is what was checked (not swapped for something else in between).
    let opened = file
        .metadata()
        .map_err(|e| whole(format!("cannot read: {e}")))?;
    if !opened.is_file() || identity(&opened) != identity(&meta) {
        return Err(whole(
            "changed while being read: refused without reading it".into(),
        ));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| whole(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let good = &bytes[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[start..]).chars().count() + 1;
        Refused {
            line,
            column,
            message: "not UTF-8 text: save the file as UTF-8".into(),
        }
    })
}

fn too_large(len: u64) -> Refused {
    whole(format!(
        "larger than {} KiB ({len} bytes): refused without reading it",
        MAX_FILE / 1024
    ))
}

fn canonical(p: &Path) -> Option<PathBuf> {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::fs::canonicalize(p).ok()
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A regular file inside the directory reads; everything odd is refused with why.
    #[test]
    fn only_regular_utf8_files_inside_the_root_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("ok.toml"), "a = 1\n").unwrap();
        assert_eq!(read_text(&root.join("ok.toml"), root).unwrap(), "a = 1\n");

        std::os::unix::fs::symlink(root.join("ok.toml"), root.join("link.toml")).unwrap();
        assert!(
            read_text(&root.join("link.toml"), root).is_ok(),
            "a symlink inside is fine"
        );

        std::os::unix::fs::symlink(root.join("gone"), root.join("dangling.toml")).unwrap();
        let e = read_text(&root.join("dangling.toml"), root).unwrap_err();
        assert!(e.message.contains("does not exist"), "{e:?}");

        let e = read_text(Path::new("/dev/zero"), Path::new("/dev")).unwrap_err();
        assert!(e.message.contains("a device"), "{e:?}");

        let e = read_text(root, root).unwrap_err();
        assert!(e.message.contains("directory"), "{e:?}");

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("x.ics"), "x").unwrap();
        std::os::unix::fs::symlink(other.path().join("x.ics"), root.join("out.ics")).unwrap();
        let e = read_text(&root.join("out.ics"), root).unwrap_err();
        assert!(e.message.contains("outside"), "{e:?}");

        std::fs::write(root.join("bad.toml"), b"a = 1\nb = \"\xc3\x28\"\n").unwrap();
        let e = read_text(&root.join("bad.toml"), root).unwrap_err();
        assert_eq!((e.line, e.column), (2, 6), "{e:?}");

        let big = vec![b'#'; MAX_FILE as usize + 1];
        std::fs::write(root.join("big.toml"), big).unwrap();
        let e = read_text(&root.join("big.toml"), root).unwrap_err();
        assert!(e.message.contains("larger than 1024 KiB"), "{e:?}");
    }

    /// A calendar path is relative and stays inside.
    #[test]
    fn calendar_paths_stay_relative_and_inside() {
        assert!(relative_inside("holidays.ics").is_ok());
        assert!(relative_inside("cal/holidays.ics").is_ok());
        assert!(relative_inside("./holidays.ics").is_ok());
        assert!(
            relative_inside("/dev/zero")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(relative_inside("../x.ics").unwrap_err().contains("leaves"));
        assert!(
            relative_inside("cal/../../x.ics")
                .unwrap_err()
                .contains("leaves")
        );
    }
}
