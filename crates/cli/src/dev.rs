//! `lambda-stream dev`: edit, save, and the function is rebuilt and served again, on the same port.
//!
//! ## The loop
//! 1. **Which bin**: `cargo metadata --no-deps` lists the workspace; `--bin` and/or `-p` pick one
//!    bin target (`select_bin`), or the only bin there is. Any bin works: this project's examples,
//!    the official runtime's peer, a user's own function.
//! 2. **Serve**: the emulator starts at once with the `emulate` options (`ServeArgs`), so the port
//!    is there before the first build ends; `listening on http://HOST:PORT` goes to stdout.
//! 3. **Build**: `cargo build -p PACKAGE --bin BIN --message-format=json-render-diagnostics`.
//!    Cargo's own output, the compiler's diagnostics included, goes to stderr as it comes; the JSON
//!    on stdout names the executable and says whether it was rebuilt (`fresh`). The executable is
//!    copied to `TARGET/lambda-stream-dev/BIN/N/BIN` (build N), so what runs is exactly the last
//!    good build whatever later writes to `target/debug` (the two newest copies are kept: the one
//!    serving and the one that may still be draining).
//! 4. **Swap**: the first good build starts the [`Supervisor`]; each later one is swapped in with
//!    [`Supervisor::replace`]: in-flight invocations finish on the old process, new ones go to
//!    the new one, the port never closes. A failed build changes nothing: the last good binary
//!    keeps serving. A build that cargo found up to date is not restarted.
//! 5. **Watch**: the `notify` crate watches the package's directory and those of the workspace
//!    packages it depends on by path (transitively), plus the workspace's `Cargo.toml` and
//!    `Cargo.lock`; the target directory, hidden files and editor backups are ignored. Changes are
//!    debounced ([`DEBOUNCE`] of quiet), and changes made during a build start another build.
//!
//! Every build ends with exactly one status line on stdout (`built`, `rebuilt`, `no change`,
//! `build failed`, or `could not start`), so a person or a script sees what is being served.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use lambda_stream_emulator::{Emulator, Supervisor};
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::mpsc;

use crate::serve::{ServeArgs, announce_dashboard, shutdown_signal};

/// Quiet time after a change before building (an editor's save is often several writes).
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(300);
/// Builds whose copies are kept: the one serving and the one that may still be draining.
const KEEP_BUILDS: usize = 2;

#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// The package of the bin (as cargo's -p); needed when --bin is ambiguous or absent.
    #[arg(short = 'p', long)]
    package: Option<String>,
    /// The bin target to build and serve; optional when the package (or workspace) has one bin.
    #[arg(long)]
    bin: Option<String>,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
    /// The workspace's Cargo.toml (default: cargo's search from the current directory).
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
    /// Arguments passed to the bin.
    #[arg(last = true)]
    args: Vec<OsString>,
}

/// What `cargo metadata --no-deps --format-version 1` says (the parts used here).
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    packages: Vec<Package>,
    target_directory: PathBuf,
    workspace_root: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
    dependencies: Vec<Dependency>,
}

impl Package {
    fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }

    fn bins(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().filter(|t| t.kind.iter().any(|k| k == "bin")).map(|t| t.name.as_str())
    }
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    /// Set for path dependencies.
    path: Option<PathBuf>,
}

/// The bin to serve and its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chosen {
    pub(crate) package: String,
    pub(crate) bin: String,
}

