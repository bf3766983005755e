//! The face library: a catalogue of faces of people who do not exist, each with its
//! attributes (age, gender, expression, head pose — as fauxto's face networks see them),
//! its identity descriptor for look-alike search, where it came from (model, seed,
//! truncation, training-data licence), and its labelled image files.
//!
//! Embedded by default — SQLite in WAL mode and image files in one directory, nothing to
//! install — and, for teams, PostgreSQL for the catalogue and S3-compatible object storage
//! for the images, behind the same interfaces ([`Library`]). Bulk generation is split into
//! seed ranges that any number of workers, on any number of machines, claim through the
//! database, so a worker killed mid-range leaves its range to be claimed again and nothing
//! is lost or catalogued twice.

pub mod add;
pub mod check;
pub mod db;
pub mod entry;
pub mod export;
pub mod facets;
pub mod job_records;
pub mod jobs;
pub mod keys;
pub mod library;
pub mod location;
pub mod search;
pub mod similar;
pub mod stats;
pub mod store;
pub mod synthetic;

pub use check::CheckReport;
pub use entry::{AgeBand, FaceEntry};
pub use facets::FacetIndex;
pub use job_records::{JobOrigin, JobRecord};
pub use keys::{ApiKey, Scope};
pub use library::{Library, ModelRecord};
pub use location::Location;
pub use search::{FaceQuery, Sort};
pub use similar::DescriptorIndex;
