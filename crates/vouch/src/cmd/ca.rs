//! `vouch ca install-intermediate`: finish the external-root flow.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use time::OffsetDateTime;
use vouch_issuing::verify_csr;
use vouch_model::CaConfig;

use super::load_ca;
use crate::files::{self, Output, PUBLIC_MODE};
use crate::home::{layout, vouch_home};

/// Check a certificate an outside CA signed for our intermediate CSR, then install it.
pub(super) fn install_intermediate(signed: &Path, force: bool) -> Result<()> {
    let home = vouch_home()?;
    let config_path = home.join(layout::CA_CONFIG);
    let config: CaConfig = toml::from_str(&files::read_text(&config_path)?)
        .map_err(|e| anyhow!("{}: {}", config_path.display(), e.message()))?;
    let csr_path = home.join(layout::INTERMEDIATE_CSR);
    let csr =
        verify_csr(&files::read(&csr_path)?).map_err(|e| anyhow!("{}: {e}", csr_path.display()))?;
    let root_path = home.join(&config.root);
    let root = load_ca(&root_path)?;
    let cert = load_ca(signed)?;
    let now = OffsetDateTime::now_utc();

    if cert.spki_der() != csr.spki_der.as_slice() {
        bail!(
            "{}: its public key is not the intermediate key of this PKI (the one in {})",
            signed.display(),
            csr_path.display()
        );
    }
    cert.check_can_issue(now, false)
        .map_err(|e| anyhow!("{}: {e}", signed.display()))?;
    cert.check_issued_by(&root)
        .map_err(|e| anyhow!("{}: {e}", signed.display()))?;
    root.check_can_issue(now, true)
        .map_err(|e| anyhow!("{}: {e}", root_path.display()))?;

    let dest = home.join(&config.crt);
    files::write_all_or_nothing(
        &[Output {
            path: &dest,
            data: vouch_issuing::to_pem("CERTIFICATE", cert.der()).as_bytes(),
            mode: PUBLIC_MODE,
        }],
        force,
    )?;
    println!(
        "Installed {} as {} (issued by '{}').",
        cert.subject(),
        dest.display(),
        root.subject()
    );
    Ok(())
}
