//! Where a library's image files are: a directory (embedded libraries) or an S3-compatible
//! bucket, behind `object_store`'s one interface. Keys are derived from what an image is —
//! `faces/<model sha256, 16 hex>/<truncation>/<seed>/<size>.png` — so writing a face again
//! after a crash overwrites the same objects instead of leaving orphans.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// A library's image store.
#[derive(Clone, Debug)]
pub struct ImageStore {
    inner: Arc<dyn ObjectStore>,
    /// Where it is, as a URL (`file:///…` or `s3://bucket/prefix`).
    pub url: String,
    prefix: ObjectPath,
}

impl ImageStore {
    /// The image store at `url`: `file:///absolute/dir` or `s3://bucket[/prefix]` (S3
    /// endpoint, region and credentials from the usual `AWS_*` variables; `AWS_ENDPOINT_URL`
    /// for S3-compatible servers, `AWS_ALLOW_HTTP=true` for plain HTTP).
    pub fn open(url: &str) -> Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("{url}: not a URL"))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|_| anyhow::anyhow!("{url}: not a local path"))?;
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let fs = LocalFileSystem::new_with_prefix(&dir)
                    .with_context(|| format!("cannot open {}", dir.display()))?;
                Ok(ImageStore {
                    inner: Arc::new(fs),
                    url: url.into(),
                    prefix: ObjectPath::default(),
                })
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| anyhow::anyhow!("{url}: name a bucket, s3://BUCKET/PREFIX"))?;
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                    builder = builder.with_endpoint(endpoint);
                }
                let s3 = builder
                    .build()
                    .with_context(|| format!("cannot open the S3 bucket of {url}"))?;
                Ok(ImageStore {
                    inner: Arc::new(s3),
                    url: url.into(),
                    prefix: ObjectPath::from(parsed.path().trim_matches('/')),
                })
            }
            other => {
                bail!("{url}: images live in a directory (file://) or on S3 (s3://), not {other}:")
            }
        }
    }

    /// The key of a face's image at one size.
    pub fn key(model_sha256: &str, truncation: f64, seed: u32, size: u32) -> String {
        let model = model_sha256.get(..16).unwrap_or(model_sha256);
        format!("faces/{model}/t{truncation:.3}/{seed}/{size}.png")
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.as_ref().is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.inner
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .with_context(|| format!("cannot store image {key}"))?;
        Ok(())
    }

    /// Removes an image; one that is not there is no error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete image {key}")),
        }
    }

    /// Every image key in the store, sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let metas: Vec<_> = self
            .inner
            .list(prefix)
            .try_collect()
            .await
            .with_context(|| format!("cannot list the images of {}", self.url))?;
        let strip = match prefix {
            Some(p) => format!("{p}/"),
            None => String::new(),
        };
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| {
                let key = m.location.to_string();
                key.strip_prefix(&strip).map_or(key.clone(), str::to_string)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let got = self
            .inner
            .get(&self.path(key))
            .await
            .with_context(|| format!("cannot read image {key}"))?;
        Ok(got.bytes().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_model_truncation_seed_and_size() {
        let sha = "79c89e7c2112e4c6ff3efb006622eeb7d61e1ddd98f8b033a2d1c292240c8e02";
        assert_eq!(
            ImageStore::key(sha, 0.7, 42, 64),
            "faces/79c89e7c2112e4c6/t0.700/42/64.png"
        );
    }

    #[tokio::test]
    async fn files_round_trip_and_urls_are_checked() {
        let dir = std::env::temp_dir().join(format!("fauxto-store-{}", std::process::id()));
        let store = ImageStore::open(&format!("file://{}", dir.display())).unwrap();
        store
            .put("faces/a/t1.000/1/64.png", vec![1, 2, 3])
            .await
            .unwrap();
        assert_eq!(
            &store.get("faces/a/t1.000/1/64.png").await.unwrap()[..],
            [1, 2, 3]
        );
        assert!(dir.join("faces/a/t1.000/1/64.png").exists());
        assert!(store.get("faces/missing.png").await.is_err());
        store.put("faces/b/t1.000/2/64.png", vec![4]).await.unwrap();
        assert_eq!(
            store.list().await.unwrap(),
            ["faces/a/t1.000/1/64.png", "faces/b/t1.000/2/64.png"]
        );
        store.delete("faces/a/t1.000/1/64.png").await.unwrap();
        store.delete("faces/a/t1.000/1/64.png").await.unwrap();
        assert_eq!(store.list().await.unwrap(), ["faces/b/t1.000/2/64.png"]);
        assert!(ImageStore::open("ftp://x/y").is_err());
        assert!(ImageStore::open("s3:///nobucket").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
