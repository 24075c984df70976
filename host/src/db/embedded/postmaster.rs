//! What a cluster's `postmaster.pid` tells: who runs it, and whether it
//! accepts connections yet.

use std::path::Path;

/// Whether the server on `data_dir` accepts connections: the status line
/// of its pid file (the eighth) says `ready`, or `standby` for a replica
/// open to reads.
pub(super) fn accepts_connections(data_dir: &Path) -> bool {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()
        .and_then(|pid_file| {
            let status = pid_file.lines().nth(7)?.trim().to_owned();
            Some(status == "ready" || status == "standby")
        })
        .unwrap_or(false)
}

/// Who runs a PostgreSQL on `data_dir` now, from its `postmaster.pid`: the
/// shop-api that started it, when that is its parent. `None` when nothing
/// alive holds it (a stale pid file from a crash, which PostgreSQL removes).
pub(super) fn running_owner(data_dir: &Path) -> Option<String> {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: libc::pid_t = pid_file.lines().next()?.trim().parse().ok()?;
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return None;
    }
    // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces.
    let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_comm = stat.rsplit_once(')')?.1.to_owned();
            after_comm.split_whitespace().nth(1)?.parse::<u32>().ok()
        })
        .filter(|ppid| *ppid > 1);
    let parent_name = parent.and_then(|ppid| {
        let exe = std::fs::read_link(format!("/proc/{ppid}/exe")).ok()?;
        Some((ppid, exe.file_name()?.to_string_lossy().into_owned()))
    });
    Some(match parent_name {
        Some((ppid, name)) if name == "runtime" || name.starts_with("shop") => {
            format!("another shop-api (pid {ppid}, its PostgreSQL pid {pid})")
        }
        _ => format!("a PostgreSQL (pid {pid})"),
    })
}
