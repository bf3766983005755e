//! Attribute search: filters on what the face networks saw (age, gender, expression, head
//! direction) and where a face came from (model), sorted newest first, in a seeded random
//! order, or "diverse" (a page spread over age bands, genders and expressions), in pages of
//! up to [`MAX_PER_PAGE`].

use anyhow::{bail, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::db::Db;
use crate::entry::{descriptor_from_bytes, AgeBand, FaceEntry};

/// The most faces one page holds.
pub const MAX_PER_PAGE: u32 = 100;

/// How a result is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Most recently catalogued first.
    #[default]
    Newest,
    /// A random order, the same for the same seed.
    Random(u64),
    /// Spread over (age band, gender, expression) groups: each group's first face, then
    /// each group's second, and so on.
    Diverse,
}

/// A search of the catalogue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaceQuery {
    /// Estimated age in years, inclusive.
    pub age: Option<(f32, f32)>,
    pub age_band: Option<AgeBand>,
    /// "male" or "female".
    pub gender: Option<String>,
    /// One of the seven expressions (the most probable one).
    pub expression: Option<String>,
    /// "left", "frontal" or "right".
    pub facing: Option<String>,
    /// Faces of the model whose SHA-256 starts with this (hex).
    pub model: Option<String>,
    /// Only faces with ids up to this (for reading a large selection in chunks).
    pub max_id: Option<i64>,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// One page of results and how many faces match in all.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub faces: Vec<FaceEntry>,
}

/// A value bound to a query.
#[derive(Clone, Debug, PartialEq)]
enum Bind {
    Int(i64),
    Real(f64),
    Text(String),
}

/// SQL text with numbered parameters (`$1`, `$2`…, read alike by SQLite and PostgreSQL)
/// and their values.
#[derive(Clone, Debug, Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Real(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// The columns a [`FaceEntry`] is read from, in [`entry_of`]'s order.
pub const FACE_COLUMNS: &str = "id, model_sha256, seed, truncation, created_at, age, age_band, \
    gender, gender_probability, expression, neutral, happy, sad, angry, fearful, disgusted, \
    surprised, yaw, pitch, roll, facing, detection_score, descriptor, group_rank, sizes, watermark";

/// A face read with [`FACE_COLUMNS`].
pub fn entry_of(row: &AnyRow) -> Result<FaceEntry> {
    let f = |i: usize| -> Result<f32> { Ok(row.try_get::<f64, _>(i)? as f32) };
    let band: String = row.try_get(6)?;
    let sizes: String = row.try_get(24)?;
    let descriptor: Vec<u8> = row.try_get(22)?;
    Ok(FaceEntry {
        id: row.try_get(0)?,
        model_sha256: row.try_get(1)?,
        seed: u32::try_from(row.try_get::<i64, _>(2)?)?,
        truncation: row.try_get(3)?,
        created_at: row.try_get(4)?,
        age: f(5)?,
        age_band: AgeBand::from_name(&band)
            .ok_or_else(|| anyhow::anyhow!("unknown age band {band:?} in the catalogue"))?,
        gender: row.try_get(7)?,
        gender_probability: f(8)?,
        expression: row.try_get(9)?,
        expressions: [f(10)?, f(11)?, f(12)?, f(13)?, f(14)?, f(15)?, f(16)?],
        yaw: f(17)?,
        pitch: f(18)?,
        roll: f(19)?,
        facing: row.try_get(20)?,
        detection_score: f(21)?,
        descriptor: descriptor_from_bytes(&descriptor)
            .ok_or_else(|| anyhow::anyhow!("a damaged descriptor in the catalogue"))?,
        group_rank: row.try_get(23)?,
        sizes: serde_json::from_str(&sizes)?,
        watermark: row.try_get(25)?,
    })
}

/// The prime modulus of the seeded shuffle (2^31 - 1): every product of two residues fits
/// in a signed 64-bit integer, in SQLite and PostgreSQL alike.
const SHUFFLE_MOD: i64 = 2_147_483_647;

/// The three parameters of the shuffle of `seed`, each a residue mod [`SHUFFLE_MOD`] (the
/// multiplier nonzero), from a SplitMix64 stream: nearby seeds give unrelated orders.
fn shuffle_params(seed: u64) -> [i64; 3] {
    let mut stream = crate::synthetic::Rng(seed);
    let m = SHUFFLE_MOD as u64;
    let a = (stream.next_u64() % m) as i64;
    let b = (1 + stream.next_u64() % (m - 1)) as i64;
    let c = (stream.next_u64() % m) as i64;
    [a, b, c]
}

/// The sort key of face `id` in the random order of `seed` (the SQL of [`Sort::Random`]):
/// the quadratic `(id + a)(id + c)·b mod p` — not linear in the id, so that the order does
/// not step through the ids — with ties broken by id.
pub fn shuffle_key(id: i64, seed: u64) -> i64 {
    Shuffle::new(seed).key(id)
}

