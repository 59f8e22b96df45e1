//! `vouch key public|inspect|change-pass`.

use std::path::Path;

use anyhow::{Result, anyhow};
use vouch_issuing::{PrivateKey, Signer, describe_public_key};

use super::load_private_key;
use crate::cli::{Format, KeyCommand};
use crate::files::{self, Output, SECRET_MODE};

pub(super) fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Public { key, password_file } => {
            let k = load_private_key(&key, password_file.as_deref(), "--password-file")?;
            print!("{}", k.public_key_pem());
            Ok(())
        }
        KeyCommand::Inspect {
            key,
            password_file,
            format,
        } => inspect(&key, password_file.as_deref(), format),
        KeyCommand::ChangePass {
            key,
            password_file,
            new_password_file,
            no_password,
            insecure: _,
        } => {
            let k = load_private_key(&key, password_file.as_deref(), "--password-file")?;
            let new_pw = if no_password {
                None
            } else {
                Some(files::password(
                    new_password_file.as_deref(),
                    &format!("the new password of {}", key.display()),
                    "--new-password-file",
                    true,
                )?)
            };
            let pem = k
                .to_pem(new_pw.as_ref().map(|p| p.as_bytes()))
                .map_err(|e| anyhow!("{}: {e}", key.display()))?;
            files::write_all_or_nothing(
                &[Output {
                    path: &key,
                    data: pem.as_bytes(),
                    mode: SECRET_MODE,
                }],
                true,
            )?;
            eprintln!(
                "{}: {}",
                key.display(),
                if new_pw.is_some() {
                    "password changed"
                } else {
                    "written unencrypted"
                }
            );
            Ok(())
        }
    }
}

fn inspect(path: &Path, password_file: Option<&Path>, format: Format) -> Result<()> {
    let data = files::read(path)?;
    // A public key file is described as such; anything else must be a private key.
    let public_der = std::str::from_utf8(&data)
        .ok()
        .and_then(|t| pem::parse_many(t).ok())
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "PUBLIC KEY"))
        .map(pem::Pem::into_contents);
    let (kind, encryption, spki) = match public_der {
        Some(der) => ("public", None, der),
        None => {
            let encryption = PrivateKey::is_encrypted(&data).then(|| {
                if String::from_utf8_lossy(&data).contains("Proc-Type:") {
                    "legacy OpenSSL PEM (MD5 key derivation; re-encrypt with vouch key change-pass)"
                } else {
                    "PKCS#8 PBES2"
                }
            });
            let k = load_private_key(path, password_file, "--password-file")?;
            ("private", encryption, k.public_key_der())
        }
    };
    let info = describe_public_key(&spki).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    match format {
        Format::Json => {
            let v = serde_json::json!({
                "kind": kind,
                "algorithm": info.description,
                "encrypted": encryption.is_some(),
                "encryption": encryption,
                "publicKeySha256": info.sha256,
                "publicKey": vouch_issuing::to_pem("PUBLIC KEY", &spki),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Text => {
            println!("Key: {kind}");
            println!("Algorithm: {}", info.description);
            if kind == "private" {
                match encryption {
                    Some(how) => println!("Encrypted: yes ({how})"),
                    None => println!("Encrypted: no"),
                }
            }
            println!("Public key SHA-256: {}", info.sha256);
            print!("{}", vouch_issuing::to_pem("PUBLIC KEY", &spki));
        }
    }
    Ok(())
}
