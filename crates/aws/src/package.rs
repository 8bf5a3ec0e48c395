//! `package`: build a binary of a Cargo workspace for Lambda and zip it as `bootstrap`.
//!
//! A `provided.al2023` function is a zip whose root holds an executable named `bootstrap`
//! (AWS Lambda developer guide, "Building Lambda functions with Rust" / "OS-only runtimes").
//!
//! ## Which builder
//! provided.al2023 ships glibc 2.34. A binary linked on a newer glibc (this project's Debian 12
//! machines have 2.36) may ask for symbols Lambda lacks and fail at start with
//! `GLIBC_2.3x not found`. So, in order of preference:
//! 1. `cargo zigbuild --target <triple>.2.34` (PyPI `cargo-zigbuild` + `ziglang`): links against
//!    glibc 2.34 whatever the host has, and cross-links arm64;
//! 2. `cargo lambda build` (PyPI `cargo-lambda`), which wraps zigbuild the same way;
//! 3. plain `cargo build --target <triple>`, with a warning when the host's glibc is newer than
//!    2.34, and only for the host's own architecture unless a cross linker is configured.
//!
//! The zip is reproducible (fixed timestamps), so packaging unchanged code gives the same bytes,
//! the same content hash, and `deploy` has nothing to update.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;

use crate::Error;

/// glibc of the `provided.al2023` runtime (Amazon Linux 2023 ships glibc 2.34).
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// Mode bits of `bootstrap` in the zip: Lambda executes it, so it must be executable.
pub const BOOTSTRAP_MODE: u32 = 0o755;

/// The instruction set a function runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arch {
    /// x86_64 (Lambda's default).
    #[default]
    X86_64,
    /// arm64 (Graviton).
    Arm64,
}

impl Arch {
    /// The Rust target triple for Lambda on this architecture.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The name Lambda and CloudFormation use (`Architectures`).
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn is_host(self) -> bool {
        match self {
            Arch::X86_64 => cfg!(target_arch = "x86_64"),
            Arch::Arm64 => cfg!(target_arch = "aarch64"),
        }
    }
}

/// How to build: detected from what is installed, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// cargo-zigbuild if installed, else cargo-lambda, else plain cargo (with a warning).
    #[default]
    Auto,
    /// `cargo zigbuild --target <triple>.2.34`.
    Zigbuild,
    /// `cargo lambda build`.
    CargoLambda,
    /// Plain `cargo build --target <triple>`.
    Cargo,
}

/// What to package.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The `[[bin]]` to build (e.g. `send-numbers`).
    pub bin: String,
    /// The package holding it, when bin names are ambiguous.
    pub package: Option<String>,
    /// `Cargo.toml` of the workspace; default: the one cargo finds from the current directory.
    pub manifest_path: Option<PathBuf>,
    /// Target architecture.
    pub arch: Arch,
    /// Builder choice.
    pub builder: Builder,
    /// Release profile (default) or debug.
    pub release: bool,
    /// Where to write the zip.
    pub output: PathBuf,
}

impl PackageOptions {
    /// Release build of `bin` for x86_64 with the detected builder, zipped to
    /// `target/lambda/<bin>.zip`.
    pub fn new(bin: impl Into<String>) -> Self {
        let bin = bin.into();
        Self {
            output: PathBuf::from(format!("target/lambda/{bin}.zip")),
            bin,
            package: None,
            manifest_path: None,
            arch: Arch::X86_64,
            builder: Builder::Auto,
            release: true,
        }
    }
}

/// What `package` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The zip (bootstrap at its root, mode 0755).
    pub zip: PathBuf,
    /// The executable that went into it.
    pub binary: PathBuf,
    /// The builder that was used.
    pub builder: Builder,
    /// Lowercase hex SHA-256 of the zip: `deploy` names the S3 object after it.
    pub sha256: String,
    /// Warnings worth showing (e.g. a host glibc newer than Lambda's).
    pub warnings: Vec<String>,
}

/// The tools found on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// `cargo-zigbuild` on PATH.
    pub zigbuild: bool,
    /// `cargo-lambda` on PATH.
    pub cargo_lambda: bool,
    /// Rust targets installed in the sysroot (`lib/rustlib/<triple>`).
    pub installed_targets: Vec<String>,
    /// The host's glibc (`getconf GNU_LIBC_VERSION`), when it has one.
    pub host_glibc: Option<(u32, u32)>,
}