/// [`shuffle_key`] for many ids of one seed: the parameters drawn once, and the residues
/// mod the Mersenne prime p = 2³¹ − 1 taken with shifts and adds instead of divisions
/// (exactly the SQL's `%` for the non-negative ids a catalogue has).
#[derive(Clone, Copy, Debug)]
pub struct Shuffle {
    a: u64,
    b: u64,
    c: u64,
}

impl Shuffle {
    pub fn new(seed: u64) -> Self {
        let [a, b, c] = shuffle_params(seed);
        Shuffle {
            a: a as u64,
            b: b as u64,
            c: c as u64,
        }
    }

    /// `x mod p` for `x < 2⁶²`: 2³¹ ≡ 1 (mod p), so the high bits fold onto the low.
    #[inline]
    fn reduce(x: u64) -> u64 {
        const P: u64 = SHUFFLE_MOD as u64;
        let r = (x & P) + (x >> 31);
        if r >= P {
            r - P
        } else {
            r
        }
    }

    #[inline]
    pub fn key(&self, id: i64) -> i64 {
        let id = id as u64;
        let x = Self::reduce(Self::reduce(id + self.a) * self.b);
        Self::reduce(x * Self::reduce(id + self.c)) as i64
    }
}

impl FaceQuery {
    /// Checks the query, with messages that say what to change.
    pub fn validate(&self) -> Result<()> {
        if self.page == 0 {
            bail!("pages are numbered from 1");
        }
        if self.per_page == 0 || self.per_page > MAX_PER_PAGE {
            bail!("a page holds 1 to {MAX_PER_PAGE} faces");
        }
        if let Some((lo, hi)) = self.age {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                bail!("an age range is LOW-HIGH with LOW <= HIGH, e.g. 25-35");
            }
        }
        let one_of = |what: &str, v: &Option<String>, allowed: &[&str]| -> Result<()> {
            match v {
                Some(v) if !allowed.contains(&v.as_str()) => {
                    bail!("{what} {v:?} is not one of {}", allowed.join(", "))
                }
                _ => Ok(()),
            }
        };
        one_of("gender", &self.gender, &["male", "female"])?;
        one_of("facing", &self.facing, &["left", "frontal", "right"])?;
        one_of(
            "expression",
            &self.expression,
            &fauxto_face::dense_net::EXPRESSIONS,
        )?;
        if let Some(m) = &self.model {
            if m.is_empty() || !m.chars().all(|c| c.is_ascii_hexdigit()) {
                bail!("--model in a search is a SHA-256 prefix (hex digits)");
            }
        }
        Ok(())
    }

    /// The WHERE clause of the filters.
    fn filters(&self, sql: &mut Sql) {
        sql.push(" WHERE 1 = 1");
        if let Some((lo, hi)) = self.age {
            sql.push(" AND age >= ")
                .bind(Bind::Real(lo as f64))
                .push(" AND age <= ")
                .bind(Bind::Real(hi as f64));
        }
        if let Some(band) = self.age_band {
            sql.push(" AND age_band = ")
                .bind(Bind::Text(band.name().into()));
        }
        for (column, value) in [
            ("gender", &self.gender),
            ("expression", &self.expression),
            ("facing", &self.facing),
        ] {
            if let Some(v) = value {
                sql.push(&format!(" AND {column} = "))
                    .bind(Bind::Text(v.clone()));
            }
        }
        if let Some(max) = self.max_id {
            sql.push(" AND id <= ").bind(Bind::Int(max));
        }
        if let Some(m) = &self.model {
            let m = m.to_ascii_lowercase();
            // A prefix range on the indexed text, rather than LIKE (whose case rules differ).
            sql.push(" AND model_sha256 >= ")
                .bind(Bind::Text(m.clone()))
                .push(" AND model_sha256 < ")
                .bind(Bind::Text(format!("{m}g")));
        }
    }

    fn order(&self, sql: &mut Sql) {
        match self.sort {
            Sort::Newest => sql.push(" ORDER BY id DESC"),
            Sort::Random(seed) => {
                let [a, b, c] = shuffle_params(seed);
                let p = SHUFFLE_MOD;
                sql.push(" ORDER BY (((id + ")
                    .bind(Bind::Int(a))
                    .push(&format!(") % {p}) * "))
                    .bind(Bind::Int(b))
                    .push(&format!(" % {p}) * ((id + "))
                    .bind(Bind::Int(c))
                    .push(&format!(") % {p}) % {p}, id"))
            }
            Sort::Diverse => sql.push(" ORDER BY group_rank, id"),
        };
    }

    /// One page of the faces that match: the page's ids first, from the covering index
    /// alone, then only those rows.
    pub async fn run(&self, db: &Db) -> Result<Page> {
        self.validate()?;
        let mut count = Sql::default();
        count.push("SELECT COUNT(*) FROM faces");
        self.filters(&mut count);
        let total: i64 = count.query().fetch_one(&db.pool).await?.try_get(0)?;
        let mut select = Sql::default();
        select.push("SELECT id FROM faces");
        self.filters(&mut select);
        self.order(&mut select);
        select
            .push(" LIMIT ")
            .bind(Bind::Int(self.per_page as i64))
            .push(" OFFSET ")
            .bind(Bind::Int((self.page as i64 - 1) * self.per_page as i64));
        let ids: Vec<i64> = select
            .query()
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            total: total as u64,
            page: self.page,
            per_page: self.per_page,
            faces: faces_by_id(db, &ids).await?,
        })
    }
}

