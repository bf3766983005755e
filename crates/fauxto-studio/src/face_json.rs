//! Every catalogued face's JSON — its [`FaceView`] — serialised once, when the studio first
//! reads the face: a page of search results is then the page's ids looked up and joined in
//! memory, with no database round trip and no serialisation per request. Faces are only
//! ever added, with increasing ids, so a refresh reads the faces after the last id held.

use anyhow::Result;
use fauxto_library::Library;

use crate::api::views::FaceView;

/// Faces read per query.
const CHUNK: usize = 4096;

/// Faces' JSON by id.
#[derive(Debug, Default)]
pub struct FaceJson {
    /// Ascending.
    ids: Vec<i64>,
    json: Vec<Box<str>>,
}

impl FaceJson {
    /// Reads and serialises the faces catalogued since the last refresh.
    pub async fn refresh(&mut self, library: &Library) -> Result<()> {
        // In chunks, so that a first read of a large library never holds it all at once.
        loop {
            let after = self.ids.last().copied().unwrap_or(0);
            let faces = library.faces_after(after, CHUNK).await?;
            for face in &faces {
                self.ids.push(face.id);
                self.json
                    .push(serde_json::to_string(&FaceView::of(face))?.into_boxed_str());
            }
            if faces.len() < CHUNK {
                return Ok(());
            }
        }
    }

    /// The JSON of face `id`, if the studio has read it.
    pub fn get(&self, id: i64) -> Option<&str> {
        let at = self.ids.binary_search(&id).ok()?;
        Some(&self.json[at])
    }

    /// A page of search results, as the JSON of [`crate::api::views::FacePage`].
    pub fn page(&self, total: u64, page: u32, per_page: u32, ids: &[i64]) -> Option<String> {
        let mut body =
            format!(r#"{{"total":{total},"page":{page},"per_page":{per_page},"faces":["#);
        for (i, &id) in ids.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(self.get(id)?);
        }
        body.push_str("]}");
        Some(body)
    }
}