/// Picks the bin target from `-p` and `--bin`, or the only one there is.
pub(crate) fn select_bin(metadata: &Metadata, package: Option<&str>, bin: Option<&str>) -> anyhow::Result<Chosen> {
    let packages: Vec<&Package> =
        metadata.packages.iter().filter(|p| package.is_none_or(|name| p.name == name)).collect();
    if let Some(name) = package
        && packages.is_empty()
    {
        let all: Vec<&str> = metadata.packages.iter().map(|p| p.name.as_str()).collect();
        bail!("no package {name:?} in the workspace; its packages: {}", all.join(", "));
    }
    let candidates: Vec<Chosen> = packages
        .iter()
        .flat_map(|p| p.bins().map(|b| Chosen { package: p.name.clone(), bin: b.to_owned() }))
        .filter(|c| bin.is_none_or(|b| c.bin == b))
        .collect();
    let listing = || {
        let all: Vec<String> = packages.iter().flat_map(|p| p.bins().map(|b| format!("{b} (-p {})", p.name))).collect();
        if all.is_empty() { "none".to_owned() } else { all.join(", ") }
    };
    match (candidates.len(), bin) {
        (1, _) => Ok(candidates.into_iter().next().unwrap_or_else(|| unreachable!())),
        (0, Some(b)) => bail!("no bin target {b:?} here; bins: {}", listing()),
        (0, None) => bail!("no bin target here: lambda-stream dev serves a bin"),
        (_, Some(b)) => bail!("bin {b:?} is in several packages: name one with -p; bins: {}", listing()),
        (_, None) => bail!("several bins here: name one with --bin (and -p if needed); bins: {}", listing()),
    }
}

/// The directories whose changes rebuild `package`: its own and those of the workspace packages
/// it depends on by path, transitively (path dependencies outside the workspace included).
pub(crate) fn watch_roots(metadata: &Metadata, package: &str) -> Vec<PathBuf> {
    let mut roots = BTreeSet::new();
    let mut todo: Vec<PathBuf> =
        metadata.packages.iter().filter(|p| p.name == package).map(|p| p.dir().to_path_buf()).collect();
    while let Some(dir) = todo.pop() {
        if !roots.insert(dir.clone()) {
            continue;
        }
        if let Some(p) = metadata.packages.iter().find(|p| p.dir() == dir) {
            todo.extend(p.dependencies.iter().filter_map(|d| d.path.clone()));
        }
    }
    roots.into_iter().collect()
}

/// Whether a change to `path` should rebuild: inside one of the `roots` (not in the target
/// directory, not a hidden file or directory, not an editor backup) or the workspace's manifest
/// or lock file.
pub(crate) fn relevant(path: &Path, roots: &[PathBuf], metadata: &Metadata) -> bool {
    if path.starts_with(&metadata.target_directory) {
        return false;
    }
    let root_files = [metadata.workspace_root.join("Cargo.toml"), metadata.workspace_root.join("Cargo.lock")];
    if root_files.iter().any(|f| f == path) {
        return true;
    }
    let Some(relative) = roots.iter().find_map(|r| path.strip_prefix(r).ok()) else {
        return false;
    };
    let name = relative.file_name().and_then(OsStr::to_str).unwrap_or("");
    let hidden = relative.components().any(|c| c.as_os_str().to_str().is_some_and(|s| s.starts_with('.')));
    !hidden && !name.ends_with('~') && relative.components().next().is_none_or(|c| c.as_os_str() != "target")
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn manifest_args(manifest: Option<&Path>) -> Vec<OsString> {
    manifest.map(|m| vec!["--manifest-path".into(), m.as_os_str().to_owned()]).unwrap_or_default()
}

async fn metadata(manifest: Option<&Path>) -> anyhow::Result<Metadata> {
    let output = tokio::process::Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .args(manifest_args(manifest))
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("running `cargo metadata` (is cargo on PATH?)")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed ({}): run lambda-stream dev inside a cargo workspace", output.status);
    }
    serde_json::from_slice(&output.stdout).context("reading `cargo metadata`'s answer")
}

/// What a successful build produced.
struct Built {
    executable: PathBuf,
    /// Cargo found it up to date.
    fresh: bool,
}

/// One `cargo build` of the bin; the compiler's output goes to stderr as it comes.
async fn build(chosen: &Chosen, release: bool, manifest: Option<&Path>) -> Result<Built, String> {
    let mut command = tokio::process::Command::new(cargo());
    command
        .args(["build", "--message-format=json-render-diagnostics", "-p", &chosen.package, "--bin", &chosen.bin])
        .args(manifest_args(manifest))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if release {
        command.arg("--release");
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut built = None;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(artifact) = executable_of(&line, &chosen.bin) {
                built = Some(artifact);
            }
        }
    }
    let status = child.wait().await.map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build exited with {status}"));
    }
    built.ok_or_else(|| format!("cargo reported no executable for bin {:?}", chosen.bin))
}