impl Toolchain {
    /// Looks at PATH, the rustc sysroot and the host glibc.
    pub fn detect() -> Self {
        let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let installed_targets = sysroot
            .and_then(|root| std::fs::read_dir(root.join("lib/rustlib")).ok())
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .filter(|e| e.path().join("lib").is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let host_glibc = Command::new("getconf")
            .arg("GNU_LIBC_VERSION")
            .output()
            .ok()
            .and_then(|o| parse_glibc(&String::from_utf8_lossy(&o.stdout)));
        Self {
            zigbuild: on_path("cargo-zigbuild"),
            cargo_lambda: on_path("cargo-lambda"),
            installed_targets,
            host_glibc,
        }
    }

    /// Picks the builder for `arch`, or says precisely what is missing.
    pub fn choose(&self, wanted: Builder, arch: Arch) -> Result<(Builder, Vec<String>), Error> {
        let mut warnings = Vec::new();
        let target = arch.rust_target();
        if !self.installed_targets.iter().any(|t| t == target) {
            return Err(Error::MissingTool {
                what: format!("the Rust standard library for {target}"),
                fix: format!(
                    "run `rustup target add {target}` (it needs network access to static.rust-lang.org){}",
                    if arch == Arch::Arm64 { "; arm64 also needs cargo-zigbuild or cargo-lambda to link" } else { "" }
                ),
            });
        }
        let builder = match wanted {
            Builder::Auto if self.zigbuild => Builder::Zigbuild,
            Builder::Auto if self.cargo_lambda => Builder::CargoLambda,
            Builder::Auto => Builder::Cargo,
            Builder::Zigbuild if !self.zigbuild => {
                return Err(Error::MissingTool {
                    what: "cargo-zigbuild".into(),
                    fix: "pip install cargo-zigbuild ziglang (or use --builder cargo-lambda / cargo)".into(),
                });
            }
            Builder::CargoLambda if !self.cargo_lambda => {
                return Err(Error::MissingTool {
                    what: "cargo-lambda".into(),
                    fix: "pip install cargo-lambda (or use --builder zigbuild / cargo)".into(),
                });
            }
            other => other,
        };
        if builder == Builder::Cargo {
            if !arch.is_host() {
                return Err(Error::MissingTool {
                    what: format!("a linker for {target}"),
                    fix: "plain cargo cannot link for another architecture here: pip install cargo-zigbuild ziglang \
                          (or cargo-lambda)"
                        .into(),
                });
            }
            match self.host_glibc {
                Some(host) if host > LAMBDA_GLIBC => warnings.push(format!(
                    "building with plain cargo against this machine's glibc {}.{}, newer than provided.al2023's {}.{}: \
                     the bootstrap may fail on Lambda with `GLIBC_2.{} not found`. Install cargo-zigbuild and ziglang \
                     (pip install cargo-zigbuild ziglang) to link against glibc {}.{}.",
                    host.0, host.1, LAMBDA_GLIBC.0, LAMBDA_GLIBC.1, host.1, LAMBDA_GLIBC.0, LAMBDA_GLIBC.1
                )),
                _ => {}
            }
        }
        Ok((builder, warnings))
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Parses `getconf GNU_LIBC_VERSION` output (`glibc 2.36`).
pub fn parse_glibc(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Builds `options.bin` for Lambda and zips it; see the module doc for the builder choice.
pub fn package(options: &PackageOptions) -> Result<Package, Error> {
    let toolchain = Toolchain::detect();
    let (builder, mut warnings) = toolchain.choose(options.builder, options.arch)?;
    let binary = build(options, builder)?;
    if builder == Builder::Cargo {
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
    }
    let sha256 = zip_bootstrap(&binary, &options.output)?;
    warnings.shrink_to_fit();
    Ok(Package { zip: options.output.clone(), binary, builder, sha256, warnings })
}

/// The cargo command for `builder`, with `--message-format=json-render-diagnostics` so the
/// executable's path is read from cargo itself rather than guessed from the target layout.
fn build_command(options: &PackageOptions, builder: Builder) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    let target = options.arch.rust_target();
    match builder {
        Builder::Zigbuild => {
            cmd.arg("zigbuild").arg("--target").arg(format!("{target}.{}.{}", LAMBDA_GLIBC.0, LAMBDA_GLIBC.1));
        }
        Builder::CargoLambda => {
            cmd.args(["lambda", "build", "--target"]).arg(format!("{target}.{}.{}", LAMBDA_GLIBC.0, LAMBDA_GLIBC.1));
        }
        Builder::Cargo | Builder::Auto => {
            cmd.args(["build", "--target", target]);
        }
    }
    cmd.args(["--bin", &options.bin, "--message-format=json-render-diagnostics"]);
    if options.release {
        cmd.arg("--release");
    }
    if let Some(package) = &options.package {
        cmd.args(["--package", package]);
    }
    if let Some(manifest) = &options.manifest_path {
        cmd.arg("--manifest-path").arg(manifest);
    }
    cmd
}

fn build(options: &PackageOptions, builder: Builder) -> Result<PathBuf, Error> {
    let mut cmd = build_command(options, builder);
    tracing::info!("building {} for {} with {:?}: {:?}", options.bin, options.arch.lambda_name(), builder, cmd);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::MissingTool { what: "cargo".into(), fix: "install Rust with rustup".into() }
        } else {
            Error::Io { action: "starting cargo for", path: PathBuf::from(&options.bin), source }
        }
    })?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(path) = executable_of(&line, &options.bin) {
                executable = Some(path);
            }
        }
    }
    let status = child.wait().map_err(|source| Error::Io {
        action: "waiting for cargo building",
        path: PathBuf::from(&options.bin),
        source,
    })?;
    if !status.success() {
        return Err(Error::Build { bin: options.bin.clone(), status: status.to_string() });
    }
    executable.ok_or_else(|| Error::NoExecutable { bin: options.bin.clone() })
}

