//! The installed PostgreSQL: where its binaries are, whom it runs as, and
//! a new cluster made with `initdb`.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::{io, EmbeddedError};

/// The directory holding `initdb` and `postgres`.
pub fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| {
        // pg_isready, which the host no longer runs, marks a whole server
        // install (with pg_basebackup, which the tests' replicas use),
        // not a directory holding a stray initdb and postgres.
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|name| dir.join(name).is_file())
    };
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The (uid, gid) to run PostgreSQL as: `postgres` when we are root.
pub fn postgres_owner() -> Result<Option<(u32, u32)>, EmbeddedError> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").map_err(|_| EmbeddedError::NoPostgresUser)?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we read
    // two integers from it at once, before any other call could reuse it.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(EmbeddedError::NoPostgresUser);
    }
    // SAFETY: non-null, see above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

pub(super) fn as_owner(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
}

pub(super) fn init_cluster(
    bin: &Path,
    data_dir: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), EmbeddedError> {
    std::fs::create_dir_all(data_dir).map_err(io("create the data directory", data_dir))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(data_dir, Some(uid), Some(gid))
            .map_err(io("give the data directory to postgres", data_dir))?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io("restrict the data directory", data_dir))?;
    let mut command = Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(data_dir)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .current_dir("/");
    as_owner(&mut command, owner);
    let output = command.output().map_err(io("run initdb", bin))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        if owner.is_some() {
            text.push_str(
                "\n(PostgreSQL runs as the `postgres` user: every directory above the data \
                 directory must be open to it; set EMBEDDED_PG_DIR to move it)",
            );
        }
        return Err(EmbeddedError::Command {
            command: format!("initdb -D {}", data_dir.display()),
            output: text,
        });
    }
    Ok(())
}
