//! A local signing identity for Content Credentials: a certificate authority and a signing
//! certificate it issues, both ECDSA P-256 (C2PA `es256`).
//!
//! C2PA (Content Credentials specification 2.x, "Certificate profile") requires the signing
//! certificate not to be self-signed, to carry an authority key identifier, the
//! `digitalSignature` key usage and an extended key usage such as `emailProtection` or
//! `documentSigning`; the CA certificate is what a verifier is told to trust.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// `id-kp-documentSigning` (RFC 9336).
const ID_KP_DOCUMENT_SIGNING: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
/// `id-kp-emailProtection` (RFC 5280).
const ID_KP_EMAIL_PROTECTION: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

/// File names inside a key directory.
pub const CA_CERT: &str = "ca.cert.pem";
pub const CA_KEY: &str = "ca.key.pem";
/// The signing certificate followed by the CA certificate (the chain a manifest embeds).
pub const SIGNER_CHAIN: &str = "signer.chain.pem";
pub const SIGNER_KEY: &str = "signer.key.pem";

/// Errors making or reading a key directory.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} already exists; remove it or use another directory")]
    Exists(PathBuf),
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("building the certificates: {0}")]
    Certificate(String),
}

/// The paths of a key directory made by [`init`].
#[derive(Clone, Debug)]
pub struct KeyPaths {
    pub ca_cert: PathBuf,
    pub signer_chain: PathBuf,
    pub signer_key: PathBuf,
}

impl KeyPaths {
    pub fn in_dir(dir: &Path) -> Self {
        KeyPaths {
            ca_cert: dir.join(CA_CERT),
            signer_chain: dir.join(SIGNER_CHAIN),
            signer_key: dir.join(SIGNER_KEY),
        }
    }

    /// Whether the signing chain and key are both there.
    pub fn exist(&self) -> bool {
        self.signer_chain.is_file() && self.signer_key.is_file()
    }
}

/// Creates a CA and a signing certificate for `organisation` in `dir` (created if needed):
/// private keys written with mode 0600, certificates valid for `years`. Refuses to overwrite.
pub fn init(dir: &Path, organisation: &str, years: u32) -> Result<KeyPaths, KeyError> {
    let paths = KeyPaths::in_dir(dir);
    for p in [
        &paths.ca_cert,
        &paths.signer_chain,
        &paths.signer_key,
        &dir.join(CA_KEY),
    ] {
        if p.exists() {
            return Err(KeyError::Exists(p.clone()));
        }
    }
    fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.into(),
        source,
    })?;
    let cert_err = |e: &dyn std::fmt::Display| KeyError::Certificate(e.to_string());
    let org = organisation.replace([',', '=', '+', '"', '\\', '<', '>', ';'], " ");
    let validity = Validity::from_now(Duration::from_secs(u64::from(years) * 365 * 86_400))
        .map_err(|e| cert_err(&e))?;

    let ca_key = SigningKey::random(&mut rand_core::OsRng);
    let ca_name =
        Name::from_str(&format!("CN={org} fauxto signing CA,O={org}")).map_err(|e| cert_err(&e))?;
    let ca_spki =
        SubjectPublicKeyInfoOwned::from_key(*ca_key.verifying_key()).map_err(|e| cert_err(&e))?;
    let ca = CertificateBuilder::new(
        Profile::Root,
        serial(),
        validity,
        ca_name.clone(),
        ca_spki,
        &ca_key,
    )
    .map_err(|e| cert_err(&e))?
    .build::<DerSignature>()
    .map_err(|e| cert_err(&e))?;

    let signer_key = SigningKey::random(&mut rand_core::OsRng);
    let signer_name =
        Name::from_str(&format!("CN={org} fauxto signer,O={org}")).map_err(|e| cert_err(&e))?;
    let signer_spki = SubjectPublicKeyInfoOwned::from_key(*signer_key.verifying_key())
        .map_err(|e| cert_err(&e))?;
    let mut leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        serial(),
        validity,
        signer_name,
        signer_spki,
        &ca_key,
    )
    .map_err(|e| cert_err(&e))?;
    leaf.add_extension(&ExtendedKeyUsage(vec![
        ID_KP_DOCUMENT_SIGNING,
        ID_KP_EMAIL_PROTECTION,
    ]))
    .map_err(|e| cert_err(&e))?;
    let leaf = leaf.build::<DerSignature>().map_err(|e| cert_err(&e))?;

    let pem = |c: &x509_cert::Certificate| c.to_pem(LineEnding::LF).map_err(|e| cert_err(&e));
    let key_pem = |k: &SigningKey| {
        k.to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.as_bytes().to_vec())
            .map_err(|e| cert_err(&e))
    };
    write_private(&dir.join(CA_KEY), &key_pem(&ca_key)?)?;
    write_private(&paths.signer_key, &key_pem(&signer_key)?)?;
    write_public(&paths.ca_cert, pem(&ca)?.as_bytes())?;
    write_public(
        &paths.signer_chain,
        format!("{}{}", pem(&leaf)?, pem(&ca)?).as_bytes(),
    )?;
    Ok(paths)
}

/// A random positive 16-byte serial number.
fn serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    bytes[0] &= 0x7F;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).expect("16 bytes make a serial number")
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    fs::write(path, bytes).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })
}

/// Writes a private key readable by its owner only (created with mode 0600 on Unix).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    let mut f = options.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}