/// The `executable` of a cargo `compiler-artifact` message for a bin target named `bin`.
fn executable_of(line: &str, bin: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let target = message.get("target")?;
    let is_bin = target.get("kind")?.as_array()?.iter().any(|k| k.as_str() == Some("bin"));
    if !is_bin || target.get("name")?.as_str()? != bin {
        return None;
    }
    message.get("executable")?.as_str().map(PathBuf::from)
}

/// Writes `zip_path` holding `binary` as `bootstrap` (mode 0755, fixed timestamp) and returns
/// the zip's SHA-256 in hex.
pub fn zip_bootstrap(binary: &Path, zip_path: &Path) -> Result<String, Error> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { action, path, source }
    };
    let mut input = File::open(binary).map_err(io("opening the executable", binary))?;
    if let Some(parent) = zip_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("creating the folder of", zip_path))?;
    }
    let file = File::create(zip_path).map_err(io("creating", zip_path))?;
    let zip_err = |source| Error::Zip { path: zip_path.to_path_buf(), source };
    let mut writer = zip::ZipWriter::new(file);
    // Fixed timestamp: the same binary gives the same zip, hence the same S3 key, and an
    // unchanged function is not redeployed.
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(BOOTSTRAP_MODE)
        .last_modified_time(zip::DateTime::DEFAULT);
    writer.start_file("bootstrap", options).map_err(zip_err)?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = input.read(&mut buffer).map_err(io("reading", binary))?;
        if n == 0 {
            break;
        }
        writer.write_all(&buffer[..n]).map_err(io("writing", zip_path))?;
    }
    writer.finish().map_err(zip_err)?;
    sha256_file(zip_path)
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file =
        File::open(path).map_err(|source| Error::Io { action: "reading", path: path.to_path_buf(), source })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(|source| Error::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain(zigbuild: bool, cargo_lambda: bool, targets: &[&str], glibc: Option<(u32, u32)>) -> Toolchain {
        Toolchain {
            zigbuild,
            cargo_lambda,
            installed_targets: targets.iter().map(|t| t.to_string()).collect(),
            host_glibc: glibc,
        }
    }

    #[test]
    fn glibc_version_is_parsed_from_getconf() {
        assert_eq!(parse_glibc("glibc 2.36\n"), Some((2, 36)));
        assert_eq!(parse_glibc("musl"), None);
    }

    #[test]
    fn auto_prefers_zigbuild_then_cargo_lambda_then_cargo() {
        let x86 = ["x86_64-unknown-linux-gnu"];
        let pick = |tc: Toolchain| tc.choose(Builder::Auto, Arch::X86_64).unwrap().0;
        assert_eq!(pick(toolchain(true, true, &x86, Some((2, 36)))), Builder::Zigbuild);
        assert_eq!(pick(toolchain(false, true, &x86, Some((2, 36)))), Builder::CargoLambda);
        assert_eq!(pick(toolchain(false, false, &x86, Some((2, 34)))), Builder::Cargo);
    }

    #[test]
    fn plain_cargo_on_a_newer_glibc_warns_and_names_the_fix() {
        let (builder, warnings) = toolchain(false, false, &["x86_64-unknown-linux-gnu"], Some((2, 36)))
            .choose(Builder::Auto, Arch::X86_64)
            .unwrap();
        assert_eq!(builder, Builder::Cargo);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("glibc 2.36") && warnings[0].contains("cargo-zigbuild"), "{}", warnings[0]);
        let (_, none) = toolchain(false, false, &["x86_64-unknown-linux-gnu"], Some((2, 34)))
            .choose(Builder::Auto, Arch::X86_64)
            .unwrap();
        assert!(none.is_empty(), "glibc 2.34 is Lambda's own: no warning");
    }

    #[test]
    fn arm64_without_its_rust_target_says_what_is_missing() {
        let err = toolchain(true, true, &["x86_64-unknown-linux-gnu"], Some((2, 36)))
            .choose(Builder::Auto, Arch::Arm64)
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("aarch64-unknown-linux-gnu") && text.contains("rustup target add"), "{text}");
    }

    #[test]
    #[cfg_attr(
        target_arch = "aarch64",
        ignore = "on an arm64 host plain cargo links arm64 natively: the cross-linker case exists only on other hosts"
    )]
    fn arm64_with_plain_cargo_needs_a_cross_linker() {
        assert!(!Arch::Arm64.is_host(), "ignored on arm64 hosts, where this case does not arise");
        let err = toolchain(false, false, &["aarch64-unknown-linux-gnu"], None)
            .choose(Builder::Auto, Arch::Arm64)
            .unwrap_err();
        assert!(err.to_string().contains("cargo-zigbuild"), "{err}");
    }

    #[test]
    fn forced_builders_that_are_missing_are_named() {
        let tc = toolchain(false, false, &["x86_64-unknown-linux-gnu"], None);
        assert!(
            tc.choose(Builder::Zigbuild, Arch::X86_64).unwrap_err().to_string().contains("pip install cargo-zigbuild")
        );
        assert!(
            tc.choose(Builder::CargoLambda, Arch::X86_64).unwrap_err().to_string().contains("pip install cargo-lambda")
        );
    }

    #[test]
    fn the_executable_is_read_from_cargo_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"send-numbers"},"executable":"/t/x86_64-unknown-linux-gnu/release/send-numbers"}"#;
        assert_eq!(
            executable_of(line, "send-numbers"),
            Some(PathBuf::from("/t/x86_64-unknown-linux-gnu/release/send-numbers"))
        );
        assert_eq!(executable_of(line, "other"), None);
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"send-numbers"},"executable":null}"#;
        assert_eq!(executable_of(lib, "send-numbers"), None);
    }

    #[test]
    fn zigbuild_and_cargo_lambda_pin_lambdas_glibc() {
        let options = PackageOptions::new("send-numbers");
        let args =
            |b| build_command(&options, b).get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>();
        assert!(args(Builder::Zigbuild).contains(&"x86_64-unknown-linux-gnu.2.34".to_string()));
        assert!(args(Builder::CargoLambda).contains(&"x86_64-unknown-linux-gnu.2.34".to_string()));
        assert!(args(Builder::Cargo).contains(&"x86_64-unknown-linux-gnu".to_string()));
        assert!(args(Builder::Cargo).contains(&"--release".to_string()));
    }
}
