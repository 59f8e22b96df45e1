//! File handling for the CLI: errors that name the file, atomic writes, private modes,
//! passwords from files or a terminal prompt (never a hang when there is no terminal).

use std::fs;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use zeroize::Zeroizing;

/// File mode for private keys and other secrets.
pub const SECRET_MODE: u32 = 0o600;
/// File mode for certificates and configuration.
pub const PUBLIC_MODE: u32 = 0o644;

/// Read a file; the error names it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Read a UTF-8 file; the error names it.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))
}

/// One file to write.
#[derive(Debug)]
pub struct Output<'a> {
    /// Destination.
    pub path: &'a Path,
    /// Contents.
    pub data: &'a [u8],
    /// Unix mode.
    pub mode: u32,
}

/// Write every file or none: each goes to a temporary file beside its destination (created
/// with its final mode, so a secret is never readable by others even for a moment), is
/// fsynced, and only when all are written are they renamed into place. Existing files are
/// refused unless `force`.
pub fn write_all_or_nothing(outputs: &[Output<'_>], force: bool) -> Result<()> {
    if !force {
        for o in outputs {
            if o.path.exists() {
                bail!(
                    "{}: already exists (use --force to overwrite)",
                    o.path.display()
                );
            }
        }
    }
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| -> Result<()> {
        for o in outputs {
            let tmp = temp_path(o.path);
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(o.mode)
                .open(&tmp)
                .with_context(|| format!("{}: cannot write", o.path.display()))?;
            temps.push((tmp, o.path));
            f.write_all(o.data)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("{}: cannot write", o.path.display()))?;
            // create_new honours the umask; set the exact mode explicitly.
            fs::set_permissions(
                &temps[temps.len() - 1].0,
                fs::Permissions::from_mode(o.mode),
            )
            .with_context(|| format!("{}: cannot set permissions", o.path.display()))?;
        }
        for (tmp, dest) in &temps {
            fs::rename(tmp, dest).with_context(|| format!("{}: cannot write", dest.display()))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &temps {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let rand: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    path.with_file_name(format!(".{name}.{}.{rand}.tmp", std::process::id()))
}

/// Whether we may prompt: both stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A password from `file` (first line), or a prompt on a terminal (twice when `confirm`).
/// Without either it is an error naming the flag, never a hang.
pub fn password(
    file: Option<&Path>,
    what: &str,
    flag: &str,
    confirm: bool,
) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(read_text(path)?);
        let line = Zeroizing::new(text.lines().next().unwrap_or("").to_owned());
        if line.is_empty() {
            bail!("{}: the password file is empty", path.display());
        }
        return Ok(line);
    }
    if !interactive() {
        bail!("{what} is needed: pass {flag} FILE (no terminal to prompt on)");
    }
    let mut prompt = dialoguer::Password::new().with_prompt(format!("Password for {what}"));
    if confirm {
        prompt = prompt.with_confirmation("Repeat the password", "the passwords do not match");
    }
    let pw = Zeroizing::new(
        prompt
            .interact()
            .map_err(|e| anyhow!("password prompt failed: {e}"))?,
    );
    if pw.is_empty() {
        bail!("the password for {what} cannot be empty");
    }
    Ok(pw)
}

/// A value from a flag, or a prompt on a terminal; otherwise an error naming the flag.
pub fn value_or_prompt(value: Option<String>, question: &str, flag: &str) -> Result<String> {
    if let Some(v) = value {
        return Ok(v);
    }
    if !interactive() {
        bail!("missing {flag} (no terminal to prompt on)");
    }
    dialoguer::Input::<String>::new()
        .with_prompt(question)
        .interact_text()
        .map_err(|e| anyhow!("prompt failed: {e}"))
}