/// The executable of `bin` in one line of cargo's JSON messages, if the line names it.
fn executable_of(line: &str, bin: &str) -> Option<Built> {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        target: Option<Target>,
        executable: Option<PathBuf>,
        #[serde(default)]
        fresh: bool,
    }
    let message: Message = serde_json::from_str(line).ok()?;
    let target = message.target?;
    (message.reason == "compiler-artifact" && target.name == bin && target.kind.iter().any(|k| k == "bin"))
        .then_some(())?;
    Some(Built { executable: message.executable?, fresh: message.fresh })
}

/// Copies build `n` to its own directory and removes the copies older than [`KEEP_BUILDS`].
fn snapshot(executable: &Path, dir: &Path, bin: &str, n: u64) -> std::io::Result<PathBuf> {
    let target = dir.join(n.to_string());
    std::fs::create_dir_all(&target)?;
    let copy = target.join(bin);
    std::fs::copy(executable, &copy)?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let old = entry.file_name().to_str().and_then(|s| s.parse::<u64>().ok());
            if old.is_some_and(|old| old + (KEEP_BUILDS as u64) <= n) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(copy)
}

/// Starts watching; each relevant change sends a signal (coalesced: the channel holds one).
fn watch(roots: &[PathBuf], metadata: Metadata) -> anyhow::Result<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
    let (tx, rx) = mpsc::channel(1);
    let watched_roots = roots.to_vec();
    let workspace_root = metadata.workspace_root.clone();
    let target_directory = metadata.target_directory.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_))
            && event.paths.iter().any(|p| relevant(p, &watched_roots, &metadata))
        {
            let _ = tx.try_send(());
        }
    })
    .context("starting the file watcher")?;
    // The workspace root itself only for its manifest and lock file; each root non-recursively,
    // and its subdirectories recursively except the target directory and hidden ones (so the
    // build's own writes are never watched).
    watcher.watch(&workspace_root, RecursiveMode::NonRecursive).context("watching the workspace root")?;
    for root in roots {
        watcher.watch(root, RecursiveMode::NonRecursive).with_context(|| format!("watching {}", root.display()))?;
        for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))?.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let skip = name.to_str().is_none_or(|n| n.starts_with('.') || n == "target");
            if path.is_dir() && !skip && !path.starts_with(&target_directory) {
                watcher
                    .watch(&path, RecursiveMode::Recursive)
                    .with_context(|| format!("watching {}", path.display()))?;
            }
        }
    }
    Ok((watcher, rx))
}

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn seconds(since: Instant) -> String {
    format!("{:.1} s", since.elapsed().as_secs_f64())
}

/// What is being served, for the status lines.
struct Serving {
    supervisor: Option<Supervisor>,
    /// The number of the build serving.
    build: u64,
}

impl Serving {
    fn pids(&self) -> String {
        let pids: Vec<String> =
            self.supervisor.iter().flat_map(Supervisor::serving_pids).map(|p| p.to_string()).collect();
        if pids.is_empty() { "restarting".to_owned() } else { format!("pid {}", pids.join(", ")) }
    }

    fn still(&self) -> String {
        match &self.supervisor {
            Some(_) => format!("still serving build {} ({})", self.build, self.pids()),
            None => "nothing to serve yet: fix it and save".to_owned(),
        }
    }
}