/// The faces of `ids`, in that order.
pub async fn faces_by_id(db: &Db, ids: &[i64]) -> Result<Vec<FaceEntry>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {FACE_COLUMNS} FROM faces WHERE id IN ("));
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Bind::Int(id));
    }
    sql.push(")");
    let mut by_id: std::collections::HashMap<i64, FaceEntry> = sql
        .query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| entry_of(r).map(|f| (f.id, f)))
        .collect::<Result<_>>()?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shuffled(seed: u64) -> Vec<i64> {
        let mut ids: Vec<i64> = (1..=200).collect();
        ids.sort_by_key(|&id| (shuffle_key(id, seed), id));
        ids
    }

    #[test]
    fn the_fast_shuffle_is_the_division_form() {
        let p = SHUFFLE_MOD;
        for seed in [0u64, 1, 7, u64::MAX] {
            let [a, b, c] = shuffle_params(seed);
            let shuffle = Shuffle::new(seed);
            for id in (1..2000).chain([p - 1, p, p + 1, 1 << 40, (1 << 62) - 1 - a.max(c)]) {
                let slow = (((id + a) % p) * b % p) * ((id + c) % p) % p;
                assert_eq!(shuffle.key(id), slow, "seed {seed}, id {id}");
            }
        }
    }

    #[test]
    fn the_shuffle_is_the_one_the_benchmark_peer_computes() {
        // bench/library_peer.py's shuffle_params(7) orders ids 1..=10 so.
        let mut ids: Vec<i64> = (1..=10).collect();
        ids.sort_by_key(|&id| (shuffle_key(id, 7), id));
        assert_eq!(ids, [10, 8, 4, 3, 5, 2, 9, 6, 1, 7]);
    }

    #[test]
    fn nearby_seeds_give_unrelated_orders() {
        assert_eq!(shuffled(7), shuffled(7));
        for (x, y) in [(7, 8), (0, 1), (1, 1 << 40)] {
            let (a, b) = (shuffled(x), shuffled(y));
            let same_place = a.iter().zip(&b).filter(|(p, q)| p == q).count();
            assert!(
                same_place < 10,
                "seeds {x} and {y}: {same_place} ids in the same place"
            );
        }
        // Not a step through the ids: few neighbours in the order are neighbours in id.
        let a = shuffled(3);
        let steps: std::collections::HashSet<i64> = a.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(steps.len() > 100, "{} distinct steps", steps.len());
    }

    fn query() -> FaceQuery {
        FaceQuery {
            page: 1,
            per_page: 10,
            ..FaceQuery::default()
        }
    }

    #[test]
    fn filters_number_their_parameters_in_order() {
        let q = FaceQuery {
            age: Some((25.0, 35.0)),
            gender: Some("female".into()),
            expression: Some("happy".into()),
            facing: Some("left".into()),
            sort: Sort::Random(7),
            ..query()
        };
        q.validate().unwrap();
        let mut sql = Sql::default();
        q.filters(&mut sql);
        q.order(&mut sql);
        assert_eq!(
            sql.text,
            " WHERE 1 = 1 AND age >= $1 AND age <= $2 AND gender = $3 AND expression = $4 \
             AND facing = $5 ORDER BY (((id + $6) % 2147483647) * $7 % 2147483647) * \
             ((id + $8) % 2147483647) % 2147483647, id"
        );
        assert_eq!(sql.binds.len(), 8);
    }

    #[test]
    fn bad_queries_say_what_to_change() {
        for (q, needle) in [
            (FaceQuery { page: 0, ..query() }, "from 1"),
            (
                FaceQuery {
                    per_page: 101,
                    ..query()
                },
                "1 to 100",
            ),
            (
                FaceQuery {
                    age: Some((40.0, 30.0)),
                    ..query()
                },
                "LOW <= HIGH",
            ),
            (
                FaceQuery {
                    gender: Some("x".into()),
                    ..query()
                },
                "male, female",
            ),
            (
                FaceQuery {
                    expression: Some("bored".into()),
                    ..query()
                },
                "happy",
            ),
            (
                FaceQuery {
                    model: Some("xyz".into()),
                    ..query()
                },
                "hex",
            ),
        ] {
            let err = q.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
