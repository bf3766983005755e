//! What the server holds while it runs: the open library, its attribute and descriptor
//! indexes in memory (refreshed as faces are added), the key cache and rate limiter, and the
//! face networks for uploaded photos.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use burn::tensor::backend::Backend;
use fauxto_app::guard::frame_of;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer};
use fauxto_library::{DescriptorIndex, FacetIndex, Library};
use fauxto_trust::detector::CpuDetector;
use image::DynamicImage;
use tokio::sync::RwLock;

use crate::auth::{KeyCache, Limiter};
use crate::face_json::FaceJson;
use crate::generate::ModelWorker;
use crate::jobs::JobRunner;

/// How the studio serves.
#[derive(Clone, Debug)]
pub struct StudioOptions {
    pub listen: SocketAddr,
    /// Let callers without a key search, view and download (never generate or run jobs).
    pub anonymous_reads: bool,
    /// Requests per second per caller (key, or address without one); 0 for no limit.
    pub rate_limit: u32,
    /// The largest upload (look-alike photo, image to verify), in bytes.
    pub max_upload_bytes: usize,
    /// The most pixels an uploaded image may declare, checked before it is decoded.
    pub max_upload_pixels: u64,
    /// The longest a request may take.
    pub request_timeout: Duration,
    /// Passphrase of the watermark key that verify reads with.
    pub watermark_key: String,
    /// A CA certificate (PEM) whose credentials verify treats as trusted.
    pub trust_pem: Option<String>,
}

impl Default for StudioOptions {
    fn default() -> Self {
        StudioOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            anonymous_reads: false,
            rate_limit: 200,
            max_upload_bytes: 20 << 20,
            max_upload_pixels: 40_000_000,
            request_timeout: Duration::from_secs(30),
            watermark_key: fauxto_app::labels::PUBLIC_WATERMARK_KEY.into(),
            trust_pem: None,
        }
    }
}

/// Reads identities from uploaded photos.
pub trait FaceReader: Send + Sync {
    /// The identity descriptor of the most clearly detected face in `image`, if it shows one.
    fn descriptor(&self, image: &DynamicImage) -> Result<Option<Vec<f32>>>;
}

/// [`FaceReader`] through fauxto's face networks on a burn backend.
pub struct FaceNetworks<B: Backend> {
    analyzer: Mutex<FaceAnalyzer<B>>,
}

impl<B: Backend> FaceNetworks<B> {
    /// Loads the networks compiled into the binary onto `device`.
    pub fn load(device: &B::Device) -> Result<Self> {
        Ok(FaceNetworks {
            analyzer: Mutex::new(FaceAnalyzer::embedded(device)?),
        })
    }
}

impl<B: Backend> FaceReader for FaceNetworks<B> {
    fn descriptor(&self, image: &DynamicImage) -> Result<Option<Vec<f32>>> {
        let frame = frame_of(image);
        let analyzer = self
            .analyzer
            .lock()
            .map_err(|_| anyhow::anyhow!("the face networks failed on an earlier request"))?;
        let faces = analyzer.analyze(&[frame], &AnalyzeOptions::default());
        Ok(faces
            .into_iter()
            .next()
            .and_then(|f| f.into_iter().max_by(|a, b| a.score.total_cmp(&b.score)))
            .map(|f| f.descriptor))
    }
}

/// The server's state, shared by every request.
pub struct Studio {
    pub library: Library,
    pub options: StudioOptions,
    pub facets: RwLock<FacetIndex>,
    /// Every face's JSON, for pages of results.
    pub face_json: RwLock<FaceJson>,
    pub descriptors: RwLock<DescriptorIndex>,
    pub keys: KeyCache,
    pub limiter: Limiter,
    pub faces: Box<dyn FaceReader>,
    /// The models it generates from on demand.
    pub generators: Vec<ModelWorker>,
    /// The worker of bulk jobs, if it runs them.
    pub jobs: Option<JobRunner>,
    /// The GAN-image detector verify runs (the one that ships with fauxto).
    pub detector: CpuDetector,
}

impl Studio {
    /// Opens the studio over `library`, reading its indexes into memory.
    pub async fn new(
        library: Library,
        options: StudioOptions,
        faces: Box<dyn FaceReader>,
        generators: Vec<ModelWorker>,
        jobs: Option<JobRunner>,
    ) -> Result<Self> {
        let studio = Studio {
            limiter: Limiter::new(options.rate_limit),
            library,
            options,
            facets: RwLock::default(),
            face_json: RwLock::default(),
            descriptors: RwLock::default(),
            keys: KeyCache::default(),
            faces,
            generators,
            jobs,
            detector: CpuDetector::embedded(&Default::default()),
        };
        studio.refresh().await?;
        if let Some(jobs) = &studio.jobs {
            let resumed = jobs.resume_unfinished(&studio.library).await?;
            if !resumed.is_empty() {
                let ids: Vec<String> = resumed.iter().map(|id| format!("#{id}")).collect();
                tracing::info!("resuming unfinished jobs {}", ids.join(", "));
            }
        }
        Ok(studio)
    }

    /// Reads the faces catalogued since the last refresh into the indexes.
    pub async fn refresh(&self) -> Result<()> {
        // The JSON first: every id a search finds has its JSON.
        self.face_json.write().await.refresh(&self.library).await?;
        self.facets.write().await.refresh(&self.library).await?;
        let mut descriptors = self.descriptors.write().await;
        self.library.load_descriptors(&mut descriptors).await
    }
}