/// Builds, and serves or swaps in, the result; prints the one status line.
async fn build_and_swap(
    chosen: &Chosen,
    args: &DevArgs,
    emulator: &Emulator,
    options: &lambda_stream_emulator::EmulateOptions,
    snapshots: &Path,
    serving: &mut Serving,
    next_build: &mut u64,
) {
    let started = Instant::now();
    let built = match build(chosen, args.release, args.manifest_path.as_deref()).await {
        Ok(built) => built,
        Err(e) => {
            say(&format!("build failed ({}; {e}; compiler output above): {}", seconds(started), serving.still()));
            return;
        }
    };
    if built.fresh && serving.supervisor.is_some() {
        say(&format!("no change to {} ({}): {}", chosen.bin, seconds(started), serving.still()));
        return;
    }
    let n = *next_build;
    let program = match snapshot(&built.executable, snapshots, &chosen.bin, n) {
        Ok(program) => program,
        Err(e) => {
            say(&format!(
                "built {} but could not copy it to {}: {e}; {}",
                chosen.bin,
                snapshots.display(),
                serving.still()
            ));
            return;
        }
    };
    *next_build += 1;
    let mut config = options.supervisor_config();
    config.command.program = program;
    match &mut serving.supervisor {
        None => match Supervisor::start(emulator, config).await {
            Ok(supervisor) => {
                serving.supervisor = Some(supervisor);
                serving.build = n;
                say(&format!("built {} (build {n}, {}): serving it, {}", chosen.bin, seconds(started), serving.pids()));
            }
            Err(e) => say(&format!("built {} but could not start it: {e}; {}", chosen.bin, serving.still())),
        },
        Some(supervisor) => match supervisor.replace(config.command).await {
            Ok(drained) => {
                serving.build = n;
                say(&format!(
                    "rebuilt {} (build {n}, {}): new invocations go to {}; {} in flight finish on the old process",
                    chosen.bin,
                    seconds(started),
                    serving.pids(),
                    drained.in_flight()
                ));
            }
            Err(e) => say(&format!("rebuilt {} but could not start it: {e}; {}", chosen.bin, serving.still())),
        },
    }
}

