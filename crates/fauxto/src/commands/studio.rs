//! `fauxto studio`: the HTTP API and web studio over a library, and its API keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::{Args, Subcommand};
use fauxto_app::labels::LabelOptions;
use fauxto_library::{Library, Scope};
use fauxto_studio::generate::ModelWorker;
use fauxto_studio::jobs::{JobRunner, JobSettings};
use fauxto_studio::{FaceNetworks, Studio, StudioOptions};

use super::library::{runtime, LibraryPlace};
use super::memorisation::GuardArgs;
use super::resolve_model;
use crate::backend::DeviceKind;
use crate::on_device;

#[derive(Debug, Args)]
pub struct StudioArgs {
    #[command(subcommand)]
    pub keys: Option<StudioAction>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The library to serve: a directory, or postgres://… (default: $FAUXTO_LIBRARY).
    #[arg(long, env = "FAUXTO_LIBRARY")]
    pub library: Option<fauxto_library::Location>,
    /// Address to listen on (port 0 picks a free port). Other machines can reach the
    /// studio only if this is not a loopback address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Let callers without an API key search, view and download faces (never generate or
    /// run jobs).
    #[arg(long)]
    pub anonymous_reads: bool,
    /// Requests per second each caller (key, or address without one) may make; bursts of
    /// twice that; 0 for no limit.
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
    /// Largest upload (look-alike photo, image to verify) in MB.
    #[arg(long, default_value_t = 20)]
    pub max_upload_mb: usize,
    /// Most pixels an uploaded image may declare, in megapixels.
    #[arg(long, default_value_t = 40)]
    pub max_upload_megapixels: u64,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Treat credentials signed under this CA certificate (PEM) as trusted in verify.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Watermark key passphrase: generated images are marked with it, verify reads with it.
    #[arg(long, default_value = fauxto_app::labels::PUBLIC_WATERMARK_KEY)]
    pub watermark_key: String,
    /// A model to generate from on demand (repeat for several; default: the bundled demo
    /// model, or $FAUXTO_MODEL).
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    /// Serve no generation at all.
    #[arg(long, conflicts_with = "models")]
    pub no_generate: bool,
    /// Device of the networks (generation, look-alike search by photo).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Signing key directory of generated images (default: $FAUXTO_KEYS, else
    /// ~/.config/fauxto/keys; created with a local CA on first use).
    #[arg(long)]
    pub keys: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StudioAction {
    /// API keys: create (shown once), list, revoke.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a key; its secret is printed once and stored only as a digest.
    Create {
        /// read (search, view, download, verify), generate (also generate images), admin
        /// (also bulk jobs).
        #[arg(long)]
        scope: Scope,
        /// A name to recognise the key by.
        #[arg(long, default_value = "")]
        name: String,
        /// Print the key as JSON (id, name, scope, secret).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: LibraryPlace,
    },
    /// Every key, revoked ones included (never their secrets).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: LibraryPlace,
    },
    /// Revoke a key by id: it stops working within 10 seconds.
    Revoke {
        id: i64,
        #[command(flatten)]
        place: LibraryPlace,
    },
}

impl KeysAction {
    fn place(&self) -> &LibraryPlace {
        match self {
            KeysAction::Create { place, .. }
            | KeysAction::List { place, .. }
            | KeysAction::Revoke { place, .. } => place,
        }
    }
}

pub fn run(args: &StudioArgs) -> Result<()> {
    match &args.keys {
        Some(StudioAction::Keys { action }) => keys(action),
        None => on_device!(args.serve.device, serve(&args.serve)),
    }
}

fn keys(action: &KeysAction) -> Result<()> {
    let rt = runtime()?;
    let library = rt.block_on(Library::open(&action.place().library))?;
    match action {
        KeysAction::Create {
            scope, name, json, ..
        } => {
            let (key, secret) = rt.block_on(library.create_key(*scope, name))?;
            if *json {
                let mut value = serde_json::to_value(&key)?;
                value["secret"] = secret.into();
                println!("{value}");
            } else {
                println!("{secret}");
                eprintln!(
                    "key #{} ({} scope) made; it is shown only this once: keep it now",
                    key.id, key.scope
                );
            }
        }
        KeysAction::List { json, .. } => {
            let keys = rt.block_on(library.keys())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in &keys {
                    println!(
                        "#{:<4} {:<9} {:<24} made {}{}",
                        k.id,
                        k.scope,
                        k.name,
                        k.created_at,
                        k.revoked_at
                            .as_ref()
                            .map_or(String::new(), |r| format!(", revoked {r}"))
                    );
                }
            }
        }
        KeysAction::Revoke { id, .. } => {
            if !rt.block_on(library.revoke_key(*id))? {
                anyhow::bail!("no unrevoked key #{id}");
            }
            println!("key #{id} revoked");
        }
    }
    Ok(())
}

fn serve<B: Backend>(device: &B::Device, args: &ServeArgs) -> Result<()>
where
    B::Device: Send + Sync,
{
    let location = args
        .library
        .clone()
        .context("which library? --library DIR (or postgres://…), or set FAUXTO_LIBRARY")?;
    let trust_pem = match &args.trust {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let options = StudioOptions {
        listen: args.listen,
        anonymous_reads: args.anonymous_reads,
        rate_limit: args.rate_limit,
        max_upload_bytes: args.max_upload_mb << 20,
        max_upload_pixels: args.max_upload_megapixels * 1_000_000,
        request_timeout: Duration::from_secs(args.timeout),
        watermark_key: args.watermark_key.clone(),
        trust_pem,
    };
    let faces = Box::new(FaceNetworks::<B>::load(device)?);
    let paths = match (&args.models[..], args.no_generate) {
        (_, true) => Vec::new(),
        ([], false) => vec![resolve_model(None)?],
        (given, false) => given.to_vec(),
    };
    let labels = LabelOptions {
        keys: args.keys.clone(),
        watermark_key: args.watermark_key.clone(),
        ..LabelOptions::default()
    };
    let generators = paths
        .iter()
        .map(|p| ModelWorker::start::<B>(device, p, labels.clone(), args.guard.options()))
        .collect::<Result<Vec<_>>>()?;
    let rt = runtime()?;
    rt.block_on(async {
        let library = Library::open(&location).await?;
        let settings = JobSettings {
            labels: labels.clone(),
            guard: args.guard.options(),
            models: generators
                .iter()
                .map(|g| (g.sha256.clone(), g.path.clone()))
                .collect(),
        };
        let jobs = JobRunner::start::<B>(device, library.clone(), rt.handle().clone(), settings)?;
        let studio = Studio::new(library, options, faces, generators, Some(jobs)).await?;
        fauxto_studio::serve(studio).await
    })
}
