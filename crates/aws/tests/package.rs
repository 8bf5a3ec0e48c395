//! `package` for real: a tiny workspace is built with cargo and zipped; the archive must hold one
//! entry, `bootstrap`, executable (0755), byte-identical to the binary, and be reproducible.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use lambda_stream_aws::package::{BOOTSTRAP_MODE, package, sha256_file};
use lambda_stream_aws::{Builder, PackageOptions};

/// A throwaway cargo project with one bin, `tiny-bootstrap`, and no dependencies (builds in ~1 s).
fn tiny_project(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n\
         [[bin]]\nname = \"tiny-bootstrap\"\npath = \"src/main.rs\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() { println!(\"hello from bootstrap\"); }\n").unwrap();
    dir.join("Cargo.toml")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(manifest: PathBuf, out: PathBuf, builder: Builder) -> PackageOptions {
    let mut options = PackageOptions::new("tiny-bootstrap");
    options.manifest_path = Some(manifest);
    options.output = out;
    options.builder = builder;
    // Debug profile: the layout is what is tested, and it builds faster.
    options.release = false;
    options
}

fn assert_bootstrap_zip(zip_path: &Path, binary: &Path) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
    assert_eq!(names, ["bootstrap"], "exactly one entry, at the root");
    let mut entry = archive.by_name("bootstrap").unwrap();
    let mode = entry.unix_mode().expect("unix mode bits recorded");
    assert_eq!(mode & 0o777, BOOTSTRAP_MODE, "bootstrap must be executable: mode {mode:o}");
    assert_eq!(mode & 0o170000, 0o100000, "a regular file: mode {mode:o}");
    let mut inside = Vec::new();
    entry.read_to_end(&mut inside).unwrap();
    assert_eq!(inside, std::fs::read(binary).unwrap(), "the zipped bootstrap is the built binary");
}

#[test]
fn plain_cargo_build_is_zipped_as_an_executable_bootstrap() {
    let dir = scratch("package-plain");
    let manifest = tiny_project(&dir);
    let out = dir.join("dist/tiny.zip");
    let made = package(&options(manifest, out.clone(), Builder::Cargo)).expect("package");
    assert_eq!(made.builder, Builder::Cargo);
    assert_eq!(made.zip, out);
    assert!(made.binary.ends_with("x86_64-unknown-linux-gnu/debug/tiny-bootstrap"), "{}", made.binary.display());
    assert_eq!(made.sha256, sha256_file(&out).unwrap());
    assert_bootstrap_zip(&out, &made.binary);

    // The zipped program runs (x86_64 host only: it is the host's own architecture).
    if cfg!(target_arch = "x86_64") {
        let output = std::process::Command::new(&made.binary).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "hello from bootstrap\n");
    }

    // Reproducible: zipping the same binary again gives the same bytes (so deploy sees no change).
    let again = dir.join("dist/again.zip");
    let sha = lambda_stream_aws::package::zip_bootstrap(&made.binary, &again).unwrap();
    assert_eq!(sha, made.sha256);
}

#[test]
fn an_unknown_bin_is_a_build_error_naming_it() {
    let dir = scratch("package-unknown");
    let manifest = tiny_project(&dir);
    let mut options = options(manifest, dir.join("x.zip"), Builder::Cargo);
    options.bin = "no-such-bin".into();
    let err = package(&options).unwrap_err();
    assert!(err.to_string().contains("no-such-bin"), "{err}");
    assert!(!dir.join("x.zip").exists(), "no zip for a failed build");
}

/// cargo-zigbuild (or cargo-lambda) linking against glibc 2.34. `ci/aws-offline.sh` installs
/// cargo-zigbuild and ziglang from PyPI and runs this with `--ignored`.
#[test]
#[ignore = "needs cargo-zigbuild + ziglang (pip); run by ci/aws-offline.sh"]
fn zigbuild_links_against_lambdas_glibc() {
    let toolchain = lambda_stream_aws::package::Toolchain::detect();
    if !toolchain.zigbuild {
        panic!("cargo-zigbuild is not on PATH: pip install cargo-zigbuild ziglang");
    }
    let dir = scratch("package-zig");
    let manifest = tiny_project(&dir);
    let out = dir.join("tiny.zip");
    let made = package(&options(manifest, out.clone(), Builder::Zigbuild)).expect("package with zigbuild");
    assert_eq!(made.builder, Builder::Zigbuild);
    assert_bootstrap_zip(&out, &made.binary);
    // The highest GLIBC_ symbol version the binary needs must be at most 2.34.
    let bytes = std::fs::read(&made.binary).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let newest = text
        .match_indices("GLIBC_2.")
        .filter_map(|(i, _)| {
            let digits: String = text[i + 8..].chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .expect("a dynamically linked binary names GLIBC_ versions");
    assert!(newest <= 34, "needs GLIBC_2.{newest}, newer than provided.al2023's 2.34");
}