/// `lambda-stream dev`.
pub(crate) async fn run(args: DevArgs) -> anyhow::Result<()> {
    let manifest = args.manifest_path.as_deref();
    let metadata = metadata(manifest).await?;
    let chosen = select_bin(&metadata, args.package.as_deref(), args.bin.as_deref())?;
    let roots = watch_roots(&metadata, &chosen.package);
    let snapshots = metadata.target_directory.join("lambda-stream-dev").join(&chosen.bin);
    let mut options = args.serve.options(snapshots.join(&chosen.bin), args.args.clone())?;
    options.function_name.get_or_insert_with(|| chosen.bin.clone());

    let emulator = options.emulator_builder()?.build().await.context("could not start the emulator")?;
    announce_dashboard(&emulator);
    say(&format!("listening on {}", emulator.url()));
    if let Some(url) = emulator.api_gateway_url() {
        say(&format!("api gateway on {url}"));
    }
    let watched: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
    tracing::info!("watching {} for changes to {} (-p {})", watched.join(", "), chosen.bin, chosen.package);
    let (_watcher, mut changes) = watch(&roots, metadata)?;

    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut serving = Serving { supervisor: None, build: 0 };
    let mut next_build = 1;
    'serve: loop {
        tokio::select! {
            () = build_and_swap(&chosen, &args, &emulator, &options, &snapshots, &mut serving, &mut next_build) => {}
            () = &mut stop => break 'serve,
        }
        // Wait for a change, then for quiet.
        tokio::select! {
            Some(()) = changes.recv() => {}
            () = &mut stop => break 'serve,
        }
        loop {
            tokio::select! {
                Some(()) = changes.recv() => {}
                () = tokio::time::sleep(DEBOUNCE) => break,
                () = &mut stop => break 'serve,
            }
        }
    }
    tracing::info!("stopping the bootstrap and the emulator");
    if let Some(supervisor) = serving.supervisor {
        supervisor.shutdown().await;
    }
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        let json = serde_json::json!({
            "workspace_root": "/ws",
            "target_directory": "/ws/target",
            "packages": [
                {
                    "name": "app",
                    "manifest_path": "/ws/crates/app/Cargo.toml",
                    "targets": [{"name": "app", "kind": ["bin"]}, {"name": "app", "kind": ["lib"]}],
                    "dependencies": [{"name": "core", "path": "/ws/crates/core"}, {"name": "serde"}],
                },
                {
                    "name": "core",
                    "manifest_path": "/ws/crates/core/Cargo.toml",
                    "targets": [{"name": "core", "kind": ["lib"]}],
                    "dependencies": [{"name": "proto", "path": "/ws/crates/proto"}],
                },
                {
                    "name": "proto",
                    "manifest_path": "/ws/crates/proto/Cargo.toml",
                    "targets": [{"name": "proto", "kind": ["lib"]}],
                    "dependencies": [],
                },
                {
                    "name": "peers",
                    "manifest_path": "/ws/crates/peers/Cargo.toml",
                    "targets": [{"name": "peer-a", "kind": ["bin"]}, {"name": "app", "kind": ["bin"]}],
                    "dependencies": [],
                },
            ],
        });
        serde_json::from_value(json).unwrap()
    }

    fn chosen(package: &str, bin: &str) -> Chosen {
        Chosen { package: package.into(), bin: bin.into() }
    }

    #[test]
    fn the_bin_is_picked_from_the_package_and_the_name() {
        let m = metadata();
        assert_eq!(select_bin(&m, None, Some("peer-a")).unwrap(), chosen("peers", "peer-a"));
        assert_eq!(select_bin(&m, Some("app"), None).unwrap(), chosen("app", "app"));
        assert_eq!(select_bin(&m, Some("peers"), Some("app")).unwrap(), chosen("peers", "app"));
        let ambiguous = select_bin(&m, None, Some("app")).unwrap_err().to_string();
        assert!(ambiguous.contains("several packages") && ambiguous.contains("-p peers"), "{ambiguous}");
        let several = select_bin(&m, Some("peers"), None).unwrap_err().to_string();
        assert!(several.contains("--bin") && several.contains("peer-a"), "{several}");
        let missing = select_bin(&m, None, Some("nope")).unwrap_err().to_string();
        assert!(missing.contains("nope") && missing.contains("peer-a (-p peers)"), "{missing}");
        assert!(select_bin(&m, Some("nope"), None).unwrap_err().to_string().contains("no package"));
        assert!(select_bin(&m, Some("core"), None).unwrap_err().to_string().contains("no bin target"));
    }

    #[test]
    fn the_package_and_its_path_dependencies_are_watched_transitively() {
        let m = metadata();
        let roots = watch_roots(&m, "app");
        let expected: Vec<PathBuf> =
            ["/ws/crates/app", "/ws/crates/core", "/ws/crates/proto"].map(PathBuf::from).into();
        assert_eq!(roots, expected);
        assert_eq!(watch_roots(&m, "peers"), vec![PathBuf::from("/ws/crates/peers")]);
    }

    #[test]
    fn sources_count_but_the_target_directory_hidden_files_and_backups_do_not() {
        let m = metadata();
        let roots = watch_roots(&m, "app");
        let yes = ["/ws/crates/app/src/main.rs", "/ws/crates/core/build.rs", "/ws/Cargo.lock", "/ws/Cargo.toml"];
        for path in yes {
            assert!(relevant(Path::new(path), &roots, &m), "{path}");
        }
        let no = [
            "/ws/target/debug/app",
            "/ws/crates/app/.main.rs.swp",
            "/ws/crates/app/src/main.rs~",
            "/ws/crates/app/.git/index",
            "/ws/crates/app/target/x",
            "/ws/crates/peers/src/main.rs",
            "/ws/README.md",
        ];
        for path in no {
            assert!(!relevant(Path::new(path), &roots, &m), "{path}");
        }
    }

    #[test]
    fn the_executable_is_read_from_cargos_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"app","kind":["bin"]},"executable":"/ws/target/debug/app","fresh":true}"#;
        let built = executable_of(line, "app").unwrap();
        assert_eq!(built.executable, PathBuf::from("/ws/target/debug/app"));
        assert!(built.fresh);
        assert!(executable_of(line, "other").is_none());
        let lib =
            r#"{"reason":"compiler-artifact","target":{"name":"app","kind":["lib"]},"executable":null,"fresh":false}"#;
        assert!(executable_of(lib, "app").is_none());
        assert!(executable_of(r#"{"reason":"build-finished","success":true}"#, "app").is_none());
        assert!(executable_of("not json", "app").is_none());
    }

    #[test]
    fn only_the_newest_build_copies_are_kept() {
        let dir = std::env::temp_dir().join(format!("lambda-stream-dev-test-{}", std::process::id()));
        let exe = dir.join("source");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        let snapshots = dir.join("snapshots");
        for n in 1..=4 {
            let copy = snapshot(&exe, &snapshots, "app", n).unwrap();
            assert_eq!(copy, snapshots.join(n.to_string()).join("app"));
            assert!(copy.exists());
        }
        let mut left: Vec<String> =
            std::fs::read_dir(&snapshots).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["3", "4"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
